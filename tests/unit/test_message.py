"""The archived message: one RFC 5322 message per meeting, safe whatever Zoom's strings hold."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.message import RECORD_FILENAME, build_message, header_text, read_message
from shared.records import CapturedFile, Meeting, Participant, Person, RecordingFile, Session

START = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)


def meeting(topic: str = "Planning", name: str = "Alice Archer", participants: tuple[Participant, ...] = ()) -> Meeting:
    return Meeting(
        uuid="/ajXp112QmuoKj4854875==",
        meeting_id=123,
        topic=topic,
        host=Person(name, "alice@contoso.example"),
        host_id="zAlice",
        start=START,
        duration_minutes=45,
        timezone="America/New_York",
        type=2,
        participants=participants,
        files=(),
    )


def attendee(name: str, email: str, internal: bool = True) -> Participant:
    return Participant(name, email, internal, (Session(START, START, 60),))


def captured(key: str, file_type: str, data: bytes, stored_as: str = "") -> CapturedFile:
    file = RecordingFile(key, file_type, {"MP4": "MP4", "CHAT": "TXT"}[file_type], "", len(data), "", None, None, "")
    name = f"01-{file_type.lower()}.{file.extension.lower()}"
    content_type = {"MP4": "video/mp4", "CHAT": "text/plain"}[file_type]
    return CapturedFile(file, name, content_type, len(data), "ab" * 32, stored_as)


def test_headers_say_what_the_meeting_is() -> None:
    people = (attendee("Alice Archer", "alice@contoso.example"), attendee("Guest", "g@fabrikam.example", False))
    data = build_message(meeting(participants=people), [], {})
    msg = message_from_bytes(data, policy=policy.default)
    assert msg["Subject"] == "Planning - Zoom meeting 2026-03-04 04:30 EST"  # the meeting's own time zone
    assert msg["From"].addresses[0].addr_spec == "alice@contoso.example"
    assert [a.addr_spec for a in msg["To"].addresses] == ["alice@contoso.example"]  # internal participants only
    assert msg["Date"].datetime == START
    assert msg["X-Zoom-Meeting-UUID"] == "/ajXp112QmuoKj4854875=="
    assert msg["X-Zoom-Meeting-ID"] == "123"
    assert re.fullmatch(r"<[0-9a-f]{32}@zoom-archiver\.invalid>", msg["Message-ID"])
    assert build_message(meeting(participants=people), [], {}) == data  # the same meeting makes the same bytes


def test_attachments_keep_their_bytes_and_stored_files_are_described() -> None:
    video, chat = bytes(range(256)) * 40, b"00:00:01\tAlice:\thi\r\n"
    files = [captured("v", "MP4", video, stored_as="f" * 64 + ".mp4"), captured("c", "CHAT", chat)]
    message = read_message(build_message(meeting(), files, {"c": chat}))
    attachments = {a.filename: a.data for a in message.attachments}
    assert attachments["01-chat.txt"] == chat  # CRLF and tabs untouched
    assert "01-mp4.mp4" not in attachments
    assert f"recordings/{'f' * 64}.mp4" in message.html
    assert RECORD_FILENAME in attachments
    assert message.record["files"][0]["stored_as"] == "f" * 64 + ".mp4"


def test_a_topic_with_line_breaks_cannot_add_headers() -> None:
    topic = "Hello\r\nBcc: attacker@evil.example\r\n\r\nbody\u2028X-Injected: 1"
    data = build_message(meeting(topic=topic), [], {})
    msg = message_from_bytes(data, policy=policy.default)
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]


def test_a_very_long_topic_is_shortened_in_the_subject_but_kept_in_the_body() -> None:
    topic = "x" * 2000
    message = read_message(build_message(meeting(topic=topic), [], {}))
    assert len(message.subject) < 250
    assert topic in message.html
    assert message.record["topic"] == topic


def test_an_empty_meeting_still_makes_a_valid_message() -> None:
    empty = Meeting("u", 0, "", Person("", ""), "", START, 0, "Not/AZone", 0, (), ())
    message = read_message(build_message(empty, [], {}))
    assert message.subject.startswith("(no topic)")
    assert message.to  # falls back to a placeholder sender, never an empty To


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


OUR_TAGS = {"html", "head", "meta", "body", "h1", "h2", "table", "tr", "th", "td", "code"}
OUR_ATTRIBUTES = {"charset", "border", "cellpadding", "rowspan"}

zoom_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300
)  # any script, emoji, controls, markup


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topic=zoom_text, name=zoom_text, other=zoom_text)
def test_any_zoom_text_round_trips_without_new_headers_or_markup(topic: str, name: str, other: str) -> None:
    people = (attendee(name, "alice@contoso.example"), attendee(other, ""))
    data = build_message(meeting(topic=topic, name=name, participants=people), [], {})
    msg = message_from_bytes(data, policy=policy.default)
    assert not msg.defects
    for header, value in msg.items():
        assert "\n" not in str(value) and "\r" not in str(value), header
    assert set(msg.keys()) <= {
        "Subject",
        "From",
        "To",
        "Date",
        "Message-ID",
        "X-Zoom-Meeting-UUID",
        "X-Zoom-Meeting-ID",
        "X-Zoom-Archive-Key",
        "MIME-Version",
        "Content-Type",
    }
    assert header_text(topic, 160) in str(msg["Subject"]) or not header_text(topic)
    html = msg.get_body(preferencelist=("html",)).get_content()
    parser = _Collect()
    parser.feed(html)
    assert parser.tags <= OUR_TAGS
    assert parser.attributes <= OUR_ATTRIBUTES
    assert read_message(data).record["topic"] == topic
