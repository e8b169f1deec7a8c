"""Zoom's listings against the Zoom emulator: inactive users too, every page, recordings and meeting reports in
windows of a month, archived meetings in windows of seven days, and a listing whose page token expired started
again without giving an item twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs

import pytest

from local.world import EmulatorProcess, World
from shared.zoom.endpoints import PAGE_SIZE
from tests.integration.zoom import client
from tests.tenant import ArchiveFile, Tenant

pytestmark = pytest.mark.integration


def test_inactive_users_are_listed_too(fresh: World, tenant: Tenant) -> None:
    tenant.person("Alice Archer")
    tenant.person("Dan Diaz", status="inactive")
    tenant.apply(fresh)
    assert sorted(u["email"] for u in client(fresh).users()) == ["alice@contoso.example", "dan@contoso.example"]


def test_listings_follow_page_tokens_to_the_end(fresh: World, tenant: Tenant) -> None:
    for n in range(305):
        tenant.person(f"User{n} Test")
    tenant.apply(fresh)
    assert len(list(client(fresh).users())) == 305
    pages = [parse_qs(r["query"]) for r in fresh.zoom.requests() if r["path"] == "/v2/users"]
    assert [p.get("page_size") for p in pages] == [["300"], ["300"], ["300"]]  # active: 2 pages, inactive: 1
    assert "next_page_token" in pages[1]


def test_recordings_are_listed_in_windows_of_at_most_a_month(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    old = tenant.meeting(alice, "Old", days_ago=65)
    new = tenant.meeting(alice, "New", days_ago=1)
    tenant.apply(fresh)
    today = date.today()
    found = list(client(fresh).recordings(alice.zoom_id, today - timedelta(days=70), today))
    assert sorted(m["uuid"] for m in found) == sorted([old.uuid, new.uuid])
    windows = [parse_qs(r["query"]) for r in fresh.zoom.requests() if r["path"].endswith("/recordings")]
    assert len(windows) == 3
    for window in windows:
        span = date.fromisoformat(window["to"][0]) - date.fromisoformat(window["from"][0])
        assert span.days < 31


def test_a_page_token_that_expires_mid_listing_restarts_the_window(
    world: World, tenant: Tenant, own_zoom: Callable[..., EmulatorProcess]
) -> None:
    zoom = own_zoom("--page-token-ttl", "1")
    alice = tenant.person("Alice Archer")
    meetings = [tenant.meeting(alice, f"Standup {n}", files=[]) for n in range(PAGE_SIZE + 5)]
    tenant.apply(world, zoom)
    zoom_client = client(world, zoom)
    listing = zoom_client.recordings(alice.zoom_id, date.today() - timedelta(days=5), date.today())
    found = [next(listing)["uuid"] for _ in range(PAGE_SIZE)]
    time.sleep(1.5)  # the page token expires while the first page is being handled
    found += [m["uuid"] for m in listing]
    assert sorted(found) == sorted(m.uuid for m in meetings)
    pages = [
        (r["status"], "next_page_token" in r["query"]) for r in zoom.requests() if r["path"].endswith("/recordings")
    ]
    assert pages == [(200, False), (400, True), (200, False), (200, True)]


def test_archived_meetings_are_listed_in_windows_of_at_most_seven_days(fresh: World, tenant: Tenant) -> None:
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker")
    old = tenant.meeting(alice, "Old", days_ago=12, cloud_recording=False, archive=[ArchiveFile("MP4", b"v")])
    room = tenant.breakout_room(old, "Room 1", attendees=[(bob, 0, 5)], archive=[ArchiveFile("M4A", b"a")])
    new = tenant.meeting(bob, "New", days_ago=1, archive=[ArchiveFile("CHAT", b"00:00:01\tBob:\thi\r\n")])
    tenant.meeting(alice, "Recorded only", days_ago=1)
    tenant.apply(fresh)
    now = datetime.now(UTC)
    found = list(client(fresh).archived_meetings(now - timedelta(days=15), now + timedelta(hours=1)))
    assert sorted(m["uuid"] for m in found) == sorted([old.uuid, room.uuid, new.uuid])
    windows = [parse_qs(r["query"]) for r in fresh.zoom.requests() if r["path"] == "/v2/archive_files"]
    assert len(windows) == 3
    for window in windows:
        span = datetime.fromisoformat(window["to"][0]) - datetime.fromisoformat(window["from"][0])
        assert span <= timedelta(days=7) and window["query_date_type"] == ["meeting_start_time"]


def test_the_to_zoom_moved_back_to_its_now_is_sent_again_with_the_page_token(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    archived = [tenant.meeting(alice, f"M{n}", cloud_recording=False, archive=[]) for n in range(PAGE_SIZE + 2)]
    tenant.apply(fresh)
    now = datetime.now(UTC)
    found = list(client(fresh).archived_meetings(now - timedelta(days=3), now + timedelta(days=1)))
    assert sorted(m["uuid"] for m in found) == sorted(m.uuid for m in archived)
    pages = [r for r in fresh.zoom.requests() if r["path"] == "/v2/archive_files"]
    assert [r["status"] for r in pages] == [200, 200]
    first, second = (parse_qs(r["query"]) for r in pages)
    assert second["to"] < first["to"] and "next_page_token" in second  # the `to` Zoom answered, not ours


def test_one_meeting_s_archive_and_none_for_a_meeting_zoom_did_not_archive(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    archived = tenant.meeting(alice, "Archived", uuid="/abc//def==", archive=[ArchiveFile("MP4", b"v")])
    plain = tenant.meeting(alice, "Recorded")
    tenant.apply(fresh)
    zoom = client(fresh)
    assert zoom.archive(archived.uuid)["archive_files"][0]["file_type"] == "MP4"
    assert zoom.archive(plain.uuid) is None
    assert zoom.recording(plain.uuid)["uuid"] == plain.uuid
    assert zoom.recording(tenant.meeting(alice, "Unrecorded", cloud_recording=False).uuid) is None


def test_meeting_reports_cover_unrecorded_meetings_one_call_per_month_window(fresh: World, tenant: Tenant) -> None:
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker")
    early = tenant.meeting(alice, "Early", cloud_recording=False, attendees=[(alice, 0, 9), (bob, 1, 9)], days_ago=50)
    late = tenant.meeting(alice, "Late", attendees=[(alice, 0, 9), (bob, 1, 9)], days_ago=2)
    tenant.meeting(alice, "Alone", cloud_recording=False, days_ago=2)  # one participant: Zoom does not report it
    tenant.apply(fresh)
    today = date.today()
    calls: list[int] = []
    found = list(
        client(fresh).meeting_reports(alice.zoom_id, today - timedelta(days=59), today, lambda: calls.append(1))
    )
    assert sorted(m["uuid"] for m in found) == sorted([early.uuid, late.uuid])
    requests = [parse_qs(r["query"]) for r in fresh.zoom.requests() if r["path"].endswith("/meetings")]
    assert len(requests) == len(calls) == 2  # two windows of at most a month, one page each
    assert all(r["type"] == ["past"] for r in requests)
