"""What the text and the HTML bodies show of a meeting: its facts, who was there, what was said, polls,
questions, the AI summary and the files, as cleaned text; the templates lay it out (`render`).

Both bodies show the same content: Zoom's text cleaned for a body or for a single line (`text`), times in
the meeting's time zone, chat and transcript lines up to a limit that keeps the message small enough for one
Graph request (the files themselves are archived whole).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import BinaryIO
from zoneinfo import ZoneInfo

from markupsafe import Markup

from shared.message.headers import message_id
from shared.message.render import counted, markdown_html, render_template
from shared.message.text import body_text, clock, duration, header_text, size
from shared.records import END_SOURCES, CapturedFile, Meeting, Participant, PollAnswer, StoredIn, Summary, archive_key
from shared.transcript import CHAT, REACTION, REPLY, UNREACTION, Transcript, Utterance, is_text_record
from shared.transcript import read as read_transcript

Opener = Callable[[CapturedFile], BinaryIO]  # the bytes of a file to attach
Said = Mapping[str, Transcript]  # the chat and transcript files read as text, by file key

MEETING_TYPES = {  # the recording's `type` (Zoom's meetings API spec)
    1: "Instant meeting",
    2: "Scheduled meeting",
    3: "Recurring meeting with no fixed time",
    4: "Meeting with a Personal Meeting ID",
    5: "Webinar",
    6: "Recurring webinar with no fixed time",
    7: "Personal Audio Conference",
    8: "Recurring meeting with a fixed time",
    9: "Recurring webinar with a fixed time",
    99: "Uploaded recording",
}
SAID_TITLES = {"CHAT": "In-meeting chat", "TRANSCRIPT": "Transcript", "CC": "Closed captions"}
ZONE_SOURCES = {  # whose time zone the bodies' times are in (Zoom gives "" for an instant meeting's)
    "meeting": "the meeting's",
    "host": "the host's: Zoom names none for the meeting",
    "": "neither the meeting nor its host names a time zone",
}


def read_said(files: Iterable[CapturedFile], open_file: Opener) -> Said:
    """The chat and transcript files among `files` read as text, for the bodies."""
    said = {}
    for c in files:
        if is_text_record(c.file.file_type):
            with open_file(c) as stream:
                said[c.file.key] = read_transcript(c.file.file_type, stream)
    return said


@dataclass(frozen=True)
class Attendance:
    """One participant: who (as one line, and as name and email apart), and each session's times."""

    who: str
    name: str
    email: str
    kind: str  # internal or external
    total: str
    sessions: tuple[tuple[str, str, str], ...]  # joined, left, duration


@dataclass(frozen=True)
class SaidSection:
    """One chat or transcript file: rows of (time, speaker, text), or (time, sender, recipient, text) when the
    file says to whom each message went (a saved chat: everyone, or privately to one person)."""

    heading: str
    rows: tuple[tuple[str, ...], ...]
    omitted: str  # says that lines were left out for the message's size (the file has them all); empty if none
    addressed: bool = False  # the rows have a recipient column


@dataclass(frozen=True)
class PollGroup:
    poll: str
    question: str
    answers: tuple[tuple[str, str, str], ...]  # who, answer, time


@dataclass(frozen=True)
class SummaryShown:
    heading: str
    title: str
    overview: str
    details: tuple[tuple[str, str], ...]  # label (may be empty), text
    next_steps: tuple[str, ...]
    content: str = ""  # the whole summary as Markdown (Zoom's current form), shown as it is in the text body
    content_html: Markup = field(default_factory=Markup)  # the same as HTML: no raw HTML, links checked
    doc_url: str = ""
    note: str = ""  # says that Zoom gave the summary no text, when it did not


@dataclass(frozen=True)
class FileLine:
    filename: str
    file_type: str
    size: str
    sha256: str
    checked: str  # says that the file matches Zoom's fingerprint; empty when Zoom states none
    where: str
    note: str = ""  # a disagreement with Zoom's listing (its size), recorded


@dataclass(frozen=True)
class MissingLine:
    """A file Zoom lists that the archive could not fetch: what it is and why; a later run adds it."""

    file_type: str
    recorded: str  # the span of the recording it holds
    reason: str


@dataclass(frozen=True)
class StoredLine:
    """A file kept in storage instead of attached, named so that an administrator can open it with their own
    rights: storage account, container, blob, the blob's URL, and the SHA-256 that proves a copy whole."""

    filename: str
    size: str
    sha256: str
    account: str  # empty when the message was made without knowing it (a test)
    container: str
    blob: str
    url: str

    @classmethod
    def of(cls, filename: str, size_bytes: int, sha256: str, blob: str, stored_in: StoredIn | None) -> StoredLine:
        if stored_in is None:
            return cls(filename, size(size_bytes), sha256, "", "recordings", blob, "")
        return cls(
            filename, size(size_bytes), sha256, stored_in.account, stored_in.container, blob, stored_in.blob_url(blob)
        )


@dataclass(frozen=True)
class Content:
    """Everything the bodies show, as the templates receive it."""

    topic: str
    facts: tuple[tuple[str, str], ...]
    participants: tuple[Attendance, ...]
    said: tuple[SaidSection, ...]
    polls: tuple[PollGroup, ...]
    poll_answers: int
    questions: tuple[tuple[str, str, str], ...]  # who, question, answer
    summaries: tuple[SummaryShown, ...]
    files: tuple[FileLine, ...]
    stored: tuple[StoredLine, ...]  # the files among them kept in storage instead of attached
    addition: str  # what an addition adds to its meeting's message; empty for the meeting's own message
    missing: tuple[MissingLine, ...] = ()  # files Zoom lists that could not be fetched


def render_bodies(shown: Content) -> tuple[str, str]:
    """The text body and the HTML body of what `content` found to show."""
    values = {f.name: getattr(shown, f.name) for f in fields(shown)}
    return render_template("text_body.txt", **values), render_template("html_body.html", **values)


def content(
    meeting: Meeting,
    files: Sequence[CapturedFile],
    said: Said,
    zone: ZoneInfo,
    said_limit: int,
    stored_in: StoredIn | None = None,
) -> Content:
    """What the bodies show: `said_limit` is how many characters of chat and transcript, `stored_in` the
    container of the files stored apart."""
    return Content(
        topic=header_text(meeting.topic) or "(no topic)",
        facts=_facts(meeting, zone),
        participants=tuple(_attendance(p, zone) for p in meeting.participants),
        said=_said_sections(meeting, files, said, zone, said_limit),
        polls=_polls(meeting.polls, zone),
        poll_answers=len(meeting.polls),
        questions=tuple(
            (_who(q.name, q.email), header_text(q.question), header_text(q.answer) or "(not answered)")
            for q in meeting.qa
        ),
        summaries=_summaries(meeting.summary),
        files=tuple(_file_line(c) for c in files),
        stored=tuple(
            StoredLine.of(c.filename, c.size, c.sha256, c.stored_as, stored_in) for c in files if not c.attached
        ),
        addition=_addition(meeting, zone),
        missing=tuple(
            MissingLine(header_text(m.file.file_type) or "file", _span(m.file.start, m.file.end, zone), m.reason)
            for m in meeting.missing
        ),
    )


def _addition(meeting: Meeting, zone: ZoneInfo) -> str:
    if not meeting.addition:
        return ""
    added = [counted(len(meeting.files), "file")] if meeting.files or not meeting.summary else []
    added += ["its AI summary"] if meeting.summary else []
    return (
        f"This message adds {' and '.join(added)} that Zoom made available after the meeting "
        f"was archived. The meeting's own message has the same topic and start ({clock(meeting.start, zone)}); "
        f"its Message-ID is {message_id(archive_key(meeting.uuid))}."
    )


def _facts(meeting: Meeting, zone: ZoneInfo) -> tuple[tuple[str, str], ...]:
    host = f"{meeting.host.name} <{meeting.host.email}>" if meeting.host.email else meeting.host.name
    kind = MEETING_TYPES.get(meeting.type)
    recorded_from, recorded_to = meeting.recording_span
    facts = [
        ("Topic", header_text(meeting.topic) or "(no topic)"),
        ("Meeting ID", str(meeting.meeting_id)),
        ("Meeting UUID", header_text(meeting.uuid)),
        ("Host", header_text(host or meeting.host_id)),
        ("Start", clock(meeting.start, zone)),
    ]
    if meeting.end:
        source = END_SOURCES.get(meeting.end_source)
        facts += [
            ("End", f"{clock(meeting.end, zone)} (from {source})" if source else clock(meeting.end, zone)),
            ("Duration", f"{meeting.duration_minutes} minutes"),
        ]
    else:
        facts.append(("End", "unknown: Zoom gives no end time, participants nor recording times for this meeting"))
    if recorded_from or recorded_to:
        facts.append(("Recorded", f"{_span(recorded_from, recorded_to, zone)} ({meeting.recording_minutes} minutes)"))
    facts += [
        ("Time zone", f"{zone.key} ({ZONE_SOURCES.get(meeting.timezone_source, ZONE_SOURCES[''])})"),
        ("Type", f"{kind} (type {meeting.type})" if kind else f"type {meeting.type}"),
    ]
    return tuple(facts)


def _span(start: datetime | None, end: datetime | None, zone: ZoneInfo) -> str:
    return f"{clock(start, zone)} to {clock(end, zone)}"


def _who(name: str, email: str) -> str:
    return header_text(f"{name} <{email}>" if email else name) or "(unknown)"


def _attendance(participant: Participant, zone: ZoneInfo) -> Attendance:
    also = f" (also as {', '.join(header_text(n) for n in participant.names)})" if participant.names else ""
    return Attendance(
        who=_who(participant.name, participant.email) + also,
        name=header_text(participant.name) + also,
        email=header_text(participant.email),
        kind="internal" if participant.internal else "external",
        total=duration(participant.total_seconds),
        sessions=tuple(
            (clock(s.join_time, zone), clock(s.leave_time, zone), duration(s.duration_seconds))
            for s in participant.sessions
        ),
    )


def _said_sections(
    meeting: Meeting, files: Sequence[CapturedFile], said: Said, zone: ZoneInfo, limit: int
) -> tuple[SaidSection, ...]:
    """Each chat and transcript file in `said`, in the order of `files`, until `limit` characters are shown."""
    sections = []
    for captured in files:
        transcript = said.get(captured.file.key)
        if transcript is None:
            continue
        chat = captured.file.file_type == CHAT
        # A chat's times count from the meeting's start, a transcript's from its recording's (SOURCES.md).
        start = meeting.start if chat else captured.file.start or meeting.start
        day = start.astimezone(zone).date()
        addressed = any(u.recipient for u in transcript.utterances)
        rows: list[tuple[str, ...]] = []
        for utterance in transcript.utterances:
            limit -= len(utterance.text) + len(utterance.speaker) + len(utterance.refers_to)
            if limit < 0:
                break
            when = _said_clock(start, utterance.offset, zone, day) or header_text(utterance.clock)
            to = _recipient(utterance)
            text = body_text(_said_text(utterance))
            speaker = header_text(utterance.speaker)
            rows.append((when, speaker, to, text) if addressed else (when, speaker, text))
        title = SAID_TITLES.get(captured.file.file_type, captured.file.file_type)
        origin = "the meeting" if chat else "recording"
        heading = f"{title} ({captured.filename}; {origin} started {clock(start, zone)}, times in {zone.key})"
        if any(u.clock for u in transcript.utterances):
            heading = f"{title} ({captured.filename}; times as the file writes them, on its writer's clock)"
        complete = transcript.complete and len(rows) == len(transcript.utterances)
        omitted = f"Not all of it is shown here, for the message's size: {captured.filename} holds all of it."
        sections.append(SaidSection(heading, tuple(rows), "" if complete else omitted, addressed))
    return tuple(sections)


def _recipient(utterance: Utterance) -> str:
    """To whom a chat message went, a private one marked so."""
    whom = header_text(utterance.recipient)
    return f"{whom} (privately)" if utterance.private and whom else whom


def _said_text(utterance: Utterance) -> str:
    """A message as a reader takes it in: a reply or a reaction says what it answers."""
    if utterance.kind == REPLY:
        return f'(replying to "{utterance.refers_to}") {utterance.text}'
    if utterance.kind == REACTION:
        return f'(reacted {utterance.text} to "{utterance.refers_to}")'
    if utterance.kind == UNREACTION:
        return f'(removed the {utterance.text} reaction from "{utterance.refers_to}")'
    return utterance.text


def _said_clock(start: datetime, offset: timedelta | None, zone: ZoneInfo, day: date) -> str:
    """The wall-clock time of a line: the recording's start plus the line's offset, in the meeting's zone."""
    if offset is None:
        return ""
    local = (start + offset).astimezone(zone)
    return local.strftime("%H:%M:%S") if local.date() == day else local.strftime("%Y-%m-%d %H:%M:%S")


def _polls(answers: Sequence[PollAnswer], zone: ZoneInfo) -> tuple[PollGroup, ...]:
    """The answers grouped by poll and question, in the order Zoom first gives each."""
    grouped: dict[tuple[str, str], list[PollAnswer]] = {}
    for answer in answers:
        grouped.setdefault((answer.poll, answer.question), []).append(answer)
    return tuple(
        PollGroup(
            header_text(poll),
            header_text(question),
            tuple((_who(a.name, a.email), header_text(a.answer), clock(a.time, zone)) for a in group),
        )
        for (poll, question), group in grouped.items()
    )


def _summaries(summary: Summary | None) -> tuple[SummaryShown, ...]:
    """Zoom's AI summary in every form it came (the Markdown, the overview, details and next steps), then the
    host's edited version of it when they edited it: all of it is the record."""
    if not summary:
        return ()
    edited = [("AI summary as edited by the host", summary.edited)] if summary.edited else []
    return tuple(
        SummaryShown(
            heading=heading,
            title=header_text(s.title),
            overview=body_text(s.overview),
            details=tuple((header_text(label), body_text(text)) for label, text in s.details),
            next_steps=tuple(header_text(step) for step in s.next_steps),
            content=body_text(s.content),
            content_html=markdown_html(body_text(s.content)),
            doc_url=header_text(s.doc_url),
            note="Zoom gives this summary a title but no text." if s is summary and s.empty else "",
        )
        for heading, s in [("AI summary", summary), *edited]
    )


def _file_line(captured: CapturedFile) -> FileLine:
    return FileLine(
        filename=captured.filename,
        file_type=header_text(captured.file.file_type),
        size=size(captured.size),
        sha256=captured.sha256,
        checked=", matches Zoom's fingerprint" if captured.file.fingerprint else "",
        where="attached" if captured.attached else "stored in the archive (see below)",
        note=header_text(captured.note),
    )
