"""The workbook's queries run against the telemetry of a real run, and agree with the status log.

Stages run in this process against Azurite and the emulators; OpenTelemetry's in-memory exporters catch what
would go to Application Insights. Its log records become rows of `traces` and its counters rows of
`customMetrics`, shaped as Application Insights stores them (custom dimensions as text), in DuckDB, and the
deployed query files (infra/workbook/*.kql) run on them through duckdb-kql.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb_kql
import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from local.world import World
from shared import status, telemetry
from shared.archiver import Archiver
from shared.records import MeetingRef
from shared.settings import load_settings
from shared.storage import MESSAGES_CONTAINER
from shared.zoom import encode_uuid
from tests.conftest import emptied
from tests.infra.test_workbook import query, query_files
from tests.integration.conftest import counters, mailbox_refuses, records
from tests.tenant import File, Tenant

pytestmark = pytest.mark.integration


def traces_rows(found: list[dict[str, Any]]) -> list[tuple[datetime, str, dict[str, str]]]:
    """Log records as Application Insights' `traces` holds them: time, message, attributes as text."""
    return [
        (
            datetime.fromtimestamp(record["time"] / 1e9, UTC).replace(tzinfo=None),
            record["body"],
            {k: str(v) for k, v in record.items() if k not in ("body", "time")},
        )
        for record in found
    ]


def metric_rows(before: dict, after: dict) -> list[tuple[datetime, str, float, dict[str, str]]]:
    """What the run added to each counter, as `customMetrics` rows (the exporter sends deltas)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return [
        (now, name, value - before.get((name, attributes), 0), {k: str(v) for k, v in attributes})
        for (name, attributes), value in after.items()
        if value != before.get((name, attributes), 0)
    ]


def workspace(traces: list, metrics: list) -> Any:
    connection = duckdb_kql.connect()
    connection.sql("CREATE TABLE traces (timestamp TIMESTAMP, message VARCHAR, customDimensions JSON)")
    connection.sql(
        "CREATE TABLE customMetrics (timestamp TIMESTAMP, name VARCHAR, value DOUBLE, valueCount BIGINT, "
        "customDimensions JSON)"
    )
    for when, message, dimensions in traces:
        connection.execute("INSERT INTO traces VALUES (?, ?, ?)", [when, message, json.dumps(dimensions)])
    for when, name, value, dimensions in metrics:
        connection.execute(
            "INSERT INTO customMetrics VALUES (?, ?, ?, 1, ?)", [when, name, value, json.dumps(dimensions)]
        )
    return connection


def run(connection: Any, name: str) -> list[dict[str, Any]]:
    result = duckdb_kql.query(connection, query(name))
    return [dict(zip(result.columns, row, strict=True)) for row in result.fetchall()]


@pytest.fixture(scope="module")
def telemetry_of_a_run(
    world: World,
    tmp_path_factory: pytest.TempPathFactory,
    exported: tuple[InMemoryLogRecordExporter, InMemoryMetricReader],
) -> tuple[Any, Archiver]:
    """A run with every outcome the tiles count: imported, stored apart, a refusing mailbox, an unmapped guest,
    a capture that fails, a throttled mailbox, a webinar (its end time is a Heavy call); then the completeness
    report and the sweep."""
    logs, reader = exported
    fresh = emptied(world)
    tenant = Tenant(tmp_path_factory.mktemp("workbook-tenant"))
    alice, bob, carol = tenant.person("Alice Archer"), tenant.person("Bob Baker"), tenant.person("Carol Chen")
    guest = tenant.person("Grace Guest", domain="fabrikam.example", zoom=False)
    tenant.meeting(alice, "Review", attendees=[(alice, 0, 30), (bob, 0, 30), (carol, 0, 30), (guest, 0, 5)], days_ago=2)
    broken = tenant.meeting(alice, "Broken", days_ago=2)
    tenant.meeting(bob, "Large", attendees=[(bob, 0, 30)], files=[File("MP4", b"\x01" * 1_500_000)], days_ago=3)
    tenant.meeting(bob, "Town hall", kind=5, attendees=[(bob, 0, 60)], days_ago=3)  # a webinar: one Heavy call
    tenant.apply(fresh)
    fresh.zoom.fault(
        {
            "method": "GET",
            "path": f"^/v2/past_meetings/{encode_uuid(broken.uuid)}/polls",
            "status": 400,
            "body": {"code": 300, "message": "Cannot access meeting information."},
            "times": -1,
        }
    )
    fresh.graph.fault(
        mailbox_refuses(carol),
        {
            "method": "POST",
            "path": f"^/v1.0/users/{alice.graph_id}/mailFolders/[^/]+/messages$",
            "status": 429,
            "headers": {"Retry-After": "0.1"},
            "body": {"error": {"code": "ApplicationThrottled", "message": "Application is over its limit."}},
        },
    )
    archiver = Archiver(load_settings(fresh.app_settings(MAX_MESSAGE_SIZE_MB="1")))
    records(logs)
    before = counters(reader)

    archiver.enumerate_meetings()
    for meeting in tenant.meetings:
        try:
            archiver.capture_meeting(MeetingRef(meeting.uuid, source="timer"))
        except Exception:  # the broken meeting's capture fails: its failure is what the tiles count
            assert meeting is broken
    messages = archiver.storage.container(MESSAGES_CONTAINER)
    for blob in messages.list_blobs():
        archiver.import_message(messages.download_blob(blob.name).readall())
    archiver.reconcile()
    archiver.sweep()
    connection = workspace(traces_rows(records(logs)), metric_rows(before, counters(reader)))
    fresh.zoom.clear_faults()
    fresh.graph.clear_faults()
    return connection, archiver


def test_the_status_tile_counts_each_day_as_the_status_log_does(telemetry_of_a_run: tuple[Any, Archiver]) -> None:
    connection, archiver = telemetry_of_a_run
    today = datetime.now(UTC).date()
    log = archiver.status(today - timedelta(days=6), today)
    expected = {day.day: day.counts for day in log.days if day.counts["available"]}
    tile = {row.pop("day"): row for row in run(connection, "status-by-meeting-day.kql")}

    assert expected and set(tile) == set(expected)
    for day, counts in expected.items():
        assert tile[day] == {name: counts[name] for name in tile[day]}, day
    assert set(tile[next(iter(tile))]) == set(status.COUNTS), "the tile shows every count of the status log"
    totals = {name: sum(c[name] for c in expected.values()) for name in status.COUNTS}
    assert (totals["failed"], totals["unmapped"], totals["partially_imported"]) == (2, 1, 1)


def test_every_event_and_metric_a_tile_reads_is_written_by_a_run(telemetry_of_a_run: tuple[Any, Archiver]) -> None:
    connection, _ = telemetry_of_a_run
    events = {row[0] for row in connection.sql("SELECT customDimensions->>'event' FROM traces").fetchall()}
    names = {row[0] for row in connection.sql("SELECT name FROM customMetrics").fetchall()}
    assert set(telemetry.EVENTS) <= events, f"declared but never written: {set(telemetry.EVENTS) - events}"
    assert {"zoom_requests", "graph_throttled", "meeting_latency"} <= names
    for name in query_files():
        if name != "latency-alert.kql":
            assert run(connection, name), f"{name} shows nothing for a run that did everything"


def test_the_tiles_show_the_run_s_failures_throttling_and_latency(telemetry_of_a_run: tuple[Any, Archiver]) -> None:
    connection, _ = telemetry_of_a_run
    failures = {(row["stage"], row["code"]): row for row in run(connection, "failures.kql")}
    assert failures[("import", "ErrorAccessDenied")]["final_failures"] == 1
    assert "Cannot access meeting information" in failures[("capture", "zoom_400_300")]["top_reason"]
    (throttled,) = run(connection, "graph-throttling.kql")
    assert throttled["mailbox"].startswith("alice@") and throttled["throttled"] == 1
    assert {row["series"] for row in run(connection, "zoom-budget.kql")} >= {"Light", "Medium"}
    (latency,) = run(connection, "latency.kql")
    assert latency["meetings"] >= 1 and 0 < latency["p50_minutes"] <= latency["p95_minutes"] < 10
    completeness = run(connection, "completeness.kql")
    assert sum(row["gaps"] for row in completeness) >= 2  # the broken meeting, and Carol's mailbox


def test_the_status_log_shows_the_zoom_daily_quota_used_as_the_budget_tile_does(
    telemetry_of_a_run: tuple[Any, Archiver],
) -> None:
    """Both count the day's Heavy and Resource-intensive calls against the plan's quota: the tile from the requests
    sent, the status log from the account budget every instance reserves them on (the webinar's details here)."""
    connection, archiver = telemetry_of_a_run
    today = datetime.now(UTC).date()
    (tile,) = [row for row in run(connection, "zoom-daily-budget.kql") if row["day"].date() == today]
    log = archiver.status(today - timedelta(days=1), today)
    shown = {day.day: day.zoom_daily_used for day in log.days}

    assert tile["used"] >= 1 and shown == {today.isoformat(): tile["used"], (today - timedelta(days=1)).isoformat(): 0}
    assert log.zoom_daily_quota == 30_000 and f"{int(tile['used'])} of 30000 used" in status.to_text(log)
