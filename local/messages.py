"""Archived messages made locally, as the capture stage makes them, for what starts at the import stage.

The import stage's tests and benchmark put these straight into the `messages` container (or hand them to
the stage), so they exercise mailbox import without a Zoom account behind every meeting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from shared.message.compose import EXTENSIONS, attachment_name, build_message, content_type
from shared.records import CapturedFile, Meeting, Participant, Person, RecordingFile, Session, is_internal


def archived_message(
    *,
    uuid: str,
    topic: str,
    start: datetime,
    host: Person,
    participants: Sequence[Person],
    domains: tuple[str, ...],
    files: Sequence[tuple[str, bytes]] = (),
    host_id: str = "",
    zoom_ids: Mapping[str, str] | None = None,
    minutes: int = 30,
) -> bytes:
    """The .eml of one meeting: `participants` (the host among them, if present) attended the whole meeting,
    signed in to Zoom as `zoom_ids[email]` when given, and each `(file_type, content)` of `files` is attached."""
    end = start + timedelta(minutes=minutes)
    people = tuple(
        Participant(
            p.name,
            p.email,
            is_internal(p.email, domains),
            (Session(start, end, minutes * 60),),
            (zoom_ids or {}).get(p.email, ""),
        )
        for p in participants
    )
    recordings: list[RecordingFile] = []
    captured: list[CapturedFile] = []
    contents: dict[str, bytes] = {}
    for n, (file_type, data) in enumerate(files):
        file = RecordingFile(
            key=f"file{n}",
            file_type=file_type,
            extension=EXTENSIONS.get(file_type, ""),
            recording_type="",
            size=len(data),
            download_url="",
            start=start,
            end=end,
            status="completed",
        )
        recordings.append(file)
        sha256 = hashlib.sha256(data).hexdigest()
        captured.append(CapturedFile(file, attachment_name(n + 1, file), content_type(file), len(data), sha256))
        contents[file.key] = data
    meeting = Meeting(
        uuid=uuid,
        meeting_id=int(hashlib.sha256(uuid.encode()).hexdigest()[:10], 16),
        topic=topic,
        host=host,
        host_id=host_id,
        start=start,
        duration_minutes=minutes,
        timezone="UTC",
        type=2,
        participants=people,
        files=tuple(recordings),
        end=end,
    )
    return build_message(meeting, captured, contents)
