"""Stage 2 (queue): fetch one meeting instance from Zoom and write its archived message to blob storage.

The message blob is the stage's commit point: once `messages/<key>.eml` exists the meeting is captured,
whatever the state row says, so a duplicate queue message costs one existence check and one look at the
meeting's files in Zoom, for those Zoom finished later (`add_late_files`). A meeting whose
files Zoom is still processing is deferred, never archived half-complete; one that Zoom's spent daily quota
holds up waits for the reset; neither counts as a failed attempt, and the next timer run queues both again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobClient, ContainerClient

from shared import telemetry
from shared.blobio import BlockBlobWriter, open_blob
from shared.filters import Filters
from shared.integrity import check_fingerprint
from shared.message.bodies import Said, read_said
from shared.message.compose import Composition, attachment_name, base64_size, compose, content_type
from shared.records import (
    CapturedFile,
    Meeting,
    MeetingRef,
    Person,
    RecordingFile,
    Summary,
    archive_key,
    group_participants,
    parse_time,
    poll_answers_from_zoom,
    questions_from_zoom,
    recording_blob_name,
    utc_text,
)
from shared.settings import Settings
from shared.state import CAPTURED, DEFERRED, EXCLUDED, FAILED, WAITING, State, column_list
from shared.storage import copy_once
from shared.transcript import TEXT_LIMIT
from shared.zoom import DailyLimitReached, ZoomClient, ZoomError

log = logging.getLogger(__name__)
MIB = 1024 * 1024
PART_ALLOWANCE = 1024  # an attachment's MIME part headers and boundary line, generously
TEXT_TYPES = ("CHAT", "TRANSCRIPT", "CC", "TIMELINE", "CSV", "SUMMARY")
WEBINAR_TYPES = (5, 6, 9)  # a webinar, a recurring one without and with a fixed time
INSTANT_MEETING = 1  # Zoom offers no polls in instant meetings
DEFERRAL_LIMIT = timedelta(days=3)  # Zoom takes up to 24 hours to process a recording; after this, it is stuck


@dataclass(frozen=True)
class Capture:
    status: str  # CAPTURED, DEFERRED, WAITING, EXCLUDED, or FAILED (files stuck in processing)
    blob_name: str
    written: bool = False  # this capture wrote the message blob (not a duplicate's or an earlier run's)


@dataclass(frozen=True)
class NotNow:
    """Why a meeting is not captured on this run: DEFERRED (files still processing) or EXCLUDED (filters)."""

    status: str
    reason: str


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

    def capture_meeting(self, ref: MeetingRef, attempt: int) -> Capture:
        key = archive_key(ref.uuid)
        blob_name = message_blob_name(key)
        if self.messages.get_blob_client(blob_name).exists():
            self.state.update_meeting(key, uuid=ref.uuid, status=CAPTURED, message_blob=blob_name)
            self.add_late_files(ref, key)
            return Capture(CAPTURED, blob_name)
        try:
            meeting = self.fetch_meeting(ref.uuid)
            if isinstance(meeting, NotNow):
                return self._not_now(meeting, ref, key, blob_name, attempt)
            captured, composition, written = self._archive(meeting, blob_name)
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
                participants=len(meeting.participants),
                files=len(captured),
                archived_files=_file_keys(meeting.files),
                stored_files=sum(not c.attached for c in captured),
                files_not_archived=len(meeting.not_archived),
                file_types_not_archived=",".join(sorted({f.file_type for f in meeting.not_archived})),
                message_bytes=composition.size,
                attempts=attempt,
                error_code="",
                reason="",
            )
            stored = len(captured) - len(composition.attached)
            telemetry.event(
                log,
                "meeting_captured",
                "meeting captured: %d participant(s), %d file(s) attached, %d stored apart, message of %d bytes",
                len(meeting.participants),
                len(composition.attached),
                stored,
                composition.size,
                status=CAPTURED,
                day=meeting.start.date().isoformat(),
                source=ref.source,
                stored_files=stored,
            )
            return Capture(CAPTURED, blob_name, written)
        except DailyLimitReached as limit:
            self._told(WAITING, ref, key, "meeting waits for Zoom's daily quota: %s", limit, level=logging.WARNING)
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
            )
            raise

    def add_late_files(self, ref: MeetingRef, key: str) -> str | None:
        """Archive the files Zoom lists now that the meeting's message lacks, in a message of their own.

        Zoom sends `recording.completed` once files are ready (once per processed view, for some accounts) and
        `recording.transcript_completed` later, so a meeting captured on the first event can gain files. They
        go into an addition: the meeting's facts and only the new files, under a key of the meeting and those
        files (so the same event twice adds one message), delivered like any other. The keys of the files
        archived, and of the meeting's additions (for the completeness report), are on the meeting's row; a
        row written before they were kept is left as it is. Returns the addition's blob.
        """
        row = self.state.meeting(key) or {}
        if row.get("archived_files") is None:
            return None
        archived = set(column_list(row["archived_files"]))
        listed = Meeting.from_zoom(self.zoom.meeting_recordings(ref.uuid), Person("", ""), ()).files
        if not {f.key for f in listed if not f.file_type or self.filters.archives(f.file_type)} - archived:
            return None
        meeting = self.fetch_meeting(ref.uuid)
        if isinstance(meeting, NotNow):
            log.info("files Zoom added to an archived meeting wait: %s", meeting.reason)
            return None
        addition = replace(meeting, files=tuple(f for f in meeting.files if f.key not in archived), addition=True)
        blob_name = message_blob_name(addition.key)
        if not self.messages.get_blob_client(blob_name).exists():
            self._archive(addition, blob_name)
            log.info("addition archived: %d file(s) Zoom listed after the meeting was captured", len(addition.files))
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
            key, archived_files=_file_keys(addition.files, archived), additions=",".join(additions)
        )
        return blob_name

    def fetch_meeting(self, uuid: str) -> Meeting | NotNow:
        """Everything Zoom has about one meeting instance, as the record the message is built from.

        Only the Light and Medium endpoints are used, except for a webinar's end time, which only the (Heavy)
        webinar report has. A meeting the filters leave out, or whose files Zoom is still processing, is not
        fetched further.
        """
        zoom, filters = self.zoom, self.filters
        recording = zoom.meeting_recordings(uuid)
        host_id = str(recording.get("host_id") or "")
        user = zoom.user(host_id) if host_id else None
        if reason := filters.host_excluded(user or {"id": host_id}) or filters.meeting_excluded(recording):
            return NotNow(EXCLUDED, reason)
        host = Person(_display_name(user), str((user or {}).get("email") or ""))
        meeting = Meeting.from_zoom(recording, host, ())
        processing = [f for f in meeting.files if f.processing and (not f.file_type or filters.archives(f.file_type))]
        if processing:
            return NotNow(
                DEFERRED, f"Zoom is still processing {len(processing)} of the meeting's {len(meeting.files)} file(s)"
            )
        webinar = meeting.type in WEBINAR_TYPES
        details = zoom.webinar_report(uuid) if webinar else zoom.past_meeting(uuid)
        sessions = zoom.participants(uuid, webinar=webinar)
        polls = zoom.polls(uuid, webinar=webinar) if meeting.type != INSTANT_MEETING else None
        return replace(
            meeting,
            participants=group_participants(sessions, self.settings.organization_domains),
            files=tuple(f for f in meeting.files if filters.archives(f.file_type)),
            not_archived=tuple(f for f in meeting.files if not filters.archives(f.file_type)),
            end=parse_time((details or {}).get("end_time")),
            polls=poll_answers_from_zoom(polls),
            qa=questions_from_zoom(zoom.qa(uuid, webinar=webinar)),
            summary=Summary.from_zoom(zoom.meeting_summary(uuid)),
        )

    def _not_now(self, outcome: NotNow, ref: MeetingRef, key: str, blob_name: str, attempt: int) -> Capture:
        """Record a meeting left for later (deferred) or left out (excluded); a deferral stuck too long fails."""
        if outcome.status == EXCLUDED:
            self._told(EXCLUDED, ref, key, "meeting not archived: %s", outcome.reason)
            self.state.update_meeting(key, uuid=ref.uuid, status=EXCLUDED, reason=outcome.reason, attempts=attempt)
            return Capture(EXCLUDED, blob_name)
        since = parse_time((self.state.meeting(key) or {}).get("deferred_since")) or datetime.now(UTC)
        if datetime.now(UTC) - since > DEFERRAL_LIMIT:
            reason = f"{outcome.reason} since {utc_text(since)}, longer than Zoom ever takes: archive it once Zoom has"
            self._told(FAILED, ref, key, "capture failed: %s", reason, level=logging.WARNING)
            self.state.update_meeting(key, uuid=ref.uuid, status=FAILED, error_code="still_processing", reason=reason)
            return Capture(FAILED, blob_name)
        self._told(DEFERRED, ref, key, "meeting deferred: %s", outcome.reason)
        self.state.update_meeting(
            key, uuid=ref.uuid, status=DEFERRED, reason=outcome.reason, deferred_since=utc_text(since), attempts=attempt
        )
        return Capture(DEFERRED, blob_name)

    def _told(
        self, status: str, ref: MeetingRef, key: str, message: str, *args: object, level: int = logging.INFO
    ) -> None:
        """The `meeting_captured` record of an outcome other than a capture, with the day the listing gave."""
        day = str((self.state.meeting(key) or {}).get("day") or "")
        telemetry.event(log, "meeting_captured", message, *args, level=level, status=status, day=day, source=ref.source)

    def _archive(self, meeting: Meeting, blob_name: str) -> tuple[list[CapturedFile], Composition, bool]:
        """Download the files, store those the message cannot carry, and write the message: all as streams;
        the flag is False when a concurrent capture of the same meeting wrote the message first.

        Each download goes into staging while it is hashed; attached files are read back from there into the
        message, stored ones are copied into the recordings container by the storage service (a 1 GiB recording
        crosses the app twice: in from Zoom, out to staging); staging is emptied whatever happens.
        """
        limit = self.settings.max_message_size_mb * MIB
        area = Staging(self.staging, f"{meeting.key}/{uuid.uuid4().hex}")  # this attempt's own: duplicates never mix
        try:
            downloaded = [self._download(index, f, area) for index, f in enumerate(meeting.files, 1)]
            said = read_said(downloaded, area.open)
            captured, composition = place_files(meeting, downloaded, said, limit)
            for c in captured:
                if not c.attached:  # copied in storage, server-side: its bytes crossed the app once, on download
                    copy_once(area.blob(c.filename), self.recordings, c.stored_as)
            writer = BlockBlobWriter(self.messages.get_blob_client(blob_name), "message/rfc822", once=True)
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
        return captured, composition, written

    def _download(self, index: int, file: RecordingFile, area: Staging) -> CapturedFile:
        """Stream one file from Zoom into staging, hashing it; Zoom's fingerprint, if any, must match."""
        name, kind = attachment_name(index, file), content_type(file)
        sink = area.writer(name, kind)
        result = self.zoom.download(file.download_url, sink, file.size)
        check_fingerprint(name, file.fingerprint, result.sha256)
        sink.commit()
        return CapturedFile(file, name, kind, result.size, result.sha256)


def _file_keys(files: tuple[RecordingFile, ...], archived: set[str] | None = None) -> str:
    return ",".join(sorted({f.key for f in files} | (archived or set())))


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
    """One capture's folder in the staging container: where downloads land, read back, then deleted."""

    def __init__(self, container: ContainerClient, folder: str):
        self.container = container
        self.folder = folder
        self.names: list[str] = []

    def blob(self, filename: str) -> BlobClient:
        return self.container.get_blob_client(f"{self.folder}/{filename}")

    def writer(self, filename: str, kind: str) -> BlockBlobWriter:
        self.names.append(filename)
        return BlockBlobWriter(self.blob(filename), kind, once=False)

    def open(self, captured: CapturedFile) -> BinaryIO:
        return open_blob(self.blob(captured.filename), captured.size)

    def empty(self) -> None:
        for filename in self.names:
            try:
                self.blob(filename).delete_blob()
            except ResourceNotFoundError:
                pass  # never committed: the service drops uncommitted blocks by itself


def place_files(
    meeting: Meeting, downloaded: list[CapturedFile], said: Said, limit: int
) -> tuple[list[CapturedFile], Composition]:
    """Attach what fits in the largest message the mailboxes accept; the rest is stored apart, by content hash.

    `limit` is in bytes of the whole .eml: headers, both bodies, our JSON record, and each attached file as
    base64 (4/3 of its size plus a line break every 76 characters) with its part headers. The budget starts
    from the message with every file stored, whose manifest and record are the longest they can be, so
    attaching a file only ever adds its part; text records go first (small, and what searches need), then
    the smallest media. Bodies too big even alone show less of the chat and transcript, halving until they
    fit; a message that still does not fit (a tiny limit) is written all the same, with every file stored.
    """
    stored = [replace(c, stored_as=recording_blob_name(c.sha256, c.filename)) for c in downloaded]
    said_limit = TEXT_LIMIT
    base = compose(meeting, stored, said, said_limit=said_limit)
    while base.size > limit and said_limit:
        said_limit //= 2
        base = compose(meeting, stored, said, said_limit=said_limit)
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
    return files, compose(meeting, files, said, said_limit=said_limit)
