"""What Zoom's archiving and its meeting reports list, against the Zoom emulator and Azurite: breakout rooms
listed as their meeting's, hosts the filters leave out not listed, and past meetings kept within the day's
share of the Heavy quota, going on from each host's own checkpoint."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest

from local.world import World
from shared.archiver import Archiver
from shared.listings import HeavyShareSpent, PastMeetings, archived, host_checkpoint
from shared.settings import ARCHIVING, MEETINGS, load_settings
from tests.tenant import ArchiveFile, Tenant

pytestmark = pytest.mark.integration


def archiver(world: World, **settings: str) -> Archiver:
    archive = Archiver(load_settings(world.app_settings(**settings)))
    archive.storage.ensure_created()
    return archive


def test_breakout_rooms_are_listed_with_their_meeting_even_from_another_week(fresh: World, tenant: Tenant) -> None:
    alice, bob, dan = tenant.person("Alice Archer"), tenant.person("Bob Baker"), tenant.person("Dan Diaz")
    board = tenant.meeting(alice, "Board", cloud_recording=False, archive=[ArchiveFile("MP4", b"v")], days_ago=8)
    rooms = [
        tenant.breakout_room(board, f"Room {n}", attendees=[(bob, 0, 5)], archive=[ArchiveFile("M4A", b"a")])
        for n in (1, 2)
    ]
    late = tenant.breakout_room(board, "Room 3", attendees=[(bob, 0, 5)], archive=[], after=60 * 24 * 2)
    tenant.meeting(dan, "Dan's", cloud_recording=False, archive=[], days_ago=3)
    tenant.apply(fresh)
    zoom = archiver(fresh).zoom
    now = datetime.now(UTC)
    week_of_board = list(archived(zoom, board.start - timedelta(days=1), board.start + timedelta(days=1), lambda f: ""))
    assert [(x.facts["uuid"], x.rooms, x.partial) for x in week_of_board] == [
        (board.uuid, (rooms[0].uuid, rooms[1].uuid), False)
    ]
    assert week_of_board[0].facts["topic"] == "Board" and week_of_board[0].source == ARCHIVING
    listed = list(
        archived(zoom, late.start - timedelta(hours=1), now, lambda f: "" if f["host_id"] != dan.zoom_id else "no")
    )
    assert [(x.facts["uuid"], x.rooms, x.partial) for x in listed] == [(board.uuid, (late.uuid,), True)]


def test_past_meetings_are_listed_per_host_since_each_one_s_checkpoint(fresh: World, tenant: Tenant) -> None:
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker")
    old = tenant.meeting(alice, "Old", cloud_recording=False, attendees=[(alice, 0, 9), (bob, 0, 9)], days_ago=20)
    new = tenant.meeting(bob, "New", cloud_recording=False, attendees=[(alice, 0, 9), (bob, 0, 9)], days_ago=1)
    tenant.apply(fresh)
    archive = archiver(fresh)
    today = datetime.now(UTC).date()
    archive.state.save_checkpoint(today - timedelta(days=5), host_checkpoint(alice.zoom_id))
    listing = PastMeetings(archive.zoom, archive.state, archive.settings)
    hosts = [{"id": alice.zoom_id}, {"id": bob.zoom_id}]
    found = list(listing.since_checkpoints(hosts, today, overlap_days=2, backfill_days=30))
    assert [(x.facts["uuid"], x.source) for x in found] == [(new.uuid, MEETINGS)]  # Bob first: never listed
    assert old.uuid not in {x.facts["uuid"] for x in found}  # before Alice's checkpoint
    assert archive.state.checkpoint(host_checkpoint(bob.zoom_id)) == today
    assert archive.state.heavy_calls(today) == 3  # Alice: 8 days, one window; Bob: 31 days, two windows of 30


def test_the_listing_stops_at_its_share_of_the_heavy_quota_and_the_rest_goes_first_next_time(
    fresh: World, tenant: Tenant
) -> None:
    hosts = [tenant.person(f"User{n} Host") for n in range(3)]
    guest = tenant.person("Grace Guest", domain="fabrikam.example", zoom=False)
    for host in hosts:
        tenant.meeting(host, f"{host.name}'s", cloud_recording=False, attendees=[(host, 0, 9), (guest, 0, 9)])
    tenant.apply(fresh)
    archive = archiver(fresh, ZOOM_MEETINGS_HEAVY_PERCENT="1")
    listing = PastMeetings(archive.zoom, archive.state, archive.settings)
    assert listing.allowed == 300  # 1% of the pro plan's 30,000 a day
    listing.allowed = 2
    today = datetime.now(UTC).date()
    users = [{"id": h.zoom_id} for h in hosts]
    found = []
    with pytest.raises(HeavyShareSpent) as spent:
        for listed in listing.since_checkpoints(users, today, 2, 5):
            found.append(listed)
    assert spent.value.until == datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
    assert "used its 2 Heavy Zoom calls of today" in str(spent.value)
    assert len(found) == 2 and archive.state.heavy_calls(today) == 2
    reached = [archive.state.checkpoint(host_checkpoint(h.zoom_id)) for h in hosts]
    assert reached.count(today) == 2 and reached.count(None) == 1
    requests = [r for r in fresh.zoom.requests() if r["path"].endswith("/meetings")]
    assert len(requests) == 2  # the third call was never sent
    later = PastMeetings(archive.zoom, archive.state, archive.settings)
    order = [
        u["id"] for u in sorted(users, key=lambda u: archive.state.checkpoint(host_checkpoint(u["id"])) or date.min)
    ]
    assert order[0] == hosts[reached.index(None)].zoom_id and later.allowed == 300


def test_instances_counting_heavy_calls_at_once_never_count_past_the_share(fresh: World) -> None:
    state = archiver(fresh).state
    day = date(2026, 3, 2)
    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = list(pool.map(lambda _: state.take_heavy_call(day, 10), range(24)))
    assert taken.count(True) == 10 and state.heavy_calls(day) == 10
    assert state.heavy_calls(day + timedelta(days=1)) == 0


def test_a_meeting_s_breakout_rooms_are_remembered_once_each(fresh: World) -> None:
    state = archiver(fresh).state
    assert state.add_breakout_room("k1", "room/1==") and state.add_breakout_room("k1", "room2==")
    assert not state.add_breakout_room("k1", "room/1==")
    state.update_meeting("k1", status="captured")
    assert state.breakout_rooms("k1") == ["room/1==", "room2=="]
    assert state.breakout_rooms("k2") == [] and state.totals()["meetings"] == {"captured": 1}
