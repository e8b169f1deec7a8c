"""The whole message: the same meeting makes the same bytes, its size is known before it is written, files
are streamed in whole and checked, and no Zoom text changes its structure."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from hypothesis import HealthCheck, given, settings

from shared.integrity import IntegrityError
from shared.message.compose import base64_size, build_message, compose
from shared.message.reader import read_message
from shared.message.text import header_text
from shared.records import Meeting, Person
from tests.unit.message.examples import (
    MARKUP,
    START,
    assert_headers_ours,
    assert_markup_of,
    attendee,
    captured,
    meeting,
    parsed,
    zoom_text,
)


def test_the_same_meeting_makes_the_same_bytes() -> None:
    chat, video = b"00:00:01\tAlice:\thi\r\n", bytes(range(256)) * 9
    files = [captured(1, "MP4", video), captured(2, "CHAT", chat)]
    people = (attendee("Bob", "bob@contoso.example"),)
    first = build_message(meeting(participants=people), files, {"key-1": video, "key-2": chat})
    again = build_message(meeting(participants=people), files, {"key-1": video, "key-2": chat})
    assert first == again


@pytest.mark.parametrize("size", [0, 1, 2, 3, 56, 57, 58, 76, 1000, 57 * 73584 + 5])
def test_the_composed_size_is_the_size_written_and_files_come_back_whole(size: int) -> None:
    video = hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1)
    video = video[:size]
    chat = b"00:00:01\tAlice:\thi\r\n"
    files = [captured(1, "MP4", video), captured(2, "CHAT", chat), captured(3, "M4A", b"a" * 700, stored=True)]
    contents = {"key-1": video, "key-2": chat}
    composition = compose(meeting(), files, {})
    out = io.BytesIO()
    composition.write(out, lambda c: io.BytesIO(contents[c.file.key]))
    assert composition.size == len(out.getvalue())
    attachments = {a.filename: a.data for a in read_message(out.getvalue()).attachments}
    assert attachments["01-mp4.mp4"] == video and attachments["02-chat.txt"] == chat
    assert "03-m4a.m4a" not in attachments  # stored apart
    encoded = base64.b64encode(video)
    assert base64_size(size) == sum(len(encoded[i : i + 76]) + 2 for i in range(0, len(encoded), 76))


def test_a_file_whose_bytes_changed_since_download_is_never_written_as_if_whole() -> None:
    video = b"v" * 1000
    composition = compose(meeting(), [captured(1, "MP4", video)], {})
    with pytest.raises(IntegrityError, match=r"01-mp4\.mp4"):
        composition.write(io.BytesIO(), lambda c: io.BytesIO(b"w" + video[1:]))


def test_an_empty_meeting_still_makes_a_valid_message() -> None:
    empty = Meeting("u", 0, "", Person("", ""), "", START, 0, "Not/AZone", 0, (), ())
    message = read_message(build_message(empty, [], {}))
    assert message.subject.startswith("(no topic)")
    assert message.to  # falls back to a placeholder sender, never an empty To


def test_a_meeting_with_a_thousand_participants() -> None:
    people = tuple(attendee(f"Person {n} 👩‍💻 名前", f"p{n}@contoso.example") for n in range(1000))
    data = build_message(meeting(participants=people), [], {})
    message = read_message(data)
    assert len(message.to) == 1000 and len(message.record.participants) == 1000
    assert "Person 999 👩‍💻 名前" in message.html


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topic=zoom_text, name=zoom_text, other=zoom_text)
def test_any_zoom_text_round_trips_without_new_headers_or_markup(topic: str, name: str, other: str) -> None:
    def make(topic: str, name: str, other: str) -> bytes:
        people = (attendee(name, "alice@contoso.example"), attendee(other, ""))
        return build_message(meeting(topic=topic, name=name, participants=people), [], {})

    data = make(topic, name, other)
    assert_headers_ours(data, files=0)
    assert_markup_of(data, make(*(t.translate(MARKUP) for t in (topic, name, other))))
    assert header_text(topic, 160) in str(parsed(data)["Subject"]) or not header_text(topic)
    assert read_message(data).record.topic == topic


def test_text_files_say_they_are_utf8_and_the_blob_is_7_bit() -> None:
    """Zoom writes chat and transcript files in UTF-8; without a charset a reader would take them for ASCII."""
    chat, vtt = (
        "00:00:01\tJosé:\t会議\r\n".encode(),
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nJosé: 会議\n".encode(),
    )
    files = [captured(1, "CHAT", chat), captured(2, "TRANSCRIPT", vtt), captured(3, "MP4", b"v" * 100)]
    data = build_message(meeting(), files, {"key-1": chat, "key-2": vtt, "key-3": b"v" * 100})
    parts = {p.get_filename(): p for p in parsed(data).iter_attachments()}
    assert parts["01-chat.txt"]["Content-Type"] == 'text/plain; charset="utf-8"'
    assert parts["02-transcript.vtt"]["Content-Type"] == 'text/vtt; charset="utf-8"'
    assert (
        parts["03-mp4.mp4"]["Content-Type"] == "video/mp4" and parts["zoom-meeting.json"].get_param("charset") is None
    )
    assert parts["01-chat.txt"].get_content() == chat.decode() and data.isascii()
