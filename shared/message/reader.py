"""One of our archived `.eml` files read back, for the import and the completeness report.

Only the headers, the bodies and our JSON record go through the `email` package; the attached files are
found by their MIME boundaries (ours, which their base64 cannot contain) and left undecoded until asked for:
a message holds up to 150 MB of files, and handing it whole to the `email` package costs about seven times
its size.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import HeaderParser
from email.utils import getaddresses
from functools import cached_property

from shared.message.headers import HEADER_ARCHIVE_KEY
from shared.message.record import RECORD_FILENAME, MeetingRecord
from shared.records import Person


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message. One read back from a message holds only a view of its base64 body in the
    message's bytes, decoded the first time `data` is asked for."""

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
    attachments: tuple[Attachment, ...]  # our JSON record among them
    record: MeetingRecord
    in_reply_to: str = ""  # an addition's: the Message-ID of its meeting's message


def read_message(data: bytes) -> ArchivedMessage:
    """Parse one of our .eml files; raises ValueError when it is not an archived meeting message."""
    msg, parts = _archived_parts(data)
    html_body, attachments = "", []
    for headers, start, end in parts:
        if headers.get_content_maintype() == "multipart":
            body = message_from_bytes(data[start:end], policy=policy.default).get_body(preferencelist=("html",))
            html_body = body.get_content() if body else html_body
        else:
            attachments.append(_attachment(data, headers, start, end))
    record = _record_of(attachments)
    senders = _people(msg, "From")
    return ArchivedMessage(
        archive_key=str(msg[HEADER_ARCHIVE_KEY]).strip(),
        message_id=str(msg["Message-ID"]).strip(),
        subject=str(msg["Subject"] or ""),
        sender=senders[0] if senders else Person("", ""),
        to=_people(msg, "To"),
        date=record.start or msg["Date"].datetime,
        html=html_body,
        attachments=tuple(attachments),
        record=record,
        in_reply_to=str(msg["In-Reply-To"] or "").strip(),
    )


def read_record(data: bytes) -> MeetingRecord:
    """Our JSON record of one of our .eml files, reading nothing else; ValueError as `read_message`."""
    _, parts = _archived_parts(data)
    found = (_attachment(data, h, s, e) for h, s, e in parts if h.get_filename() == RECORD_FILENAME)
    return _record_of(list(found))


def _people(msg: EmailMessage, header: str) -> tuple[Person, ...]:
    """The people an address header names, each name decoded as RFC 2047 says: the `email` package's address
    parser keeps the space between two encoded words of a display name, which a name longer than one encoded
    word would gain, so the names are decoded from the header's raw text instead. (A name outside ASCII is one
    that a message written before the headers were 7-bit holds as raw UTF-8: it is taken as it is.)"""
    raw = [value.replace("\r\n", "") for name, value in msg.raw_items() if name.lower() == header.lower()]
    return tuple(
        Person(str(make_header(decode_header(name))) if name.isascii() else name, email)
        for name, email in getaddresses(raw)
        if email
    )


def _record_of(attachments: Sequence[Attachment]) -> MeetingRecord:
    """The record among the attachments; an empty one (nobody to deliver to) when the message has none."""
    record = next((a for a in attachments if a.filename == RECORD_FILENAME), None)
    return MeetingRecord.from_json(record.data if record else b"{}")


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
    """The headers of an entity, their encoded words decoded. Messages written before the headers were 7-bit
    hold raw UTF-8 in them (RFC 6532): read as text, it gives the same names, never escaped bytes."""
    block = data[start : _body_start(data, start, end)].decode("utf-8", errors="replace")
    return HeaderParser(policy=policy.default).parsestr(block)


def _attachment(data: bytes, headers: EmailMessage, start: int, end: int) -> Attachment:
    filename, content_type = headers.get_filename() or "attachment", headers.get_content_type()
    if headers.get("Content-Transfer-Encoding", "").lower() == "base64":
        return Attachment(filename, content_type, memoryview(data)[_body_start(data, start, end) : end], encoded=True)
    part = message_from_bytes(data[start:end], policy=policy.default)
    return Attachment(filename, content_type, part.get_payload(decode=True) or b"")
