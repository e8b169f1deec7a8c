"""Stage 3 (blob): import one archived message into the mailbox of every internal participant.

One state row per (meeting, mailbox) and per unmapped participant says what happened and why. Mailboxes
already settled are skipped on a retry, so a meeting imported into 9 of 10 mailboxes resumes with the
10th. Permanent failures (no mailbox, mailbox full, access denied, too large) are recorded with Graph's
code and never tried again; transient ones make the invocation fail so the host retries it, a bounded
number of times, and then the sweep. Each mailbox is claimed for the import (shared/claims.py): one that
another live worker is importing is left to it, without failing; one claimed by a worker that died is
taken over once its lease lapses. Internal participants without a mailbox are stood in for by the default
mailbox, if set.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import traceback
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from shared import telemetry
from shared.claims import Lease
from shared.graph import AmbiguousResult, AuthenticationFailed, GraphError
from shared.mailbox import MailboxImporter, MailboxRefused, NoMailbox
from shared.mapping import FALLBACK_REASONS, Attendee, Directory, Mailbox, Unmapped, UserMapping, recipients
from shared.message.reader import ArchivedMessage, MessageSource, read_message
from shared.records import parse_time
from shared.settings import Settings
from shared.state import (
    DELIVERED,
    DUPLICATE,
    FAILED,
    IMPORTED,
    MAILBOX_ROW_PREFIX,
    PARTIAL,
    UNMAPPED,
    State,
    mailbox_row,
    settled,
    unmapped_row,
)

log = logging.getLogger(__name__)
BUSY = "busy"  # another worker, alive, is importing into the mailbox: left to it (its trigger retries if it dies)
OUTCOMES = (IMPORTED, DUPLICATE, UNMAPPED)  # a row saying the mailbox has the item, or needs none
SUMMARY_TRIES = 5  # conditional writes of the meeting's summary lost to concurrent writers
DEFAULT_MAILBOX_NOT_FOUND = "DefaultMailboxNotFound"
MAILBOX_WORKERS = 4  # mailboxes of one meeting imported at the same time (each mailbox has its own limits)


class RetryLater(Exception):
    """Some mailboxes failed for a reason that may pass (throttling, a server error, a lost response)."""


@dataclass(frozen=True)
class Delivery:
    archive_key: str
    imported: int
    duplicates: int
    unmapped: int
    failed: int
    stored_apart: int = 0  # deliveries whose large files were stored and linked instead of attached
    created: int = 0  # items this invocation made; the others were there from an earlier one


def import_message(
    source: MessageSource,
    *,
    importer: MailboxImporter,
    directory: Directory,
    mapping: UserMapping,
    state: State,
    settings: Settings,
) -> Delivery:
    message = read_message(source)
    targets, unmapped = recipients(message.record, settings=settings, mapping=mapping, directory=directory)
    run = _Run(message, importer, state, settings.default_mailbox)
    run.forget_unmapped([person for target in targets for person in target.people])
    for person in unmapped:
        run.record_unmapped(person)
    stand_in_for = [u.person for u in unmapped if u.reason in FALLBACK_REASONS]
    with ThreadPoolExecutor(max_workers=MAILBOX_WORKERS) as pool:  # each in this unit of work's context
        work = [pool.submit(contextvars.copy_context().run, run.deliver, t.mailbox, t.people) for t in targets]
        statuses = [w.result() for w in work]
    for target, status in zip(targets, statuses, strict=True):
        if status == UNMAPPED:
            stand_in_for += target.people
    if stand_in_for and settings.default_mailbox:
        default = directory.find(settings.default_mailbox)
        if isinstance(default, str):
            run.record_default_missing(default, stand_in_for)
        elif default.user_id not in {t.mailbox.user_id for t in targets}:
            run.deliver(default, tuple(stand_in_for), stand_in=True)
    return run.finish()


class _Run:
    """One delivery of one message: what each mailbox row says, and the tally for the meeting row.
    Mailboxes are delivered on several threads: the tally is kept under a lock."""

    def __init__(self, message: ArchivedMessage, importer: MailboxImporter, state: State, default_mailbox: str):
        self.message = message
        self.key = message.archive_key
        self.day = message.date.date().isoformat()
        self.importer = importer
        self.state = state
        self.default_mailbox = default_mailbox
        self.rows = state.deliveries(self.key)
        self.owner = uuid.uuid4().hex  # this invocation, as the holder of the delivery rows it claims
        self.counts: Counter[str] = Counter()
        self.expected: set[str] = set()  # the rows of the mailboxes and people this message is for
        self.earlier: Counter[str] = Counter()  # rows an earlier invocation settled
        self.mailboxes = 0
        self.stored_apart = 0
        self.transient = 0
        self._lock = threading.Lock()

    def _tally(
        self,
        status: str,
        *,
        mailbox: bool = False,
        stored_apart: bool = False,
        transient: bool = False,
        earlier: bool = False,
    ) -> None:
        with self._lock:
            self.counts[status] += 1
            self.earlier[status] += earlier
            self.mailboxes += mailbox
            self.stored_apart += stored_apart
            self.transient += transient

    def _write(self, row: str, **fields: Any) -> None:
        """Write a delivery row; one that now says its outcome is told as a `delivery_settled` record."""
        self.state.update_delivery(self.key, row, **fields)
        if "status" in fields:
            tell_settled(self.day, row, fields)

    def forget_unmapped(self, people: list[Attendee]) -> None:
        """People an earlier attempt could not map (no such user yet, say) and this one did: their unmapped
        rows go, their mailboxes' rows say what happened now."""
        for person in people:
            row = unmapped_row(person.name, person.email)
            if row in self.rows:
                self.state.forget_delivery(self.key, row)
                del self.rows[row]

    def record_unmapped(self, unmapped: Unmapped) -> None:
        """Write the participant's unmapped row, unless an earlier attempt did (replay removes it to map again)."""
        person = unmapped.person
        row = unmapped_row(person.name, person.email)
        self.expected.add(row)
        self._tally(UNMAPPED)
        if row in self.rows:
            return
        fallback = self.default_mailbox if unmapped.reason in FALLBACK_REASONS else ""
        self._write(
            row,
            status=UNMAPPED,
            reason=unmapped.reason,
            detail=unmapped.detail,
            code="",
            participant=person.name,
            participant_email=person.email,
            fallback=fallback,
            day=self.day,
        )

    def record_default_missing(self, reason: str, people: list[Attendee]) -> None:
        self.expected.add(mailbox_row(self.default_mailbox))
        self._write(
            mailbox_row(self.default_mailbox),
            status=FAILED,
            code=DEFAULT_MAILBOX_NOT_FOUND,
            reason=f"DEFAULT_MAILBOX {self.default_mailbox}: {reason}",
            retryable=False,
            **self._fields(self.default_mailbox, people, {}),
        )
        telemetry.stage_failed(log, DEFAULT_MAILBOX_NOT_FOUND, final=True)
        self._tally(FAILED)

    def deliver(self, mailbox: Mailbox, people: tuple[Attendee, ...], stand_in: bool = False) -> str:
        """Import into one mailbox unless its row is settled; returns the row's status."""
        with telemetry.dimensions(mailbox=mailbox.address):
            return self._deliver(mailbox, people, stand_in)

    def _deliver(self, mailbox: Mailbox, people: tuple[Attendee, ...], stand_in: bool) -> str:
        row = mailbox_row(mailbox.address)
        self.expected.add(row)
        previous = self.rows.get(row)
        claim = None
        if not settled(previous or {}):
            claimed = self.state.claim_delivery(self.key, row, self.owner, previous, self.day)
            if claimed is None:
                log.info("another worker is alive and importing this meeting into this mailbox: left to it")
                self._tally(BUSY, mailbox=True)
                return BUSY
            claim = claimed if isinstance(claimed, Lease) else None
            previous = claim.before if claim else claimed
            if claim:
                telemetry.event(log, "delivery_claimed", "delivery claimed", day=self.day, row=row)
        previous = previous or {}
        if claim is None:
            status = str(previous["status"])
            self._tally(status, mailbox=True, stored_apart=int(previous.get("stored_files") or 0) > 0, earlier=True)
            return status
        fields = {**self._fields(mailbox.address, people, previous), "stand_in": stand_in}
        stored_apart = transient = False
        try:
            with claim:  # renewed while Graph works, stopped however that ends: the outcome's write releases it
                outcome = self.importer.import_message(mailbox, self.message)
            self._write(
                row,
                status=outcome.status,
                item_id=outcome.item_id,
                stored_files=outcome.stored_files,
                code="",
                reason="",
                retryable=False,
                **fields,
            )
            status, stored_apart = outcome.status, outcome.stored_files > 0
        except NoMailbox as error:
            status = UNMAPPED
            fallback = self.default_mailbox
            self._write(row, status=status, reason=error.reason, code=error.code, fallback=fallback, **fields)
        except MailboxRefused as error:
            status = self._failed(row, error.code, error.reason, False, fields)
        except GraphError as error:
            status = self._failed(row, error.code or str(error.status), str(error), error.retryable, fields)
            transient = error.retryable
        except (AmbiguousResult, requests.RequestException) as error:
            status = self._failed(row, graph_code(error), str(error), True, fields)
            transient = True
        except AuthenticationFailed:
            self._write(row, claimed_by="")  # the app's fault, not this mailbox's
            raise
        except Exception as error:  # a storage fault, an answer we did not expect: the claim must not outlive us
            status = self._failed(row, type(error).__name__, f"unexpected {_where(error)}", True, fields)
            transient = True
        self._tally(status, mailbox=True, stored_apart=stored_apart, transient=transient)
        return status

    def _failed(self, row: str, code: str, reason: str, retryable: bool, fields: dict[str, Any]) -> str:
        log.warning("mailbox import failed (%s, %s): %s", code, "will retry" if retryable else "permanent", reason)
        telemetry.stage_failed(log, code, final=not retryable, reason=reason)  # counted once, where it happens
        self._write(row, status=FAILED, code=code, reason=reason[:1000], retryable=retryable, **fields)
        return FAILED

    def _fields(self, address: str, people: list[Attendee] | tuple[Attendee, ...], previous: dict) -> dict[str, Any]:
        return {
            "mailbox": address,
            "participant": ", ".join(p.name for p in people),
            "participant_email": ", ".join(p.email for p in people),
            "attempts": int(previous.get("attempts", 0)) + 1,
            "day": self.day,
            "claimed_by": "",  # the row's outcome is written: the claim is released
        }

    def finish(self) -> Delivery:
        """Write the meeting's delivery summary from its rows as they are now, not from this invocation's view:
        another worker may have settled the mailboxes this one left to it. The write is conditional, so of two
        invocations finishing together the one that read last has the last word."""
        for _ in range(SUMMARY_TRIES):
            before = self.state.meeting_entity(self.key)
            rows = self.state.deliveries(self.key)
            mine = [rows.get(row) or {} for row in sorted(self.expected)]
            statuses = Counter(str(row.get("status") or "") for row in mine)
            delivery = DELIVERED if all(row.get("status") in OUTCOMES for row in mine) else PARTIAL
            summary = {
                "delivery": delivery,
                "mailboxes": sum(row.startswith(MAILBOX_ROW_PREFIX) for row in self.expected),
                "imported": statuses[IMPORTED],
                "duplicates": statuses[DUPLICATE],
                "unmapped": statuses[UNMAPPED],
                "failed": statuses[FAILED],
                "stored_apart": sum(int(row.get("stored_files") or 0) > 0 for row in mine),
            }
            if self.state.update_meeting_if(self.key, before, **summary):
                break
        counts = self.counts
        earlier = dict(before or {})
        latency = _latency(earlier) if delivery == DELIVERED and earlier.get("delivery") != DELIVERED else None
        if latency is not None:
            telemetry.meeting_latency.record(latency, {"source": str(earlier.get("source") or "")})
        telemetry.event(
            log,
            "import_finished",
            "delivered to %d mailbox(es): %d imported, %d already there, %d unmapped, %d failed, %d with files "
            "stored apart, %d left to another worker",
            self.mailboxes,
            counts[IMPORTED],
            counts[DUPLICATE],
            counts[UNMAPPED],
            counts[FAILED],
            self.stored_apart,
            counts[BUSY],
            delivery=delivery,
            day=self.day,
            mailboxes=self.mailboxes,
            **({"latency_seconds": round(latency, 1)} if latency is not None else {}),
        )
        if self.transient:
            raise RetryLater(f"{self.transient} mailbox(es) failed for a reason that may pass; the import is retried")
        return Delivery(
            self.key,
            counts[IMPORTED],
            counts[DUPLICATE],
            counts[UNMAPPED],
            counts[FAILED],
            self.stored_apart,
            created=counts[IMPORTED] - self.earlier[IMPORTED],
        )


def tell_settled(day: str, row: str, fields: dict[str, Any]) -> None:
    """The `delivery_settled` record of a delivery row that now says its outcome."""
    telemetry.event(
        log,
        "delivery_settled",
        "delivery %s",
        fields["status"],
        status=fields["status"],
        day=day,
        row=row,
        reason=str(fields.get("reason") or ""),
        code=str(fields.get("code") or ""),
        stored_files=int(fields.get("stored_files") or 0),
        retryable=bool(fields.get("retryable")),
    )


def graph_code(error: Exception) -> str:
    """Graph's own error code behind a failure (a write whose outcome stayed unknown after a 5xx carries the
    5xx as its cause), else the kind of failure (a lost connection)."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, GraphError):
            return cause.code or str(cause.status)
        cause = cause.__cause__
    return type(error).__name__


def _latency(meeting: dict[str, Any]) -> float | None:
    """Seconds since the archive first knew of the meeting (its webhook, or the listing that found it)."""
    known = parse_time(meeting.get("known_at"))
    return (datetime.now(UTC) - known).total_seconds() if known else None


def _where(error: Exception) -> str:
    """The kind of an unexpected error and the line that raised it, never its text (which may quote content)."""
    frames = traceback.extract_tb(error.__traceback__)
    place = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(error).__name__}{place}"
