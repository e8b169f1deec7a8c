"""Our machine-readable record of a meeting, `zoom-meeting.json` in its message: what capture writes and what
the import and the completeness report read back.

It keeps Zoom's values unaltered (the bodies show them cleaned), every file Zoom lists among them: those archived,
those that could not be fetched (`missing_files`) and those left out (`files_not_archived`: Zoom's archiving
failed to make them, or ARCHIVE_FILE_TYPES leaves their type out), each with where it came from; of Zoom's
listing only the download URL is not kept (it is useless once the file is archived). `from_json` reads any
record an earlier version wrote: a field it lacks, or holds as null, reads as empty, as it always has.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.records import (
    BreakoutRoom,
    CapturedFile,
    Meeting,
    MissingFile,
    Participant,
    Person,
    PollAnswer,
    Question,
    RecordingFile,
    Session,
    Summary,
    archive_key,
    as_int,
    as_list,
    parse_time,
    utc_text,
)

RECORD_FILENAME = "zoom-meeting.json"
# Why a file Zoom lists is not in the archive, in `files_not_archived`.
FAILED_BY_ZOOM = "Zoom's archiving failed to make it (Zoom lists it as failed and will not make it)"
TYPE_LEFT_OUT = "its type is not among ARCHIVE_FILE_TYPES"


@dataclass(frozen=True)
class ArchivedFile:
    """One file of the meeting as archived: what Zoom said it is, and what we checked and did with it."""

    key: str
    file_type: str
    recording_type: str
    recording_start: datetime | None
    recording_end: datetime | None
    filename: str
    content_type: str
    size: int
    sha256: str
    zoom_fingerprint: str  # empty when Zoom states none
    stored_as: str  # blob name in the recordings container; empty when attached to the message
    listed_size: int | None = None  # the size Zoom lists; None when it gives none (or 0)
    note: str = ""  # a disagreement with Zoom's listing, recorded rather than fatal
    source: str = ""  # the Zoom source that listed it (settings.SOURCES); empty in a record that predates sources
    room: str = ""  # the UUID of the breakout room it comes from; empty: the meeting itself
    participant: str = ""  # an individual recording's participant (their email, as Zoom names them)
    individual: bool = False  # one participant's recording, not the meeting's

    @classmethod
    def of(cls, captured: CapturedFile) -> ArchivedFile:
        file = captured.file
        return cls(
            listed_size=file.size,
            note=captured.note,
            source=file.source,
            room=file.room,
            participant=file.participant,
            individual=file.individual,
            key=file.key,
            file_type=file.file_type,
            recording_type=file.recording_type,
            recording_start=file.start,
            recording_end=file.end,
            filename=captured.filename,
            content_type=captured.content_type,
            size=captured.size,
            sha256=captured.sha256,
            zoom_fingerprint=file.fingerprint,
            stored_as=captured.stored_as,
        )


@dataclass(frozen=True)
class MeetingRecord:
    uuid: str
    meeting_id: int
    archive_key: str
    topic: str
    host: Person
    host_id: str
    start: datetime | None  # None only in a record that does not say (the message's Date then stands)
    end: datetime | None
    duration_minutes: int
    timezone: str
    type: int
    participants: tuple[Participant, ...]
    polls: tuple[PollAnswer, ...]
    qa: tuple[Question, ...]
    summary: Summary | None
    files: tuple[ArchivedFile, ...]
    recording_minutes: int = 0  # the listing's `duration`: what was recorded
    recording_start: datetime | None = None
    recording_end: datetime | None = None
    end_source: str = ""
    timezone_source: str = ""
    missing: tuple[MissingFile, ...] = ()  # their files as the record keeps them (`_kept`)
    not_archived: tuple[RecordingFile, ...] = ()  # the same
    sources: tuple[str, ...] = ()  # the Zoom sources that had the meeting; empty in a record that predates them
    rooms: tuple[BreakoutRoom, ...] = ()
    addition_to: str = ""  # an addition's: the archive key of its meeting's own message (its Message-ID's left part)

    @classmethod
    def of(cls, meeting: Meeting, files: Sequence[CapturedFile]) -> MeetingRecord:
        recording_start, recording_end = meeting.recording_span
        return cls(
            recording_minutes=meeting.recording_minutes,
            recording_start=recording_start,
            recording_end=recording_end,
            end_source=meeting.end_source,
            timezone_source=meeting.timezone_source,
            missing=tuple(MissingFile(_kept(m.file), m.reason) for m in meeting.missing),
            not_archived=tuple(_kept(f) for f in meeting.not_archived),
            sources=meeting.sources,
            rooms=meeting.rooms,
            uuid=meeting.uuid,
            meeting_id=meeting.meeting_id,
            archive_key=meeting.key,
            topic=meeting.topic,
            host=meeting.host,
            host_id=meeting.host_id,
            start=meeting.start,
            end=meeting.end,
            duration_minutes=meeting.duration_minutes,
            timezone=meeting.timezone,
            type=meeting.type,
            participants=meeting.participants,
            polls=meeting.polls,
            qa=meeting.qa,
            summary=meeting.summary,
            files=tuple(ArchivedFile.of(c) for c in files),
            addition_to=archive_key(meeting.uuid) if meeting.addition else "",
        )

    def to_json(self) -> bytes:
        """The record as it is attached: indented, ASCII-only JSON, with Zoom's field names where it has them."""
        return json.dumps(self._fields(), indent=2, ensure_ascii=True).encode()

    def _fields(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "id": self.meeting_id,
            "archive_key": self.archive_key,
            "addition_to": self.addition_to or None,
            "topic": self.topic,
            "host": {"id": self.host_id, "name": self.host.name, "email": self.host.email},
            "start_time": _time(self.start),
            "end_time": _time(self.end),
            "end_time_source": self.end_source or None,
            "duration": self.duration_minutes,
            "recording_start": _time(self.recording_start),
            "recording_end": _time(self.recording_end),
            "recording_duration": self.recording_minutes,
            "timezone": self.timezone,
            "timezone_source": self.timezone_source or None,
            "type": self.type,
            "sources": list(self.sources),
            "breakout_rooms": [
                {"uuid": r.uuid, "name": r.name, "start_time": _time(r.start), "end_time": _time(r.end)}
                for r in self.rooms
            ],
            "participants": [
                {
                    "name": p.name,
                    "email": p.email,
                    "id": p.zoom_id,
                    "registrant_id": p.registrant_id or None,
                    "other_names": list(p.names),
                    "internal": p.internal,
                    "sessions": [
                        {
                            "join_time": _time(s.join_time),
                            "leave_time": _time(s.leave_time),
                            "duration": s.duration_seconds,
                            "user_id": s.participant_id or None,
                        }
                        for s in p.sessions
                    ],
                }
                for p in self.participants
            ],
            "polls": [
                {
                    "poll": a.poll,
                    "question": a.question,
                    "name": a.name,
                    "email": a.email,
                    "answer": a.answer,
                    "time": _time(a.time),
                }
                for a in self.polls
            ],
            "qa": [{"name": q.name, "email": q.email, "question": q.question, "answer": q.answer} for q in self.qa],
            "summary": _summary_fields(self.summary),
            "files": [
                {
                    "key": f.key,
                    "file_type": f.file_type,
                    "recording_type": f.recording_type,
                    "recording_start": _time(f.recording_start),
                    "recording_end": _time(f.recording_end),
                    "filename": f.filename,
                    "content_type": f.content_type,
                    "size": f.size,
                    "sha256": f.sha256,
                    "zoom_fingerprint": f.zoom_fingerprint or None,
                    "stored_as": f.stored_as or None,
                    "listed_size": f.listed_size,
                    "note": f.note or None,
                    "source": f.source or None,
                    "breakout_room": f.room or None,
                    "participant": f.participant or None,
                    "individual": f.individual,
                }
                for f in self.files
            ],
            "missing_files": [{**_listed(m.file), "reason": m.reason} for m in self.missing],
            "files_not_archived": [
                {**_listed(f), "reason": FAILED_BY_ZOOM if f.failed else TYPE_LEFT_OUT} for f in self.not_archived
            ],
        }

    @classmethod
    def from_json(cls, text: str | bytes) -> MeetingRecord:
        """A record read back; raises ValueError when `text` is not a JSON object."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"{RECORD_FILENAME} holds no JSON object")
        host = _object(data.get("host"))
        return cls(
            uuid=_str(data.get("uuid")),
            meeting_id=as_int(data.get("id")),
            archive_key=_str(data.get("archive_key")),
            topic=_str(data.get("topic")),
            host=Person(_str(host.get("name")), _str(host.get("email"))),
            host_id=_str(host.get("id")),
            start=parse_time(data.get("start_time")),
            end=parse_time(data.get("end_time")),
            duration_minutes=as_int(data.get("duration")),
            timezone=_str(data.get("timezone")),
            type=as_int(data.get("type")),
            participants=tuple(_participant(p) for p in _objects(data.get("participants"))),
            polls=tuple(
                PollAnswer(
                    poll=_str(a.get("poll")),
                    name=_str(a.get("name")),
                    email=_str(a.get("email")),
                    question=_str(a.get("question")),
                    answer=_str(a.get("answer")),
                    time=parse_time(a.get("time")),
                )
                for a in _objects(data.get("polls"))
            ),
            qa=tuple(
                Question(_str(q.get("name")), _str(q.get("email")), _str(q.get("question")), _str(q.get("answer")))
                for q in _objects(data.get("qa"))
            ),
            summary=_summary(data.get("summary")),
            files=tuple(_file(f) for f in _objects(data.get("files"))),
            recording_minutes=as_int(data.get("recording_duration")),
            recording_start=parse_time(data.get("recording_start")),
            recording_end=parse_time(data.get("recording_end")),
            end_source=_str(data.get("end_time_source")),
            timezone_source=_str(data.get("timezone_source")),
            missing=tuple(MissingFile(_listing(m), _str(m.get("reason"))) for m in _objects(data.get("missing_files"))),
            not_archived=tuple(_listing(f) for f in _objects(data.get("files_not_archived"))),
            sources=tuple(_str(source) for source in as_list(data.get("sources"))),
            rooms=tuple(
                BreakoutRoom(
                    _str(r.get("uuid")),
                    _str(r.get("name")),
                    parse_time(r.get("start_time")),
                    parse_time(r.get("end_time")),
                )
                for r in _objects(data.get("breakout_rooms"))
            ),
            addition_to=_str(data.get("addition_to")),
        )


def _time(value: datetime | None) -> str | None:
    return utc_text(value) if value else None


def _summary_fields(summary: Summary | None) -> dict[str, Any] | None:
    if not summary:
        return None
    return {
        "title": summary.title,
        "overview": summary.overview,
        "details": [{"label": label, "summary": text} for label, text in summary.details],
        "next_steps": list(summary.next_steps),
        "edited": _summary_fields(summary.edited),
        "content": summary.content or None,
        "doc_url": summary.doc_url or None,
        "last_modified": _time(summary.modified),
        "zoom": json.loads(summary.zoom) if summary.zoom else None,  # Zoom's answer, whole
    }


def _participant(item: dict[str, Any]) -> Participant:
    return Participant(
        name=_str(item.get("name")),
        email=_str(item.get("email")),
        internal=bool(item.get("internal")),
        sessions=tuple(
            Session(
                parse_time(s.get("join_time")),
                parse_time(s.get("leave_time")),
                as_int(s.get("duration")),
                _str(s.get("user_id")),
            )
            for s in _objects(item.get("sessions"))
        ),
        zoom_id=_str(item.get("id")),
        registrant_id=_str(item.get("registrant_id")),
        names=tuple(_str(n) for n in as_list(item.get("other_names"))),
    )


def _summary(value: Any) -> Summary | None:
    if not isinstance(value, dict):
        return None
    return Summary(
        title=_str(value.get("title")),
        overview=_str(value.get("overview")),
        details=tuple((_str(d.get("label")), _str(d.get("summary"))) for d in _objects(value.get("details"))),
        next_steps=tuple(_str(step) for step in as_list(value.get("next_steps"))),
        edited=_summary(value.get("edited")),
        content=_str(value.get("content")),
        doc_url=_str(value.get("doc_url")),
        modified=parse_time(value.get("last_modified")),
        zoom=json.dumps(value["zoom"], sort_keys=True) if isinstance(value.get("zoom"), dict) else "",
    )


def _kept(file: RecordingFile) -> RecordingFile:
    """Zoom's listing of a file as the record keeps it: all of it but the download URL."""
    return replace(file, download_url="")


def _listed(file: RecordingFile) -> dict[str, Any]:
    """A file the message does not hold, as Zoom lists it (and where from)."""
    return {
        "key": file.key,
        "file_type": file.file_type,
        "file_extension": file.extension or None,
        "recording_type": file.recording_type,
        "recording_start": _time(file.start),
        "recording_end": _time(file.end),
        "listed_size": file.size,
        "status": file.status or None,
        "zoom_fingerprint": file.fingerprint or None,
        "source": file.source or None,
        "breakout_room": file.room or None,
        "participant": file.participant or None,
        "individual": file.individual,
    }


def _listing(item: dict[str, Any]) -> RecordingFile:
    """Zoom's listing of a file as the record gives it back: a missing or left-out file's, or an archived one's
    (whose size is the download's; Zoom's is its `listed_size`)."""
    return RecordingFile(
        key=_str(item.get("key")),
        file_type=_str(item.get("file_type")),
        extension=_str(item.get("file_extension")),
        recording_type=_str(item.get("recording_type")),
        size=None if item.get("listed_size") is None else as_int(item.get("listed_size")),
        download_url="",
        start=parse_time(item.get("recording_start")),
        end=parse_time(item.get("recording_end")),
        status=_str(item.get("status")),
        fingerprint=_str(item.get("zoom_fingerprint")),
        source=_str(item.get("source")),
        room=_str(item.get("breakout_room")),
        participant=_str(item.get("participant")),
        individual=bool(item.get("individual")),
    )


def _file(item: dict[str, Any]) -> ArchivedFile:
    captured = CapturedFile(
        _listing(item),
        filename=_str(item.get("filename")),
        content_type=_str(item.get("content_type")),
        size=as_int(item.get("size")),
        sha256=_str(item.get("sha256")),
        stored_as=_str(item.get("stored_as")),
        note=_str(item.get("note")),
    )
    return ArchivedFile.of(captured)


def _str(value: Any) -> str:
    return str(value) if value else ""


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in as_list(value) if isinstance(item, dict)]


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
