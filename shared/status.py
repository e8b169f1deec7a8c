"""The status log: per day, what was archived, what was not and why, read from Table storage.

It has the counts of the Purview connector's log (items available from source; items for import after
fan-out to the participants' mailboxes; imported; partially imported, i.e. some files stored in the
`recordings` container instead of attached; skipped as duplicates; failed), plus unmapped participants,
deferred and still pending meetings, and one line per failure (a meeting archived without a file it could not
fetch yet is one too, `files_missing`). Unlike Purview's it is kept as long as the tables are, and each day
shows the gaps its completeness report named. Every day of the period is shown, one with nothing recorded and
no report as such, so that "nothing known" never reads as "0". Three renderings of one `StatusLog`: an HTML
page for a browser (no script, no external asset, every Zoom string escaped), JSON, and CSV that parses back
into the same values (but for a quote before text a spreadsheet would run), with a byte order mark so that
Excel reads it as UTF-8.
Each day also shows what the archiver's Zoom calls used that day (UTC) of the daily quota that Zoom's Heavy and
Resource-intensive APIs share across the account (the account budget's count, shared/zoom/budget.py, which the
workbook's daily budget tile charts from the requests sent); with past meetings among the sources, the Heavy
calls their listing made against its share of that quota (`ZOOM_MEETINGS_HEAVY_PERCENT`); and each report's
meetings by source.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from typing import Any

from shared.message.render import render_template
from shared.report import UNRECORDED, Gap, Report
from shared.settings import ARCHIVING, MEETINGS, RECORDINGS
from shared.state import CAPTURED, DEFERRED, DUPLICATE, EXCLUDED, FAILED, IMPORTED, QUEUED, UNMAPPED, WAITING, State

FILES_MISSING = "files_missing"  # the code of a meeting archived without files it could not fetch (yet)

# The counts, in the order they are shown, with what they mean.
COUNTS = {
    "available": "Items available from source",
    "for_import": "Items for import (after fan-out to mailboxes)",
    "imported": "Imported",
    "partially_imported": "Partially imported (files stored, not attached)",
    "duplicates": "Skipped as duplicates",
    "failed": "Failed",
    "retrying": "Of those failed, retried automatically (the rest need a person)",
    "unfinished": "No outcome yet (being imported, or left by a worker that stopped: driven again)",
    "unmapped": "Unmapped participants",
    "deferred": "Deferred (Zoom still processing)",
    "waiting": "Waiting for Zoom's API limits (the daily quota, or a long Retry-After)",
    "excluded": "Excluded by the filters",
    "pending": "Pending (queued, or captured and not yet imported)",
}


@dataclass(frozen=True)
class Failure:
    day: str
    meeting_uuid: str
    topic: str
    participant: str
    mailbox: str
    stage: str
    code: str
    reason: str
    attempts: int
    last_attempt: str


@dataclass(frozen=True)
class Day:
    day: str
    counts: dict[str, int]
    failures: list[Failure]
    report_generated_at: str  # empty when no completeness report covers the day yet
    gaps: list[Gap]
    heavy_calls: int = 0  # Heavy Zoom calls the past meetings' listing made that day (UTC)
    zoom_daily_used: int = 0  # the Zoom daily quota (Heavy and Resource-intensive calls) the archiver used that day
    report_sources: str = ""  # the report's meetings by source, as a line
    report_incomplete: str = ""  # why the report's inventory of Zoom may lack meetings

    @property
    def empty(self) -> bool:
        """Nothing recorded for the day, no completeness report and no Zoom call counted: nothing is known of it yet."""
        return (
            not self.report_generated_at
            and not any(self.counts.values())
            and not self.failures
            and not self.heavy_calls
            and not self.zoom_daily_used
        )


@dataclass(frozen=True)
class StatusLog:
    first: str
    last: str
    days: list[Day]  # every day of the period, newest first
    workbook_url: str = ""  # the operators' workbook in the Azure portal, when deployed (WORKBOOK_URL)
    poisoned: int = 0  # messages in the poison queues that the sweep has not read yet (any day)
    heavy_allowed: int = 0  # the past meetings' daily share of Heavy calls; 0 when they are not a source
    zoom_daily_quota: int = 0  # the plan's daily quota of Heavy and Resource-intensive calls; 0: not shown


def status_log(
    state: State,
    reports: Iterable[Report],
    first: date,
    last: date,
    workbook_url: str = "",
    poisoned: int = 0,
    heavy_allowed: int = 0,
    zoom_daily_used: Callable[[date], int] | None = None,
    zoom_daily_quota: int = 0,
) -> StatusLog:
    """The log of the meetings held from `first` to `last`, with the completeness reports of those days; when
    past meetings are listed (`heavy_allowed`, their daily share), each day's Heavy calls; with the plan's daily
    quota of Heavy and Resource-intensive calls, what the account's Zoom budget counted of it each day."""
    meetings = {row["PartitionKey"]: row for row in state.meetings_between(first, last)}
    deliveries = state.deliveries_between(first, last)
    by_day: dict[str, list[dict[str, Any]]] = {}
    for row in meetings.values():
        by_day.setdefault(str(row.get("day", "")), []).append(row)
    delivered_by_day: dict[str, list[dict[str, Any]]] = {}
    for row in deliveries:
        delivered_by_day.setdefault(str(row.get("day", "")), []).append(row)
    reports_by_day = {report.day: report for report in reports}
    days = []
    current = last
    while current >= first:
        day = current.isoformat()
        rows, delivered = by_day.get(day, []), delivered_by_day.get(day, [])
        report = reports_by_day.get(day)
        heavy = state.heavy_calls(current) if heavy_allowed else 0
        used = zoom_daily_used(current) if zoom_daily_used and zoom_daily_quota else 0
        days.append(
            Day(
                day=day,
                counts=_counts(rows, delivered, meetings),
                failures=_failures(day, rows, delivered, meetings, state),
                report_generated_at=report.generated_at if report else "",
                gaps=list(report.gaps) if report else [],
                heavy_calls=heavy,
                zoom_daily_used=used,
                report_sources=sources_line(report.counts) if report else "",
                report_incomplete=report.incomplete if report else "",
            )
        )
        current -= timedelta(days=1)
    return StatusLog(first.isoformat(), last.isoformat(), days, workbook_url, poisoned, heavy_allowed, zoom_daily_quota)


def _partial(row: dict[str, Any], meetings: dict[str, dict[str, Any]]) -> bool:
    meeting = meetings.get(row["PartitionKey"], {})
    return int(row.get("stored_files") or 0) > 0 or int(meeting.get("stored_files") or 0) > 0


def _counts(
    rows: list[dict[str, Any]], delivered: list[dict[str, Any]], meetings: dict[str, dict[str, Any]]
) -> dict[str, int]:
    statuses = [row.get("status") for row in delivered]
    imported = [row for row in delivered if row.get("status") == IMPORTED]
    partial = sum(_partial(row, meetings) for row in imported)
    return {
        "available": len(rows),
        "for_import": sum(s in (IMPORTED, DUPLICATE, FAILED, None, "") for s in statuses),
        "imported": len(imported) - partial,
        "partially_imported": partial,
        "duplicates": statuses.count(DUPLICATE),
        "failed": statuses.count(FAILED) + sum(row.get("status") == FAILED for row in rows),
        "retrying": sum(row.get("status") == FAILED and bool(row.get("retryable")) for row in delivered)
        + sum(row.get("status") == FAILED and not row.get("final") for row in rows),
        "unfinished": statuses.count(None) + statuses.count(""),
        "unmapped": statuses.count(UNMAPPED),
        "deferred": sum(row.get("status") == DEFERRED for row in rows),
        "waiting": sum(row.get("status") == WAITING for row in rows),
        "excluded": sum(row.get("status") == EXCLUDED for row in rows),
        "pending": sum(
            row.get("status") == QUEUED or (row.get("status") == CAPTURED and not row.get("delivery")) for row in rows
        ),
    }


def _failures(
    day: str,
    rows: list[dict[str, Any]],
    delivered: list[dict[str, Any]],
    meetings: dict[str, dict[str, Any]],
    state: State,
) -> list[Failure]:
    found = [
        _failure(day, "capture", row, row, str(row.get("error_code", "")))
        for row in rows
        if row.get("status") == FAILED
    ]
    found += [  # archived without some files: the sweep tries them again (a replay too), the report names them
        _failure(
            day,
            "capture",
            row,
            row,
            FILES_MISSING,
            f"archived without {row['files_missing']} file(s) Zoom lists: {row.get('missing_reason', '')}",
        )
        for row in rows
        if row.get("status") == CAPTURED and int(row.get("files_missing") or 0) > 0
    ]
    found += [
        _failure(
            day,
            "import",
            row,
            meetings.get(row["PartitionKey"]) or state.meeting(row["PartitionKey"]) or {},
            str(row.get("code", "")),
        )
        for row in delivered
        if row.get("status") == FAILED
    ]
    return sorted(found, key=lambda f: (f.last_attempt, f.meeting_uuid, f.mailbox), reverse=True)


def _failure(
    day: str, stage: str, row: dict[str, Any], meeting: dict[str, Any], code: str, reason: str | None = None
) -> Failure:
    """A failure line from the row that failed (a meeting's, or a delivery's, which names the participant and
    mailbox) and its meeting; the reason is the row's own unless given."""
    return Failure(
        day=day,
        meeting_uuid=str(meeting.get("uuid", "")),
        topic=str(meeting.get("topic", "")),
        participant=str(row.get("participant", "")),
        mailbox=str(row.get("mailbox", "")),
        stage=stage,
        code=code,
        reason=str(row.get("reason", "")) if reason is None else reason,
        attempts=int(row.get("attempts") or 0),
        last_attempt=str(row.get("updated_at", "")),
    )


# --- renderings ---------------------------------------------------------------------------------


def to_json(log: StatusLog) -> dict[str, Any]:
    return asdict(log)


FAILURE_FIELDS = [f.name for f in fields(Failure) if f.name != "day"]
GAP_FIELDS = [f.name for f in fields(Gap)]
CSV_COLUMNS = list(
    dict.fromkeys(
        [
            "record",
            "day",
            *COUNTS,
            "zoom_daily_used",
            "heavy_calls",
            "report_generated_at",
            "report_sources",
            "report_incomplete",
            *FAILURE_FIELDS,
            *GAP_FIELDS,
        ]
    ).keys()
)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what makes Excel and its kin read a cell as a formula
BOM = "\ufeff"  # without it, Excel on Windows reads a CSV file in the system's code page, not UTF-8


def csv_cell(value: Any) -> Any:
    """A value as a spreadsheet may safely open it: text that would start a formula gets a leading quote."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def to_csv(log: StatusLog) -> str:
    """One sheet: a `day` row with the counts, then its `failure` rows, then its report's `gap` rows.

    Topics, names and reasons come from Zoom and Graph: any that would start a formula starts with a quote.
    The text starts with a byte order mark: Excel then reads it as UTF-8.
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()

    def row(values: dict[str, Any]) -> None:
        writer.writerow({name: csv_cell(value) for name, value in values.items()})

    for day in log.days:
        row(
            {
                "record": "day",
                "day": day.day,
                **day.counts,
                "zoom_daily_used": day.zoom_daily_used,
                "heavy_calls": day.heavy_calls,
                "report_generated_at": day.report_generated_at,
                "report_sources": day.report_sources,
                "report_incomplete": day.report_incomplete,
            }
        )
        for failure in day.failures:
            row({"record": "failure", **asdict(failure)})
        for gap in day.gaps:
            row({"record": "gap", "day": day.day, **asdict(gap)})
    return BOM + out.getvalue()


def to_text(log: StatusLog) -> str:
    """The log for a terminal (the admin CLI)."""
    lines = [f"Status log {log.first} to {log.last}"]
    if log.poisoned:
        lines.append(f"{log.poisoned} message(s) in the poison queues, not yet read by the sweep")
    width = max(len(label) for label in COUNTS.values())
    for day in log.days:
        if day.empty:
            lines.append(f"\n{day.day}  nothing recorded, no completeness report yet")
            continue
        lines.append(f"\n{day.day}")
        lines += [f"  {label:<{width}}  {day.counts[name]}" for name, label in COUNTS.items()]
        for f in day.failures:
            where = f" mailbox {f.mailbox}" if f.mailbox else ""
            lines.append(f"  FAILED {f.stage} {f.meeting_uuid} {f.topic!r}{where}: {f.code} {f.reason} ({f.attempts}x)")
        if log.zoom_daily_quota:
            lines.append(f"  {zoom_daily_line(day.zoom_daily_used, log.zoom_daily_quota)}")
        if log.heavy_allowed:
            lines.append(f"  {heavy_line(day.heavy_calls, log.heavy_allowed)}")
        if day.report_generated_at:
            lines.append(f"  completeness report {day.report_generated_at}: {len(day.gaps)} gap(s)")
            lines += [f"  {line}" for line in (day.report_sources, day.report_incomplete) if line]
            lines += [f"  GAP {gap.line()}" for gap in day.gaps]
    return "\n".join(lines) + "\n"


def to_html(log: StatusLog) -> str:
    """A page an administrator opens in a browser: every failure first, then a table per day."""
    failures = [f for day in log.days for f in day.failures]
    return render_template(
        "status.html", log=log, failures=failures, counts=COUNTS, heavy_line=heavy_line, zoom_daily_line=zoom_daily_line
    )


def zoom_daily_line(used: int, quota: int) -> str:
    """A day's use of the daily quota Zoom's Heavy and Resource-intensive APIs share, as the workbook's tile has it."""
    return (
        f"Zoom's daily quota of Heavy and Resource-intensive calls (UTC day): {used} of {quota} used by the archiver "
        f"({100 * used / quota:.1f} %)"
    )


def heavy_line(calls: int, allowed: int) -> str:
    """A day's Heavy calls listing past meetings, against their daily share."""
    return (
        f"Heavy Zoom calls listing past meetings: {calls} of the {allowed} a day allows (ZOOM_MEETINGS_HEAVY_PERCENT)"
    )


def sources_line(counts: dict[str, int]) -> str:
    """A completeness report's meetings by source; empty for a report from before sources."""
    if not any(counts.values()):
        return ""
    parts = [
        f"{counts.get(RECORDINGS, 0)} with a cloud recording",
        f"{counts.get(ARCHIVING, 0)} in Zoom's archive",
        f"{counts.get(MEETINGS, 0)} in Zoom's meeting reports",
        f"{counts.get(UNRECORDED, 0)} neither recorded nor archived",
    ]
    return "Meetings Zoom lists: " + ", ".join(parts)


# --- the HTTP function's query ------------------------------------------------------------------

CONTENT_TYPES = {"html": "text/html", "json": "application/json", "csv": "text/csv"}
DEFAULT_DAYS = 7
MAX_DAYS = 366
# The page loads nothing from anywhere and runs no script; nobody caches or frames it.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def query(params: Mapping[str, str], today: date) -> tuple[date, date, str]:
    """(first day, last day, format) from `?from=&to=` or `?days=N` (7, ending today) and `?format=`.

    Raises ValueError saying what is wrong.
    """
    form = params.get("format") or "html"
    if form not in CONTENT_TYPES:
        raise ValueError(f"format must be one of {', '.join(CONTENT_TYPES)}")
    period = f"the period must run forwards and span at most {MAX_DAYS} days"
    dated = bool(params.get("from") or params.get("to"))
    try:
        if dated:
            first = date.fromisoformat(params.get("from") or params.get("to", ""))
            last = date.fromisoformat(params.get("to") or today.isoformat())
        else:
            days = int(params.get("days") or DEFAULT_DAYS)
    except ValueError:
        raise ValueError("from and to must be dates (YYYY-MM-DD), days a whole number") from None
    if not dated:
        if not 1 <= days <= MAX_DAYS:  # before subtracting: a huge number would fall off the calendar
            raise ValueError(period)
        first, last = today - timedelta(days=days - 1), today
    if not 0 <= (last - first).days < MAX_DAYS:
        raise ValueError(period)
    return first, last, form


def render(log: StatusLog, form: str) -> tuple[str, str, dict[str, str]]:
    """The log as `html`, `json` or `csv`: body, content type and response headers."""
    if form == "html":
        return to_html(log), CONTENT_TYPES[form], HEADERS
    if form == "csv":
        name = f"zoom-archive-status-{log.first}-{log.last}.csv"
        return to_csv(log), CONTENT_TYPES[form], {**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return json.dumps(to_json(log), indent=1), CONTENT_TYPES[form], HEADERS
