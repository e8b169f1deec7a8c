"""Zoom's API calls against the Zoom emulator under faults: 429s waited out, storms and 5xx given up after a
bounded number of attempts, lost answers retried, and a spent daily quota or a long Retry-After made a wait."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from local.world import World
from shared.records import utc_text
from shared.zoom import DailyLimitReached, ZoomError
from shared.zoom.ratelimit import next_reset
from shared.zoom.retries import ATTEMPTS
from tests.integration.conftest import daily_limit_spent
from tests.integration.zoom import client
from tests.tenant import Tenant

pytestmark = pytest.mark.integration


QPS_LIMIT = {
    "status": 429,
    "headers": {"X-RateLimit-Category": "Medium", "X-RateLimit-Type": "QPS", "X-RateLimit-Limit": "60"},
    "body": {
        "code": 429,
        "message": "You have reached the maximum per-second rate limit for this API. Try again later.",
    },
}


def test_a_burst_of_429s_is_waited_out(fresh: World, tenant: Tenant) -> None:
    tenant.person("Alice Archer")
    tenant.apply(fresh)
    fresh.zoom.fault({"method": "GET", "path": "^/v2/users$", **QPS_LIMIT, "times": 2})
    assert len(list(client(fresh).users())) == 1
    assert [r["status"] for r in fresh.zoom.requests() if r["path"] == "/v2/users"] == [429, 429, 200, 200]


def test_a_429_storm_is_given_up_after_a_bounded_number_of_attempts(fresh: World, tenant: Tenant) -> None:
    tenant.person("Alice Archer")
    tenant.apply(fresh)
    storm = {**QPS_LIMIT, "headers": {**QPS_LIMIT["headers"], "Retry-After": "0"}}
    fresh.zoom.fault({"method": "GET", "path": "^/v2/users$", **storm, "times": -1})
    with pytest.raises(ZoomError, match=f"gave up after {ATTEMPTS} attempts") as raised:
        list(client(fresh).users())
    assert raised.value.status == 429
    assert len([r for r in fresh.zoom.requests() if r["path"] == "/v2/users"]) == ATTEMPTS


def test_server_errors_and_lost_answers_are_retried(fresh: World, tenant: Tenant) -> None:
    tenant.person("Alice Archer")
    tenant.apply(fresh)
    fresh.zoom.fault(
        {"method": "GET", "path": "^/v2/users$", "status": 502, "body": "bad gateway"},
        {"method": "GET", "path": "^/v2/users$", "action": "drop_after"},
        {"method": "GET", "path": "^/v2/users$", "action": "drop"},
    )
    assert len(list(client(fresh).users())) == 1
    answers = [(r["status"], r["fault"]) for r in fresh.zoom.requests() if r["path"] == "/v2/users"]
    # The faults first (0: no answer), then the active and the inactive listing.
    assert answers == [(502, True), (0, True), (0, True), (200, False), (200, False)]


@pytest.mark.parametrize("stated", ["reset", "2099-05-31T00:00:00Z"])
def test_a_spent_daily_quota_makes_the_work_wait_until_zoom_resets_it(
    fresh: World, tenant: Tenant, stated: str
) -> None:
    """Zoom's daily quota resets at 00:00 UTC: a Retry-After past that (years ahead, say) is not believed."""
    alice = tenant.person("Alice Archer")
    webinar = tenant.meeting(alice, "Town hall", kind=5)
    tenant.apply(fresh)
    reset = next_reset(datetime.now(UTC))
    header = reset.isoformat().replace("+00:00", "Z") if stated == "reset" else stated
    fresh.zoom.fault(
        daily_limit_spent(
            "^/v2/report/",
            "Heavy",
            **{"X-RateLimit-Limit": "60000", "X-RateLimit-Remaining": "0", "Retry-After": header},
        )
    )
    zoom = client(fresh)
    for _ in range(2):
        with pytest.raises(DailyLimitReached) as raised:
            zoom.webinar_report(webinar.uuid)
        assert raised.value.until == reset
        assert f"daily limit for Heavy API calls is reached; the work resumes after {utc_text(reset)}" in str(
            raised.value
        )
    assert len([r for r in fresh.zoom.requests() if r["path"].startswith("/v2/report/")]) == 1  # then it waits
    assert (zoom.recording(webinar.uuid) or {})["uuid"] == webinar.uuid  # Light calls go on


def test_a_429_asking_for_a_long_wait_makes_the_work_wait_instead_of_sleeping(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    meeting = tenant.meeting(alice, "Planning")
    tenant.apply(fresh)
    later = (datetime.now(UTC) + timedelta(minutes=30)).replace(microsecond=0)
    retry_at = later.isoformat().replace("+00:00", "Z")
    fault = {**QPS_LIMIT, "headers": {**QPS_LIMIT["headers"], "Retry-After": retry_at}}
    fresh.zoom.fault({"method": "GET", "path": "^/v2/users$", **fault})
    zoom = client(fresh)

    started = time.monotonic()
    for _ in range(2):
        with pytest.raises(DailyLimitReached) as raised:
            list(zoom.users())
        assert raised.value.until == later
        assert f"rate limit for Medium API calls is reached; the work resumes after {retry_at}" in str(raised.value)

    assert time.monotonic() - started < 10, "the invocation does not sleep until Zoom's Retry-After"
    assert [r["status"] for r in fresh.zoom.requests() if r["path"] == "/v2/users"] == [429]
    assert (zoom.recording(meeting.uuid) or {})["uuid"] == meeting.uuid  # Light calls go on


def test_a_429_asking_to_wait_years_is_a_transient_limit_not_a_stop(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    tenant.meeting(alice, "Planning")
    tenant.apply(fresh)
    fault = {**QPS_LIMIT, "headers": {**QPS_LIMIT["headers"], "Retry-After": "2031-01-01T00:00:00Z"}}
    fresh.zoom.fault({"method": "GET", "path": "^/v2/users$", "times": 1, **fault})

    started = time.monotonic()
    users = list(client(fresh).users())  # paused for a moment, like any 429, then asked again

    assert [u["id"] for u in users] == [alice.zoom_id]
    assert time.monotonic() - started < 10
    assert [r["status"] for r in fresh.zoom.requests() if r["path"] == "/v2/users"][:2] == [429, 200]
