"""The archiver as the triggers see it: the clients built once per process, and one method per entry point.

`function_app.py`, the local host, the admin CLI and the tests all go through this one object, so every
entry point runs the same code with the same settings. Each method is one unit of work for telemetry: its
log records carry the stage, the meeting and (while one is being filled) the mailbox, and every failure
is logged as the `stage_failed` record the alerts count.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from email.parser import BytesHeaderParser

from azure.core.exceptions import AzureError

from shared import capture, claims, delivery, inventory, report, status, sweep, telemetry, webhook
from shared.blobio import BlobSource
from shared.filters import Filters
from shared.graph import GraphClient
from shared.http import session
from shared.listings import PastMeetings
from shared.mailbox import MailboxImporter
from shared.mapping import Directory, UserMapping, read_mapping_file
from shared.message.headers import HEADER_ARCHIVE_KEY, HEADER_UUID
from shared.message.reader import InMemory, MessageSource
from shared.records import MeetingRef, MessageRef, archive_key
from shared.settings import MEETINGS, Settings
from shared.state import CAPTURED, QUEUED, State, column_list
from shared.storage import (
    MEETINGS_QUEUE,
    MESSAGES_CONTAINER,
    RECORDINGS_CONTAINER,
    REPORTS_CONTAINER,
    STAGING_CONTAINER,
    ZOOM_BUDGET_TABLE,
    Storage,
)
from shared.zoom import ZoomClient

log = logging.getLogger(__name__)
HEAD_BYTES = 64 * 1024  # read for a message's headers (ours are a few kilobytes)


class Archiver:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.storage = Storage(settings.storage)
        self.state = State(self.storage)
        self.filters = Filters.from_settings(settings)
        self.zoom = ZoomClient(settings, session(settings.tls_ca_file), self.storage.table(ZOOM_BUDGET_TABLE))
        self.capturer = capture.Capturer(
            self.zoom,
            self.state,
            messages=self.storage.container(MESSAGES_CONTAINER),
            recordings=self.storage.container(RECORDINGS_CONTAINER),
            staging=self.storage.container(STAGING_CONTAINER),
            settings=settings,
            filters=self.filters,
        )
        self.graph = GraphClient(settings, session(settings.tls_ca_file))
        self.importer = MailboxImporter(
            self.graph, self.state, settings.mailbox_folder, self.storage.container(RECORDINGS_CONTAINER)
        )
        self.directory = Directory(self.graph)
        self.sweeper = sweep.Sweeper(
            self.state, self.storage.queue, self.storage.raw_queue, reports=self.storage.container(REPORTS_CONTAINER)
        )
        # Read at start: a bad row stops the app with a message naming it, before any meeting is delivered.
        self.mapping = (
            read_mapping_file(settings.user_mapping_file, settings.organization_domains)
            if settings.user_mapping_file
            else UserMapping()
        )
        self._ready = False
        self._ready_lock = threading.Lock()

    def _ensure_storage(self) -> None:
        with self._ready_lock:
            if not self._ready:
                self.storage.ensure_created()
                self._ready = True

    @contextmanager
    def _unit(self, stage: str, *, code: Callable[[Exception], str] | None = None, **dims: str) -> Iterator[None]:
        """One unit of work: its dimensions on every record, and a `stage_failed` record if it raises (never
        final: the host retries it, then the sweep; the sweep's own record says when it gives up)."""
        with telemetry.dimensions(stage=stage, **dims):
            try:
                self._ensure_storage()
                yield
            except Exception as error:
                code_of = (code(error) if code else "") or type(error).__name__
                telemetry.stage_failed(log, code_of, final=False, reason=str(error))  # as the state row says it
                raise

    # --- the pipeline ---------------------------------------------------------------------------

    def enumerate_meetings(self, today: date | None = None) -> inventory.Listing:
        """Timer: queue every meeting instance Zoom has a recording for and we have not archived."""
        with self._unit("enumerate"):
            listing = inventory.enumerate_meetings(
                self.zoom, self.state, self.storage.queue(MEETINGS_QUEUE), self.settings, self.filters, today
            )
            telemetry.event(
                log,
                "archive_run_completed",
                "archive run completed: %d meeting(s) found, %d queued",
                listing.found,
                listing.queued,
                found=listing.found,
                queued=listing.queued,
            )
            self._tell_backlog(listing.end)
            return listing

    def capture_meeting(self, ref: MeetingRef, attempt: int = 1) -> capture.Capture:
        """Queue: fetch one meeting from Zoom and write its message blob."""
        key = archive_key(ref.uuid)
        with self._unit("capture", code=capture.error_code, meeting_uuid=ref.uuid, archive_key=key):
            result = self.capturer.capture_meeting(ref, attempt)
            if result.written:
                telemetry.meetings_archived.add(1)
            if result.status == capture.BUSY:  # looked at again once the other capture is over (or has lapsed)
                delay = int(claims.LEASE.total_seconds())
                self.storage.queue(MEETINGS_QUEUE).send_message(ref.to_json(), visibility_timeout=delay)
            return result

    def import_message(self, message: str | bytes) -> delivery.Delivery:
        """Blob: put one archived message into the mailbox of every mapped participant.

        `message` is the name of its blob in `messages`, read by ranges (a message holds up to 150 MB), or
        the message itself when it is already in memory."""
        source = (
            InMemory(message)
            if isinstance(message, bytes)
            else BlobSource(self.storage.container(MESSAGES_CONTAINER).get_blob_client(message))
        )
        with self._unit("import", **_identity(source)):
            result = delivery.import_message(
                source,
                importer=self.importer,
                directory=self.directory,
                mapping=self.mapping,
                state=self.state,
                settings=self.settings,
            )
            telemetry.items_imported.add(result.created)
            if result.created:
                telemetry.archived_bytes.add(source.size)
            return result

    def redeliver(self, ref: MessageRef) -> delivery.Delivery | None:
        """Queue (imports): import one archived message again, as the sweep asked (the blob trigger imported
        it first); None when there is no such message."""
        with self._unit("import", archive_key=ref.archive_key):
            name = capture.message_blob_name(ref.archive_key)
            blob = self.storage.container(MESSAGES_CONTAINER).get_blob_client(name)
            if not blob.exists():
                log.warning("no archived message %s: nothing to import", ref.archive_key)
                return None
        return self.import_message(name)

    def sweep(self) -> sweep.Swept:
        """Timer: drive again the work that stopped short (poison queues, the reports' gaps), or fail it for good."""
        with self._unit("sweep"):
            swept = self.sweeper.run()
            telemetry.event(
                log,
                "sweep_completed",
                "sweep: %d poison message(s) read, %d capture(s) and %d import(s) driven again, %d failed for good",
                swept.poison,
                swept.captures,
                swept.imports,
                swept.given_up,
                poison=swept.poison,
                captures=swept.captures,
                imports=swept.imports,
                given_up=swept.given_up,
            )
            return swept

    def _tell_backlog(self, today: date) -> None:
        """The `backlog` record the workbook charts: meetings still due, and how long the oldest has waited."""
        due = self.state.due_meetings(since=today - report.LISTING_HORIZON)
        oldest = min(due, default=None)
        minutes = round((datetime.now(UTC) - oldest).total_seconds() / 60, 1) if oldest else 0
        telemetry.event(
            log,
            "backlog",
            "%d meeting(s) due, the oldest known for %.0f minute(s)",
            len(due),
            minutes,
            due=len(due),
            oldest_due_minutes=minutes,
        )

    # --- operations -----------------------------------------------------------------------------

    def receive_webhook(self, body: bytes, headers: Mapping[str, str]) -> webhook.Reply:
        """HTTP: a Zoom event notification; a verified recording (or archive) event queues its meeting."""
        with self._unit("webhook"):
            return webhook.receive(
                body,
                headers,
                secret=self.settings.zoom_webhook_secret_token,
                state=self.state,
                queue=self.storage.queue(MEETINGS_QUEUE),
                sources=self.settings.zoom_sources,
            )

    def status(self, first: date, last: date) -> status.StatusLog:
        """HTTP and CLI: the status log of the meetings held from `first` to `last`."""
        with self._unit("status"):
            days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
            reports = report.read_reports(self.storage.container(REPORTS_CONTAINER), days)
            poisoned = sum(self.sweeper.poisoned().values())
            allowed = PastMeetings(self.zoom, self.state, self.settings).allowed
            heavy = allowed if MEETINGS in self.settings.zoom_sources else 0
            return status.status_log(
                self.state,
                reports,
                first,
                last,
                self.settings.workbook_url,
                poisoned,
                heavy_allowed=heavy,
                zoom_daily_used=self.zoom.budget.daily_used,
                zoom_daily_quota=self.zoom.budget.plan.daily,
            )

    def reconcile(self, days: list[date] | None = None, today: date | None = None) -> list[report.Report]:
        """Timer and CLI: the completeness report of each day (by default: the last RECONCILE_DAYS days and
        every earlier day that still has an unfinished meeting Zoom may still list)."""
        today = today or datetime.now(UTC).date()
        with self._unit("reconcile"):
            if days is None:
                window = {today - timedelta(days=n) for n in range(1, self.settings.reconcile_days + 1)}
                unfinished = self.state.unfinished_days(since=today - report.LISTING_HORIZON)
                days = sorted(window | {day for day in unfinished if day < today})
            written = report.reconcile(
                days,
                zoom=self.zoom,
                state=self.state,
                messages=self.storage.container(MESSAGES_CONTAINER),
                reports=self.storage.container(REPORTS_CONTAINER),
                directory=self.directory,
                mapping=self.mapping,
                settings=self.settings,
                filters=self.filters,
                today=today,
            )
            self.state.forget_webhooks_before(today - timedelta(days=1))
            for day_report in written:
                telemetry.event(
                    log,
                    "completeness_report",
                    "completeness report of %s: %d gap(s)",
                    day_report.day,
                    len(day_report.gaps),
                    day=day_report.day,
                    gaps=len(day_report.gaps),
                    urgent=sum(g.urgent for g in day_report.gaps),
                )
            gaps = sum(len(r.gaps) for r in written)
            telemetry.event(
                log,
                "reconcile_completed",
                "completeness reports written for %d day(s): %d gap(s)",
                len(written),
                gaps,
                days=len(written),
                gaps=gaps,
                urgent=sum(g.urgent for r in written for g in r.gaps),
            )
            self._tell_backlog(today)
            return written

    def backfill(self, first: date, last: date, progress: Callable[[int, int, int], None] | None = None) -> int:
        """CLI: queue the meetings the sources list from `first` to `last` that are not archived nor left out by
        the filters; the checkpoints stay. Zoom's daily quota stops it early (it says so): run it again after the reset.

        `progress(users done, users, meetings queued)` is called after each user.
        """
        with self._unit("backfill"):
            sweep = inventory.queue_range(
                self.zoom,
                self.state,
                self.storage.queue(MEETINGS_QUEUE),
                self.filters,
                first,
                last,
                "backfill",
                progress,
                sources=self.settings.zoom_sources,
                past=PastMeetings(self.zoom, self.state, self.settings),
            )
            queued = sweep.outcomes[QUEUED]
            log.info("backfill %s to %s: %d meeting(s) queued from %d user(s)", first, last, queued, sweep.users)
            return queued

    def replay(self, uuid: str) -> list[delivery.Delivery]:
        """CLI: run one meeting through capture and import again, now, in this process; returns the
        deliveries of its message and of each of its additions (files Zoom listed after it), in that order.

        An archived message is re-imported as it is, never rebuilt: the `.eml` is the archived record (and
        write-once storage may forbid replacing it). Without one, capture runs first; with one, capture
        archives what Zoom has listed since as an addition. Deliveries that failed, even for good, and
        unmapped participants are tried again: an admin replays once the cause is fixed (a mailbox made, a
        mapping row added). The importer finds items already in a mailbox by their archive key, so no item
        is duplicated.
        """
        captured = self.capture_meeting(MeetingRef(uuid=uuid, source="replay"))
        if captured.status != CAPTURED:
            raise RuntimeError(f"meeting {uuid} was not captured: {captured.status}")
        key = archive_key(uuid)
        results = []
        for message_key in (key, *column_list((self.state.meeting(key) or {}).get("additions"))):
            self.state.reopen_deliveries(message_key)
            results.append(self.import_message(capture.message_blob_name(message_key)))
        return results


def _identity(source: MessageSource) -> dict[str, str]:
    """The meeting a message is of, from its headers alone (not the 150 MB that follow), for the unit's records;
    nothing when they cannot be read (the import then fails inside its unit, saying why)."""
    try:
        head = source.read(0, HEAD_BYTES).partition(b"\r\n\r\n")[0]
    except AzureError:
        return {}
    headers = BytesHeaderParser().parsebytes(head)
    return {
        "meeting_uuid": str(headers.get(HEADER_UUID, "")).strip(),
        "archive_key": str(headers.get(HEADER_ARCHIVE_KEY, "")).strip(),
    }
