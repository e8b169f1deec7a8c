"""Stage 2 (queue): fetch one meeting instance from Zoom and write its archived message to blob storage.

The message blob is the stage's commit point: once `messages/<key>.eml` exists the meeting is captured,
whatever the state row says, so a duplicate queue message costs one existence check and one look at the
meeting's files in Zoom, for those Zoom finished later (`add_late_files`). A meeting whose
files Zoom is still processing is deferred, never archived half-complete; one that Zoom's spent daily quota
holds up waits for the reset; neither counts as a failed attempt, and the next timer run queues both again.
"""

from __future__ import annotations

import contextvars
import io
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobClient, ContainerClient

from shared import telemetry
from shared.blobio import BlockBlobWriter, open_blob
from shared.filters import Filters
from shared.integrity import IntegrityError, check_fingerprint
from shared.message.bodies import Said, read_said
from shared.message.compose import Composition, attachment_name, base64_size, compose, content_type
from shared.records import (
    CapturedFile,
    Meeting,
    MeetingRef,
    MissingFile,
    Person,
    RecordingFile,
    StoredIn,
    Summary,
    archive_key,
    group_participants,
    meeting_end,
    meeting_timezone,
    parse_time,
    poll_answers_from_zoom,
    questions_from_zoom,
    recording_blob_name,
    utc_text,
)
from shared.settings import ARCHIVING, MEETINGS, RECORDINGS, Settings
from shared.sources import Found, Sources, archive_people, subgroup_members
from shared.state import CAPTURED, DEFERRED, EXCLUDED, FAILED, WAITING, State, column_list
from shared.storage import copy_once, store_once
from shared.transcript import TEXT_LIMIT
from shared.zoom import DailyLimitReached, DownloadError, ZoomClient, ZoomError
from shared.zoom.errors import MEETING_NOT_FOUND

log = logging.getLogger(__name__)
MIB = 1024 * 1024
PART_ALLOWANCE = 1024  # an attachment's MIME part headers and boundary line, generously
TEXT_TYPES = ("CHAT", "TRANSCRIPT", "CC", "TIMELINE", "CSV", "SUMMARY")
WEBINAR_TYPES = (5, 6, 9)  # a webinar, a recurring one without and with a fixed time
INSTANT_MEETING = 1  # Zoom offers no polls in instant meetings
IN_MEMORY = 8 * MIB  # a capture's small downloads, together, stay in memory instead of staging (24 at once: 192 MiB)
CALLS_AT_ONCE = 32  # Zoom calls this process's captures make at the same time, at most
DEFERRAL_LIMIT = timedelta(days=3)  # Zoom takes up to 24 hours to process a recording; after this, it is stuck
RECHECK_AFTER = timedelta(hours=6)  # a captured meeting is looked at once more then: Zoom's later files, its summary
PARTIAL_RETRIES_FOR = timedelta(days=7)  # a file that could not be fetched is tried on every run for this long
NOTHING_FROM = {RECORDINGS: "no cloud recording", ARCHIVING: "no archive"}  # what a source lacking a meeting says


@dataclass(frozen=True)
class Capture:
    status: str  # CAPTURED, DEFERRED, WAITING, EXCLUDED, BUSY, or FAILED (files stuck in processing, no such meeting)
    blob_name: str
    written: bool = False  # this capture wrote the message blob (not a duplicate's or an earlier run's)


BUSY = "busy"  # another worker, alive, is capturing the meeting


class UnknownMeeting(Exception):
    """Zoom knows no such meeting (404 from every source asked, and no details of it): recorded once, never
    retried. `lacks` says what was asked for."""

    def __init__(self, error: ZoomError, lacks: str):
        self.error = error
        super().__init__(f"Zoom knows no such meeting: {lacks} ({error})")


@dataclass(frozen=True)
class NotNow:
    """Why a meeting is not captured on this run: DEFERRED (files still processing) or EXCLUDED (filters)."""

    status: str
    reason: str
    seconds: int | None = None  # how long the meeting lasted, when that is why it is left out


def message_blob_name(key: str) -> str:
    return f"{key}.eml"


class Capturer:
    """Stage 2, built once per process like the mailbox importer: the Zoom client, the state, the containers a
    capture writes to (messages, recordings stored apart, staging), and the settings with their filters."""

    def __init__(
        self,
        zoom: ZoomClient,
        state: State,
        *,
        messages: ContainerClient,
        recordings: ContainerClient,
        staging: ContainerClient,
        settings: Settings,
        filters: Filters,
    ):
        self.zoom = zoom
        self.state = state
        self.messages = messages
        self.recordings = recordings
        self.staging = staging
        self.settings = settings
        self.filters = filters
        self.sources = Sources(zoom, settings.zoom_sources)
        # The Zoom calls of the captures running in this process that do not wait for each other.
        self._calls = ThreadPoolExecutor(CALLS_AT_ONCE, thread_name_prefix="zoom-call")

    def capture_meeting(self, ref: MeetingRef, attempt: int) -> Capture:
        """Capture one meeting unless another worker, alive, is capturing it (BUSY: the caller queues it again
        for after that one, which may have listed the meeting's files before Zoom added some)."""
        key = archive_key(ref.uuid)
        claim = self.state.claim_capture(key, uuid.uuid4().hex)
        if claim is None:
            log.info("another worker is capturing this meeting: it is looked at again after that one")
            return Capture(BUSY, message_blob_name(key))
        claim.start()
        try:
            return self._capture(ref, key, attempt)
        finally:
            claim.release()

    def _capture(self, ref: MeetingRef, key: str, attempt: int) -> Capture:
        blob_name = message_blob_name(key)
        if self.messages.get_blob_client(blob_name).exists():
            self.state.update_meeting(key, uuid=ref.uuid, status=CAPTURED, message_blob=blob_name)
            try:
                self.add_late_files(ref, key)
            except UnknownMeeting as gone:
                log.warning("files Zoom may have added to an archived meeting cannot be listed: %s", gone)
            except DailyLimitReached as limit:  # the meeting is archived: only the look waits, due after it
                log.warning("files Zoom may have added to an archived meeting are looked for later: %s", limit)
                self.state.update_meeting(key, recheck=True, recheck_after=utc_text(limit.until))
            return Capture(CAPTURED, blob_name)
        try:
            meeting = self.fetch_meeting(ref.uuid)
            if isinstance(meeting, NotNow):
                return self._not_now(meeting, ref, key, blob_name, attempt)
            meeting, captured, composition, written = self._archive(meeting)
            self.state.update_meeting(
                key,
                uuid=ref.uuid,
                status=CAPTURED,
                message_blob=blob_name,
                topic=meeting.topic,
                meeting_id=str(meeting.meeting_id),
                host_email=meeting.host.email,
                start_time=meeting.start.isoformat(),
                day=meeting.start.date().isoformat(),
                meeting_minutes=meeting.duration_minutes,
                participants=len(meeting.participants),
                files=len(captured),
                archived_files=_file_keys(meeting.files),
                stored_files=sum(not c.attached for c in captured),
                files_not_archived=len(meeting.not_archived),
                file_types_not_archived=",".join(sorted({f.file_type for f in meeting.not_archived})),
                size_disagreements=sum(bool(c.note) for c in captured),
                summary_version=meeting.summary.version if meeting.summary else "",
                message_bytes=composition.size,
                attempts=attempt,
                error_code="",
                reason="",
                **_missing_fields(meeting.missing, datetime.now(UTC)),
            )
            stored = len(captured) - len(composition.attached)
            telemetry.event(
                log,
                "meeting_captured",
                "meeting captured: %d participant(s), %d file(s) attached, %d stored apart, %d missing, message "
                "of %d bytes",
                len(meeting.participants),
                len(composition.attached),
                stored,
                len(meeting.missing),
                composition.size,
                level=logging.WARNING if meeting.missing else logging.INFO,
                status=CAPTURED,
                day=meeting.start.date().isoformat(),
                source=ref.source,
                stored_files=stored,
                missing_files=len(meeting.missing),
            )
            return Capture(CAPTURED, blob_name, written)
        except UnknownMeeting as unknown:
            reason = f"{unknown}: nothing to archive (a notification with a wrong UUID, or recordings deleted)"
            self._told(FAILED, ref, key, "capture failed for good: %s", reason, level=logging.WARNING, final=True)
            code = error_code(unknown.error)
            self.state.update_meeting(key, uuid=ref.uuid, status=FAILED, error_code=code, reason=reason, final=True)
            telemetry.stage_failed(log, code, final=True, reason=reason)
            return Capture(FAILED, blob_name)
        except DailyLimitReached as limit:
            self._told(WAITING, ref, key, "meeting waits: %s", limit, level=logging.WARNING)
            self.state.update_meeting(
                key,
                uuid=ref.uuid,
                status=WAITING,
                reason=str(limit),
                retry_after=utc_text(limit.until),
                attempts=attempt,
            )
            return Capture(WAITING, blob_name)
        except Exception as error:
            self._told(FAILED, ref, key, "capture failed (attempt %d): %s", attempt, error, level=logging.WARNING)
            self.state.update_meeting(
                key,
                uuid=ref.uuid,
                status=FAILED,
                error_code=error_code(error),
                reason=str(error)[:1000],
                attempts=attempt,
                final=False,
            )
            raise

    def add_late_files(self, ref: MeetingRef, key: str) -> str | None:
        """Archive what Zoom has now that the meeting's message lacks, in a message of its own: files Zoom
        listed later or that could not be fetched before, and an AI summary that appeared or changed.

        Zoom sends `recording.completed` once files are ready (once per processed view, for some accounts),
        `recording.transcript_completed` later, and `meeting.summary_completed`/`summary_updated` when its AI
        summary is done or edited; a file that failed to download is tried again by the next run (a recheck).
        What is new goes into an addition: the meeting's facts and only the new files and summary, under a key
        of the meeting and of what it holds (so the same event twice adds one message), delivered like any
        other. The keys of the files archived, the summary's version, and the meeting's additions (for the
        completeness report) are on the meeting's row; a row written before they were kept is left as it is.
        Returns the addition's blob.
        """
        row = self.state.meeting(key) or {}
        if row.get("archived_files") is None:
            return None
        sweep = ref.source == "recheck"
        archived = set(column_list(row["archived_files"]))
        listed = self._find(ref.uuid).files()
        new_files = {f.key for f in listed if not f.failed and self._wanted(f)} - archived
        summary = Summary.from_zoom(self.zoom.meeting_summary(ref.uuid)) if "summary_version" in row else None
        new_summary = summary is not None and summary.version != row.get("summary_version")
        if not new_files and not new_summary:
            self.state.update_meeting(key, **_missing_fields((), datetime.now(UTC), row, sweep=sweep))
            return None
        meeting = self.fetch_meeting(ref.uuid)
        if isinstance(meeting, NotNow):
            log.info("files Zoom added to an archived meeting wait: %s", meeting.reason)
            return None
        addition = replace(
            meeting,
            files=tuple(f for f in meeting.files if f.key not in archived),
            summary=meeting.summary if new_summary else None,
            addition=True,
        )
        if not self.messages.get_blob_client(message_blob_name(addition.key)).exists():  # else: archived already
            addition = self._archive(addition)[0]  # its files: those fetched; the others are among its missing
        summary_version = addition.summary.version if addition.summary else row.get("summary_version")
        fields = _missing_fields(addition.missing, datetime.now(UTC), row, sweep=sweep)
        if not addition.files and addition.summary is None:
            log.warning("none of the %d file(s) Zoom added could be fetched: a later run tries again", len(new_files))
            self.state.update_meeting(key, **fields)
            return None
        blob_name = message_blob_name(addition.key)
        log.info(
            "addition archived: %d file(s)%s Zoom listed after the meeting was captured",
            len(addition.files),
            " and its AI summary" if addition.summary else "",
        )
        # The addition's own row (no day: the day's meetings are Zoom's), then the meeting's, which now has them.
        self.state.update_meeting(
            addition.key,
            uuid=ref.uuid,
            status=CAPTURED,
            message_blob=blob_name,
            addition_to=key,
            topic=meeting.topic,
            files=len(addition.files),
        )
        additions = sorted({*column_list(row.get("additions")), addition.key})
        self.state.update_meeting(
            key,
            archived_files=_file_keys(addition.files, archived),
            additions=",".join(additions),
            summary_version=summary_version,
            **fields,
        )
        return blob_name

    def fetch_meeting(self, uuid: str) -> Meeting | NotNow:
        """Everything Zoom has about one meeting instance, as the record the message is built from: from every
        source enabled (its cloud recording, its archive with its breakout rooms', its details), as one record.

        Only the Light and Medium endpoints are used, except for a webinar's end time, which only the (Heavy)
        webinar report has (and which a webinar that only the meeting reports list is found by). A meeting the
        filters leave out, or whose files Zoom is still processing or archiving, is not fetched further. How long
        the meeting lasted comes from the meeting (its details, else its participants), never from the
        recording's `duration`: a meeting is often recorded in part. Its time zone is the meeting's, else the
        host's, else UTC.
        """
        zoom, filters = self.zoom, self.filters
        found = self._find(uuid)
        parent = str((found.archive or {}).get("parent_meeting_id") or "")
        if (found.archive or {}).get("is_breakout_room") and parent:
            self.state.add_breakout_room(archive_key(parent), uuid)
            return NotNow(EXCLUDED, f"a breakout room, archived with its meeting {parent} (replay that one)")
        if not (found.recording or found.archive or found.room_archives):
            found = self._unrecorded(found)
            if isinstance(found, NotNow):
                return found
        facts = found.facts()
        host_id = str(facts.get("host_id") or "")
        user = zoom.user(host_id) if host_id else None
        if reason := filters.host_excluded(user or {"id": host_id}):
            return NotNow(EXCLUDED, reason)
        host = Person(_display_name(user), str((user or {}).get("email") or ""))
        meeting = Meeting.from_zoom(facts, host, ())
        files = found.files()
        processing = [f for f in files if f.processing and (not f.file_type or filters.archives(f.file_type))]
        if processing or found.still_archiving:
            what = f"{len(processing)} of the meeting's {len(files)} file(s)" if processing else "the meeting's archive"
            return NotNow(DEFERRED, f"Zoom is still processing {what}")
        webinar = meeting.type in WEBINAR_TYPES
        said = {
            "polls": lambda: zoom.polls(uuid, webinar=webinar) if meeting.type != INSTANT_MEETING else None,
            "qa": lambda: zoom.qa(uuid, webinar=webinar),
            "summary": lambda: zoom.meeting_summary(uuid),
        }
        # All at once, unless the meeting may yet be left out for how long it lasted: then what was said waits.
        early = not filters.min_duration_minutes
        calls = said if early else {}
        if not found.details:  # those of a meeting neither recorded nor archived are had already
            calls = {"details": lambda: zoom.webinar_report(uuid) if webinar else zoom.past_meeting(uuid)} | calls
        fetched = {"details": found.details} | self._together(calls)
        details = fetched["details"]
        # Zoom lists no participants of a meeting that had one (its spec says so): that call is not made.
        count = (details or {}).get("participants_count")
        sessions = [] if isinstance(count, int) and count < 2 else zoom.participants(uuid, webinar=webinar)
        domains = self.settings.organization_domains
        participants = archive_people(group_participants(sessions, domains), files, domains)
        end, end_source = meeting_end(meeting.start, details, participants, files)
        minutes = _minutes(end - meeting.start) if end else meeting.recording_minutes
        if end and (reason := filters.too_short(end - meeting.start)):
            return NotNow(EXCLUDED, reason, int((end - meeting.start).total_seconds()))
        timezone, timezone_source = meeting_timezone(meeting.timezone, str((user or {}).get("timezone") or ""))
        if not early:
            fetched |= self._together(said)
        return replace(
            meeting,
            participants=participants,
            files=tuple(f for f in files if self._wanted(f) and not f.failed),
            not_archived=tuple(f for f in files if not self._wanted(f) or f.failed),
            end=end,
            end_source=end_source,
            duration_minutes=minutes,
            timezone=timezone,
            timezone_source=timezone_source,
            polls=poll_answers_from_zoom(fetched["polls"]),
            qa=questions_from_zoom(fetched["qa"]),
            summary=Summary.from_zoom(fetched["summary"]),
            sources=replace(found, details=details).sources,
            rooms=found.rooms(),
        )

    def _together(self, calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
        """Zoom calls of one meeting that do not depend on each other, made at the same time (each still waits
        for its turn in the account's budget); their answers by name, or the first error once all have ended."""
        started = {name: self._calls.submit(contextvars.copy_context().run, call) for name, call in calls.items()}
        wait(started.values())
        return {name: future.result() for name, future in started.items()}

    def _find(self, uuid: str) -> Found:
        """The meeting in every source, with the breakout rooms known of it: the first thing asked of Zoom."""
        return self.sources.find(uuid, self._rooms(archive_key(uuid)))

    def _unrecorded(self, found: Found) -> Found | NotNow:
        """A meeting neither recorded nor archived, known by its details (a webinar's from its report): archived
        from them when past meetings are a source, else left out saying which setting would archive it (a
        summary webhook queues such meetings). Without details Zoom knows no such meeting: no retry changes it."""
        sources = self.settings.zoom_sources
        details = self.zoom.past_meeting(found.uuid) or self.zoom.webinar_report(found.uuid)
        if not details:
            asked = [lack for source, lack in NOTHING_FROM.items() if source in sources] + ["no details of it"]
            lacks = ", and ".join(filter(None, [", ".join(asked[:-1]), asked[-1]]))
            raise UnknownMeeting(ZoomError(404, MEETING_NOT_FOUND, f"Meeting does not exist: {found.uuid}."), lacks)
        if MEETINGS in sources:
            return replace(found, details=details)
        lacks = " nor ".join(lack.removeprefix("no ") for source, lack in NOTHING_FROM.items() if source in sources)
        reason = f"Zoom has no {lacks} of this meeting: add meetings to ZOOM_SOURCES to archive meetings without them"
        return NotNow(EXCLUDED, reason)

    def _rooms(self, key: str) -> list[str]:
        """The meeting's breakout rooms the listing and the webhook found (only archiving has rooms)."""
        return self.state.breakout_rooms(key) if ARCHIVING in self.settings.zoom_sources else []

    def _wanted(self, file: RecordingFile) -> bool:
        """Whether the file is downloaded: its type is archived (ARCHIVE_FILE_TYPES); a type still unknown counts."""
        return not file.file_type or self.filters.archives(file.file_type)

    def _not_now(self, outcome: NotNow, ref: MeetingRef, key: str, blob_name: str, attempt: int) -> Capture:
        """Record a meeting left for later (deferred) or left out (excluded); a deferral stuck too long fails."""
        if outcome.status == EXCLUDED:
            self._told(EXCLUDED, ref, key, "meeting not archived: %s", outcome.reason)
            lasted = {} if outcome.seconds is None else {"meeting_seconds": outcome.seconds}
            self.state.update_meeting(
                key, uuid=ref.uuid, status=EXCLUDED, reason=outcome.reason, attempts=attempt, **lasted
            )
            return Capture(EXCLUDED, blob_name)
        since = parse_time((self.state.meeting(key) or {}).get("deferred_since")) or datetime.now(UTC)
        if datetime.now(UTC) - since > DEFERRAL_LIMIT:
            reason = f"{outcome.reason} since {utc_text(since)}, longer than Zoom ever takes: archive it once Zoom has"
            self._told(FAILED, ref, key, "capture failed: %s", reason, level=logging.WARNING, final=True)
            self.state.update_meeting(
                key, uuid=ref.uuid, status=FAILED, error_code="still_processing", reason=reason, final=True
            )
            return Capture(FAILED, blob_name)
        self._told(DEFERRED, ref, key, "meeting deferred: %s", outcome.reason)
        self.state.update_meeting(
            key, uuid=ref.uuid, status=DEFERRED, reason=outcome.reason, deferred_since=utc_text(since), attempts=attempt
        )
        return Capture(DEFERRED, blob_name)

    def _told(
        self,
        status: str,
        ref: MeetingRef,
        key: str,
        message: str,
        *args: object,
        level: int = logging.INFO,
        final: bool = False,
    ) -> None:
        """The `meeting_captured` record of an outcome other than a capture, with the day the listing gave;
        `final`: a failure no automatic retry follows."""
        day = str((self.state.meeting(key) or {}).get("day") or "")
        telemetry.event(
            log, "meeting_captured", message, *args, level=level, status=status, day=day, source=ref.source, final=final
        )

    def _archive(self, meeting: Meeting) -> tuple[Meeting, list[CapturedFile], Composition, bool]:
        """Download the files, store those the message cannot carry, and write the message: all as streams.

        Returns the meeting as archived (a file that could not be fetched after its retries is among its
        `missing`, with the reason, and the rest is archived without it), its files, the message, and whether
        this capture wrote it (False when a concurrent capture of the same meeting wrote it first). Each
        download goes into staging while it is hashed (small ones stay in memory); attached files are read back
        from there into the message, stored ones are copied into the recordings container by the storage service
        (a 1 GiB recording crosses the app twice: in from Zoom, out to staging); staging is emptied whatever
        happens.
        """
        limit = self.settings.max_message_size_mb * MIB
        area = Staging(self.staging, f"{meeting.key}/{uuid.uuid4().hex}")  # this attempt's own: duplicates never mix
        try:
            downloaded: list[CapturedFile] = []
            missing = list(meeting.missing)
            for index, file in enumerate(meeting.files, 1):
                fetched = self._download(index, file, area)
                if isinstance(fetched, MissingFile):
                    missing.append(fetched)
                else:
                    downloaded.append(fetched)
            meeting = replace(meeting, files=tuple(c.file for c in downloaded), missing=tuple(missing))
            meeting = subgroup_members(meeting, downloaded, area.open, self.settings.organization_domains)
            said = read_said(downloaded, area.open)
            stored_in = StoredIn(self.recordings.account_name, self.recordings.container_name, self.recordings.url)
            captured, composition = place_files(meeting, downloaded, said, limit, stored_in)
            blob = self.messages.get_blob_client(message_blob_name(meeting.key))
            if meeting.addition and blob.exists():
                return meeting, captured, composition, False  # the same addition, archived already
            for c in captured:
                if not c.attached:
                    area.store(c, self.recordings)
            writer = BlockBlobWriter(blob, "message/rfc822", once=True)
            composition.write(writer, area.open)
            written = writer.commit()  # False: a concurrent capture finished first, with the same record
        finally:
            area.empty()
        if composition.size > limit:
            log.warning(
                "message of %d bytes is over MAX_MESSAGE_SIZE_MB even with every file stored apart and the least "
                "chat and transcript shown: mailboxes with that limit will refuse it",
                composition.size,
            )
        return meeting, captured, composition, written

    def _download(self, index: int, file: RecordingFile, area: Staging) -> CapturedFile | MissingFile:
        """Stream one file from Zoom into staging, hashing it: the download's own framing and Zoom's fingerprint
        (when it states one) say whether it is whole, the size Zoom lists does not (see `Download`); a file
        that fails its checks is fetched once more, then left missing with the reason."""
        name, kind = attachment_name(index, file), content_type(file)
        problem = ""
        for _ in range(2):
            sink = area.writer(name, kind)
            try:
                result = self.zoom.download(file.download_url, sink)
                check_fingerprint(name, file.fingerprint, result.sha256)
            except IntegrityError as error:
                problem = str(error)  # a corrupted transfer, perhaps: once more
                continue
            except DownloadError as error:
                problem = str(error)  # its retries are spent already
                break
            sink.commit()
            note = ""
            if file.size is not None and file.size != result.size:
                note = f"Zoom lists {file.size} bytes; the download has {result.size}, all the server announced"
                log.warning("%s: %s", name, note)
            return CapturedFile(file, name, kind, result.size, result.sha256, note=note)
        log.warning("%s (%s) could not be fetched: %s", name, file.file_type, problem)
        return MissingFile(file, problem)


def _file_keys(files: tuple[RecordingFile, ...], archived: set[str] | None = None) -> str:
    return ",".join(sorted({f.key for f in files} | (archived or set())))


def _missing_fields(
    missing: tuple[MissingFile, ...], now: datetime, row: dict | None = None, *, sweep: bool = False
) -> dict[str, object]:
    """The meeting row's account of the files that could not be fetched, and when a recheck looks at the meeting
    again (`recheck`, `recheck_after`): on every run while files are missing (for PARTIAL_RETRIES_FOR at most);
    otherwise once, RECHECK_AFTER after the capture, for what Zoom finishes later (a transcript, the AI summary).
    `row` is the meeting's row when this is a later look than the capture; `sweep`, when it is the recheck's."""
    row = row or {}
    since = parse_time(row.get("partial_since"))
    if missing:
        since = since or now
        recheck, after = now - since < PARTIAL_RETRIES_FOR, now
    elif not row:
        since, recheck, after = None, True, now + RECHECK_AFTER
    else:  # a look before the recheck it is due for leaves it due
        due = parse_time(row.get("recheck_after"))
        since, after = None, due or now
        recheck = bool(row.get("recheck")) and not sweep and due is not None and due > now
    return {
        "files_missing": len(missing),
        "missing_files": ",".join(m.file.key for m in missing),
        "missing_reason": "; ".join(f"{m.file.file_type or 'file'}: {m.reason}" for m in missing)[:1000],
        "partial_since": utc_text(since) if since else "",
        "recheck": recheck,
        "recheck_after": utc_text(after),
    }


def _minutes(span: timedelta) -> int:
    """Whole minutes a meeting lasted, a started minute counting as one (a 40-second meeting lasted 1 minute)."""
    return max(0, -(-int(span.total_seconds()) // 60))


def _display_name(user: dict | None) -> str:
    if not user:
        return ""
    full = f"{user.get('first_name') or ''} {user.get('last_name') or ''}".strip()
    return str(user.get("display_name") or full or user.get("email") or "")


def error_code(error: Exception) -> str:
    """The short code of a failed capture, for its state row and its `stage_failed` record."""
    if isinstance(error, ZoomError):
        return f"zoom_{error.status}" + (f"_{error.code}" if error.code is not None else "")
    return type(error).__name__


class Staging:
    """Where one capture's downloads land until the message is written: in memory while they fit in
    `allowance` bytes together (a chat, a transcript, a short recording: no storage round trip), else in the
    capture's folder of the staging container, read back from there, and deleted at the end."""

    def __init__(self, container: ContainerClient, folder: str, allowance: int = IN_MEMORY):
        self.container = container
        self.folder = folder
        self.allowance = allowance
        self.names: list[str] = []  # staged in the container
        self.kept: dict[str, bytes] = {}  # kept in memory

    def blob(self, filename: str) -> BlobClient:
        return self.container.get_blob_client(f"{self.folder}/{filename}")

    def writer(self, filename: str, kind: str) -> Landing:
        return Landing(self, filename, kind)

    def room(self) -> int:
        return self.allowance - sum(map(len, self.kept.values()))

    def staged(self, filename: str, kind: str) -> BlockBlobWriter:
        self.names.append(filename)
        return BlockBlobWriter(self.blob(filename), kind, once=False)

    def open(self, captured: CapturedFile) -> BinaryIO:
        if captured.filename in self.kept:
            return io.BytesIO(self.kept[captured.filename])
        return open_blob(self.blob(captured.filename), captured.size)

    def store(self, captured: CapturedFile, recordings: ContainerClient) -> None:
        """Store a file apart, by its SHA-256: one staged is copied by the storage service (its bytes do not
        cross the app again), one kept in memory is written."""
        if captured.filename in self.kept:
            store_once(recordings, captured.stored_as, self.kept[captured.filename], captured.content_type)
        else:
            copy_once(self.blob(captured.filename), recordings, captured.stored_as)

    def empty(self) -> None:
        self.kept.clear()
        for filename in self.names:
            try:
                self.blob(filename).delete_blob()
            except ResourceNotFoundError:
                pass  # never committed: the service drops uncommitted blocks by itself


class Landing(io.RawIOBase):
    """One download on its way into `Staging`: held in memory while the capture's allowance has room for it,
    then moved into a staging blob (what it holds first) as soon as it outgrows it."""

    def __init__(self, area: Staging, filename: str, kind: str):
        super().__init__()
        self.area, self.filename, self.kind = area, filename, kind
        self.held = bytearray()
        self.staged: BlockBlobWriter | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.staged is None and len(self.held) + len(data) <= self.area.room():
            self.held += data
            return len(data)
        if self.staged is None:
            self.staged = self.area.staged(self.filename, self.kind)
            self.staged.write(self.held)
            self.held = bytearray()
        self.staged.write(data)
        return len(data)

    def commit(self) -> None:
        if self.staged is None:
            self.area.kept[self.filename] = bytes(self.held)
        else:
            self.staged.commit()


def place_files(
    meeting: Meeting, downloaded: list[CapturedFile], said: Said, limit: int, stored_in: StoredIn | None = None
) -> tuple[list[CapturedFile], Composition]:
    """Attach what fits in the largest message the mailboxes accept; the rest is stored apart, by content hash.

    `limit` is in bytes of the whole .eml: headers, both bodies, our JSON record, and each attached file as
    base64 (4/3 of its size plus a line break every 76 characters) with its part headers. The budget starts
    from the message with every file stored, whose manifest and record are the longest they can be, so
    attaching a file only ever adds its part; text records go first (small, and what searches need), then
    the smallest media. Bodies too big even alone show less of the chat and transcript, halving until they
    fit; a message that still does not fit (a tiny limit) is written all the same, with every file stored.
    The bodies name each file stored apart by its place in `stored_in`.
    """
    stored = [replace(c, stored_as=recording_blob_name(c.sha256, c.filename)) for c in downloaded]
    said_limit = TEXT_LIMIT
    base = compose(meeting, stored, said, said_limit=said_limit, stored_in=stored_in)
    while base.size > limit and said_limit:
        said_limit //= 2
        base = compose(meeting, stored, said, said_limit=said_limit, stored_in=stored_in)
    room = limit - base.size
    attach = set()
    preference = sorted(
        range(len(downloaded)), key=lambda i: (downloaded[i].file.file_type not in TEXT_TYPES, downloaded[i].size)
    )
    for index in preference:
        cost = base64_size(downloaded[index].size) + PART_ALLOWANCE
        if cost <= room:
            attach.add(index)
            room -= cost
    files = [c if i in attach else stored[i] for i, c in enumerate(downloaded)]
    return files, compose(meeting, files, said, said_limit=said_limit, stored_in=stored_in)
