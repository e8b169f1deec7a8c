"""The sweep (timer, SWEEP_SCHEDULE): work that stopped short of its end is driven again, with back-off, a
bounded number of times, then left failed for a person, with the reason and the remedy.

What it reads is what is known to be due, and cheap to read:

- the poison queues: `meetings-poison` (a capture that failed every attempt the host made), `imports-poison`
  (an import the sweep asked for that did) and `webjobs-blobtrigger-poison` (the blob trigger's import that
  did). Each message is recorded on its meeting's row and deleted: a poison queue keeps a message for 7 days
  and says nothing to anyone, so it is no record (../shared/reference/reliability-compliance.md §3.1).
- the gaps of the completeness reports written lately: a meeting queued whose message was lost, a capture that
  failed, a mailbox without its item (a failure the host gave up on, a claim left by a worker that died with
  no trigger left to retry it, a participant found in the directory since), files Zoom listed later.

A re-drive is a queue message, delayed by the back-off: the meeting to `meetings` (the capture), the archived
message to `imports` (the import, by `retry_import`; the blob trigger cannot be fired again). The meeting's
row (an addition's own row for an addition) counts the re-drives of each kind and says when the next one may
go; after `REDRIVE_DELAYS` are spent, the work is marked failed for good (`final`), with the last reason,
and a `stage_failed` record with `final` tells the alerts.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient
from azure.storage.queue import QueueClient

from shared import claims, telemetry
from shared.capture import message_blob_name
from shared.delivery import tell_settled
from shared.inventory import QUEUEING
from shared.records import MeetingRef, MessageRef, archive_key, parse_time, utc_text
from shared.report import (
    CAPTURE_FAILED,
    FILES_NOT_ARCHIVED,
    IMPORT_FAILED,
    NOT_ARCHIVED,
    NOT_CAPTURED,
    NOT_IMPORTED,
    Gap,
    Report,
)
from shared.state import CAPTURED, FAILED, QUEUED, State, column_list, mailbox_row, settled
from shared.storage import BLOB_POISON_QUEUE, IMPORTS_QUEUE, MEETINGS_QUEUE, MESSAGES_CONTAINER

log = logging.getLogger(__name__)

# Seconds before each re-drive of one unit of work: at once (a worker died), then longer and longer (a cause
# that takes time to pass: an outage, a mailbox being created); about 21 hours in all, well within the 30
# days Zoom keeps a deleted recording in its trash. Then the work is failed for good, for a person.
REDRIVE_DELAYS = (0, 5 * 60, 30 * 60, 2 * 3600, 6 * 3600, 12 * 3600)
QUIET = timedelta(minutes=15)  # a gap whose rows changed more recently may still be in the host's retries
FRESH_REPORTS = timedelta(hours=26)  # reports written this recently are read (the reconcile timer is daily)
QUEUE_TTL = timedelta(days=7)  # how long a Storage queue keeps a message (the Functions bindings' default)
POISON_PAGE = 32  # messages read from a poison queue at once (the most a queue gives)
POISON_LIMIT = 2000  # poison messages handled in one run; the rest in the next
CAPTURE, IMPORT, GIVEN_UP = "capture", "import", "given up"
NO_OUTCOME = "NoOutcome"  # the code of a mailbox given up on with no failure recorded (its worker died)


@dataclass(frozen=True)
class Swept:
    """What one run of the sweep did."""

    poison: int  # poison messages read and recorded
    captures: int  # captures driven again
    imports: int  # imports driven again
    given_up: int  # units of work failed for good, for a person


@dataclass(frozen=True)
class Due:
    """One unit of work the sweep found due: a capture (of a meeting) or an import (of one archived message)."""

    kind: str  # CAPTURE or IMPORT
    key: str  # the archive key of the meeting, or of the message to import
    uuid: str  # the meeting's UUID (a capture's)
    reason: str
    poisoned: bool = False  # read from a poison queue: the host's attempts are over, whatever the rows say
    mailboxes: tuple[str, ...] = ()  # an import's mailboxes that have no row at all (a gap names them)


class Sweeper:
    def __init__(
        self,
        state: State,
        queue: Callable[[str], QueueClient],
        raw_queue: Callable[[str], QueueClient],
        reports: ContainerClient,
    ):
        self.state = state
        self.queue = queue  # a queue of ours (base64 text)
        self.raw_queue = raw_queue  # a queue as the host wrote it
        self.reports = reports

    def run(self) -> Swept:
        counts: Counter[str] = Counter()
        poison = 0
        driven: set[tuple[str, str]] = set()  # once per run, however many messages stand for it
        for name in (f"{MEETINGS_QUEUE}-poison", f"{IMPORTS_QUEUE}-poison", BLOB_POISON_QUEUE):
            for message, due in self._poison(name):
                if due is not None and (due.kind, due.key) not in driven:
                    driven.add((due.kind, due.key))
                    counts[self._redrive(due)] += 1
                self.raw_queue(name).delete_message(message)
                poison += 1
        for due in self._gaps():
            if (due.kind, due.key) not in driven:
                driven.add((due.kind, due.key))
                counts[self._redrive(due)] += 1
        return Swept(poison, counts[CAPTURE], counts[IMPORT], counts[GIVEN_UP])

    def poisoned(self) -> dict[str, int]:
        """How many messages wait in each poison queue (for the status log): none once the sweep ran."""
        found = {}
        for name in (f"{MEETINGS_QUEUE}-poison", f"{IMPORTS_QUEUE}-poison", BLOB_POISON_QUEUE):
            try:
                found[name] = self.raw_queue(name).get_queue_properties().approximate_message_count
            except ResourceNotFoundError:
                found[name] = 0  # never created: nothing was ever poisoned there
        return found

    # --- what is due ----------------------------------------------------------------------------

    def _poison(self, name: str) -> Iterable[tuple[Any, Due | None]]:
        """Each message of one poison queue, with the work it stands for (None: not ours, or unreadable)."""
        queue = self.raw_queue(name)
        read = 0
        while read < POISON_LIMIT:
            try:
                page = list(queue.receive_messages(max_messages=POISON_PAGE, visibility_timeout=300))
            except ResourceNotFoundError:
                return  # never created: nothing was ever poisoned there
            if not page:
                return
            for message in page:
                read += 1
                yield message, _poisoned_work(name, str(message.content))

    def _gaps(self) -> Iterable[Due]:
        """The work behind the gaps of the reports written lately that is still due now."""
        since = datetime.now(UTC) - FRESH_REPORTS
        for blob in self.reports.list_blobs():
            if blob.last_modified < since:
                continue
            report = Report.from_json(self.reports.download_blob(blob.name).readall())
            by_meeting: dict[str, list[Gap]] = {}
            for gap in report.gaps:
                by_meeting.setdefault(gap.meeting_uuid, []).append(gap)
            for uuid, gaps in by_meeting.items():
                yield from self._still_due(uuid, gaps)

    def _still_due(self, uuid: str, gaps: list[Gap]) -> list[Due]:
        key = archive_key(uuid)
        row = self.state.meeting(key) or {}
        kinds = {gap.kind for gap in gaps}
        status, quiet = row.get("status"), _quiet(row)
        if kinds & {NOT_ARCHIVED, NOT_CAPTURED} and _message_lost(row):
            return [Due(CAPTURE, key, uuid, "never queued, or its queue message was lost")]
        if CAPTURE_FAILED in kinds and status == FAILED and not row.get("final") and quiet:
            return [Due(CAPTURE, key, uuid, f"capture failed: {row.get('error_code', '')}")]
        found = []
        if FILES_NOT_ARCHIVED in kinds and status == CAPTURED and quiet and not row.get("recheck"):
            found.append(Due(CAPTURE, key, uuid, "Zoom lists files the archive lacks"))  # not left to a recheck
        if kinds & {NOT_IMPORTED, IMPORT_FAILED} and status == CAPTURED:
            missing = tuple(g.mailbox for g in gaps if g.kind == NOT_IMPORTED and g.mailbox)
            for message_key in (key, *column_list(row.get("additions"))):
                if reason := self._import_due(message_key, missing):
                    found.append(Due(IMPORT, message_key, uuid, reason, mailboxes=missing))
        return found

    def _import_due(self, key: str, mailboxes: tuple[str, ...]) -> str:
        """Why the import of one message is due (empty: it is not, or it may still be running)."""
        rows = self.state.deliveries(key)
        if any(claims.live_holder(row) for row in rows.values()):
            return ""  # a worker is importing it now
        if lapsed := [row for row in rows.values() if not row.get("status") and claims.lapsed(row)]:
            return f"{len(lapsed)} mailbox(es) claimed by a worker that stopped before recording an outcome"
        recent = max((parse_time(row.get("updated_at")) for row in rows.values()), default=None, key=_moment)
        if recent and datetime.now(UTC) - recent < QUIET:
            return ""
        if failed := [row for row in rows.values() if row.get("status") == FAILED and row.get("retryable")]:
            return f"{len(failed)} mailbox(es) failed for a reason that may pass: {failed[0].get('code', '')}"
        if absent := [m for m in mailboxes if not settled(rows.get(mailbox_row(m)) or {})]:
            return f"{len(absent)} mailbox(es) without an item and without an outcome"
        return ""

    # --- driving it again -----------------------------------------------------------------------

    def _redrive(self, due: Due) -> str:
        """Queue the work again after its back-off, or fail it for good once the re-drives are spent; returns
        the count it adds to ("" when its back-off is not over: a re-drive is on its way)."""
        entity = self.state.meeting_entity(due.key)
        row = dict(entity or {})
        done = int(row.get(f"{due.kind}_redrives") or 0)
        not_before = parse_time(row.get(f"{due.kind}_redrive_after"))
        if not due.poisoned and not_before and datetime.now(UTC) < not_before:
            return ""
        if due.kind == CAPTURE and row.get("status") == FAILED and row.get("final"):
            return ""
        if done >= len(REDRIVE_DELAYS):
            self._give_up(due, row, done)
            return GIVEN_UP
        delay = REDRIVE_DELAYS[done]
        after = datetime.now(UTC) + timedelta(seconds=delay) + QUIET
        fields = {
            f"{due.kind}_redrives": done + 1,
            f"{due.kind}_redrive_after": utc_text(after),
            f"{due.kind}_redrive_reason": due.reason[:1000],
            **({"uuid": due.uuid} if due.uuid and not row.get("uuid") else {}),
        }
        if not self.state.update_meeting_if(due.key, entity, **fields):
            return ""  # written meanwhile (the work moved on): looked at again next run
        if due.kind == CAPTURE:
            self.queue(MEETINGS_QUEUE).send_message(MeetingRef(due.uuid, "sweep").to_json(), visibility_timeout=delay)
        else:
            self.queue(IMPORTS_QUEUE).send_message(MessageRef(due.key).to_json(), visibility_timeout=delay)
        with telemetry.dimensions(archive_key=due.key, **({"meeting_uuid": due.uuid} if due.uuid else {})):
            log.warning(
                "%s driven again (%d of %d, in %d s): %s", due.kind, done + 1, len(REDRIVE_DELAYS), delay, due.reason
            )
        return due.kind

    def _give_up(self, due: Due, row: dict[str, Any], done: int) -> None:
        """Fail the work for good, for a person: what failed last, and the remedy."""
        remedy = f"gave up after {done} automatic retries; fix the cause, then run `replay` for this meeting"
        with telemetry.dimensions(archive_key=due.key, **({"meeting_uuid": due.uuid} if due.uuid else {})):
            if due.kind == CAPTURE:
                last = str(row.get("reason") or due.reason)
                code = str(row.get("error_code") or "gave_up")
                if row.get("status") == CAPTURED:  # the meeting is archived; files Zoom added later are not
                    self.state.update_meeting(due.key, late_files_failed=f"{due.reason}: {remedy}"[:1000])
                else:
                    reason = f"{last} ({remedy})"[:1000]
                    self.state.update_meeting(due.key, status=FAILED, final=True, error_code=code, reason=reason)
                    telemetry.event(
                        log,
                        "meeting_captured",
                        "capture failed for good: %s",
                        reason,
                        level=logging.WARNING,
                        status=FAILED,
                        day=str(row.get("day") or ""),
                        source="sweep",
                        final=True,
                    )
                telemetry.stage_failed(log, code, final=True, reason=f"{last} ({remedy})")
                return
            rows = self.state.deliveries(due.key)
            day = next((str(r["day"]) for r in rows.values() if r.get("day")), "")
            for name, delivery in rows.items():
                if settled(delivery) or claims.live_holder(delivery):
                    continue
                last = str(delivery.get("reason") or "claimed by a worker that stopped, no outcome recorded")
                code = str(delivery.get("code") or NO_OUTCOME)
                self._fail_for_good(due.key, name, code, f"{last} ({remedy})", str(delivery.get("day") or day))
            for mailbox in due.mailboxes:
                if mailbox_row(mailbox) not in rows:
                    reason = f"no item and no outcome in this mailbox ({remedy})"
                    self._fail_for_good(due.key, mailbox_row(mailbox), NO_OUTCOME, reason, day, mailbox=mailbox)

    def _fail_for_good(self, key: str, row: str, code: str, reason: str, day: str, **fields: str) -> None:
        outcome = {"status": FAILED, "code": code, "reason": reason[:1000], "retryable": False}
        self.state.update_delivery(key, row, **outcome, claimed_by="", day=day, **fields)
        tell_settled(day, row, outcome)
        telemetry.stage_failed(log, code, final=True, reason=reason)


def _poisoned_work(queue: str, content: str) -> Due | None:
    """The work a poison message stands for: the host wrote it as it was (base64 text) or as plain JSON."""
    data = _json(content)
    try:
        if queue.startswith(MEETINGS_QUEUE):
            ref = MeetingRef.from_json(json.dumps(data))
            return Due(CAPTURE, archive_key(ref.uuid), ref.uuid, "poisoned: every attempt of the host failed", True)
        if queue.startswith(IMPORTS_QUEUE):
            key = MessageRef.from_json(json.dumps(data)).archive_key
            return Due(IMPORT, key, "", "poisoned: every attempt of the host failed", True)
        name = str(data.get("BlobName") or "")
        if data.get("ContainerName") == MESSAGES_CONTAINER and name.endswith(".eml"):
            key = MessageRef.from_json(json.dumps({"archive_key": name.removesuffix(".eml")})).archive_key
            if message_blob_name(key) == name:
                return Due(IMPORT, key, "", "poisoned: every attempt of the blob trigger failed", True)
    except (ValueError, AttributeError):
        pass
    log.warning("a message in %s is not the archiver's work; left out", queue)
    return None


def _json(content: str) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        pass
    try:
        return json.loads(base64.b64decode(content, validate=True))
    except (ValueError, binascii.Error):
        return {}


def _message_lost(row: dict[str, Any]) -> bool:
    """The meeting has no queue message on its way: never queued, queued by a worker that died before sending
    it, or queued longer ago than a queue keeps a message. One waiting in a long queue is not driven again (a
    second message would only wait behind it)."""
    if not row.get("status"):
        return True
    queued_at = parse_time(row.get("queued_at"))
    if row.get("status") != QUEUED or queued_at is None:
        return False
    waited = datetime.now(UTC) - queued_at
    return waited > QUEUE_TTL or ("message_id" in row and not row["message_id"] and waited > QUEUEING)


def _quiet(row: dict[str, Any]) -> bool:
    """Nothing wrote the row for a while: the host's own retries of its work are over."""
    updated = parse_time(row.get("updated_at"))
    return updated is None or datetime.now(UTC) - updated >= QUIET


def _moment(value: datetime | None) -> datetime:
    return value or datetime.min.replace(tzinfo=UTC)
