"""One of our archived `.eml` files read back, for the import and the completeness report, by ranges.

A message holds up to 150 MB of files, so it is never read whole: only the headers, the bodies and our JSON
record go through the `email` package; each attached file is found by its MIME boundaries (ours, which base64
cannot contain) and left where it lies until it is asked for, then decoded as a stream. The record is the
message's last part: it is read from the message's tail first, and it gives each attached file's size, so
that the reader jumps over the file's base64 (whose length that size fixes, as `compose` writes it) and only
checks that the next boundary is where it must be; a file where it is not is scanned for its boundary instead.
"""

from __future__ import annotations

import binascii
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import HeaderParser
from email.utils import getaddresses
from typing import BinaryIO, Protocol

from shared.message.compose import base64_size
from shared.message.headers import HEADER_ARCHIVE_KEY
from shared.message.record import RECORD_FILENAME, MeetingRecord
from shared.records import Person

WINDOW = 64 * 1024  # bytes read at once for a part's headers, or for the message's tail
SCAN = 1024 * 1024  # bytes read at once while looking for a boundary
HEADERS_LIMIT = 1024 * 1024  # a part whose headers are longer is not one of ours
WHITESPACE = b"\r\n\t "


class MessageSource(Protocol):
    """Where a message is read from by ranges: a blob (shared/blobio.py `BlobSource`) or bytes in memory."""

    size: int

    def read(self, offset: int, length: int) -> bytes: ...

    def open(self, start: int, end: int) -> BinaryIO: ...


class InMemory:
    """A message held in memory, read as a blob would be."""

    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.size = len(data)

    def read(self, offset: int, length: int) -> bytes:
        return bytes(self.data[offset : offset + length])

    def open(self, start: int, end: int) -> BinaryIO:
        return io.BytesIO(self.data[start:end])


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message: where its body lies in the message, read and decoded only when asked."""

    filename: str
    content_type: str
    size: int  # the file's bytes, decoded
    sha256: str  # as our record states it; "" when it states none
    source: MessageSource
    start: int  # the part's body in the message: [start, end)
    end: int
    encoded: bool  # base64, as every file we attach is

    def open(self) -> BinaryIO:
        """The file's bytes as a stream, decoded as they are read."""
        if not self.encoded:
            return io.BytesIO(self.data)
        return io.BufferedReader(_Base64Reader(self.source.open(self.start, self.end)), buffer_size=SCAN)

    @property
    def data(self) -> bytes:
        """The whole file, decoded, in memory: for a small one (the record, a chat file)."""
        if self.encoded:
            with self.open() as stream:
                return stream.read()
        part = message_from_bytes(self.source.read(self.start, self.end - self.start), policy=policy.default)
        return part.get_payload(decode=True) or b""

    def base64(self) -> bytes:
        """The file as one line of base64 (what Graph's `contentBytes` takes), without decoding it (small ones)."""
        if not self.encoded:
            return binascii.b2a_base64(self.data, newline=False)
        return self.source.read(self.start, self.end - self.start).translate(None, WHITESPACE)

    def ranges(self) -> Ranges:
        return Ranges(self)


class Ranges:
    """One reader of an attachment's bytes by offset, as an upload session asks for them: forward, and now and
    then again from an earlier offset (a range whose answer was lost), which reads the file again from its start."""

    def __init__(self, attachment: Attachment):
        self.attachment = attachment
        self._stream: BinaryIO | None = None
        self._position = 0

    def read(self, offset: int, length: int) -> bytes:
        if self._stream is None or offset < self._position:
            self.close()
            self._stream, self._position = self.attachment.open(), 0
        while self._position < offset:
            skipped = len(self._stream.read(min(SCAN, offset - self._position)))
            if not skipped:
                break
            self._position += skipped
        data = self._stream.read(length)
        self._position += len(data)
        return data

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


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


@dataclass(frozen=True)
class _Part:
    headers: EmailMessage
    start: int  # where the part (its headers) begins
    body: int  # where its body begins
    end: int  # where the delimiter after it begins
    size: int | None = None  # decoded bytes of a base64 body, when its extent was checked or counted


def read_message(message: bytes | MessageSource) -> ArchivedMessage:
    """Parse one of our .eml files; raises ValueError when it is not an archived meeting message."""
    source = InMemory(message) if isinstance(message, bytes) else message
    top, delimiter, body = _top(source)
    record = _record_from_tail(source, delimiter)
    sizes = {f.filename: f.size for f in record.files if not f.stored_as} if record else {}
    hashes = {f.filename: f.sha256 for f in record.files} if record else {}
    html_body, attachments = "", []
    for part in _parts(source, body, delimiter, sizes):
        if part.headers.get_content_maintype() == "multipart":
            entity = message_from_bytes(source.read(part.start, part.end - part.start), policy=policy.default)
            body = entity.get_body(preferencelist=("html",))
            html_body = body.get_content() if body else html_body
        else:
            attachments.append(_attachment(source, part, hashes))
    record = record or _record_of(attachments)
    senders = _people(top, "From")
    return ArchivedMessage(
        archive_key=str(top[HEADER_ARCHIVE_KEY]).strip(),
        message_id=str(top["Message-ID"]).strip(),
        subject=str(top["Subject"] or ""),
        sender=senders[0] if senders else Person("", ""),
        to=_people(top, "To"),
        date=record.start or top["Date"].datetime,
        html=html_body,
        attachments=tuple(attachments),
        record=record,
        in_reply_to=str(top["In-Reply-To"] or "").strip(),
    )


def read_record(message: bytes | MessageSource) -> MeetingRecord:
    """Our JSON record of one of our .eml files, read from its tail; ValueError as `read_message`."""
    source = InMemory(message) if isinstance(message, bytes) else message
    _, delimiter, body = _top(source)
    record = _record_from_tail(source, delimiter)
    if record is not None:
        return record
    found = (_attachment(source, p, {}) for p in _parts(source, body, delimiter, {}))
    return _record_of([a for a in found if a.filename == RECORD_FILENAME])


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


def _top(source: MessageSource) -> tuple[EmailMessage, bytes, int]:
    """The message's headers, the delimiter that opens each of its parts (CRLF, "--", the boundary), and where
    its body begins."""
    headers, body = _headers(source, 0)
    key = str(headers.get(HEADER_ARCHIVE_KEY, "")).strip()
    boundary = headers.get_boundary()
    if not re.fullmatch(r"[0-9a-f]{32}", key) or headers.get_content_maintype() != "multipart" or not boundary:
        raise ValueError(f"not an archived meeting message: no valid {HEADER_ARCHIVE_KEY} header or no parts")
    return headers, b"\r\n--" + boundary.encode(), body


def _headers(source: MessageSource, start: int) -> tuple[EmailMessage, int]:
    """The headers of the entity beginning at `start`, their encoded words decoded, and where its body begins
    (after the blank line). Messages written before the headers were 7-bit hold raw UTF-8 in them (RFC 6532):
    read as text, it gives the same names, never escaped bytes."""
    length, first = WINDOW, max(0, start - 2)  # from the CRLF before: a part may have no headers
    while True:
        window = source.read(first, length + 2)
        blank = window.find(b"\r\n\r\n")
        if blank >= 0:
            text = window[start - first : max(start - first, blank + 2)]
            return _parsed(text), first + blank + 4
        if len(window) < length + 2 or length >= HEADERS_LIMIT:
            return _parsed(window), source.size
        length *= 4


def _parsed(block: bytes) -> EmailMessage:
    return HeaderParser(policy=policy.default).parsestr(block.decode("utf-8", errors="replace"))


def _parts(source: MessageSource, body: int, delimiter: bytes, sizes: dict[str, int]) -> Iterator[_Part]:
    """Each top-level part of the message whose body begins at `body`: its headers and where it lies. A base64
    file whose size `sizes` gives (by file name) is jumped over once its closing delimiter is found where that
    size puts it."""
    position = _find(source, delimiter, body - 2)
    while position is not None:
        after = source.read(position + len(delimiter), 2)
        if after in (b"--", b""):
            return  # the closing delimiter, or a message cut off after one
        line_end = _find(source, b"\r\n", position + len(delimiter))
        if line_end is None:
            return
        start = line_end + 2
        headers, body = _headers(source, start)
        end, size = _extent(source, headers, body, delimiter, sizes)
        yield _Part(headers, start, body, end if end is not None else source.size, size)
        position = end


def _extent(
    source: MessageSource, headers: EmailMessage, body: int, delimiter: bytes, sizes: dict[str, int]
) -> tuple[int | None, int | None]:
    """Where the part whose body begins at `body` ends (None: it runs to the end), and its decoded size when
    it is base64 and that size is known (from the record) or was counted while scanning."""
    base64 = headers.get("Content-Transfer-Encoding", "").lower() == "base64"
    size = sizes.get(headers.get_filename() or "") if base64 else None
    if size is not None:
        expected = body + base64_size(size)
        if source.read(expected, len(delimiter)) == delimiter:
            return expected, size
    end = _find(source, delimiter, body)
    if not base64:
        return end, None
    return end, _decoded_size(source, body, end if end is not None else source.size)


def _find(source: MessageSource, needle: bytes, start: int) -> int | None:
    """The first position of `needle` at or after `start`, reading the message forward in windows growing
    from WINDOW to SCAN bytes (a boundary is usually near)."""
    position, step = max(0, start), WINDOW
    while position < source.size:
        window = source.read(position, step + len(needle))
        found = window.find(needle)
        if found >= 0:
            return position + found
        if len(window) < step + len(needle):
            return None
        position, step = position + step, min(SCAN, step * 4)
    return None


def _decoded_size(source: MessageSource, start: int, end: int) -> int:
    """The bytes a base64 body decodes to, counted without decoding it: its characters less the padding."""
    characters, last, position = 0, b"", start
    while position < end:
        chunk = source.read(position, min(SCAN, end - position)).translate(None, WHITESPACE)
        characters += len(chunk)
        last = (last + chunk)[-2:]
        position += SCAN
    return characters // 4 * 3 - (len(last) - len(last.rstrip(b"=")))


def _record_from_tail(source: MessageSource, delimiter: bytes) -> MeetingRecord | None:
    """Our record, when it is the message's last part (as `compose` puts it); None when it is not."""
    closing = delimiter + b"--"
    length = WINDOW
    while True:
        start = max(0, source.size - length)
        tail = source.read(start, source.size - start)
        last = tail.rfind(closing)
        opening = tail.rfind(delimiter + b"\r\n", 0, last) if last >= 0 else -1
        if opening >= 0:
            part = tail[opening + len(delimiter) + 2 : last]
            entity = message_from_bytes(part, policy=policy.default)
            if entity.get_filename() != RECORD_FILENAME:
                return None
            return MeetingRecord.from_json(entity.get_payload(decode=True) or b"{}")
        if start == 0:
            return None
        length *= 4


def _attachment(source: MessageSource, part: _Part, hashes: dict[str, str]) -> Attachment:
    filename, kind = part.headers.get_filename() or "attachment", part.headers.get_content_type()
    if part.headers.get("Content-Transfer-Encoding", "").lower() == "base64":
        size = part.size if part.size is not None else _decoded_size(source, part.body, part.end)
        return Attachment(filename, kind, size, hashes.get(filename, ""), source, part.body, part.end, True)
    # Not one of our files (we attach every file as base64): the email package decodes the part, headers and all.
    attachment = Attachment(filename, kind, 0, hashes.get(filename, ""), source, part.start, part.end, False)
    return replace(attachment, size=len(attachment.data))


class _Base64Reader(io.RawIOBase):
    """Base64 text (with line breaks) decoded as it is read: whole quanta of four characters at a time."""

    def __init__(self, encoded: BinaryIO):
        super().__init__()
        self.encoded = encoded
        self._pending = b""  # characters of an incomplete quantum
        self._decoded = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._decoded:
            chunk = self.encoded.read(SCAN)
            if not chunk:
                if self._pending.strip(b"="):
                    self._decoded = memoryview(binascii.a2b_base64(self._pending))
                    self._pending = b""
                    continue
                return 0
            text = self._pending + chunk.translate(None, WHITESPACE)
            whole = len(text) - len(text) % 4
            self._decoded, self._pending = memoryview(binascii.a2b_base64(text[:whole])), text[whole:]
        count = min(len(buffer), len(self._decoded))
        buffer[:count] = self._decoded[:count]
        self._decoded = self._decoded[count:]
        return count

    def close(self) -> None:
        self.encoded.close()
        super().close()
