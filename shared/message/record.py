"""Our machine-readable record of a meeting, `zoom-meeting.json` in its message: what capture writes and what
the import and the completeness report read back.

It keeps Zoom's values unaltered (the bodies show them cleaned). `from_json` reads any record an earlier
version wrote: a field it lacks, or holds as null, reads as empty, as it always has.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.records import (
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

    @classmethod
    def of(cls, captured: CapturedFile) -> ArchivedFile:
        file = captured.file
        return cls(
            listed_size=file.size,
            note=captured.note,
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
    missing: tuple[MissingFile, ...] = ()
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
            missing=meeting.missing,
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
                }
                for f in self.files
            ],
            "missing_files": [
                {
                    "key": m.file.key,
                    "file_type": m.file.file_type,
                    "recording_type": m.file.recording_type,
                    "recording_start": _time(m.file.start),
                    "recording_end": _time(m.file.end),
                    "listed_size": m.file.size,
                    "reason": m.reason,
                }
                for m in self.missing
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
            missing=tuple(_missing(m) for m in _objects(data.get("missing_files"))),
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


def _missing(item: dict[str, Any]) -> MissingFile:
    file = RecordingFile(
        key=_str(item.get("key")),
        file_type=_str(item.get("file_type")),
        extension="",
        recording_type=_str(item.get("recording_type")),
        size=None if item.get("listed_size") is None else as_int(item.get("listed_size")),
        download_url="",
        start=parse_time(item.get("recording_start")),
        end=parse_time(item.get("recording_end")),
        status="",
    )
    return MissingFile(file, _str(item.get("reason")))


def _file(item: dict[str, Any]) -> ArchivedFile:
    return ArchivedFile(
        key=_str(item.get("key")),
        file_type=_str(item.get("file_type")),
        recording_type=_str(item.get("recording_type")),
        recording_start=parse_time(item.get("recording_start")),
        recording_end=parse_time(item.get("recording_end")),
        filename=_str(item.get("filename")),
        content_type=_str(item.get("content_type")),
        size=as_int(item.get("size")),
        sha256=_str(item.get("sha256")),
        zoom_fingerprint=_str(item.get("zoom_fingerprint")),
        stored_as=_str(item.get("stored_as")),
        listed_size=None if item.get("listed_size") is None else as_int(item.get("listed_size")),
        note=_str(item.get("note")),
    )


def _str(value: Any) -> str:
    return str(value) if value else ""


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in as_list(value) if isinstance(item, dict)]


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
