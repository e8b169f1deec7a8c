"""An archived message read back by ranges: its headers, HTML body, files and record, without reading a file
before it is asked for, and nothing that is not one of ours."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import BinaryIO

import pytest

from shared.message.compose import build_message
from shared.message.reader import InMemory, read_message, read_record
from shared.records import Person
from tests.unit.message.examples import START, attendee, captured, meeting


def test_a_message_reads_back_as_it_was_written() -> None:
    chat = b"00:00:01\tAlice:\thi\r\n"
    people = (attendee("Bob Baker", "bob@contoso.example"), attendee("Guest", "g@fabrikam.example", False))
    data = build_message(meeting(participants=people), [captured(1, "CHAT", chat)], {"key-1": chat})
    message = read_message(data)
    assert message.subject == "Planning - Zoom meeting 2026-03-04 04:30 EST"
    assert message.sender == Person("Alice Archer", "alice@contoso.example")
    assert message.to == (Person("Bob Baker", "bob@contoso.example"),)
    assert message.date == START
    assert message.message_id == f"<{message.archive_key}@zoom-archiver.invalid>"
    assert message.html.startswith("<!DOCTYPE html>") and "Bob Baker" in message.html
    assert [(a.filename, a.content_type) for a in message.attachments] == [
        ("01-chat.txt", "text/plain"),
        ("zoom-meeting.json", "application/json"),
    ]
    assert message.record.archive_key == message.archive_key


class Counted(InMemory):
    """A message read by ranges, as from a blob: which ranges were read."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.ranges: list[tuple[int, int]] = []

    def read(self, offset: int, length: int) -> bytes:
        self.ranges.append((offset, length))
        return super().read(offset, length)

    def open(self, start: int, end: int) -> BinaryIO:
        self.ranges.append((start, end - start))
        return super().open(start, end)

    @property
    def bytes_read(self) -> int:
        return sum(min(length, self.size - offset) for offset, length in self.ranges)


def test_reading_a_message_back_reads_no_file_until_it_is_asked_for() -> None:
    chat = b"00:00:01\tAlice:\thi\r\n"
    read = []
    for video in (os.urandom(1024 * 1024), os.urandom(6 * 1024 * 1024)):
        files = [captured(1, "MP4", video), captured(2, "CHAT", chat)]
        source = Counted(build_message(meeting(), files, {"key-1": video, "key-2": chat}))
        message = read_message(source)
        read.append(source.bytes_read)
    assert read[0] == read[1] < 1024 * 1024  # headers, bodies, record and each part's headers: never the video
    attached = {a.filename: a for a in message.attachments}
    assert (attached["01-mp4.mp4"].size, attached["01-mp4.mp4"].sha256) == (
        len(video),
        hashlib.sha256(video).hexdigest(),
    )
    with attached["01-mp4.mp4"].open() as stream:
        assert stream.read() == video
    assert attached["02-chat.txt"].data == chat
    assert base64.b64decode(attached["02-chat.txt"].base64()) == chat


def test_the_record_is_read_from_the_messages_tail() -> None:
    video = os.urandom(3 * 1024 * 1024)
    source = Counted(build_message(meeting(), [captured(1, "MP4", video)], {"key-1": video}))
    record = read_record(source)
    assert record.files[0].filename == "01-mp4.mp4" and source.bytes_read <= 2 * (64 * 1024 + 2)  # head, tail
    assert record == read_message(source).record


def test_a_file_whose_base64_is_not_laid_out_as_ours_is_found_by_its_boundary() -> None:
    video, chat = os.urandom(300_000), b"00:00:01\tAlice:\thi\r\n"
    data = build_message(
        meeting(), [captured(1, "MP4", video), captured(2, "CHAT", chat)], {"key-1": video, "key-2": chat}
    )
    head, _, rest = data.partition(b'Content-Disposition: attachment; filename="01-mp4.mp4"\r\n\r\n')
    _, delimiter, tail = rest.partition(b"\r\n--")
    relaid = base64.encodebytes(video).replace(b"\n", b"\r\n")  # lines of 76, but no CRLF after the last one
    message = read_message(
        head + b'Content-Disposition: attachment; filename="01-mp4.mp4"\r\n\r\n' + relaid[:-2] + delimiter + tail
    )
    attached = {a.filename: a for a in message.attachments}
    assert attached["01-mp4.mp4"].size == len(video) and attached["01-mp4.mp4"].data == video
    assert attached["02-chat.txt"].data == chat


def test_an_upload_reads_a_file_by_ranges_and_again_from_an_earlier_offset() -> None:
    video = os.urandom(2 * 1024 * 1024 + 7)
    message = read_message(build_message(meeting(), [captured(1, "MP4", video)], {"key-1": video}))
    ranges = message.attachments[0].ranges()
    assert ranges.read(0, 1_000_000) == video[:1_000_000]
    assert ranges.read(1_000_000, 1_000_000) == video[1_000_000:2_000_000]
    assert ranges.read(1_000_000, 1_000_000) == video[1_000_000:2_000_000]  # a range whose answer was lost
    assert ranges.read(2_000_000, 1_000_000) == video[2_000_000:]
    ranges.close()


def test_a_message_that_is_not_ours_is_refused() -> None:
    with pytest.raises(ValueError, match="not an archived meeting message"):
        read_record(b"Subject: hi\r\nContent-Type: text/plain\r\n\r\nhello\r\n")
    data = build_message(meeting(), [], {})
    with pytest.raises(ValueError, match="not an archived meeting message"):
        read_message(data.replace(b"X-Zoom-Archive-Key: ", b"X-Zoom-Archive-Key: x"))


def test_a_message_written_with_utf8_headers_before_they_were_7_bit_reads_back_the_same() -> None:
    """Messages archived before the headers were RFC 2047 hold raw UTF-8 (RFC 6532) in them."""
    people = (attendee("José Müller", "jose@contoso.example"), attendee('山田 太郎, "Jr"', "taro@contoso.example"))
    data = build_message(meeting(topic="Réunion 会議", name="山田 太郎", participants=people), [], {})
    head, body = data.split(b"\r\n\r\n", 1)
    unfolded = head.decode().replace("\r\n ", " ")
    old = "\r\n".join(
        [
            "Subject: Réunion 会議 - Zoom meeting 2026-03-04 04:30 EST",
            "From: 山田 太郎 <alice@contoso.example>",
            'To: José Müller <jose@contoso.example>, "山田 太郎, \\"Jr\\"" <taro@contoso.example>',
            *(line for line in unfolded.split("\r\n") if not line.startswith(("Subject", "From", "To"))),
        ]
    ).encode()
    message, new = read_message(old + b"\r\n\r\n" + body), read_message(data)
    assert (message.subject, message.sender, message.to) == (new.subject, new.sender, new.to)
    assert message.sender == Person("山田 太郎", "alice@contoso.example")
    assert [p.name for p in message.to] == ["José Müller", '山田 太郎, "Jr"']
