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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.settings import ARCHIVING, RECORDINGS


def archive_key(uuid: str) -> str:
    """Our id for a meeting instance: safe in blob names, table keys and Graph filters, unlike Zoom's UUID."""
    return short_hash(uuid)


def addition_key(uuid: str, file_keys: Iterable[str]) -> str:
    """Our id for an addition to an archived meeting: what Zoom gave only after it was captured (files, and a
    version of its AI summary). The same give the same key, so a repeated event adds nothing."""
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
    participant_id: str = ""  # Zoom's `user_id` of the row: one join of one person, valid for this meeting only


@dataclass(frozen=True)
class Participant:
    name: str
    email: str  # empty when Zoom hides it, as it does for most people outside the host's account
    internal: bool
    sessions: tuple[Session, ...]
    zoom_id: str = ""  # Zoom's participant `id` (the Zoom user id of someone signed in); empty for most guests
    registrant_id: str = ""  # set when the person registered for the meeting
    names: tuple[str, ...] = ()  # every other display name the person's rows carry (a phone, a renamed device)

    @property
    def total_seconds(self) -> int:
        return sum(s.duration_seconds for s in self.sessions)


def is_internal(email: str, domains: tuple[str, ...]) -> bool:
    domain = email.rpartition("@")[2].lower()
    return bool(domain) and any(domain == d or domain.endswith("." + d) for d in domains)


def group_participants(items: list[dict[str, Any]], domains: tuple[str, ...]) -> tuple[Participant, ...]:
    """One Participant per person, with every join/leave session Zoom reported for them.

    Rows are the same person when they share one of Zoom's ids for a person (`id`, which the report calls
    `participant_user_id`, and `registrant_id`) or an email; a person dialling in by phone beside their computer
    has the same id on both rows. `user_id` names one join only (a rejoin gets a new one), so it tells rows
    apart but never joins them. Rows with none of these are grouped by display name, but two of them that
    overlap in time are two people (two guests both called "iPhone"), never one.
    """
    rows = [item for item in items if isinstance(item, dict)]
    parent = list(range(len(rows)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    owner: dict[str, int] = {}
    anonymous = []
    for index, row in enumerate(rows):
        keys = _identities(row)
        if not keys:
            anonymous.append(index)
        for key in keys:
            if key in owner:
                parent[root(index)] = root(owner[key])
            else:
                owner[key] = index
    groups: dict[int, list[dict[str, Any]]] = {}
    for index, row in enumerate(rows):
        if index not in anonymous:
            groups.setdefault(root(index), []).append(row)
    by_name: dict[str, list[list[dict[str, Any]]]] = {}
    for index in sorted(anonymous, key=lambda i: _session(rows[i]).join_time or datetime.max.replace(tzinfo=UTC)):
        row = rows[index]
        people = by_name.setdefault(str(row.get("name") or ""), [])
        person = next((p for p in people if not any(_overlap(row, other) for other in p)), None)
        if person is None:
            people.append([row])
        else:
            person.append(row)
    found = list(groups.values()) + [person for people in by_name.values() for person in people]
    result = sorted(
        (_participant(group, domains) for group in found),
        key=lambda p: (p.sessions[0].join_time or datetime.max.replace(tzinfo=UTC), p.name),
    )
    return tuple(result)


def _identities(row: dict[str, Any]) -> set[str]:
    """Zoom's ids of the person a participant row is about, and their email: any one shared is the same person."""
    found = {f"id:{row[k]}" for k in ("id", "participant_user_id") if str(row.get(k) or "").strip()}
    if str(row.get("registrant_id") or "").strip():
        found.add(f"registrant:{row['registrant_id']}")
    if email := str(row.get("user_email") or "").strip().lower():
        found.add(f"email:{email}")
    return found


def _session(row: dict[str, Any]) -> Session:
    return Session(
        parse_time(row.get("join_time")),
        parse_time(row.get("leave_time")),
        as_int(row.get("duration")),
        str(row.get("user_id") or ""),
    )


def _overlap(one: dict[str, Any], other: dict[str, Any]) -> bool:
    """Two rows whose sessions overlap in time: one person is not in a meeting twice at once."""
    a, b = _session(one), _session(other)
    if not (a.join_time and b.join_time):
        return False
    a_end, b_end = a.leave_time or datetime.max.replace(tzinfo=UTC), b.leave_time or datetime.max.replace(tzinfo=UTC)
    return a.join_time < b_end and b.join_time < a_end


def _participant(rows: list[dict[str, Any]], domains: tuple[str, ...]) -> Participant:
    sessions = sorted((_session(r) for r in rows), key=lambda s: s.join_time or datetime.max.replace(tzinfo=UTC))
    email = next((str(r["user_email"]).strip() for r in rows if str(r.get("user_email") or "").strip()), "")
    names = list(dict.fromkeys(str(r.get("name") or "") for r in rows if r.get("name")))
    # The name of a row that says who (an email or a Zoom id) rather than a phone number or a device's.
    named = next((str(r.get("name") or "") for r in rows if r.get("user_email") and r.get("name")), "")
    name = named or (names[0] if names else "")
    return Participant(
        name=name,
        email=email,
        internal=is_internal(email, domains),
        sessions=tuple(sessions),
        zoom_id=next((str(r.get(k)) for r in rows for k in ("id", "participant_user_id") if r.get(k)), ""),
        registrant_id=next((str(r["registrant_id"]) for r in rows if r.get("registrant_id")), ""),
        names=tuple(n for n in names if n != name),
    )


@dataclass(frozen=True)
class RecordingFile:
    key: str  # Zoom's file id; CC and TIMELINE files have none, so they get a stable key of ours
    file_type: str
    extension: str
    recording_type: str
    size: int | None  # None when Zoom does not say (CC, TIMELINE), or says 0 (chat, transcript, restored files)
    download_url: str = field(repr=False)
    start: datetime | None
    end: datetime | None
    status: str
    fingerprint: str = ""  # SHA-256 Zoom states for the file, when it states one (archive files do)
    source: str = RECORDINGS  # the Zoom API that lists it: RECORDINGS (the cloud recording) or ARCHIVING
    room: str = ""  # the UUID of the breakout room it comes from; empty: the meeting itself
    participant: str = ""  # an individual file's participant, as Zoom names them (their email; may be empty)
    individual: bool = False  # one participant's recording, not the meeting's

    @property
    def processing(self) -> bool:
        """Zoom lists a file that is still being processed with an empty type or a non-completed status
        (an archive file whose processing failed is not processing: Zoom will not finish it)."""
        return not self.file_type or (self.status not in ("", "completed", "failed"))

    @property
    def failed(self) -> bool:
        """Zoom's archiving failed to produce the file: it never will."""
        return self.status == "failed"

    @classmethod
    def from_archive(cls, item: dict[str, Any], meeting_uuid: str, room: str = "") -> RecordingFile:
        """An item of `archive_files` (GET /past_meetings/{meetingUUID}/archive_files); its join and leave times
        are the participant's for an individual file, the archiving gateway's otherwise."""
        times = {
            "recording_start": item.get("participant_join_time"),
            "recording_end": item.get("participant_leave_time"),
        }
        individual = bool(item.get("individual"))
        return replace(
            cls.from_zoom({**item, **times}, room or meeting_uuid),
            source=ARCHIVING,
            room=room,
            participant=str(item.get("participant_email") or "") if individual else "",
            individual=individual,
        )

    @classmethod
    def from_zoom(cls, item: dict[str, Any], meeting_uuid: str) -> RecordingFile:
        file_type = str(item.get("file_type") or "")
        start = str(item.get("recording_start") or "")
        key = str(item.get("id") or "") or short_hash(f"{meeting_uuid}|{file_type}|{start}")
        listed = as_int(item.get("file_size"))
        return cls(
            key=key,
            file_type=file_type,
            extension=str(item.get("file_extension") or "").upper(),
            recording_type=str(item.get("recording_type") or ""),
            size=listed if listed > 0 else None,
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
    """The AI Companion meeting summary, in whichever of Zoom's forms it came.

    Zoom's answer now carries the whole summary as Markdown (`summary_content`; Zoom's own docs also show it as
    an object of `summary`, `next_steps` and `keywords`) with a link to it as a Zoom Doc (`summary_doc_url`);
    older answers, and the webhooks, carry an overview, labelled details and next steps, and the host's edits
    apart. Every form present is kept, and Zoom's answer itself, whole.
    """

    title: str
    overview: str
    details: tuple[tuple[str, str], ...]  # (label, text)
    next_steps: tuple[str, ...]
    edited: Summary | None = None  # the host's edited version, when they edited it
    content: str = ""  # summary_content as Markdown (an object form as Markdown too)
    doc_url: str = ""
    modified: datetime | None = None  # summary_last_modified_time: a later edit is a new version
    zoom: str = ""  # Zoom's answer, as JSON

    @property
    def version(self) -> str:
        """What tells this version of the summary from another: its modification time, else its content."""
        return utc_text(self.modified) if self.modified else short_hash(self.zoom or repr(self))

    @classmethod
    def from_zoom(cls, body: dict[str, Any] | None) -> Summary | None:
        """`GET /meetings/{uuid}/meeting_summary` (or a summary webhook's object); None when there is none."""
        if not isinstance(body, dict) or not body:
            return None
        edited = body.get("edited_summary") if isinstance(body.get("edited_summary"), dict) else {}
        title = str(body.get("summary_title") or "")
        return cls(
            title=title,
            overview=str(body.get("summary_overview") or ""),
            details=tuple(
                (str(d.get("label") or ""), str(d.get("summary") or ""))
                for d in as_list(body.get("summary_details"))
                if isinstance(d, dict)
            ),
            next_steps=tuple(str(step) for step in as_list(body.get("next_steps"))),
            edited=cls(
                title=title,
                overview=str(edited.get("summary_overview") or ""),
                details=(("", str(edited["summary_details"])),) if edited.get("summary_details") else (),
                next_steps=tuple(str(step) for step in as_list(edited.get("next_steps"))),
            )
            if any(edited.get(k) for k in ("summary_overview", "summary_details", "next_steps"))
            else None,
            content=markdown_of(body.get("summary_content")),
            doc_url=str(body.get("summary_doc_url") or ""),
            modified=parse_time(body.get("summary_last_modified_time")),
            zoom=json.dumps(body, sort_keys=True),
        )

    @property
    def empty(self) -> bool:
        """Zoom answered with a summary's title and times but no text (it does, for some meetings)."""
        return not (self.overview or self.details or self.next_steps or self.content or self.edited)


def markdown_of(value: Any, level: int = 2) -> str:
    """`summary_content` as Markdown: a string as it is; an object's fields as headed sections; a list as items."""
    if value is None or value == "":
        return ""
    if isinstance(value, dict):
        return "\n\n".join(
            f"{'#' * level} {str(key).replace('_', ' ').capitalize()}\n{markdown_of(item, level + 1)}"
            for key, item in value.items()
        )
    if isinstance(value, list):
        return "\n".join(f"- {markdown_of(item, level + 1)}" for item in value)
    return str(value)


def as_list(value: Any) -> list[Any]:
    """A list field of JSON we did not write; empty when it is absent, null or not a list."""
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class BreakoutRoom:
    """A breakout room of the meeting, as Zoom's archiving lists it (an instance of its own, with a UUID)."""

    uuid: str
    name: str  # the room's topic in the archive
    start: datetime | None
    end: datetime | None

    @classmethod
    def from_archive(cls, archive: dict[str, Any]) -> BreakoutRoom:
        start = parse_time(archive.get("start_time"))
        seconds = as_int(archive.get("duration_in_second"), as_int(archive.get("duration")) * 60)
        return cls(
            uuid=str(archive.get("uuid") or ""),
            name=str(archive.get("topic") or ""),
            start=start,
            end=start + timedelta(seconds=seconds) if start and seconds else None,
        )


@dataclass(frozen=True)
class MissingFile:
    """A file Zoom lists that could not be fetched after its retries, and why: the rest is archived without it."""

    file: RecordingFile
    reason: str


# Where a meeting's end time comes from, best first: Zoom's instance details, then the last participant to leave,
# then the last recording to end (a meeting lasts at least as long as what was recorded of it).
END_SOURCES = {
    "details": "Zoom's past meeting details",
    "participants": "the last participant's leave time",
    "recordings": "the end of the last recording (Zoom gives no later time)",
}


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
    end: datetime | None = None  # when the meeting ended (see end_source); unknown until fetched
    polls: tuple[PollAnswer, ...] = ()
    qa: tuple[Question, ...] = ()
    summary: Summary | None = None
    not_archived: tuple[RecordingFile, ...] = ()  # files of a type ARCHIVE_FILE_TYPES leaves out (not downloaded)
    addition: bool = False  # only what Zoom listed after the meeting was archived, in a message of its own
    recording_minutes: int = 0  # the listing's `duration`: what was recorded, not how long the meeting lasted
    end_source: str = ""  # where `end` comes from: END_SOURCES; empty while unknown
    timezone_source: str = ""  # whose time zone `timezone` is: "meeting" or "host"; empty for UTC by default
    missing: tuple[MissingFile, ...] = ()  # files that could not be fetched: archived later, as an addition
    sources: tuple[str, ...] = ()  # the Zoom sources that have the meeting (settings.SOURCES), in that order
    rooms: tuple[BreakoutRoom, ...] = ()  # its breakout rooms with archived files, by start

    @property
    def recording_span(self) -> tuple[datetime | None, datetime | None]:
        """When recording began and ended, over every file (a meeting is often recorded in part)."""
        starts = [f.start for f in (*self.files, *(m.file for m in self.missing)) if f.start]
        ends = [f.end for f in (*self.files, *(m.file for m in self.missing)) if f.end]
        return (min(starts) if starts else None, max(ends) if ends else None)

    @property
    def key(self) -> str:
        if not self.addition:
            return archive_key(self.uuid)
        summary = [f"summary:{self.summary.version}"] if self.summary else []
        return addition_key(self.uuid, [*(f.key for f in self.files), *summary])

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
            timezone=str(recording.get("timezone") or ""),
            type=as_int(recording.get("type")),
            participants=participants,
            files=tuple(RecordingFile.from_zoom(i, uuid) for i in items),
            recording_minutes=as_int(recording.get("duration")),
        )


def meeting_end(
    start: datetime, details: dict[str, Any] | None, participants: Iterable[Participant], files: Iterable[RecordingFile]
) -> tuple[datetime | None, str]:
    """When the meeting ended, and where that comes from (a key of END_SOURCES): Zoom's instance details (their
    `end_time`, else `start_time` + `duration`), else the last participant to leave, else the last recording
    to end; (None, "") when nothing says. Never the listing's `duration`: that is what was recorded. An end
    before the start (Zoom's data disagreeing with itself) says nothing: the next source is asked."""
    details = details or {}
    if (end := parse_time(details.get("end_time"))) and end >= start:
        return end, "details"
    if (minutes := as_int(details.get("duration"))) > 0:
        return (parse_time(details.get("start_time")) or start) + timedelta(minutes=minutes), "details"
    if (leaves := [s.leave_time for p in participants for s in p.sessions if s.leave_time]) and max(leaves) >= start:
        return max(leaves), "participants"
    if (ends := [f.end for f in files if f.end]) and max(ends) >= start:
        return max(ends), "recordings"
    return None, ""


def meeting_timezone(meeting: str, host: str) -> tuple[str, str]:
    """The time zone to show the meeting's times in, and whose it is: the meeting's (Zoom gives "" for instant
    meetings), else the host's, else UTC (source "")."""
    for name, source in ((meeting, "meeting"), (host, "host")):
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name, source
    return "UTC", ""


@dataclass(frozen=True)
class CapturedFile:
    """A downloaded recording file: what it is, its verified size and hash, and where it went."""

    file: RecordingFile
    filename: str
    content_type: str
    size: int
    sha256: str
    stored_as: str = ""  # blob name in the recordings container when not attached to the message
    note: str = ""  # what disagreed with Zoom's listing of the file (its size), recorded rather than fatal

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
