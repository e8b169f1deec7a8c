"""The archived record: one RFC 5322 message per meeting instance, written as a stream, and read back for import.

Everything that comes from Zoom is untrusted: header values lose control and line-break characters before
the `email` package sees them (the Python 3.11 runtime may predate the CVE-2024-6923 fix), and every
Zoom string is HTML-escaped in the HTML body. Names of attachments are built from Zoom's enumerations
and our own numbering, never from free text.

A message is made in two steps so that a recording of any size needs no more memory than a chunk of it:
`compose` renders the headers, both bodies and our JSON record with the `email` package and knows the
message's exact size; `Composition.write` streams it out, base64-encoding each attached file as it reads it.
"""

from __future__ import annotations

import binascii
import hashlib
import html
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime
from functools import cached_property
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.integrity import verified_chunks
from shared.records import (
    CapturedFile,
    Meeting,
    Participant,
    Person,
    PollAnswer,
    RecordingFile,
    Summary,
    parse_time,
    utc_text,
)
from shared.transcript import TEXT_LIMIT, Transcript, is_text_record
from shared.transcript import read as read_transcript

Opener = Callable[[CapturedFile], BinaryIO]  # the bytes of a file to attach
Said = Mapping[str, Transcript]  # the chat and transcript files read as text, by file key

RECORD_FILENAME = "zoom-meeting.json"
MESSAGE_ID_DOMAIN = "zoom-archiver.invalid"
SUBJECT_TOPIC_LIMIT = 160
ADDITION_PREFIX = "[addition] "  # the subject of a message holding files Zoom listed after the meeting's message
HEADER_UUID = "X-Zoom-Meeting-UUID"
HEADER_MEETING_ID = "X-Zoom-Meeting-ID"
HEADER_ARCHIVE_KEY = "X-Zoom-Archive-Key"
HEADER_FILE_HASH = "X-Zoom-File-SHA256"
FALLBACK_SENDER = Address("Zoom", "zoom-host", MESSAGE_ID_DOMAIN)

# UTF-8 headers (RFC 6532), folded only past RFC 5322's hard limit: the email package drops the space between
# RFC 2047 encoded words, and adds one before a folded Subject, so Zoom's words would not survive intact.
HEADERS = policy.SMTPUTF8.clone(max_line_length=998)
CONTENT_TYPES = {
    "MP4": "video/mp4",
    "M4A": "audio/mp4",
    "TXT": "text/plain",
    "VTT": "text/vtt",
    "CSV": "text/csv",
    "JSON": "application/json",
    "JPG": "image/jpeg",
}
EXTENSIONS = {
    "MP4": "MP4",
    "M4A": "M4A",
    "CHAT": "TXT",
    "TRANSCRIPT": "VTT",
    "CC": "VTT",
    "TIMELINE": "JSON",
    "CSV": "CSV",
    "SUMMARY": "JSON",
}
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
BASE64_LINE = 76  # characters of a base64 line (RFC 2045)
BASE64_LINE_BYTES = 57  # the bytes one such line encodes
BODY_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def header_text(value: str, limit: int = 0) -> str:
    """A single line of text safe for a header: no control characters, no line or paragraph separators, and
    no lone surrogate (a JSON string may hold one; UTF-8 cannot)."""
    cleaned = "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else "\ufffd" if unicodedata.category(c) == "Cs" else c
        for c in str(value)
    )
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    if limit and len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def address(person: Person) -> Address | None:
    """An address header value, or None when Zoom's email is not a usable address."""
    name = header_text(person.name, 100)
    try:
        return Address(display_name=name, addr_spec=header_text(person.email))
    except (ValueError, IndexError):
        return None


def attachment_name(index: int, file: RecordingFile) -> str:
    kind = re.sub(r"[^a-z0-9_]+", "_", (file.recording_type or file.file_type or "file").lower()).strip("_")
    extension = (file.extension or EXTENSIONS.get(file.file_type, "BIN")).lower()
    return f"{index:02d}-{kind or 'file'}.{re.sub(r'[^a-z0-9]', '', extension) or 'bin'}"


def content_type(file: RecordingFile) -> str:
    extension = file.extension or EXTENSIONS.get(file.file_type, "")
    return CONTENT_TYPES.get(extension, "application/octet-stream")


def message_id(key: str) -> str:
    return f"<{key}@{MESSAGE_ID_DOMAIN}>"


def base64_size(size: int) -> int:
    """Bytes of a file's body in the message: base64 in lines of 76 characters, each ending in CRLF."""
    characters = 4 * ((size + 2) // 3)
    return characters + 2 * ((characters + BASE64_LINE - 1) // BASE64_LINE)


@dataclass(frozen=True)
class Composition:
    """A message ready to be written: its bytes around each attached file's body, and its exact size.

    Only the headers, the bodies and our JSON record are held in memory; the attached files are read and
    base64-encoded chunk by chunk while the message is written, each checked against its SHA-256.
    """

    segments: tuple[bytes, ...]  # one more than `attached`: the bytes before, between and after their bodies
    attached: tuple[CapturedFile, ...]

    @property
    def size(self) -> int:
        return sum(map(len, self.segments)) + sum(base64_size(c.size) for c in self.attached)

    def write(self, out: BinaryIO, open_file: Opener) -> None:
        for segment, captured in zip(self.segments[:-1], self.attached, strict=True):
            out.write(segment)
            with open_file(captured) as stream:
                _write_base64(out, verified_chunks(captured.filename, stream, captured.size, captured.sha256))
        out.write(self.segments[-1])


def compose(
    meeting: Meeting, files: Sequence[CapturedFile], said: Said, *, said_limit: int = TEXT_LIMIT
) -> Composition:
    """The message for one meeting: headers, a text and an HTML body, the attached files and our JSON record.

    `said` holds the chat and transcript files read as text, by file key; the bodies show at most
    `said_limit` characters of it (the files themselves are archived whole). The default keeps the HTML body
    small enough for the importer to send to Graph in one request; it is about 10 hours of speech.
    """
    zone = _zone(meeting.timezone)
    sections = _said_sections(meeting, files, said, zone, said_limit)
    text, html_body = _text_body(meeting, files, sections, zone), _html_body(meeting, files, sections, zone)
    # Boundaries and placeholders derived from the bodies: the same meeting gives the same bytes, and Zoom
    # text cannot contain a string it would have to predict from a hash of itself.
    seed = hashlib.sha256((text + html_body).encode()).hexdigest()[:24]
    start_local = meeting.start.astimezone(zone)
    msg = EmailMessage(policy=HEADERS)
    topic = header_text(meeting.topic, SUBJECT_TOPIC_LIMIT) or "(no topic)"
    addition = ADDITION_PREFIX if meeting.addition else ""
    msg["Subject"] = f"{addition}{topic} - Zoom meeting {start_local:%Y-%m-%d %H:%M} {start_local.tzname()}"
    msg["From"] = address(meeting.host) or FALLBACK_SENDER
    recipients = _recipients(meeting)
    msg["To"] = recipients or [address(meeting.host) or FALLBACK_SENDER]
    msg["Date"] = format_datetime(meeting.start.astimezone(UTC))
    msg["Message-ID"] = message_id(meeting.key)
    msg[HEADER_UUID] = header_text(meeting.uuid)
    msg[HEADER_MEETING_ID] = str(meeting.meeting_id)
    msg[HEADER_ARCHIVE_KEY] = meeting.key
    for captured in files:
        msg[HEADER_FILE_HASH] = f"{captured.filename}; {captured.sha256}"
    msg.set_content(text)
    msg.add_alternative(html_body, subtype="html")
    attached = tuple(c for c in files if c.attached)
    placeholders = []
    for number, captured in enumerate(attached):
        maintype, subtype = captured.content_type.split("/", 1)
        msg.add_attachment(b"", maintype, subtype, filename=captured.filename)
        placeholders.append(f"zoom-archive-file-{seed}-{number}")
        msg.get_payload()[-1].set_payload(placeholders[-1] + "\n")
    record = json.dumps(_record(meeting, files), indent=2, ensure_ascii=True).encode()
    msg.add_attachment(record, "application", "json", filename=RECORD_FILENAME)
    for number, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"==zoom-archive-{seed}-{number}==")
    segments, rest = [], msg.as_bytes()
    for placeholder in placeholders:
        before, found, rest = rest.partition(placeholder.encode() + b"\r\n")
        assert found and placeholder.encode() not in rest, "a placeholder must stand once, alone on its line"
        segments.append(before)
    return Composition((*segments, rest), attached)


def build_message(meeting: Meeting, files: Sequence[CapturedFile], contents: Mapping[str, bytes]) -> bytes:
    """The message in memory, from the bytes of its files by file key (a small meeting, or a test).

    Every attached file needs its bytes in `contents`; a chat or transcript file found there is shown as
    text in the bodies whether it is attached or stored.
    """

    def open_file(captured: CapturedFile) -> BinaryIO:
        return io.BytesIO(contents[captured.file.key])

    said = read_said([c for c in files if c.file.key in contents], open_file)
    out = io.BytesIO()
    compose(meeting, files, said).write(out, open_file)
    return out.getvalue()


def read_said(files: Iterable[CapturedFile], open_file: Opener) -> Said:
    """The chat and transcript files among `files` read as text, for the bodies."""
    said = {}
    for c in files:
        if is_text_record(c.file.file_type):
            with open_file(c) as stream:
                said[c.file.key] = read_transcript(c.file.file_type, stream)
    return said


def _write_base64(out: BinaryIO, chunks: Iterable[bytes]) -> None:
    pending = b""
    for chunk in chunks:
        data = pending + chunk if pending else chunk
        whole = len(data) - len(data) % BASE64_LINE_BYTES
        _write_base64_lines(out, data[:whole])
        pending = data[whole:]
    _write_base64_lines(out, pending)


def _write_base64_lines(out: BinaryIO, data: bytes) -> None:
    if data:
        encoded = binascii.b2a_base64(data, newline=False)
        lines = [encoded[i : i + BASE64_LINE] for i in range(0, len(encoded), BASE64_LINE)]
        out.write(b"\r\n".join(lines) + b"\r\n")


def _recipients(meeting: Meeting) -> list[Address]:
    seen: set[str] = set()
    result = []
    for participant in meeting.participants:
        key = participant.email.lower()
        if participant.internal and key not in seen and (value := address(Person(participant.name, participant.email))):
            seen.add(key)
            result.append(value)
    return result


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _clock(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if value else "unknown"


def _duration(seconds: int) -> str:
    return str(timedelta(seconds=max(0, seconds)))


def _size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _text(value: str) -> str:
    """Zoom text for a body: line breaks as LF; controls and lone surrogates (which UTF-8 cannot carry) as U+FFFD."""
    return BODY_UNSAFE.sub("\ufffd", value.replace("\r\n", "\n").replace("\r", "\n"))


def _facts(meeting: Meeting, zone: ZoneInfo) -> list[tuple[str, str]]:
    end = meeting.end or meeting.start + timedelta(minutes=meeting.duration_minutes)
    host = f"{meeting.host.name} <{meeting.host.email}>" if meeting.host.email else meeting.host.name
    kind = MEETING_TYPES.get(meeting.type)
    return [
        ("Topic", header_text(meeting.topic) or "(no topic)"),
        ("Meeting ID", str(meeting.meeting_id)),
        ("Meeting UUID", header_text(meeting.uuid)),
        ("Host", header_text(host or meeting.host_id)),
        ("Start", _clock(meeting.start, zone)),
        ("End", _clock(end, zone)),
        ("Duration", f"{meeting.duration_minutes} minutes"),
        ("Time zone", zone.key),
        ("Type", f"{kind} (type {meeting.type})" if kind else f"type {meeting.type}"),
    ]


def _where(captured: CapturedFile) -> str:
    return "attached" if captured.attached else f"stored in the archive as recordings/{captured.stored_as}"


def _checked(captured: CapturedFile) -> str:
    return ", matches Zoom's fingerprint" if captured.file.fingerprint else ""


@dataclass(frozen=True)
class _Said:
    """One chat or transcript file as the bodies show it: rows of (time, speaker, text)."""

    title: str
    filename: str
    started: str
    rows: tuple[tuple[str, str, str], ...]
    complete: bool  # False when lines were left out for the message's size: the file has them all


def _said_sections(
    meeting: Meeting, files: Sequence[CapturedFile], said: Said, zone: ZoneInfo, limit: int
) -> list[_Said]:
    sections = []
    for captured in files:
        transcript = said.get(captured.file.key)
        if transcript is None:
            continue
        start = captured.file.start or meeting.start
        day = start.astimezone(zone).date()
        rows = []
        for utterance in transcript.utterances:
            limit -= len(utterance.text) + len(utterance.speaker)
            if limit < 0:
                break
            rows.append(
                (_said_clock(start, utterance.offset, zone, day), header_text(utterance.speaker), _text(utterance.text))
            )
        title = SAID_TITLES.get(captured.file.file_type, captured.file.file_type)
        complete = transcript.complete and len(rows) == len(transcript.utterances)
        sections.append(_Said(title, captured.filename, _clock(start, zone), tuple(rows), complete))
    return sections


def _said_clock(start: datetime, offset: timedelta | None, zone: ZoneInfo, day: date) -> str:
    """The wall-clock time of a line: the recording's start plus the line's offset, in the meeting's zone."""
    if offset is None:
        return ""
    local = (start + offset).astimezone(zone)
    return local.strftime("%H:%M:%S") if local.date() == day else local.strftime("%Y-%m-%d %H:%M:%S")


def _said_heading(section: _Said, zone: ZoneInfo) -> str:
    return f"{section.title} ({section.filename}; recording started {section.started}, times in {zone.key})"


def _omitted(section: _Said) -> str:
    return f"Not all of it is shown here, for the message's size: {section.filename} holds all of it."


def _polls(meeting: Meeting) -> dict[tuple[str, str], list[PollAnswer]]:
    grouped: dict[tuple[str, str], list[PollAnswer]] = {}
    for answer in meeting.polls:
        grouped.setdefault((answer.poll, answer.question), []).append(answer)
    return grouped


def _who(name: str, email: str) -> str:
    return header_text(f"{name} <{email}>" if email else name) or "(unknown)"


def _text_body(meeting: Meeting, files: Sequence[CapturedFile], sections: list[_Said], zone: ZoneInfo) -> str:
    lines = ["Zoom meeting record", ""]
    lines += [f"{label}: {value}" for label, value in _facts(meeting, zone)]
    lines += ["", f"Participants ({len(meeting.participants)})"]
    for p in meeting.participants:
        lines.append(f"- {_who(p.name, p.email)} ({_kind(p)}), total {_duration(p.total_seconds)}")
        for s in p.sessions:
            lines.append(
                f"    joined {_clock(s.join_time, zone)}, left {_clock(s.leave_time, zone)} "
                f"({_duration(s.duration_seconds)})"
            )
    for section in sections:
        lines += ["", _said_heading(section, zone)]
        for clock, speaker, text in section.rows:
            first, *more = text.split("\n")
            lead = " ".join(part for part in (clock, f"{speaker}:" if speaker else "") if part)
            lines.append(f"{lead} {first}" if lead else first)
            lines += [f"    {line}" for line in more]
        if not section.complete:
            lines.append(_omitted(section))
    if meeting.polls:
        lines += ["", f"Polls ({len(meeting.polls)} answers)"]
        for (poll, question), answers in _polls(meeting).items():
            lines.append(f"- {header_text(poll)}: {header_text(question)}")
            for a in answers:
                lines.append(f"    {_who(a.name, a.email)}: {header_text(a.answer)} ({_clock(a.time, zone)})")
    if meeting.qa:
        lines += ["", f"Questions and answers ({len(meeting.qa)})"]
        for q in meeting.qa:
            lines.append(f"- {_who(q.name, q.email)} asked: {header_text(q.question)}")
            lines.append(f"    Answer: {header_text(q.answer) or '(not answered)'}")
    for heading, summary in _summaries(meeting):
        lines += ["", f"{heading}: {header_text(summary.title)}", _text(summary.overview)]
        lines += [
            f"{header_text(label)}: {_text(detail)}" if label else _text(detail) for label, detail in summary.details
        ]
        if summary.next_steps:
            lines += ["Next steps:", *(f"- {header_text(step)}" for step in summary.next_steps)]
    lines += ["", f"Files ({len(files)})"]
    for c in files:
        lines.append(
            f"- {c.filename}: {c.file.file_type}, {_size(c.size)}, SHA-256 {c.sha256}{_checked(c)}, {_where(c)}"
        )
    return "\n".join(lines) + "\n"


def _summaries(meeting: Meeting) -> list[tuple[str, Summary]]:
    """Zoom's AI summary, then the host's edited version of it when they edited it: both are the record."""
    summary = meeting.summary
    if not summary:
        return []
    edited = [("AI summary as edited by the host", summary.edited)] if summary.edited else []
    return [("AI summary", summary), *edited]


def _kind(participant: Participant) -> str:
    return "internal" if participant.internal else "external"


def _table(header: Sequence[str], rows: Iterable[str]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    return f'<table border="1" cellpadding="4"><tr>{head}</tr>{"".join(rows)}</table>'


def _cells(*values: str) -> str:
    """One table row of Zoom-derived text: every cell escaped, line breaks shown as <br>."""
    return "<tr>" + "".join(f"<td>{html.escape(v).replace(chr(10), '<br>')}</td>" for v in values) + "</tr>"


def _html_body(meeting: Meeting, files: Sequence[CapturedFile], sections: list[_Said], zone: ZoneInfo) -> str:
    e = html.escape
    facts = "".join(f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in _facts(meeting, zone))
    rows = []
    for p in meeting.participants:
        span = f' rowspan="{len(p.sessions)}"'
        person = (
            f"<td{span}>{e(header_text(p.name))}</td><td{span}>{e(header_text(p.email))}</td><td{span}>{_kind(p)}</td>"
        )
        total = f"<td{span}>{_duration(p.total_seconds)}</td>"
        for n, s in enumerate(p.sessions):
            first, last = (person, total) if n == 0 else ("", "")
            rows.append(
                f"<tr>{first}<td>{_clock(s.join_time, zone)}</td><td>{_clock(s.leave_time, zone)}</td>"
                f"<td>{_duration(s.duration_seconds)}</td>{last}</tr>"
            )
    parts = [
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>',
        f"<h1>{e(header_text(meeting.topic) or '(no topic)')}</h1>",
        f'<table border="1" cellpadding="4">{facts}</table>',
        f"<h2>Participants ({len(meeting.participants)})</h2>",
        _table(("Name", "Email", "Internal/external", "Joined", "Left", "Duration", "Total"), rows),
    ]
    for section in sections:
        parts.append(f"<h2>{e(_said_heading(section, zone))}</h2>")
        parts.append(_table(("Time", "Speaker", "Text"), (_cells(*row) for row in section.rows)))
        if not section.complete:
            parts.append(f"<p>{e(_omitted(section))}</p>")
    if meeting.polls:
        parts.append(f"<h2>Polls ({len(meeting.polls)} answers)</h2>")
        answers = (
            _cells(
                header_text(poll),
                header_text(question),
                _who(a.name, a.email),
                header_text(a.answer),
                _clock(a.time, zone),
            )
            for (poll, question), group in _polls(meeting).items()
            for a in group
        )
        parts.append(_table(("Poll", "Question", "Participant", "Answer", "Time"), answers))
    if meeting.qa:
        parts.append(f"<h2>Questions and answers ({len(meeting.qa)})</h2>")
        questions = (
            _cells(_who(q.name, q.email), header_text(q.question), header_text(q.answer) or "(not answered)")
            for q in meeting.qa
        )
        parts.append(_table(("Asked by", "Question", "Answer"), questions))
    for heading, summary in _summaries(meeting):
        parts.append(f"<h2>{heading}: {e(header_text(summary.title))}</h2>")
        parts.append(f"<p>{e(_text(summary.overview)).replace(chr(10), '<br>')}</p>")
        parts.append(
            _table(("Topic", "Summary"), (_cells(header_text(label), _text(d)) for label, d in summary.details))
        )
        if summary.next_steps:
            parts.append(_table(("Next steps",), (_cells(header_text(step)) for step in summary.next_steps)))
    manifest = (
        f"<tr><td>{e(c.filename)}</td><td>{e(header_text(c.file.file_type))}</td><td>{_size(c.size)}</td>"
        f"<td><code>{c.sha256}</code>{e(_checked(c))}</td><td>{e(_where(c))}</td></tr>"
        for c in files
    )
    parts.append(f"<h2>Files ({len(files)})</h2>")
    parts.append(_table(("Name", "Type", "Size", "SHA-256", "Where"), manifest))
    parts.append("</body></html>")
    return "".join(parts)


def _iso(value: datetime | None) -> str | None:
    return utc_text(value) if value else None


def _record(meeting: Meeting, files: Sequence[CapturedFile]) -> dict[str, Any]:
    """Our machine-readable record of the meeting, with Zoom's values unaltered; the importer maps
    participants from it."""
    return {
        "uuid": meeting.uuid,
        "id": meeting.meeting_id,
        "archive_key": meeting.key,
        "topic": meeting.topic,
        "host": {"id": meeting.host_id, "name": meeting.host.name, "email": meeting.host.email},
        "start_time": _iso(meeting.start),
        "end_time": _iso(meeting.end),
        "duration": meeting.duration_minutes,
        "timezone": meeting.timezone,
        "type": meeting.type,
        "participants": [
            {
                "name": p.name,
                "email": p.email,
                "id": p.zoom_id,
                "internal": p.internal,
                "sessions": [
                    {"join_time": _iso(s.join_time), "leave_time": _iso(s.leave_time), "duration": s.duration_seconds}
                    for s in p.sessions
                ],
            }
            for p in meeting.participants
        ],
        "polls": [
            {
                "poll": a.poll,
                "question": a.question,
                "name": a.name,
                "email": a.email,
                "answer": a.answer,
                "time": _iso(a.time),
            }
            for a in meeting.polls
        ],
        "qa": [{"name": q.name, "email": q.email, "question": q.question, "answer": q.answer} for q in meeting.qa],
        "summary": _summary_record(meeting.summary),
        "files": [
            {
                "key": c.file.key,
                "file_type": c.file.file_type,
                "recording_type": c.file.recording_type,
                "recording_start": _iso(c.file.start),
                "recording_end": _iso(c.file.end),
                "filename": c.filename,
                "content_type": c.content_type,
                "size": c.size,
                "sha256": c.sha256,
                "zoom_fingerprint": c.file.fingerprint or None,
                "stored_as": c.stored_as or None,
            }
            for c in files
        ],
    }


def _summary_record(summary: Summary | None) -> dict[str, Any] | None:
    if not summary:
        return None
    return {
        "title": summary.title,
        "overview": summary.overview,
        "details": [{"label": label, "summary": text} for label, text in summary.details],
        "next_steps": list(summary.next_steps),
        "edited": _summary_record(summary.edited),
    }


# --- reading an archived message back ---------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message. One read back from a message holds only a view of its base64 body in the
    message's bytes, decoded the first time `data` is asked for: a message holds up to 150 MB of files, and
    handing it whole to the `email` package costs about seven times its size."""

    filename: str
    content_type: str
    content: bytes | memoryview  # the file's bytes; its base64 body in the message when `encoded`
    encoded: bool = False

    @cached_property
    def data(self) -> bytes:
        return binascii.a2b_base64(self.content) if self.encoded else bytes(self.content)


@dataclass(frozen=True)
class ArchivedMessage:
    archive_key: str
    message_id: str
    subject: str
    sender: Person
    to: tuple[Person, ...]
    date: datetime
    html: str
    attachments: tuple[Attachment, ...]
    record: dict[str, Any]


def read_message(data: bytes) -> ArchivedMessage:
    """Parse one of our .eml files; raises ValueError when it is not an archived meeting message.

    Only the headers, the bodies and our JSON record go through the `email` package; the attached files are
    found by their MIME boundaries (ours, which their base64 cannot contain) and left undecoded until asked for.
    """
    msg, parts = _archived_parts(data)
    html_body, attachments = "", []
    for headers, start, end in parts:
        if headers.get_content_maintype() == "multipart":
            body = message_from_bytes(data[start:end], policy=policy.default).get_body(preferencelist=("html",))
            html_body = body.get_content() if body else html_body
        else:
            attachments.append(_attachment(data, headers, start, end))
    record = _record_of(attachments)
    sender = msg["From"].addresses[0] if msg["From"] and msg["From"].addresses else None
    return ArchivedMessage(
        archive_key=str(msg[HEADER_ARCHIVE_KEY]).strip(),
        message_id=str(msg["Message-ID"]).strip(),
        subject=str(msg["Subject"] or ""),
        sender=Person(sender.display_name, sender.addr_spec) if sender else Person("", ""),
        to=tuple(Person(a.display_name, a.addr_spec) for a in (msg["To"].addresses if msg["To"] else ())),
        date=parse_time(record.get("start_time")) or msg["Date"].datetime,
        html=html_body,
        attachments=tuple(attachments),
        record=record,
    )


def read_record(data: bytes) -> dict[str, Any]:
    """Our JSON record of one of our .eml files, reading nothing else; ValueError as `read_message`."""
    _, parts = _archived_parts(data)
    found = (_attachment(data, h, s, e) for h, s, e in parts if h.get_filename() == RECORD_FILENAME)
    return _record_of(list(found))


def _record_of(attachments: Sequence[Attachment]) -> dict[str, Any]:
    record = next((a for a in attachments if a.filename == RECORD_FILENAME), None)
    return json.loads(record.data) if record else {}


def _archived_parts(data: bytes) -> tuple[EmailMessage, list[tuple[EmailMessage, int, int]]]:
    """The message's headers, and each top-level part's headers with where the part lies in `data`."""
    msg = _headers(data, 0, len(data))
    key = str(msg.get(HEADER_ARCHIVE_KEY, "")).strip()
    boundary = msg.get_boundary()
    if not re.fullmatch(r"[0-9a-f]{32}", key) or msg.get_content_maintype() != "multipart" or not boundary:
        raise ValueError(f"not an archived meeting message: no valid {HEADER_ARCHIVE_KEY} header or no parts")
    parts = []
    delimiter = b"\r\n--" + boundary.encode()
    position = data.find(delimiter, _body_start(data, 0, len(data)) - 2)
    while position >= 0 and not data.startswith(b"--", position + len(delimiter)):
        line_end = data.find(b"\r\n", position + len(delimiter))
        if line_end < 0:
            break  # cut off after a delimiter: no part follows
        start = line_end + 2
        position = data.find(delimiter, start)
        end = position if position >= 0 else len(data)
        parts.append((_headers(data, start, end), start, end))
    return msg, parts


def _body_start(data: bytes, start: int, end: int) -> int:
    """Where the body of the entity at data[start:end] begins: after the blank line that ends its headers."""
    blank = data.find(b"\r\n\r\n", max(0, start - 2), end)
    return blank + 4 if blank >= 0 else end


def _headers(data: bytes, start: int, end: int) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(data[start : _body_start(data, start, end)], headersonly=True)


def _attachment(data: bytes, headers: EmailMessage, start: int, end: int) -> Attachment:
    filename, content_type = headers.get_filename() or "attachment", headers.get_content_type()
    if headers.get("Content-Transfer-Encoding", "").lower() == "base64":
        return Attachment(filename, content_type, memoryview(data)[_body_start(data, start, end) : end], encoded=True)
    part = message_from_bytes(data[start:end], policy=policy.default)
    return Attachment(filename, content_type, part.get_payload(decode=True) or b"")
