"""The archived record: one RFC 5322 message per meeting instance, and reading it back for import.

Everything that comes from Zoom is untrusted: header values lose control and line-break characters before
the `email` package sees them (the Python 3.11 runtime may predate the CVE-2024-6923 fix), and every
Zoom string is HTML-escaped in the HTML body. Names of attachments are built from Zoom's enumerations
and our own numbering, never from free text.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.records import CapturedFile, Meeting, Participant, Person, RecordingFile, parse_time

RECORD_FILENAME = "zoom-meeting.json"
MESSAGE_ID_DOMAIN = "zoom-archiver.invalid"
SUBJECT_TOPIC_LIMIT = 160
HEADER_UUID = "X-Zoom-Meeting-UUID"
HEADER_MEETING_ID = "X-Zoom-Meeting-ID"
HEADER_ARCHIVE_KEY = "X-Zoom-Archive-Key"
HEADER_FILE_HASH = "X-Zoom-File-SHA256"
FALLBACK_SENDER = Address("Zoom", "zoom-host", MESSAGE_ID_DOMAIN)

CONTENT_TYPES = {
    "MP4": "video/mp4",
    "M4A": "audio/mp4",
    "TXT": "text/plain",
    "VTT": "text/vtt",
    "CSV": "text/csv",
    "JSON": "application/json",
    "JPG": "image/jpeg",
}
EXTENSIONS = {"CHAT": "TXT", "TRANSCRIPT": "VTT", "CC": "VTT", "TIMELINE": "JSON", "CSV": "CSV", "SUMMARY": "JSON"}


def header_text(value: str, limit: int = 0) -> str:
    """A single line of text safe for a header: no control characters, no line or paragraph separators."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in "\r\n" else c for c in str(value))
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


def build_message(meeting: Meeting, files: Sequence[CapturedFile], contents: Mapping[str, bytes]) -> bytes:
    """The .eml for one meeting: headers, a text and an HTML body, the attached files and our JSON record.

    `contents` holds the bytes of each attached file by file key; stored files are only described.
    """
    zone = _zone(meeting.timezone)
    start_local = meeting.start.astimezone(zone)
    msg = EmailMessage(policy=policy.SMTP)
    topic = header_text(meeting.topic, SUBJECT_TOPIC_LIMIT) or "(no topic)"
    msg["Subject"] = f"{topic} - Zoom meeting {start_local:%Y-%m-%d %H:%M} {start_local.tzname()}"
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
    text, html_body = _text_body(meeting, files, zone), _html_body(meeting, files, zone)
    msg.set_content(text)
    msg.add_alternative(html_body, subtype="html")
    for captured in files:
        if captured.attached:
            maintype, subtype = captured.content_type.split("/", 1)
            msg.add_attachment(contents[captured.file.key], maintype, subtype, filename=captured.filename)
    record = json.dumps(_record(meeting, files), indent=2, ensure_ascii=False).encode()
    msg.add_attachment(record, "application", "json", filename=RECORD_FILENAME)
    # Boundaries derived from the bodies: the same meeting gives the same bytes, and Zoom text cannot
    # contain a boundary it would have to predict from a hash of itself.
    seed = hashlib.sha256((text + html_body).encode()).hexdigest()[:24]
    for number, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"==zoom-archive-{seed}-{number}==")
    return msg.as_bytes()


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


def _facts(meeting: Meeting, zone: ZoneInfo) -> list[tuple[str, str]]:
    end = meeting.start + timedelta(minutes=meeting.duration_minutes)
    host = f"{meeting.host.name} <{meeting.host.email}>" if meeting.host.email else meeting.host.name
    return [
        ("Topic", meeting.topic or "(no topic)"),
        ("Meeting ID", str(meeting.meeting_id)),
        ("Meeting UUID", meeting.uuid),
        ("Host", host or meeting.host_id),
        ("Start", _clock(meeting.start, zone)),
        ("End", _clock(end, zone)),
        ("Duration", f"{meeting.duration_minutes} minutes"),
        ("Time zone", zone.key),
        ("Type", str(meeting.type)),
    ]


def _where(captured: CapturedFile) -> str:
    return "attached" if captured.attached else f"stored in the archive as recordings/{captured.stored_as}"


def _text_body(meeting: Meeting, files: Sequence[CapturedFile], zone: ZoneInfo) -> str:
    lines = ["Zoom meeting record", ""]
    lines += [f"{label}: {value}" for label, value in _facts(meeting, zone)]
    lines += ["", f"Participants ({len(meeting.participants)})"]
    for p in meeting.participants:
        who = f"{p.name} <{p.email}>" if p.email else p.name
        lines.append(f"- {who} ({_kind(p)}), total {_duration(p.total_seconds)}")
        for s in p.sessions:
            lines.append(
                f"    joined {_clock(s.join_time, zone)}, left {_clock(s.leave_time, zone)} "
                f"({_duration(s.duration_seconds)})"
            )
    lines += ["", f"Files ({len(files)})"]
    for c in files:
        lines.append(f"- {c.filename}: {c.file.file_type}, {_size(c.size)}, SHA-256 {c.sha256}, {_where(c)}")
    return "\n".join(lines) + "\n"


def _kind(participant: Participant) -> str:
    return "internal" if participant.internal else "external"


def _html_body(meeting: Meeting, files: Sequence[CapturedFile], zone: ZoneInfo) -> str:
    e = html.escape
    facts = "".join(f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in _facts(meeting, zone))
    rows = []
    for p in meeting.participants:
        for n, s in enumerate(p.sessions or ()):
            person = ""
            if n == 0:
                span = len(p.sessions)
                person = (
                    f'<td rowspan="{span}">{e(p.name)}</td><td rowspan="{span}">{e(p.email)}</td>'
                    f'<td rowspan="{span}">{_kind(p)}</td>'
                )
            total = f'<td rowspan="{len(p.sessions)}">{_duration(p.total_seconds)}</td>' if n == 0 else ""
            rows.append(
                f"<tr>{person}<td>{_clock(s.join_time, zone)}</td><td>{_clock(s.leave_time, zone)}</td>"
                f"<td>{_duration(s.duration_seconds)}</td>{total}</tr>"
            )
    manifest = "".join(
        f"<tr><td>{e(c.filename)}</td><td>{e(c.file.file_type)}</td><td>{_size(c.size)}</td>"
        f"<td><code>{c.sha256}</code></td><td>{e(_where(c))}</td></tr>"
        for c in files
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
        f"<h1>{e(meeting.topic or '(no topic)')}</h1>"
        f'<table border="1" cellpadding="4">{facts}</table>'
        f"<h2>Participants ({len(meeting.participants)})</h2>"
        '<table border="1" cellpadding="4"><tr><th>Name</th><th>Email</th><th>Internal/external</th>'
        "<th>Joined</th><th>Left</th><th>Duration</th><th>Total</th></tr>"
        f"{''.join(rows)}</table>"
        f"<h2>Files ({len(files)})</h2>"
        '<table border="1" cellpadding="4"><tr><th>Name</th><th>Type</th><th>Size</th><th>SHA-256</th>'
        f"<th>Where</th></tr>{manifest}</table>"
        "</body></html>"
    )


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _record(meeting: Meeting, files: Sequence[CapturedFile]) -> dict[str, Any]:
    """Our machine-readable record of the meeting; the importer maps participants from it."""
    return {
        "uuid": meeting.uuid,
        "id": meeting.meeting_id,
        "archive_key": meeting.key,
        "topic": meeting.topic,
        "host": {"id": meeting.host_id, "name": meeting.host.name, "email": meeting.host.email},
        "start_time": _iso(meeting.start),
        "duration": meeting.duration_minutes,
        "timezone": meeting.timezone,
        "type": meeting.type,
        "participants": [
            {
                "name": p.name,
                "email": p.email,
                "internal": p.internal,
                "sessions": [
                    {"join_time": _iso(s.join_time), "leave_time": _iso(s.leave_time), "duration": s.duration_seconds}
                    for s in p.sessions
                ],
            }
            for p in meeting.participants
        ],
        "files": [
            {
                "key": c.file.key,
                "file_type": c.file.file_type,
                "recording_type": c.file.recording_type,
                "filename": c.filename,
                "content_type": c.content_type,
                "size": c.size,
                "sha256": c.sha256,
                "stored_as": c.stored_as or None,
            }
            for c in files
        ],
    }


# --- reading an archived message back ---------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


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

    @property
    def host(self) -> Person:
        host = self.record.get("host") or {}
        return Person(str(host.get("name") or ""), str(host.get("email") or ""))

    @property
    def participants(self) -> list[Person]:
        return [
            Person(str(p.get("name") or ""), str(p.get("email") or "")) for p in self.record.get("participants", [])
        ]


def read_message(data: bytes) -> ArchivedMessage:
    """Parse one of our .eml files; raises ValueError when it is not an archived meeting message."""
    msg = message_from_bytes(data, policy=policy.default)
    key = str(msg.get(HEADER_ARCHIVE_KEY, "")).strip()
    if not re.fullmatch(r"[0-9a-f]{32}", key):
        raise ValueError(f"not an archived meeting message: no valid {HEADER_ARCHIVE_KEY} header")
    body = msg.get_body(preferencelist=("html",))
    attachments = []
    record: dict[str, Any] = {}
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() == RECORD_FILENAME:
            record = json.loads(payload)
        attachments.append(Attachment(part.get_filename() or "attachment", part.get_content_type(), payload))
    sender = msg["From"].addresses[0] if msg["From"] and msg["From"].addresses else None
    return ArchivedMessage(
        archive_key=key,
        message_id=str(msg["Message-ID"]).strip(),
        subject=str(msg["Subject"] or ""),
        sender=Person(sender.display_name, sender.addr_spec) if sender else Person("", ""),
        to=tuple(Person(a.display_name, a.addr_spec) for a in (msg["To"].addresses if msg["To"] else ())),
        date=parse_time(record.get("start_time")) or msg["Date"].datetime,
        html=body.get_content() if body else "",
        attachments=tuple(attachments),
        record=record,
    )
