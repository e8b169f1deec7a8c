"""A seeded archive run with injected permanent failures, for the status log and the completeness report."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from opentelemetry import metrics
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from local.world import World
from shared import telemetry
from shared.zoom import encode_uuid
from tests.tenant import Meeting, Person, Tenant

ACCESS_DENIED = {
    "error": {"code": "ErrorAccessDenied", "message": "Access is denied. Check credentials and try again."}
}


def mailbox_refuses(person: Person) -> dict:
    """A fault: Graph refuses every item created in this person's mailbox, as an Exchange RBAC scope does."""
    return {
        "method": "POST",
        "path": f"^/v1.0/users/{person.graph_id}/mailFolders/[^/]+/messages$",
        "status": 403,
        "body": ACCESS_DENIED,
        "times": -1,
    }


def daily_limit_spent(path: str, category: str, **headers: str) -> dict:
    """A fault: Zoom's 429 for a spent daily quota, as its docs show it, on requests whose path matches."""
    return {
        "method": "GET",
        "path": path,
        "status": 429,
        "headers": {"X-RateLimit-Category": category, "X-RateLimit-Type": "Daily-limit", **headers},
        "body": {"code": 429, "message": "You have reached the maximum daily rate limit for this API."},
    }


@dataclass
class FailedRun:
    world: World
    alice: Person
    bob: Person
    review: Meeting  # imported for Alice; Bob's mailbox refuses it; an external guest is unmapped
    broken: Meeting  # Zoom refuses its poll results: capture fails every attempt
    fine: Meeting
    output: str


@pytest.fixture
def failed_run(fresh: World, tenant: Tenant) -> FailedRun:
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    guest = tenant.person("Grace Guest", domain="fabrikam.example", zoom=False)
    review = tenant.meeting(
        alice, "Review <b>Q3</b> & plans", attendees=[(alice, 0, 30), (bob, 0, 30), (guest, 0, 10)], days_ago=2
    )
    broken = tenant.meeting(alice, "Broken", days_ago=3)
    broken.extra["auto_delete_date"] = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    fine = tenant.meeting(alice, "Fine", days_ago=3)
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
    fresh.graph.fault(mailbox_refuses(bob))
    result = fresh.run_host(fresh.app_settings(AzureFunctionsJobHost__extensions__queues__visibilityTimeout="00:00:00"))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output  # the broken meeting ends in meetings-poison
    return FailedRun(fresh, alice, bob, review, broken, fine, output)


@pytest.fixture(scope="session")
def metric_reader() -> InMemoryMetricReader:
    """The app's counters, read in memory: OpenTelemetry takes one meter provider per process, set here once."""
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return reader


@pytest.fixture(scope="module")
def exported(metric_reader: InMemoryMetricReader) -> Iterator[tuple[InMemoryLogRecordExporter, InMemoryMetricReader]]:
    """Telemetry of in-process stage runs, caught by OpenTelemetry's in-memory exporters instead of Application
    Insights: every log record any library writes, with its attributes (the custom dimensions), and the counters."""
    logs = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    handler = LoggingHandler(level=logging.DEBUG, logger_provider=provider)
    root = logging.getLogger()
    level, factory, urllib3 = root.level, logging.getLogRecordFactory(), logging.getLogger("urllib3").level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # everything any library says, not only what production keeps
    telemetry.install()
    yield logs, metric_reader
    root.removeHandler(handler)
    root.setLevel(level)
    logging.setLogRecordFactory(factory)
    logging.getLogger("urllib3").setLevel(urllib3)


def records(logs: InMemoryLogRecordExporter) -> list[dict[str, Any]]:
    """The log records exported since the last call: body, attributes and time; the exporter is emptied."""
    found = []
    for data in logs.get_finished_logs():
        record = data.log_record
        found.append(
            {"body": str(record.body), "time": record.timestamp, **{k: v for k, v in (record.attributes or {}).items()}}
        )
    logs.clear()
    return found


def counters(reader: InMemoryMetricReader) -> dict[tuple[str, tuple[tuple[str, Any], ...]], float]:
    """Each instrument's cumulative value per attribute set (a histogram's: the sum of what it recorded)."""
    values: dict[tuple[str, tuple[tuple[str, Any], ...]], float] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = point.value if hasattr(point, "value") else point.sum
                    values[(metric.name, tuple(sorted(point.attributes.items())))] = value
    return values
