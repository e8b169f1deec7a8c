"""The completeness report: Zoom's inventory of a day compared, meeting by meeting and mailbox by mailbox,
with what the archive delivered, naming every gap.

Modelled on the archivers' daily reconciliation reports (collected, archived, duplicate, failed,
unprocessed), but per meeting and per mailbox. The inventory is Zoom's own: every user, active and
inactive, and their cloud recordings of the day. For each meeting the expected mailboxes are those of its
internal participants, read from the archived message and mapped again with the `mapping` module, plus any
a delivery row names (the default mailbox standing in): never only the rows that exist, which an import that
died early leaves short. Every meeting Zoom lists that is not in every expected mailbox is a gap (a mailbox
whose row has no outcome included: being imported, or claimed by a worker that stopped), and so are files
Zoom lists that the meeting's message and its additions (files archived after it) lack, and an addition
missing from a mailbox; unmapped participants (external, no email, no Microsoft 365 user or mailbox) are
listed as exceptions, which are the archive's policy, not gaps.

A gap is urgent when Zoom may delete the recording within `URGENT_WITHIN`: on the recording's
`auto_delete_date` when Zoom states one (recordings then go to the trash, out of the API's reach), otherwise
six months after the meeting, when it leaves the recordings listing. The account's retention setting is not
read: it needs another Zoom scope, and the listing horizon is never later than what matters to the archive.

Each report is a JSON blob `reports/<day>.json`; a day is compared again on later runs while it has gaps,
and a write-once container keeps every version (README, "Write-once storage").

Zoom's inventory is that of every source the archive reads (`ZOOM_SOURCES`): the recordings, the archive
(a breakout room counted as its meeting's, its files among the meeting's) and the past meetings of the
meeting reports, whose Heavy calls come out of the same daily share as the listing's; each meeting says which
sources list it, and the report counts them. When the share is spent, the report says its inventory of past
meetings is incomplete rather than call the day complete.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

from shared import claims
from shared.blobio import BlobSource
from shared.capture import message_blob_name
from shared.filters import Filters
from shared.inventory import Scope
from shared.listings import PastMeetings
from shared.mapping import Directory, UserMapping, recipients
from shared.message.reader import read_record
from shared.records import Meeting, Person, RecordingFile, archive_key, parse_time
from shared.settings import ARCHIVING, MEETINGS, RECORDINGS, Settings
from shared.state import (
    CAPTURED,
    DUPLICATE,
    EXCLUDED,
    FAILED,
    IMPORTED,
    UNMAPPED,
    State,
    column_list,
    mailbox_row,
)
from shared.zoom import DailyLimitReached, ZoomClient

log = logging.getLogger(__name__)

URGENT_WITHIN = timedelta(days=7)
LISTING_HORIZON = timedelta(days=183)  # Zoom lists recordings of the past six months only

# Kinds of gap
NOT_ARCHIVED = "not_archived"  # Zoom lists it, the archive never queued it
NOT_CAPTURED = "not_captured"  # queued or deferred, no message yet
CAPTURE_FAILED = "capture_failed"
NOT_IMPORTED = "not_imported"  # the mailbox has no item and no import recorded a failure (yet)
IMPORT_FAILED = "import_failed"
FILES_NOT_ARCHIVED = "files_not_archived"  # Zoom lists files the meeting's message (and additions) lack
UNRECORDED = "unrecorded"  # the count of meetings neither recorded nor archived (only the past meetings list them)


@dataclass
class Inventoried:
    """One meeting of Zoom's inventory of a day: its facts (a recording's, when it has one), the sources that
    list it, and the files they list."""

    facts: dict[str, Any]
    sources: list[str]
    files: list[RecordingFile]
    partial: bool = True  # its facts are its breakout rooms' until a source lists the meeting itself


@dataclass(frozen=True)
class Gap:
    meeting_uuid: str
    topic: str
    mailbox: str  # empty when the whole meeting is missing
    kind: str
    detail: str
    urgent: bool
    deadline: str  # the day Zoom may delete the recording

    def line(self) -> str:
        where = f" mailbox {self.mailbox}" if self.mailbox else ""
        return f"{'URGENT ' if self.urgent else ''}{self.kind} {self.meeting_uuid}{where}: {self.detail}"


@dataclass(frozen=True)
class MeetingCheck:
    meeting_uuid: str
    topic: str
    start_time: str
    status: str  # the meeting row's status, or "" when the archive has no record of it
    mailboxes: dict[str, str]  # mailbox -> delivery status, for every expected mailbox
    sources: list[str] = field(default_factory=list)  # the sources that list it (empty in an older report)


@dataclass(frozen=True)
class Report:
    day: str
    generated_at: str
    zoom_users: int
    meetings: list[MeetingCheck]
    gaps: list[Gap]
    unmapped: list[dict[str, str]] = field(default_factory=list)  # participant, email, reason, meeting_uuid
    not_listed_by_zoom: list[str] = field(default_factory=list)  # meeting UUIDs archived but absent from Zoom
    incomplete: str = ""  # why Zoom's inventory of the day may lack meetings (a source it could not list)

    @property
    def complete(self) -> bool:
        return not self.gaps and not self.incomplete

    @property
    def counts(self) -> dict[str, int]:
        """Meetings per source that lists them, and those that only the past meetings list: neither recorded
        nor archived (a report from before sources counts none)."""
        found = {
            source: sum(source in m.sources for m in self.meetings) for source in (RECORDINGS, ARCHIVING, MEETINGS)
        }
        found[UNRECORDED] = sum(m.sources == [MEETINGS] for m in self.meetings)
        return found

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "complete": self.complete, "counts": self.counts}, indent=1)

    @classmethod
    def from_json(cls, text: str | bytes) -> Report:
        data = json.loads(text)
        return cls(
            day=data["day"],
            generated_at=data["generated_at"],
            zoom_users=data["zoom_users"],
            meetings=[MeetingCheck(**m) for m in data["meetings"]],
            gaps=[Gap(**g) for g in data["gaps"]],
            unmapped=data.get("unmapped", []),
            not_listed_by_zoom=data.get("not_listed_by_zoom", []),
            incomplete=data.get("incomplete", ""),
        )


def blob_name(day: date) -> str:
    return f"{day.isoformat()}.json"


def read_reports(reports: ContainerClient, days: Iterable[date]) -> list[Report]:
    """The stored reports of these days (days without one are left out)."""
    found = []
    for day in days:
        try:
            found.append(Report.from_json(reports.download_blob(blob_name(day)).readall()))
        except ResourceNotFoundError:
            continue
    return found


def deadline(recording: dict[str, Any], start: datetime) -> date:
    """The day Zoom may stop serving the recording: its auto-delete date, else the listing horizon."""
    stated = str(recording.get("auto_delete_date") or "")
    try:
        return date.fromisoformat(stated[:10])
    except ValueError:
        return (start + LISTING_HORIZON).date()


def zoom_inventory(
    zoom: ZoomClient,
    days: set[date],
    filters: Filters,
    sources: tuple[str, ...] = (RECORDINGS,),
    past: PastMeetings | None = None,
) -> tuple[int, dict[date, list[Inventoried]], str]:
    """Zoom's meetings on these days (UTC) in every source, from every host in the archive's scope (the
    meetings of the hosts the administrator's filters leave out are not gaps), and why the inventory may be
    incomplete (empty when it is not)."""
    listed: dict[date, dict[str, Inventoried]] = {day: {} for day in days}
    scope = Scope(zoom, filters)
    incomplete = ""
    try:
        # A day either side: Zoom's from/to are dates in the account's time zone, ours are UTC.
        for item in scope.listed(sources, min(days) - timedelta(days=1), max(days) + timedelta(days=1), past):
            start = parse_time(item.facts.get("start_time"))
            if not (start and start.date() in listed):
                continue
            files = list(item.files) if item.source == ARCHIVING else []
            if item.source == RECORDINGS:
                files = list(Meeting.from_zoom(item.facts, Person("", ""), ()).files)
            known = listed[start.date()].setdefault(str(item.facts["uuid"]), Inventoried(item.facts, [], []))
            if item.source == RECORDINGS or (known.partial and not item.partial):
                known.facts, known.partial = item.facts, item.partial
            known.sources = sorted({*known.sources, item.source}, key=(RECORDINGS, ARCHIVING, MEETINGS).index)
            known.files += [f for f in files if f.key not in {k.key for k in known.files}]
    except DailyLimitReached as limit:
        incomplete = f"Zoom's inventory of these days could not be listed whole: {limit}"
        log.warning("completeness report: %s", incomplete)
    return len(scope.hosts), {day: list(found.values()) for day, found in listed.items()}, incomplete


def reconcile(
    days: Iterable[date],
    *,
    zoom: ZoomClient,
    state: State,
    messages: ContainerClient,
    reports: ContainerClient,
    directory: Directory,
    mapping: UserMapping,
    settings: Settings,
    filters: Filters,
    today: date,
) -> list[Report]:
    """Compare each day with Zoom's inventory and store its report; returns the reports, oldest first."""
    wanted = set(days)
    if not wanted:
        return []
    past = PastMeetings(zoom, state, settings)
    users, inventory, incomplete = zoom_inventory(zoom, wanted, filters, settings.zoom_sources, past)
    written = []
    for day in sorted(wanted):
        report = _compare(day, users, inventory[day], state, messages, directory, mapping, settings, filters, today)
        report = replace(report, incomplete=incomplete)
        reports.upload_blob(
            blob_name(day),
            report.to_json().encode(),
            overwrite=True,
            content_settings=ContentSettings(content_type="application/json"),
        )
        log.info(
            "completeness report for %s: %d meeting(s) listed by Zoom, %d gap(s), %d urgent",
            day,
            len(report.meetings),
            len(report.gaps),
            sum(g.urgent for g in report.gaps),
        )
        written.append(report)
    return written


def _compare(
    day: date,
    users: int,
    listed: list[Inventoried],
    state: State,
    messages: ContainerClient,
    directory: Directory,
    mapping: UserMapping,
    settings: Settings,
    filters: Filters,
    today: date,
) -> Report:
    rows = {row["PartitionKey"]: row for row in state.meetings_between(day, day)}
    checks: list[MeetingCheck] = []
    gaps: list[Gap] = []
    unmapped: list[dict[str, str]] = []
    for item in sorted(listed, key=lambda r: str(r.facts.get("start_time", ""))):
        recording = item.facts
        uuid = str(recording["uuid"])
        topic = str(recording.get("topic") or "")
        key = archive_key(uuid)
        row = rows.pop(key, None) or state.meeting(key) or {}
        start = parse_time(recording.get("start_time")) or datetime.combine(day, datetime.min.time(), UTC)
        due = deadline(recording, start)
        urgent = due - today <= URGENT_WITHIN
        found: list[tuple[str, str, str]] = []  # kind, detail, mailbox
        mailboxes: dict[str, str] = {}
        status = str(row.get("status", ""))
        if not row:
            found.append((NOT_ARCHIVED, "Zoom lists this meeting; the archive has no record of it", ""))
        elif status == EXCLUDED:
            pass  # left out on purpose; the row's reason names the filter
        elif status == FAILED:
            found.append((CAPTURE_FAILED, f"{row.get('error_code', '')}: {row.get('reason', '')}", ""))
        elif status != CAPTURED:
            found.append((NOT_CAPTURED, f"{status}: {row.get('reason') or 'not captured yet'}", ""))
        else:
            deliveries = state.deliveries(key)
            unmapped += [
                {
                    "meeting_uuid": uuid,
                    "participant": str(d.get("participant", "")),
                    "email": str(d.get("participant_email", "")),
                    "reason": str(d.get("reason", "")),
                }
                for d in deliveries.values()
                if d.get("status") == UNMAPPED
            ]
            expected = _expected(row, deliveries, key, messages, directory, mapping, settings)
            if expected is None:
                found.append((NOT_IMPORTED, "the archived message is missing from the messages container", ""))
            mailboxes = {
                mailbox: str(deliveries.get(mailbox_row(mailbox), {}).get("status") or "missing")
                for mailbox in expected or []
            }
            found += _mailbox_gaps(expected or [], deliveries, "")
            for addition in column_list(row.get("additions")):
                found += _mailbox_gaps(expected or [], state.deliveries(addition), "its addition of later files: ")
            if late := _late_files(item.files, row, filters):
                detail = f"Zoom lists {len(late)} file(s) the archive lacks ({', '.join(late)}); the sweep adds them"
                if row.get("missing_reason"):
                    detail += f"; the last try could not fetch them: {row['missing_reason']}"
                found.append((FILES_NOT_ARCHIVED, detail, ""))
        gaps += [Gap(uuid, topic, mailbox, kind, detail, urgent, due.isoformat()) for kind, detail, mailbox in found]
        checks.append(MeetingCheck(uuid, topic, start.isoformat(), status, mailboxes, item.sources))
    return Report(
        day=day.isoformat(),
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        zoom_users=users,
        meetings=checks,
        gaps=gaps,
        unmapped=unmapped,
        not_listed_by_zoom=sorted(str(row.get("uuid", "")) for row in rows.values()),
    )


def _mailbox_gaps(expected: list[str], deliveries: dict[str, dict[str, Any]], what: str) -> list[tuple[str, str, str]]:
    """The expected mailboxes this message (the meeting's, or one of its additions) is not in, and why."""
    found = []
    for mailbox in expected:
        delivery = deliveries.get(mailbox_row(mailbox), {})
        status = delivery.get("status")
        if status == FAILED:
            found.append((IMPORT_FAILED, f"{what}{delivery.get('code', '')}: {delivery.get('reason', '')}", mailbox))
        elif status not in (IMPORTED, DUPLICATE, UNMAPPED):
            found.append((NOT_IMPORTED, what + _why_not_imported(delivery), mailbox))
    return found


def _why_not_imported(delivery: dict[str, Any]) -> str:
    """What a mailbox without an outcome is waiting for."""
    if claims.live_holder(delivery):
        return "being imported now (no outcome recorded yet)"
    if claims.lapsed(delivery):
        return "claimed by a worker that stopped before recording an outcome; the sweep drives it again"
    return "no item recorded in this mailbox"


def _late_files(files: list[RecordingFile], row: dict[str, Any], filters: Filters) -> list[str]:
    """The file types of files Zoom lists, done and archivable, that the meeting's row does not name as
    archived (a row from before file keys were kept names none, and is not judged; a file Zoom's archiving
    failed to make is not a gap: Zoom never will)."""
    if row.get("archived_files") is None:
        return []
    archived = set(column_list(row["archived_files"]))
    return sorted(
        f.file_type
        for f in files
        if f.key not in archived and not f.processing and not f.failed and filters.archives(f.file_type)
    )


def _expected(
    row: dict[str, Any],
    deliveries: dict[str, dict[str, Any]],
    key: str,
    messages: ContainerClient,
    directory: Directory,
    mapping: UserMapping,
    settings: Settings,
) -> list[str] | None:
    """The mailboxes that should hold the meeting: those of the archived message's participants, mapped again
    now (a person added to the directory since the import counts), and every mailbox a delivery row names
    (the default mailbox standing in, a mailbox mapped then); None when the message is missing. Never only
    the rows: an import that died before writing one would leave its mailboxes out."""
    try:
        record = read_record(
            BlobSource(messages.get_blob_client(str(row.get("message_blob") or message_blob_name(key))))
        )
    except ResourceNotFoundError:
        return None
    targets, _ = recipients(record, settings=settings, mapping=mapping, directory=directory)
    named = {str(d["mailbox"]) for d in deliveries.values() if d.get("mailbox") and d.get("status") != UNMAPPED}
    by_row = {mailbox_row(address): address for address in named}
    by_row.update({mailbox_row(t.mailbox.address): t.mailbox.address for t in targets})
    return sorted(by_row.values())
