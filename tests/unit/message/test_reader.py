"""An archived message read back: its headers, HTML body, files and record, without decoding a file before it
is asked for, and nothing that is not one of ours."""

from __future__ import annotations

import pytest

from shared.message.compose import build_message
from shared.message.reader import read_message, read_record
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


def test_reading_a_message_back_decodes_no_file_until_it_is_asked_for() -> None:
    video, chat = bytes(range(256)) * 400, b"00:00:01\tAlice:\thi\r\n"
    files = [captured(1, "MP4", video), captured(2, "CHAT", chat)]
    data = build_message(meeting(), files, {"key-1": video, "key-2": chat})
    message = read_message(data)
    attached = {a.filename: a for a in message.attachments}
    assert attached["01-mp4.mp4"].encoded and isinstance(attached["01-mp4.mp4"].content, memoryview)
    assert attached["01-mp4.mp4"].content.obj is data  # a view of the message's bytes, not a copy
    assert attached["01-mp4.mp4"].data == video and attached["02-chat.txt"].data == chat
    assert read_record(data) == message.record and message.record.files[0].filename == "01-mp4.mp4"


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
