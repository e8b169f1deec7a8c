"""The account's rate-limit budget in Table storage, shared by processes: together they keep to the plan's rate
(the Zoom emulator enforcing the Business plan refuses nothing), and a 429 one of them meets pauses them all."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from local.world import EmulatorProcess, World
from tests.conftest import zoom_settings
from tests.integration.zoom import client
from tests.tenant import Meeting, Tenant

pytestmark = pytest.mark.integration

PROCESSES = 3
THREADS = 6
CALLS = 20  # per thread: 360 Medium calls in all, 7.5 s at 80 % of Business' 60 per second


def _calls(settings: dict[str, str], uuid: str) -> int:
    """In a process of its own: THREADS callers each asking CALLS times for a meeting's participants."""
    from shared.http import session
    from shared.settings import load_settings
    from shared.storage import ZOOM_BUDGET_TABLE, Storage
    from shared.zoom import ZoomClient

    values = load_settings(settings)
    zoom = ZoomClient(values, session(values.tls_ca_file), Storage(values.storage).table(ZOOM_BUDGET_TABLE))
    with ThreadPoolExecutor(THREADS) as pool:
        return sum(pool.map(lambda _: sum(len(zoom.participants(uuid)) > 0 for _ in range(CALLS)), range(THREADS)))


def business_account(
    world: World, tenant: Tenant, own_zoom: Callable[..., EmulatorProcess]
) -> tuple[EmulatorProcess, Meeting]:
    """A Zoom emulator enforcing the Business plan, with one meeting of two participants."""
    zoom = own_zoom("--plan", "business")
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker")
    meeting = tenant.meeting(alice, "Planning", attendees=[(alice, 0, 30), (bob, 0, 30)])
    tenant.apply(world, zoom)
    return zoom, meeting


def test_processes_sharing_the_budget_keep_together_to_the_plans_rate(
    fresh: World, tenant: Tenant, own_zoom: Callable[..., EmulatorProcess]
) -> None:
    zoom, meeting = business_account(fresh, tenant, own_zoom)
    client(fresh, zoom)  # the tables exist before the processes start
    settings = zoom_settings(fresh, zoom, ZOOM_PLAN="business")

    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        answered = sum(pool.starmap(_calls, [(settings, meeting.uuid)] * PROCESSES))

    assert answered == PROCESSES * THREADS * CALLS
    calls = [r for r in zoom.requests() if r["path"].endswith("/participants")]
    assert Counter(r["status"] for r in calls) == {200: PROCESSES * THREADS * CALLS}
    per_second = Counter(int(r["time"]) for r in calls)  # as Zoom counts them: answered within the plan's 60
    assert max(per_second.values()) <= 60


def test_a_429_met_by_one_process_pauses_the_category_for_the_others(
    fresh: World, tenant: Tenant, own_zoom: Callable[..., EmulatorProcess]
) -> None:
    zoom, meeting = business_account(fresh, tenant, own_zoom)
    first, second = client(fresh, zoom, ZOOM_PLAN="business"), client(fresh, zoom, ZOOM_PLAN="business")
    zoom.fault(
        {
            "method": "GET",
            "path": "/participants$",
            "status": 429,
            "headers": {"X-RateLimit-Category": "Medium", "X-RateLimit-Type": "QPS", "Retry-After": "2"},
            "body": {"code": 429, "message": "You have reached the maximum per-second rate limit for this API."},
        }
    )

    first.participants(meeting.uuid)
    second.participants(meeting.uuid)

    refused, *answered = [r["time"] for r in zoom.requests() if r["path"].endswith("/participants")]
    assert len(answered) == 2 and min(answered) - refused >= 1.9
