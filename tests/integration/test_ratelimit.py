"""Zoom's rate limits, end to end through the local host: a busy account under Business-plan limits and
injected faults is archived exactly once, and a spent daily quota makes meetings wait, not fail."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from local.world import EmulatorProcess, World
from shared.records import archive_key
from tests.conftest import zoom_settings
from tests.tenant import File, GraphReader, Tenant

pytestmark = pytest.mark.integration

MEETINGS = 500
HOSTS = 10
# The local host runs many invocations at once, so that the client-side limiter, not the host, sets the pace.
BUSY_HOST = {
    "AzureFunctionsJobHost__extensions__queues__batchSize": "32",
    "AzureFunctionsJobHost__extensions__blobs__maxDegreeOfParallelism": "16",
}


ONE_AT_A_TIME = {
    "AzureFunctionsJobHost__extensions__queues__batchSize": "1",
    "AzureFunctionsJobHost__extensions__queues__newBatchThreshold": "0",
}


def rows(world: World, table: str) -> list[dict]:
    return list(
        TableServiceClient.from_connection_string(world.azurite.connection_string)
        .get_table_client(table)
        .list_entities()
    )


def test_a_busy_account_under_business_limits_and_faults_is_archived_exactly_once(
    fresh: World, tenant: Tenant, own_zoom: Callable[..., EmulatorProcess]
) -> None:
    zoom = own_zoom("--plan", "business")
    people = [tenant.person(f"User{n} Busy", status="inactive" if n == 0 else "active") for n in range(HOSTS)]
    meetings = [
        tenant.meeting(
            people[n % HOSTS],
            f"Meeting {n:03d}",
            attendees=[(people[n % HOSTS], 0, 30)],
            files=[File("CHAT", f"00:00:01\tUser:\tmeeting {n}\r\n".encode())],
            days_ago=1 + n % 20,
        )
        for n in range(MEETINGS)
    ]
    tenant.apply(fresh, zoom)
    zoom.fault(
        {
            "method": "GET",
            "path": "^/v2/past_meetings/[^/]+/polls$",
            "status": 429,
            "headers": {"X-RateLimit-Category": "Medium", "X-RateLimit-Type": "QPS"},
            "body": {"code": 429, "message": "You have reached the maximum per-second rate limit for this API."},
            "skip": 50,
            "times": 25,
        },
        {"method": "GET", "path": "^/v2/meetings/[^/]+/recordings$", "status": 503, "skip": 100, "times": 10},
        {"method": "GET", "path": "^/v2/past_meetings/[^/]+$", "action": "drop", "skip": 150, "times": 5},
        {"method": "GET", "path": "^/cdn/", "action": "truncate", "skip": 200, "times": 3},
        {"method": "GET", "path": "^/cdn/", "action": "html", "skip": 300, "times": 1},
    )

    result = fresh.run_host(zoom_settings(fresh, zoom, ZOOM_PLAN="business", **BUSY_HOST))

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    messages = BlobServiceClient.from_connection_string(fresh.azurite.connection_string).get_container_client(
        "messages"
    )
    assert sorted(b.name for b in messages.list_blobs()) == sorted(f"{archive_key(m.uuid)}.eml" for m in meetings)
    assert Counter(r["status"] for r in rows(fresh, "meetings")) == {"captured": MEETINGS}
    graph = GraphReader(fresh)
    for person in people:
        expected = [m.topic for m in meetings if person in (a for a, _, _ in m.attendees)]
        items = graph.items(person, graph.folder(person) or "")
        assert sorted(i["subject"].split(" - ")[0] for i in items) == sorted(expected), person.name

    log = zoom.requests()
    first = next(n for n, r in enumerate(log) if r["status"] == 429)
    refused = [r for r in log[first:] if r["status"] == 429 and not r["fault"]]
    assert not refused, f"{len(refused)} request(s) over Zoom's limits after the first 429"


def test_meetings_held_up_by_the_daily_quota_wait_for_the_reset_without_failing(
    fresh: World, tenant: Tenant, own_zoom: Callable[..., EmulatorProcess]
) -> None:
    zoom = own_zoom("--plan", "business", "--daily-limit", "1")
    alice = tenant.person("Alice Archer")
    webinars = [tenant.meeting(alice, f"Town hall {n}", kind=5, days_ago=n + 1) for n in range(3)]
    tenant.apply(fresh, zoom)
    # One capture at a time: a Heavy call sent while another is in flight cannot know it will spend the quota.
    settings = zoom_settings(fresh, zoom, **ONE_AT_A_TIME)

    result = fresh.run_host(settings)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "failed:" not in result.stdout and "moved to meetings-poison" not in result.stdout
    states = {r["uuid"]: r for r in rows(fresh, "meetings")}
    waiting = [w for w in webinars if states[w.uuid]["status"] == "waiting"]
    assert len(waiting) == 2 and {states[w.uuid]["attempts"] for w in waiting} == {1}
    assert not [r for r in zoom.requests() if r["status"] == 429], "X-RateLimit-Remaining: 0 was honoured"
    tomorrow = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), tzinfo=UTC).timestamp() + 86400
    for webinar in waiting:
        row = states[webinar.uuid]
        assert row["retry_after"] == datetime.fromtimestamp(tomorrow, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert "daily limit for Heavy API calls is reached" in row["reason"]

    budget = TableServiceClient.from_connection_string(fresh.azurite.connection_string).get_table_client("zoombudget")
    blocked = [r for r in budget.list_entities() if r.get("blocked_until")]
    assert {r["RowKey"] for r in blocked} == {"Heavy", "Resource-intensive"}, "every instance knows until when"

    # The next day: Zoom's quota has reset, and the next run captures what waited.
    table = TableServiceClient.from_connection_string(fresh.azurite.connection_string).get_table_client("meetings")
    for webinar in waiting:
        table.update_entity({"PartitionKey": archive_key(webinar.uuid), "RowKey": "meeting", "retry_after": ""})
    for row in blocked:
        budget.update_entity({"PartitionKey": row["PartitionKey"], "RowKey": row["RowKey"], "blocked_until": ""})
    zoom.stop()
    zoom = own_zoom("--plan", "business", "--daily-limit", "5")
    zoom.seed(tenant.zoom_seed(), tenant.folder)
    assert fresh.run_host(zoom_settings(fresh, zoom)).returncode == 0
    assert {r["status"] for r in rows(fresh, "meetings")} == {"captured"}
    assert len(GraphReader(fresh).items(alice, GraphReader(fresh).folder(alice) or "")) == len(webinars)
