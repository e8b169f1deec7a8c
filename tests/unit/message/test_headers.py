"""The message's headers: what the meeting is, to whom, in any script, and nothing Zoom text could add."""

from __future__ import annotations

import hashlib
import re

from shared.message.compose import build_message
from shared.message.reader import read_message
from shared.records import Person
from tests.unit.message.examples import START, assert_headers_ours, attendee, captured, meeting, parsed


def test_headers_say_what_the_meeting_is() -> None:
    people = (attendee("Alice Archer", "alice@contoso.example"), attendee("Guest", "g@fabrikam.example", False))
    chat = b"00:00:01\tAlice:\thi\r\n"
    files = [captured(1, "CHAT", chat)]
    data = build_message(meeting(participants=people), files, {"key-1": chat})
    msg = parsed(data)
    assert msg["Subject"] == "Planning - Zoom meeting 2026-03-04 04:30 EST"  # the meeting's own time zone
    assert msg["From"].addresses[0].addr_spec == "alice@contoso.example"
    assert [a.addr_spec for a in msg["To"].addresses] == ["alice@contoso.example"]  # internal participants only
    assert msg["Date"].datetime == START
    assert msg["X-Zoom-Meeting-UUID"] == "/ajXp112QmuoKj4854875=="
    assert msg["X-Zoom-Meeting-ID"] == "123"
    assert re.fullmatch(r"[0-9a-f]{32}", msg["X-Zoom-Archive-Key"])
    assert re.fullmatch(r"<[0-9a-f]{32}@zoom-archiver\.invalid>", msg["Message-ID"])
    assert [v.strip() for v in msg.get_all("X-Zoom-File-SHA256")] == [
        f"01-chat.txt; {hashlib.sha256(chat).hexdigest()}"
    ]


def test_an_addition_says_so_in_its_subject_and_has_its_own_key() -> None:
    vtt = b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nAlice: late\n"
    files = [captured(1, "TRANSCRIPT", vtt)]
    original = parsed(build_message(meeting(), [], {}))
    addition = parsed(build_message(meeting(addition=True, files=(files[0].file,)), files, {"key-1": vtt}))
    assert addition["Subject"] == "[addition] Planning - Zoom meeting 2026-03-04 04:30 EST"
    assert addition["X-Zoom-Meeting-UUID"] == original["X-Zoom-Meeting-UUID"]
    assert addition["X-Zoom-Archive-Key"] != original["X-Zoom-Archive-Key"]


def test_a_topic_with_line_breaks_cannot_add_headers() -> None:
    topic = "Hello\r\nBcc: attacker@evil.example\r\n\r\nbody\u2028X-Injected: 1"
    data = build_message(meeting(topic=topic), [], {})
    assert_headers_ours(data, files=0)
    assert parsed(data)["Subject"].startswith("Hello Bcc: attacker@evil.example body X-Injected: 1 - Zoom meeting")


def test_a_very_long_topic_is_shortened_in_the_subject_but_kept_in_the_body() -> None:
    topic = "x" * 2000
    message = read_message(build_message(meeting(topic=topic), [], {}))
    assert len(message.subject) < 250
    assert topic in message.html
    assert message.record.topic == topic


def test_a_topic_in_any_script_keeps_its_spaces_in_the_subject() -> None:
    """RFC 2047 encoded words drop the space between them when folded: the headers are UTF-8 instead."""
    topic = "000000000000 0¡¡¡¡¡𐀀𐀀𐀀𐀀𐀀 ¡ Réunion 会議"
    data = build_message(meeting(topic=topic), [], {})
    assert str(parsed(data)["Subject"]).startswith(topic + " - Zoom meeting")
    assert read_message(data).subject.startswith(topic)


def test_an_email_that_is_no_address_leaves_its_person_out_of_the_headers_only() -> None:
    people = (
        attendee("Odd", "a@b@contoso.example"),
        attendee("Tag", "<x>@contoso.example"),
        attendee("Bob", "bob@contoso.example"),
    )
    data = build_message(meeting(participants=people, host=Person("Host", "<h>@contoso.example")), [], {})
    message = read_message(data)
    assert [p.email for p in message.to] == ["bob@contoso.example"]
    assert message.sender.email == "zoom-host@zoom-archiver.invalid"  # the placeholder sender
    assert [p.email for p in message.record.participants] == [
        "a@b@contoso.example",
        "<x>@contoso.example",
        "bob@contoso.example",
    ]
    assert "a@b@contoso.example" in message.html
