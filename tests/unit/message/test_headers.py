"""The message's headers: what the meeting is, to whom, in any script, and nothing Zoom text could add."""

from __future__ import annotations

import hashlib
import re

from hypothesis import HealthCheck, given, settings

from shared.message.compose import build_message
from shared.message.headers import ADDRESS_LIMIT, LINE, LINE_LIMIT, encoded_words, message_id
from shared.message.reader import read_message
from shared.message.text import header_text
from shared.records import Person
from tests.unit.message.examples import (
    START,
    assert_headers_ours,
    attendee,
    captured,
    header_lines,
    meeting,
    parsed,
    zoom_text,
)


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
    """The `email` package's own folding drops the space between encoded words: ours keeps every one."""
    topic = "000000000000 0¡¡¡¡¡𐀀𐀀𐀀𐀀𐀀 ¡ Réunion 会議 " + "長い会議の議題 " * 8 + "end"
    data = build_message(meeting(topic=topic), [], {})
    assert str(parsed(data)["Subject"]).startswith(topic + " - Zoom meeting")
    assert read_message(data).subject.startswith(topic)
    assert b"=?utf-8?" in b"".join(header_lines(data, "Subject"))


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


def test_the_message_is_plain_7_bit_rfc_5322_with_short_lines() -> None:
    """No reader needs RFC 6532 (UTF-8 headers) or 8-bit MIME: names in any script become encoded words, and 40
    Japanese names fold into lines of 78 characters (a header's first line holds its name and one word of up to
    75), nowhere near RFC 5322's 998 octets; every encoded body line is within RFC 2045's 76 characters."""
    people = tuple(attendee(f"山田 太郎{n} 会議室の担当者", f"yamada{n}@contoso.example") for n in range(40))
    chat = "00:00:01\t山田 太郎:\t".encode() + "会議".encode() * 2000 + b"\r\n"
    data = build_message(meeting(topic="会議 " * 80, participants=people), [captured(1, "CHAT", chat)], {"key-1": chat})
    assert data.isascii()
    block = data[: data.index(b"\r\n\r\n")].split(b"\r\n")
    assert max(len(line) for line in block if line.startswith(b" ")) <= LINE
    assert max(len(line) for line in block) <= len("X-Zoom-Meeting-UUID: ") + 75
    assert max(len(line) for line in data[data.index(b"\r\n\r\n") :].split(b"\r\n")) <= 76
    message = read_message(data)
    assert [p.name for p in message.to] == [p.name for p in people]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topic=zoom_text, name=zoom_text, other=zoom_text)
def test_names_and_topics_in_any_script_read_back_exactly_as_cleaned(topic: str, name: str, other: str) -> None:
    people = (attendee(name, "alice@contoso.example"), attendee(other, "bob@contoso.example"))
    data = build_message(meeting(topic=topic, name=name, participants=people), [], {})
    assert data.isascii()
    assert all(len(line) <= LINE_LIMIT for line in data.split(b"\r\n"))
    message = read_message(data)
    assert message.sender.name == header_text(name, 100)
    assert [p.name for p in message.to] == [header_text(name, 100), header_text(other, 100)]
    assert message.subject.startswith((header_text(topic, 160) or "(no topic)") + " - Zoom meeting ")


def test_names_that_would_disguise_themselves_or_break_the_header_are_written_safely() -> None:
    hostile = {
        "Ali \u202egnp.exe\u202c": "Ali gnp.exe",  # a right-to-left override would reverse what follows
        "\u2066Bob\u2069 \u200fCarol\u200e": "Bob Carol",
        'O\'Brien, "Jr" \\ <boss@evil.example>': 'O\'Brien, "Jr" \\ <boss@evil.example>',
        "=?utf-8?q?Fake_CEO?=": "=?utf-8?q?Fake_CEO?=",  # text that looks encoded stays text
        "José\r\nBcc: x@evil.example": "José Bcc: x@evil.example",
        "Zoë 👩‍💻 Ångström": "Zoë 👩‍💻 Ångström",  # the zero-width joiner of an emoji sequence stays
    }
    people = tuple(attendee(name, f"p{n}@contoso.example") for n, name in enumerate(hostile))
    data = build_message(meeting(topic="Ali \u202egnp.exe Q3", participants=people), [], {})
    assert_headers_ours(data, files=0)
    message = read_message(data)
    assert [p.name for p in message.to] == list(hostile.values())
    assert [p.email for p in message.to] == [f"p{n}@contoso.example" for n in range(len(hostile))]
    assert message.subject.startswith("Ali gnp.exe Q3 - Zoom meeting")


def test_an_address_a_plain_header_cannot_carry_is_left_out_of_the_headers_only() -> None:
    people = (
        attendee("Idn", "idn@bücher.example"),  # a domain in another script: written in its ASCII form
        attendee("Eai", "josé@contoso.example"),  # a local part outside ASCII: no RFC 5322 form
        attendee("Long", "l" * ADDRESS_LIMIT + "@contoso.example"),
    )
    message = read_message(build_message(meeting(participants=people), [], {}))
    assert [(p.name, p.email) for p in message.to] == [("Idn", "idn@xn--bcher-kva.example")]
    assert [p.email for p in message.record.participants] == [p.email for p in people]


def test_an_addition_threads_with_its_meeting() -> None:
    vtt = b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nAlice: late\n"
    files = [captured(1, "TRANSCRIPT", vtt)]
    original = parsed(build_message(meeting(), [], {}))
    addition = parsed(build_message(meeting(addition=True, files=(files[0].file,)), files, {"key-1": vtt}))
    assert addition["In-Reply-To"] == addition["References"] == original["Message-ID"]
    assert "In-Reply-To" not in original and "References" not in original


def test_encoded_words_hold_whole_characters_within_75_characters() -> None:
    for text in ("a" * 200, "é" * 200, "会" * 200, "𐀀" * 200, "a é 会 𐀀 " * 40):
        words = encoded_words(text)
        assert all(len(w) <= 75 and w.isascii() for w in words)
        assert str(parsed(f"Subject: {' '.join(words)}\r\n\r\n".encode())["Subject"]) == text
    assert message_id("k") == "<k@zoom-archiver.invalid>"
