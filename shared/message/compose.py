"""The MIME message of a meeting, made in two steps so that a recording of any size needs no more memory
than a chunk of it: `compose` renders the headers, both bodies and our JSON record with the `email` package
and knows the message's exact size; `Composition.write` streams it out, base64-encoding each attached file
as it reads it. Names of attachments are built from Zoom's enumerations and our own numbering, never from
free text.

The message is 7-bit: headers as `headers` writes them, the bodies in quoted-printable or base64 (whichever is
shorter), every encoded line within RFC 2045's 76 characters; text files say they are UTF-8, as Zoom writes them.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from typing import BinaryIO

from shared.integrity import verified_chunks
from shared.message.bodies import Opener, Said, content, read_said, render_bodies
from shared.message.headers import header_block
from shared.message.record import RECORD_FILENAME, MeetingRecord
from shared.message.text import meeting_zone
from shared.records import CapturedFile, Meeting, RecordingFile, StoredIn
from shared.transcript import TEXT_LIMIT

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
BASE64_LINE = 76  # characters of a base64 or quoted-printable line (RFC 2045)
BASE64_LINE_BYTES = 57  # the bytes one such line encodes
# The MIME structure below the headers: 7-bit, in lines of 76 characters at most.
PARTS = policy.SMTP.clone(cte_type="7bit", max_line_length=BASE64_LINE)


def attachment_name(index: int, file: RecordingFile) -> str:
    kind = re.sub(r"[^a-z0-9_]+", "_", (file.recording_type or file.file_type or "file").lower()).strip("_")
    extension = (file.extension or EXTENSIONS.get(file.file_type, "BIN")).lower()
    return f"{index:02d}-{kind or 'file'}.{re.sub(r'[^a-z0-9]', '', extension) or 'bin'}"


def content_type(file: RecordingFile) -> str:
    extension = file.extension or EXTENSIONS.get(file.file_type, "")
    return CONTENT_TYPES.get(extension, "application/octet-stream")


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
    meeting: Meeting,
    files: Sequence[CapturedFile],
    said: Said,
    *,
    said_limit: int = TEXT_LIMIT,
    stored_in: StoredIn | None = None,
) -> Composition:
    """The message for one meeting: headers, a text and an HTML body, the attached files and our JSON record.

    `said` holds the chat and transcript files read as text, by file key; the bodies show at most
    `said_limit` characters of it (the files themselves are archived whole). The default keeps the HTML body
    small enough for the importer to send to Graph in one request; it is about 10 hours of speech. The bodies
    name the files not attached by `stored_in`, the container they are kept in.
    """
    zone = meeting_zone(meeting.timezone)
    text, html_body = render_bodies(content(meeting, files, said, zone, said_limit, stored_in))
    # Boundaries and placeholders derived from the bodies: the same meeting gives the same bytes, and Zoom
    # text cannot contain a string it would have to predict from a hash of itself.
    seed = hashlib.sha256((text + html_body).encode()).hexdigest()[:24]
    msg = EmailMessage(policy=PARTS)
    msg.set_content(text)
    msg.add_alternative(html_body, subtype="html")
    attached = tuple(c for c in files if c.attached)
    placeholders = []
    for number, captured in enumerate(attached):
        maintype, subtype = captured.content_type.split("/", 1)
        charset = {"charset": "utf-8"} if maintype == "text" else None
        msg.add_attachment(b"", maintype, subtype, filename=captured.filename, params=charset)
        placeholders.append(f"zoom-archive-file-{seed}-{number}")
        msg.get_payload()[-1].set_payload(placeholders[-1] + "\n")
    record = MeetingRecord.of(meeting, files).to_json()
    msg.add_attachment(record, "application", "json", filename=RECORD_FILENAME)
    for number, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"==zoom-archive-{seed}-{number}==")
    segments, rest = [], header_block(meeting, files, zone) + msg.as_bytes()
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
