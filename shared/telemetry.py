"""Telemetry: who and what every log record of a unit of work is about, counters, and the export switch.

A unit of work (one trigger invocation, one CLI command) sets its dimensions once: the stage, the meeting
UUID and archive key, later the mailbox. A log record factory copies them onto every record created while
the unit runs, from any logger (ours, the Azure SDK's, requests'), so Application Insights shows them as
custom dimensions of every trace line. A filter would not do: a logger's filter misses its children's
records, and the handlers belong to the Functions worker. The dimensions live in a context variable, so
concurrent invocations on threads never mix them.

Export is Application Insights through OpenTelemetry (azure-monitor-opentelemetry), on only when
APPLICATIONINSIGHTS_CONNECTION_STRING is set. In Azure the Python worker exports itself
(PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true, set by the Bicep); the admin CLI configures the
exporter when the connection string is set. Locally neither is set, nothing is installed and the counters
are OpenTelemetry's no-op instruments.

What goes out: the dimensions above, event names, error codes and counts. Never a secret, never meeting
content (chat, transcript, bodies): log messages say what happened, not what a meeting contained.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from opentelemetry import metrics

CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
WORKER_EXPORTS = "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY"
DIMENSIONS = ("stage", "meeting_uuid", "archive_key", "mailbox")

_current: ContextVar[Mapping[str, str] | None] = ContextVar("telemetry_dimensions", default=None)

# The records the alerts and the workbook's queries (infra/workbook/*.kql) read, by their custom dimension
# `event`, with the fields each one carries besides the unit of work's dimensions. tests/infra/test_workbook.py
# checks that every event and field a query names is here, and a real run shows the code writes them.
EVENTS: dict[str, tuple[str, ...]] = {
    "archive_run_completed": ("found", "queued"),
    "reconcile_completed": ("days", "gaps", "urgent"),
    "stage_failed": ("code", "final", "reason"),
    # A meeting queued for capture (by the timer, a webhook, a backfill or the sweep), with its meeting day.
    "meeting_queued": ("day", "source"),
    # One capture's outcome: captured (stored_files: files kept apart; missing_files: files that could not be
    # fetched, archived later), deferred, waiting, excluded or failed (final: no automatic retry follows).
    "meeting_captured": ("status", "day", "source", "stored_files", "missing_files", "final"),
    # A worker took one (meeting, mailbox) row to import into it: until it settles, the row has no outcome.
    "delivery_claimed": ("day", "row"),
    # One (meeting, mailbox) or unmapped participant row settled: imported, duplicate, unmapped or failed
    # (retryable: the sweep drives it again).
    "delivery_settled": ("status", "day", "row", "reason", "code", "stored_files", "retryable"),
    # An import of a meeting's message ran to its end: delivered to every mapped mailbox, or partial; a
    # delivered one says how long it took since the archive first knew of the meeting.
    "import_finished": ("delivery", "day", "mailboxes", "latency_seconds"),
    # Each day a completeness report compared, with the gaps it names and how many are urgent.
    "completeness_report": ("day", "gaps", "urgent"),
    # Work still due (meetings not captured, mailboxes not holding their item) and the age of the oldest.
    "backlog": ("due", "oldest_due_minutes"),
    # One run of the sweep: poison messages read, captures and imports driven again, work failed for good.
    "sweep_completed": ("poison", "captures", "imports", "given_up"),
}

_meter = metrics.get_meter("zoom_archiver")
meetings_archived = _meter.create_counter("meetings_archived", unit="1", description="Meetings captured")
items_imported = _meter.create_counter("items_imported", unit="1", description="Items created in mailboxes")
archived_bytes = _meter.create_counter("archived_bytes", unit="By", description="Bytes of messages imported")
failures = _meter.create_counter("stage_failures", unit="1", description="Stage failures, by stage and code")
zoom_requests = _meter.create_counter(
    "zoom_requests", unit="1", description="Zoom API requests sent, by rate-limit category and outcome"
)
graph_throttled = _meter.create_counter("graph_throttled", unit="1", description="Graph 429 answers, by mailbox")
# The attributes each counter is recorded with (the queries read them as custom dimensions).
METRIC_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "meetings_archived": (),
    "items_imported": (),
    "archived_bytes": (),
    "stage_failures": ("stage", "code"),
    "zoom_requests": ("category", "outcome"),
    "graph_throttled": ("mailbox",),
    "meeting_latency": ("source",),
}
meeting_latency = _meter.create_histogram(
    "meeting_latency", unit="s", description="From the archive knowing of a meeting to its last mailbox import"
)


def current() -> dict[str, str]:
    """The dimensions of the unit of work running in this context."""
    return dict(_current.get() or {})


@contextmanager
def dimensions(**values: str) -> Iterator[None]:
    """Add dimensions for the duration of the block (a unit of work, or one mailbox within it)."""
    unknown = set(values) - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"not telemetry dimensions: {sorted(unknown)}")
    token = _current.set({**current(), **{name: value for name, value in values.items() if value}})
    try:
        yield
    finally:
        _current.reset(token)


def install() -> None:
    """Copy the current dimensions onto every log record created from now on (once per process).

    urllib3 logs every URL it requests at DEBUG, among them the pre-signed URLs Zoom's downloads redirect
    to, which are credentials for the files: its DEBUG records are never created. The Azure SDK logs every
    storage request and response at INFO: only its warnings are kept, as host.json does for the host.
    """
    for name, level in (
        ("urllib3", logging.INFO),
        ("azure.core.pipeline.policies.http_logging_policy", logging.WARNING),
    ):
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.level, level))
    factory = logging.getLogRecordFactory()
    if getattr(factory, "adds_dimensions", False):
        return

    def record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        created = factory(*args, **kwargs)
        for name, value in (_current.get() or {}).items():
            setattr(created, name, value)
        return created

    record.adds_dimensions = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record)


def configure(environ: Mapping[str, str]) -> bool:
    """Turn telemetry on when Application Insights is configured; returns whether it is on."""
    if not environ.get(CONNECTION_STRING, "").strip():
        return False
    install()
    if environ.get(WORKER_EXPORTS, "").strip().lower() != "true":
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure_azure_monitor()  # reads the connection string (and Entra authentication) from the environment
    return True


def event(log: logging.Logger, name: str, message: str, *args: Any, level: int = logging.INFO, **fields: Any) -> None:
    """A log record the alerts and queries find by its custom dimension `event`: one of `EVENTS`, with its fields."""
    unknown = set(fields) - set(EVENTS[name])
    if unknown:
        raise ValueError(f"{name} records carry no {sorted(unknown)}: declare them in telemetry.EVENTS")
    log.log(level, message, *args, extra={"event": name, **fields})


def stage_failed(log: logging.Logger, code: str, *, final: bool, reason: str = "") -> None:
    """The record the failure alerts count: `event` = stage_failed with `stage`, `code`, `final` and `reason`.

    `final` says no automatic retry will follow; the stage comes from the unit of work's dimensions. The
    reason is ours or the service's error message, never meeting content, cut to 300 characters.
    """
    failures.add(1, {"stage": current().get("stage", ""), "code": code})
    event(
        log,
        "stage_failed",
        "stage failed: %s%s",
        code,
        " (final)" if final else "",
        level=logging.ERROR,
        code=code,
        final=final,
        reason=reason[:300],
    )
