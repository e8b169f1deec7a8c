"""The records that cross the pipeline's stages, and the identities derived from Zoom's ids.

Zoom's JSON is turned into these dataclasses once, at the edge (`from_zoom`), so the rest of the code
works with typed values and never has to remember Zoom's quirks (integer-or-string `type`, empty strings
for unknown times, files without an `id`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def archive_key(uuid: str) -> str:
    """Our id for a meeting instance: safe in blob names, table keys and Graph filters, unlike Zoom's UUID."""
    return short_hash(uuid)


def addition_key(uuid: str, file_keys: Iterable[str]) -> str:
    """Our id for an addition to an archived meeting: the files Zoom listed only after it was captured. The
    same files give the same key, so a repeated event adds nothing."""
    return short_hash(f"{uuid}|addition|{','.join(sorted(file_keys))}")


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def parse_time(value: Any) -> datetime | None:
    """Zoom's ISO 8601 times (`2021-03-23T22:14:57Z`); empty string or missing means unknown."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def utc_text(moment: datetime) -> str:
    """A time as Zoom writes it (`2021-03-23T22:14:57Z`), for state rows that other stages parse back."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def as_int(value: Any, default: int = 0) -> int:
    """A whole-number field of JSON we did not write; `default` when it is absent or not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True)
class MeetingRef:
    """What the `meetings` queue carries: only which instance to capture; the worker re-reads Zoom."""

    uuid: str
    source: str = "timer"

    def to_json(self) -> str:
        return json.dumps({"uuid": self.uuid, "source": self.source})

    @classmethod
    def from_json(cls, text: str | bytes) -> MeetingRef:
        data = json.loads(text)
        uuid = data.get("uuid") if isinstance(data, dict) else None
        if not isinstance(uuid, str) or not uuid:
            raise ValueError("queue message has no meeting uuid")
        return cls(uuid=uuid, source=str(data.get("source") or "timer"))


@dataclass(frozen=True)
class MessageRef:
    """What the `imports` queue carries: which archived message (by archive key) the sweep imports again."""

    archive_key: str

    def to_json(self) -> str:
        return json.dumps({"archive_key": self.archive_key})

    @classmethod
    def from_json(cls, text: str | bytes) -> MessageRef:
        data = json.loads(text)
        key = data.get("archive_key") if isinstance(data, dict) else None
        if not isinstance(key, str) or not re.fullmatch(r"[0-9a-f]{32}", key):
            raise ValueError("queue message has no archive key")
        return cls(archive_key=key)


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class Session:
    """One stretch in the meeting: Zoom reports a participant who rejoins as a new session."""

    join_time: datetime | None
    leave_time: datetime | None
    duration_seconds: int


@dataclass(frozen=True)
class Participant:
    name: str
    email: str  # empty when Zoom hides it, as it does for most people outside the host's account
    internal: bool
    sessions: tuple[Session, ...]
    zoom_id: str = ""  # the Zoom user id of someone signed in to Zoom (Zoom's participant `id`); empty for guests

    @property
    def total_seconds(self) -> int:
        return sum(s.duration_seconds for s in self.sessions)


def is_internal(email: str, domains: tuple[str, ...]) -> bool:
    domain = email.rpartition("@")[2].lower()
    return bool(domain) and any(domain == d or domain.endswith("." + d) for d in domains)


def group_participants(items: list[dict[str, Any]], domains: tuple[str, ...]) -> tuple[Participant, ...]:
    """One Participant per person, with every join/leave session Zoom reported for them."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        email = str(item.get("user_email") or "").strip()
        ident = email.lower() or (f"id:{item['id']}" if item.get("id") else f"name:{item.get('name', '')}")
        groups.setdefault(ident, []).append(item)
    people = []
    for rows in groups.values():
        sessions = sorted(
            (
                Session(parse_time(r.get("join_time")), parse_time(r.get("leave_time")), as_int(r.get("duration")))
                for r in rows
            ),
            key=lambda s: s.join_time or datetime.max.replace(tzinfo=UTC),
        )
        email = str(rows[0].get("user_email") or "").strip()
        people.append(
            Participant(
                name=str(rows[0].get("name") or ""),
                email=email,
                internal=is_internal(email, domains),
                sessions=tuple(sessions),
                zoom_id=next((str(r["id"]) for r in rows if r.get("id")), ""),
            )
        )
    people.sort(key=lambda p: (p.sessions[0].join_time or datetime.max.replace(tzinfo=UTC), p.name))
    return tuple(people)


@dataclass(frozen=True)
class RecordingFile:
    key: str  # Zoom's file id; CC and TIMELINE files have none, so they get a stable key of ours
    file_type: str
    extension: str
    recording_type: str
    size: int | None  # None when Zoom does not say (CC, TIMELINE)
    download_url: str = field(repr=False)
    start: datetime | None
    end: datetime | None
    status: str
    fingerprint: str = ""  # SHA-256 Zoom states for the file, when it states one (archive files do)

    @property
    def processing(self) -> bool:
        """Zoom lists a file that is still being processed with an empty type or a non-completed status."""
        return not self.file_type or (self.status not in ("", "completed"))

    @classmethod
    def from_zoom(cls, item: dict[str, Any], meeting_uuid: str) -> RecordingFile:
        file_type = str(item.get("file_type") or "")
        start = str(item.get("recording_start") or "")
        key = str(item.get("id") or "") or short_hash(f"{meeting_uuid}|{file_type}|{start}")
        size = item.get("file_size")
        return cls(
            key=key,
            file_type=file_type,
            extension=str(item.get("file_extension") or "").upper(),
            recording_type=str(item.get("recording_type") or ""),
            size=as_int(size) if size not in (None, "") else None,
            download_url=str(item.get("download_url") or ""),
            start=parse_time(item.get("recording_start")),
            end=parse_time(item.get("recording_end")),
            status=str(item.get("status") or ""),
            fingerprint=str(item.get("encryption_fingerprint") or "").lower(),
        )


def _question_details(body: dict[str, Any] | None) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(person, detail) for each `questions[].question_details[]` of a poll or Q&A body; entries that are not
    objects are skipped, as Zoom's JSON cannot be trusted to hold only objects."""
    for person in as_list((body or {}).get("questions")):
        if isinstance(person, dict):
            yield from ((person, d) for d in as_list(person.get("question_details")) if isinstance(d, dict))


@dataclass(frozen=True)
class PollAnswer:
    """One participant's answer to one poll question."""

    poll: str  # the poll's title, or its id when Zoom gives no title
    name: str
    email: str
    question: str
    answer: str
    time: datetime | None


def poll_answers_from_zoom(body: dict[str, Any] | None) -> tuple[PollAnswer, ...]:
    """The answers in a poll results body (`GET /past_meetings/{id}/polls`, or a webinar's), in Zoom's order."""
    return tuple(
        PollAnswer(
            poll=str(detail.get("polling_id") or ""),  # these endpoints give no poll title
            name=str(person.get("name") or ""),
            email=str(person.get("email") or ""),
            question=str(detail.get("question") or ""),
            answer=str(detail.get("answer") or ""),
            time=parse_time(detail.get("date_time")),
        )
        for person, detail in _question_details(body)
    )


@dataclass(frozen=True)
class Question:
    """One Q&A question and its answer (empty when unanswered)."""

    name: str
    email: str
    question: str
    answer: str


def questions_from_zoom(body: dict[str, Any] | None) -> tuple[Question, ...]:
    """The questions in a Q&A body (`GET /past_meetings/{id}/qa`, or a webinar's), in Zoom's order."""
    return tuple(
        Question(
            name=str(person.get("name") or ""),
            email=str(person.get("email") or ""),
            question=str(detail.get("question") or ""),
            answer=str(detail.get("answer") or ""),
        )
        for person, detail in _question_details(body)
    )


@dataclass(frozen=True)
class Summary:
    """The AI Companion meeting summary."""

    title: str
    overview: str
    details: tuple[tuple[str, str], ...]  # (label, text)
    next_steps: tuple[str, ...]
    edited: Summary | None = None  # the host's edited version, when they edited it

    @classmethod
    def from_zoom(cls, body: dict[str, Any] | None) -> Summary | None:
        """`GET /meetings/{uuid}/meeting_summary`; None when there is no summary."""
        if not body or not any(body.get(k) for k in ("summary_overview", "summary_details", "next_steps")):
            return None
        edited = body.get("edited_summary") if isinstance(body.get("edited_summary"), dict) else {}
        title = str(body.get("summary_title") or "")
        return cls(
            title=title,
            overview=str(body.get("summary_overview") or ""),
            details=tuple(
                (str(d.get("label") or ""), str(d.get("summary") or "")) for d in as_list(body.get("summary_details"))
            ),
            next_steps=tuple(str(step) for step in as_list(body.get("next_steps"))),
            edited=cls(
                title=title,
                overview=str(edited.get("summary_overview") or ""),
                details=(("", str(edited["summary_details"])),) if edited.get("summary_details") else (),
                next_steps=tuple(str(step) for step in as_list(edited.get("next_steps"))),
            )
            if edited
            else None,
        )


def as_list(value: Any) -> list[Any]:
    """A list field of JSON we did not write; empty when it is absent, null or not a list."""
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class Meeting:
    """One meeting instance as archived: Zoom's facts, who was there, which files exist."""

    uuid: str
    meeting_id: int
    topic: str
    host: Person
    host_id: str
    start: datetime
    duration_minutes: int
    timezone: str
    type: int
    participants: tuple[Participant, ...]
    files: tuple[RecordingFile, ...]
    end: datetime | None = None  # from the past-meeting details; unknown until fetched
    polls: tuple[PollAnswer, ...] = ()
    qa: tuple[Question, ...] = ()
    summary: Summary | None = None
    not_archived: tuple[RecordingFile, ...] = ()  # files of a type ARCHIVE_FILE_TYPES leaves out (not downloaded)
    addition: bool = False  # only files Zoom listed after the meeting was archived, in a message of their own

    @property
    def key(self) -> str:
        return addition_key(self.uuid, (f.key for f in self.files)) if self.addition else archive_key(self.uuid)

    @classmethod
    def from_zoom(
        cls,
        recording: dict[str, Any],
        host: Person,
        participants: tuple[Participant, ...],
    ) -> Meeting:
        uuid = str(recording["uuid"])
        start = parse_time(recording.get("start_time"))
        if start is None:  # the message's date and the day it is counted on: never made up
            raise ValueError(f"Zoom gave no start_time for meeting instance {uuid!r}")
        items = list(recording.get("recording_files") or []) + list(recording.get("participant_audio_files") or [])
        return cls(
            uuid=uuid,
            meeting_id=as_int(recording.get("id")),
            topic=str(recording.get("topic") or ""),
            host=host,
            host_id=str(recording.get("host_id") or ""),
            start=start,
            duration_minutes=as_int(recording.get("duration")),
            timezone=str(recording.get("timezone") or "UTC"),
            type=as_int(recording.get("type")),
            participants=participants,
            files=tuple(RecordingFile.from_zoom(i, uuid) for i in items),
        )


@dataclass(frozen=True)
class CapturedFile:
    """A downloaded recording file: what it is, its verified size and hash, and where it went."""

    file: RecordingFile
    filename: str
    content_type: str
    size: int
    sha256: str
    stored_as: str = ""  # blob name in the recordings container when not attached to the message

    @property
    def attached(self) -> bool:
        return not self.stored_as


@dataclass(frozen=True)
class StoredIn:
    """The container that files stored apart from their message are kept in: with a blob's name, a durable
    reference that an administrator opens with their own Azure rights (the storage account, the container and
    the blob, and its URL, which needs a credential: no shared key or SAS is ever written into a message)."""

    account: str
    container: str
    url: str  # the container's URL, as a client of it has it (a SAS it may hold is never written out)

    def blob_url(self, name: str) -> str:
        return f"{self.url.split('?', 1)[0].rstrip('/')}/{name}"


def recording_blob_name(sha256: str, filename: str) -> str:
    """Where a file too large for the mailbox is kept in the recordings container: named by its content."""
    extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"{sha256}.{extension}"
