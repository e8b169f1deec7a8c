"""Stage 2 (queue): fetch one meeting instance from Zoom and write its archived message to blob storage.

The message blob is the stage's commit point: once `messages/<key>.eml` exists the meeting is captured,
whatever the state row says, so a duplicate queue message costs one existence check. A meeting whose
files Zoom is still processing is deferred, never archived half-complete; one that Zoom's spent daily quota
holds up waits for the reset; neither counts as a failed attempt, and the next timer run queues both again.
"""

from __future__ import annotations

import logging
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import ContainerClient, ContentSettings

from shared.filters import Filters
from shared.message import attachment_name, build_message, content_type
from shared.ratelimit import DailyLimitReached
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
from shared.state import CAPTURED, DEFERRED, EXCLUDED, FAILED, WAITING, State
from shared.zoom import ZoomClient, ZoomError

log = logging.getLogger(__name__)
SPOOL_IN_MEMORY = 8 * 1024 * 1024  # larger downloads spill to a temporary file
BODY_ALLOWANCE = 512 * 1024  # room kept in the size budget for headers, bodies and our JSON record
TEXT_TYPES = ("CHAT", "TRANSCRIPT", "CC", "TIMELINE", "CSV", "SUMMARY")
WEBINAR_TYPES = (5, 6, 9)  # a webinar, a recurring one without and with a fixed time
INSTANT_MEETING = 1  # Zoom offers no polls in instant meetings
DEFERRAL_LIMIT = timedelta(days=3)  # Zoom takes up to 24 hours to process a recording; after this, it is stuck


@dataclass(frozen=True)
class Capture:
    status: str  # CAPTURED, DEFERRED, WAITING, EXCLUDED, or FAILED (files stuck in processing)
    blob_name: str
    attached: int = 0
    stored: int = 0


@dataclass(frozen=True)
class NotNow:
    """Why a meeting is not captured on this run: DEFERRED (files still processing) or EXCLUDED (filters)."""

    status: str
    reason: str


def message_blob_name(key: str) -> str:
    return f"{key}.eml"


def capture_meeting(
    ref: MeetingRef,
    attempt: int,
    *,
    zoom: ZoomClient,
    state: State,
    messages: ContainerClient,
    recordings: ContainerClient,
    settings: Settings,
) -> Capture:
    key = archive_key(ref.uuid)
    blob_name = message_blob_name(key)
    if messages.get_blob_client(blob_name).exists():
        state.update_meeting(key, uuid=ref.uuid, status=CAPTURED, message_blob=blob_name)
        return Capture(CAPTURED, blob_name)
    try:
        meeting = fetch_meeting(zoom, ref.uuid, settings)
        if isinstance(meeting, NotNow):
            return _not_now(meeting, ref, key, blob_name, attempt, state)
        if meeting.not_archived:
            state.update_meeting(
                key,
                uuid=ref.uuid,
                files_not_archived=len(meeting.not_archived),
                file_types_not_archived=",".join(sorted({f.file_type for f in meeting.not_archived})),
            )
        with ExitStack() as stack:
            downloads = [(f, _download(zoom, f, stack)) for f in meeting.files]
            captured, contents = _place_files(downloads, recordings, settings)
            data = build_message(meeting, captured, contents)
        state.update_meeting(
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
            stored_files=sum(not c.attached for c in captured),
            message_bytes=len(data),
            attempts=attempt,
            error_code="",
            reason="",
        )
        try:
            messages.upload_blob(
                blob_name, data, overwrite=False, content_settings=ContentSettings(content_type="message/rfc822")
            )
        except ResourceExistsError:
            pass  # a concurrent capture of the same meeting finished first: same meeting, same record
        result = Capture(CAPTURED, blob_name, sum(c.attached for c in captured), sum(not c.attached for c in captured))
        log.info(
            "meeting captured: %d participant(s), %d file(s) attached, %d stored apart, message of %d bytes",
            len(meeting.participants),
            result.attached,
            result.stored,
            len(data),
        )
        return result
    except DailyLimitReached as limit:
        log.warning("meeting waits for Zoom's daily quota: %s", limit)
        state.update_meeting(
            key, uuid=ref.uuid, status=WAITING, reason=str(limit), retry_after=utc_text(limit.until), attempts=attempt
        )
        return Capture(WAITING, blob_name)
    except Exception as error:
        log.warning("capture failed (attempt %d): %s", attempt, error)
        state.update_meeting(
            key,
            uuid=ref.uuid,
            status=FAILED,
            error_code=_code(error),
            reason=str(error)[:1000],
            attempts=attempt,
        )
        raise


def fetch_meeting(zoom: ZoomClient, uuid: str, settings: Settings) -> Meeting | NotNow:
    """Everything Zoom has about one meeting instance, as the record the message is built from.

    Only the Light and Medium endpoints are used, except for a webinar's end time, which only the (Heavy)
    webinar report has. A meeting the filters leave out, or whose files Zoom is still processing, is not
    fetched further.
    """
    filters = Filters.from_settings(settings)
    recording = zoom.meeting_recordings(uuid)
    host_id = str(recording.get("host_id") or "")
    user = zoom.user(host_id) if host_id else None
    if reason := filters.host_excluded(user or {"id": host_id}) or filters.meeting_excluded(recording):
        return NotNow(EXCLUDED, reason)
    files = [RecordingFile.from_zoom(item, uuid) for item in _files(recording)]
    processing = [f for f in files if f.processing and (not f.file_type or filters.archives(f.file_type))]
    if processing:
        return NotNow(DEFERRED, f"Zoom is still processing {len(processing)} of the meeting's {len(files)} file(s)")
    meeting = Meeting.from_zoom(recording, Person(_display_name(user), str((user or {}).get("email") or "")), ())
    webinar = meeting.type in WEBINAR_TYPES
    details = zoom.webinar_report(uuid) if webinar else zoom.past_meeting(uuid)
    sessions = zoom.participants(uuid, webinar=webinar)
    polls = zoom.polls(uuid, webinar=webinar) if meeting.type != INSTANT_MEETING else None
    return replace(
        meeting,
        participants=group_participants(sessions, settings.organization_domains),
        files=tuple(f for f in meeting.files if filters.archives(f.file_type)),
        not_archived=tuple(f for f in meeting.files if not filters.archives(f.file_type)),
        end=parse_time((details or {}).get("end_time")),
        polls=poll_answers_from_zoom(polls),
        qa=questions_from_zoom(zoom.qa(uuid, webinar=webinar)),
        summary=Summary.from_zoom(zoom.meeting_summary(uuid)),
    )


def _not_now(outcome: NotNow, ref: MeetingRef, key: str, blob_name: str, attempt: int, state: State) -> Capture:
    """Record a meeting left for later (deferred) or left out (excluded); a deferral stuck too long fails."""
    if outcome.status == EXCLUDED:
        log.info("meeting not archived: %s", outcome.reason)
        state.update_meeting(key, uuid=ref.uuid, status=EXCLUDED, reason=outcome.reason, attempts=attempt)
        return Capture(EXCLUDED, blob_name)
    since = parse_time((state.meeting(key) or {}).get("deferred_since")) or datetime.now(UTC)
    if datetime.now(UTC) - since > DEFERRAL_LIMIT:
        reason = f"{outcome.reason} since {utc_text(since)}, longer than Zoom ever takes: archive it once Zoom has"
        log.warning("capture failed: %s", reason)
        state.update_meeting(key, uuid=ref.uuid, status=FAILED, error_code="still_processing", reason=reason)
        return Capture(FAILED, blob_name)
    log.info("meeting deferred: %s", outcome.reason)
    state.update_meeting(
        key, uuid=ref.uuid, status=DEFERRED, reason=outcome.reason, deferred_since=utc_text(since), attempts=attempt
    )
    return Capture(DEFERRED, blob_name)


def _files(recording: dict) -> list[dict]:
    return list(recording.get("recording_files") or []) + list(recording.get("participant_audio_files") or [])


def _display_name(user: dict | None) -> str:
    if not user:
        return ""
    full = f"{user.get('first_name') or ''} {user.get('last_name') or ''}".strip()
    return str(user.get("display_name") or full or user.get("email") or "")


def _code(error: Exception) -> str:
    if isinstance(error, ZoomError):
        return f"zoom_{error.status}" + (f"_{error.code}" if error.code is not None else "")
    return type(error).__name__


def _download(zoom: ZoomClient, file: RecordingFile, stack: ExitStack) -> tuple[BinaryIO, int, str]:
    sink = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY))
    result = zoom.download(file.download_url, sink, file.size)
    sink.seek(0)
    return sink, result.size, result.sha256


def _place_files(
    downloads: list[tuple[RecordingFile, tuple[BinaryIO, int, str]]],
    recordings: ContainerClient,
    settings: Settings,
) -> tuple[list[CapturedFile], dict[str, bytes]]:
    """Attach what fits in the largest message the mailboxes accept; store the rest, once, by content hash.

    Text artifacts go first (chat, transcript: small and what searches need), then the smallest media.
    """
    budget = settings.max_message_size_mb * 1024 * 1024 * 3 // 4 - BODY_ALLOWANCE  # base64 grows by 4/3
    order = sorted(
        range(len(downloads)),
        key=lambda i: (downloads[i][0].file_type not in TEXT_TYPES, downloads[i][1][1]),
    )
    attach = set()
    for index in order:
        size = downloads[index][1][1]
        if size <= budget:
            attach.add(index)
            budget -= size
    captured: list[CapturedFile] = []
    contents: dict[str, bytes] = {}
    for index, (file, (sink, size, sha256)) in enumerate(downloads):
        name = attachment_name(index + 1, file)
        kind = content_type(file)
        stored_as = ""
        if index in attach:
            contents[file.key] = sink.read()
        else:
            stored_as = recording_blob_name(sha256, name)
            try:
                recordings.upload_blob(
                    stored_as, sink, length=size, overwrite=False, content_settings=ContentSettings(content_type=kind)
                )
            except ResourceExistsError:
                pass  # content-addressed: the same bytes are already stored
        captured.append(CapturedFile(file, name, kind, size, sha256, stored_as))
    return captured, contents
