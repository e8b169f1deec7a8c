"""Zoom's listings against the Zoom emulator: inactive users too, every page, recordings in windows of a
month, and a listing whose page token expired started again without giving an item twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from urllib.parse import parse_qs

import pytest

from local.world import EmulatorProcess, World
from shared.zoom.endpoints import PAGE_SIZE
from tests.integration.zoom import client
from tests.tenant import Tenant

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
