"""The archived message: one RFC 5322 message per meeting, complete, searchable, safe whatever Zoom sends."""

from __future__ import annotations

import hashlib
import html as htmllib
import io
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.integrity import IntegrityError
from shared.message import (
    RECORD_FILENAME,
    base64_size,
    build_message,
    compose,
    header_text,
    read_message,
    read_record,
)
from shared.records import (
    CapturedFile,
    Meeting,
    Participant,
    Person,
    PollAnswer,
    Question,
    RecordingFile,
    Session,
    Summary,
)
from shared.transcript import read as read_transcript
from tests.conftest import shared_file

START = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
ZONE = "America/New_York"
EXTENSIONS = {"MP4": "MP4", "M4A": "M4A", "CHAT": "TXT", "TRANSCRIPT": "VTT", "CC": "VTT", "TIMELINE": "JSON"}
TYPES = {"MP4": "video/mp4", "M4A": "audio/mp4", "TXT": "text/plain", "VTT": "text/vtt", "JSON": "application/json"}


def meeting(
    topic: str = "Planning",
    name: str = "Alice Archer",
    participants: tuple[Participant, ...] = (),
    **fields: object,
) -> Meeting:
    values: dict = {
        "uuid": "/ajXp112QmuoKj4854875==",
        "meeting_id": 123,
        "topic": topic,
        "host": Person(name, "alice@contoso.example"),
        "host_id": "zAlice",
        "start": START,
        "duration_minutes": 45,
        "timezone": ZONE,
        "type": 2,
        "participants": participants,
        "files": (),
        **fields,
    }
    return Meeting(**values)


def attendee(name: str, email: str, internal: bool = True) -> Participant:
    return Participant(name, email, internal, (Session(START, START, 60),))


def captured(
    number: int,
    file_type: str,
    data: bytes,
    stored: bool = False,
    start: datetime = START,
    fingerprint: str = "",
) -> CapturedFile:
    extension = EXTENSIONS[file_type]
    file = RecordingFile(
        f"key-{number}",
        file_type,
        extension,
        "",
        len(data),
        "",
        start,
        start + timedelta(hours=1),
        "completed",
        fingerprint,
    )
    name = f"{number:02d}-{file_type.lower()}.{extension.lower()}"
    sha256 = hashlib.sha256(data).hexdigest()
    return CapturedFile(
        file, name, TYPES[extension], len(data), sha256, f"{sha256}.{extension.lower()}" if stored else ""
    )


def parsed(data: bytes) -> EmailMessage:
    msg = message_from_bytes(data, policy=policy.default)
    assert not msg.defects
    return msg


def bodies(data: bytes) -> tuple[str, str]:
    msg = parsed(data)
    text, html = (msg.get_body(preferencelist=(kind,)).get_content() for kind in ("plain", "html"))
    return text.replace("\r\n", "\n"), html.replace("\r\n", "\n")


# --- headers -------------------------------------------------------------------------------------


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


def test_the_same_meeting_makes_the_same_bytes() -> None:
    chat, video = b"00:00:01\tAlice:\thi\r\n", bytes(range(256)) * 9
    files = [captured(1, "MP4", video), captured(2, "CHAT", chat)]
    first = build_message(
        meeting(participants=(attendee("Bob", "bob@contoso.example"),)), files, {"key-1": video, "key-2": chat}
    )
    again = build_message(
        meeting(participants=(attendee("Bob", "bob@contoso.example"),)), files, {"key-1": video, "key-2": chat}
    )
    assert first == again


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
    assert message.record["topic"] == topic


def test_text_that_utf8_cannot_carry_still_makes_a_valid_message() -> None:
    topic, name = "Plan\ud800ning\x00\x1b[31m", "Bob\udcff"  # a JSON string from Zoom may hold lone surrogates
    summary = Summary("Sum\ud800", "Over\udfffview \x1b[2J", (("La\ud800bel", "De\x07tail"),), ("Ste\ud800p",))
    chat = b"00:00:01\tAlice:\tred \x1b[31m alert\x07\r\n"
    people = (attendee(name, "bob@contoso.example"),)
    data = build_message(
        meeting(topic=topic, participants=people, summary=summary), [captured(1, "CHAT", chat)], {"key-1": chat}
    )
    message = read_message(data)
    assert message.subject.startswith("Plan\ufffdning")
    text, html = bodies(data)
    for body in (text, html):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\ud800-\udfff]", body), "controls and surrogates become U+FFFD"
        assert "Over\ufffdview \ufffd[2J" in body and "red \ufffd[31m alert\ufffd" in body
    assert message.record["topic"] == topic  # our record keeps Zoom's value exactly
    assert message.record["participants"][0]["name"] == name


# --- bodies --------------------------------------------------------------------------------------


def test_the_bodies_state_the_meeting_facts() -> None:
    end = START + timedelta(minutes=47)
    text, html = bodies(build_message(meeting(end=end), [], {}))
    for body in (text, html):
        assert "/ajXp112QmuoKj4854875==" in body and "123" in body
        assert "Alice Archer" in body and "alice@contoso.example" in body
        assert "2026-03-04 04:30:00" in body  # start, in the meeting's time zone
        assert "2026-03-04 05:17:00" in body  # end, as Zoom reported it
        assert "45 minutes" in body and ZONE in body
        assert "Scheduled meeting (type 2)" in body


def test_the_participant_table_has_every_session_and_the_total() -> None:
    bob = Participant(
        "Bob Baker",
        "bob@contoso.example",
        True,
        (
            Session(START, START + timedelta(minutes=10), 600),
            Session(START + timedelta(minutes=20), START + timedelta(minutes=45), 1500),
        ),
    )
    guest = Participant("Grace Guest", "grace@fabrikam.example", False, (Session(START, None, 30),))
    text, html = bodies(build_message(meeting(participants=(bob, guest)), [], {}))
    assert "- Bob Baker <bob@contoso.example> (internal), total 0:35:00" in text
    assert "joined 2026-03-04 04:30:00, left 2026-03-04 04:40:00 (0:10:00)" in text
    assert "joined 2026-03-04 04:50:00, left 2026-03-04 05:15:00 (0:25:00)" in text
    assert "- Grace Guest <grace@fabrikam.example> (external), total 0:00:30" in text
    assert "left unknown" in text
    assert '<td rowspan="2">Bob Baker</td>' in html and "<td>external</td>" not in html.split("Grace")[0]


def test_the_manifest_lists_every_file_and_where_it_went() -> None:
    video, chat = b"v" * 5000, b"00:00:01\tAlice:\thi\r\n"
    files = [
        captured(1, "MP4", video, stored=True, fingerprint=hashlib.sha256(video).hexdigest()),
        captured(2, "CHAT", chat),
    ]
    message = read_message(build_message(meeting(), files, {"key-2": chat}))
    text = parsed(build_message(meeting(), files, {"key-2": chat})).get_body(("plain",)).get_content()
    video_sha = hashlib.sha256(video).hexdigest()
    assert (
        f"- 01-mp4.mp4: MP4, 4.9 KB, SHA-256 {video_sha}, matches Zoom's fingerprint, "
        f"stored in the archive as recordings/{video_sha}.mp4"
    ) in text
    assert f"- 02-chat.txt: CHAT, 20 bytes, SHA-256 {hashlib.sha256(chat).hexdigest()}, attached" in text
    assert f"recordings/{video_sha}.mp4" in message.html
    attachments = {a.filename: a.data for a in message.attachments}
    assert attachments["02-chat.txt"] == chat  # CRLF and tabs untouched
    assert "01-mp4.mp4" not in attachments
    assert RECORD_FILENAME in attachments
    assert [f["stored_as"] for f in message.record["files"]] == [f"{video_sha}.mp4", None]
    assert [(f["recording_start"], f["recording_end"]) for f in message.record["files"]] == [
        ("2026-03-04T09:30:00Z", "2026-03-04T10:30:00Z")
    ] * 2


def test_the_chat_is_text_with_speakers_and_wall_clock_times() -> None:
    chat = b"00:01:02\tAlice Archer:\tHello <b>all</b>\r\nsecond line\r\n00:02:03\tBob Baker:\tHi & bye\r\n"
    recording_start = START + timedelta(minutes=2)
    files = [captured(1, "CHAT", chat, start=recording_start)]
    text, html = bodies(build_message(meeting(), files, {"key-1": chat}))
    # 09:32 UTC recording start + 1 min 2 s, shown in New York time
    assert "04:33:02 Alice Archer: Hello <b>all</b>\n    second line" in text
    assert "04:34:03 Bob Baker: Hi & bye" in text
    assert "<td>04:33:02</td><td>Alice Archer</td><td>Hello &lt;b&gt;all&lt;/b&gt;<br>second line</td>" in html
    assert "<td>Hi &amp; bye</td>" in html
    assert "In-meeting chat (01-chat.txt; recording started 2026-03-04 04:32:00, times in America/New_York)" in text


def test_a_time_on_the_next_day_shows_its_date() -> None:
    chat = b"23:59:59\tAlice:\tlate\r\n"
    text, _ = bodies(build_message(meeting(), [captured(1, "CHAT", chat)], {"key-1": chat}))
    assert "2026-03-05 04:29:59 Alice: late" in text


def test_the_transcript_is_text_with_speakers_and_times() -> None:
    vtt = (
        b"WEBVTT\n\n1\n00:00:04.859 --> 00:00:07.410\nAndrew Knight: Okay, so we're recording.\n\n"
        b"2\n00:00:09.540 --> 00:00:12.990\nAnd that\n"
    )
    text, html = bodies(build_message(meeting(), [captured(1, "TRANSCRIPT", vtt)], {"key-1": vtt}))
    assert "Transcript (01-transcript.vtt;" in text
    assert "04:30:04 Andrew Knight: Okay, so we're recording." in text
    assert "04:30:09 And that" in text  # a cue Zoom could not attribute
    assert "<td>04:30:04</td><td>Andrew Knight</td><td>Okay, so we&#x27;re recording.</td>" in html


def _sample_times(offset: str) -> str:
    hours, minutes, seconds = (int(p) for p in offset.split(".")[0].split(":"))
    moment = START + timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return moment.astimezone(ZoneInfo(ZONE)).strftime("%H:%M:%S")


def test_every_line_of_a_real_chat_file_is_in_the_body() -> None:
    chat = shared_file("samples/zoom/cloud-chat-file.txt").read_bytes()
    text, html = bodies(build_message(meeting(), [captured(1, "CHAT", chat)], {"key-1": chat}))
    lines = chat.decode().split("\r\n")[:-1]
    assert len(lines) == 10
    for line in lines:
        offset, speaker, said = line.split("\t")
        clock = _sample_times(offset)
        assert f"{clock} {speaker} {said}" in text
        assert f"<td>{clock}</td><td>{htmllib.escape(speaker[:-1])}</td><td>{htmllib.escape(said)}</td>" in html


def test_every_cue_of_a_real_transcript_is_in_the_body() -> None:
    vtt = shared_file("samples/zoom/cloud-transcript.vtt").read_bytes()
    text, html = bodies(build_message(meeting(), [captured(1, "TRANSCRIPT", vtt)], {"key-1": vtt}))
    cues = vtt.decode().replace("\r\n", "\n").strip().split("\n\n")[1:]
    assert len(cues) == 300
    for cue in cues:
        number, timing, said = cue.strip().split("\n")
        clock = _sample_times(timing.split(" --> ")[0])
        assert f"{clock} {said}" in text, f"cue {number}"
        speaker, _, words = said.rpartition(": ")
        assert f"<td>{clock}</td><td>{htmllib.escape(speaker)}</td><td>{htmllib.escape(words)}</td>" in html


def test_polls_questions_and_the_ai_summary_are_in_the_bodies() -> None:
    polls = (
        PollAnswer("Lunch <poll>", "Bob", "bob@contoso.example", "Pizza?", "Yes & more", START),
        PollAnswer("Lunch <poll>", "Cy", "", "Pizza?", "No", None),
    )
    qa = (Question("Dan", "dan@contoso.example", "When is <i>launch</i>?", "Monday"), Question("Eve", "", "Why?", ""))
    summary = Summary("Quarterly plan", "We agreed\non a plan.", (("Budget", "Up 5%"),), ("Send notes",))
    text, html = bodies(build_message(meeting(polls=polls, qa=qa, summary=summary), [], {}))
    assert "- Lunch <poll>: Pizza?" in text
    assert "    Bob <bob@contoso.example>: Yes & more (2026-03-04 04:30:00)" in text
    assert "    Cy: No (unknown)" in text
    assert "- Dan <dan@contoso.example> asked: When is <i>launch</i>?\n    Answer: Monday" in text
    assert "Answer: (not answered)" in text
    assert "AI summary: Quarterly plan\nWe agreed\non a plan.\nBudget: Up 5%\nNext steps:\n- Send notes" in text
    assert (
        "<td>Lunch &lt;poll&gt;</td><td>Pizza?</td><td>Bob &lt;bob@contoso.example&gt;</td><td>Yes &amp; more</td>"
        in html
    )
    assert "When is &lt;i&gt;launch&lt;/i&gt;?" in html
    assert "<p>We agreed<br>on a plan.</p>" in html
    record = read_message(build_message(meeting(polls=polls, qa=qa, summary=summary), [], {})).record
    assert record["polls"][0]["answer"] == "Yes & more" and record["qa"][1]["answer"] == ""
    assert record["summary"]["next_steps"] == ["Send notes"]


def test_the_hosts_edited_summary_is_archived_beside_zooms_own() -> None:
    edited = Summary("Quarterly plan", "We agreed on <b>a bigger</b> plan.", (("", "Budget up 7% & more"),), ("Call",))
    summary = Summary("Quarterly plan", "We agreed on a plan.", (("Budget", "Up 5%"),), ("Send notes",), edited)
    data = build_message(meeting(summary=summary), [], {})
    text, html = bodies(data)
    assert "AI summary: Quarterly plan\nWe agreed on a plan.\nBudget: Up 5%\nNext steps:\n- Send notes" in text
    assert (
        "AI summary as edited by the host: Quarterly plan\nWe agreed on <b>a bigger</b> plan.\n"
        "Budget up 7% & more\nNext steps:\n- Call"
    ) in text
    assert "<h2>AI summary as edited by the host: Quarterly plan</h2>" in html
    assert "<p>We agreed on &lt;b&gt;a bigger&lt;/b&gt; plan.</p>" in html
    assert "<td>Budget up 7% &amp; more</td>" in html and "<td>Call</td>" in html
    record = read_message(data).record["summary"]
    assert record["edited"] == {
        "title": "Quarterly plan",
        "overview": "We agreed on <b>a bigger</b> plan.",
        "details": [{"label": "", "summary": "Budget up 7% & more"}],
        "next_steps": ["Call"],
        "edited": None,
    }
    assert record["overview"] == "We agreed on a plan."


def test_bodies_show_less_chat_when_the_message_must_be_small_and_say_so() -> None:
    chat = b"".join(f"00:00:{n:02d}\tAlice:\tline {n}\r\n".encode() for n in range(50))
    files = [captured(1, "CHAT", chat)]
    said = {"key-1": read_transcript("CHAT", io.BytesIO(chat))}
    short = compose(meeting(), files, said, said_limit=60)
    out = io.BytesIO()
    short.write(out, lambda c: io.BytesIO(chat))
    text, html = bodies(out.getvalue())
    assert "line 0" in text and "line 49" not in text
    assert "Not all of it is shown here, for the message's size: 01-chat.txt holds all of it." in text
    assert "01-chat.txt holds all of it" in html
    assert short.size < compose(meeting(), files, said).size


# --- hostile and odd content ---------------------------------------------------------------------


def test_an_empty_meeting_still_makes_a_valid_message() -> None:
    empty = Meeting("u", 0, "", Person("", ""), "", START, 0, "Not/AZone", 0, (), ())
    message = read_message(build_message(empty, [], {}))
    assert message.subject.startswith("(no topic)")
    assert message.to  # falls back to a placeholder sender, never an empty To


def test_a_meeting_with_a_thousand_participants() -> None:
    people = tuple(attendee(f"Person {n} 👩‍💻 名前", f"p{n}@contoso.example") for n in range(1000))
    data = build_message(meeting(participants=people), [], {})
    message = read_message(data)
    assert len(message.to) == 1000 and len(message.record["participants"]) == 1000
    assert "Person 999 👩‍💻 名前" in message.html


@pytest.mark.parametrize(
    ("file_type", "content"),
    [
        ("CHAT", b"\xff\xfe garbage \x00\r\n12:3\tnot a time\r\n00:00:01\tcut off in the midd"),
        ("CHAT", b""),
        ("TRANSCRIPT", b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nAlice: hel"),
        ("TRANSCRIPT", b"not a vtt at all <script>alert(1)</script>\n\n99\n"),
        ("CC", b"WEBVTT\n\n1\n00:00:01.000 --> "),
    ],
)
def test_a_malformed_or_truncated_file_is_attached_whole_and_shown_as_far_as_it_goes(
    file_type: str, content: bytes
) -> None:
    files = [captured(1, file_type, content)]
    data = build_message(meeting(), files, {"key-1": content})
    message = read_message(data)
    assert {a.filename: a.data for a in message.attachments}[files[0].filename] == content
    _, html = bodies(data)
    assert "<script>" not in html
    if b"<script>" in content:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- streaming and size ------------------------------------------------------------------------


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
    assert base64_size(size) == len(b"".join(f"{line}\r\n".encode() for line in _base64_lines(video)))


def _base64_lines(data: bytes) -> list[str]:
    import base64

    encoded = base64.b64encode(data).decode()
    return [encoded[i : i + 76] for i in range(0, len(encoded), 76)]


def test_reading_a_message_back_decodes_no_file_until_it_is_asked_for() -> None:
    video, chat = bytes(range(256)) * 400, b"00:00:01\tAlice:\thi\r\n"
    files = [captured(1, "MP4", video), captured(2, "CHAT", chat)]
    data = build_message(meeting(), files, {"key-1": video, "key-2": chat})
    message = read_message(data)
    attached = {a.filename: a for a in message.attachments}
    assert attached["01-mp4.mp4"].encoded and isinstance(attached["01-mp4.mp4"].content, memoryview)
    assert attached["01-mp4.mp4"].content.obj is data  # a view of the message's bytes, not a copy
    assert attached["01-mp4.mp4"].data == video and attached["02-chat.txt"].data == chat
    assert read_record(data) == message.record and message.record["files"][0]["filename"] == "01-mp4.mp4"


def test_a_message_that_is_not_ours_is_refused() -> None:
    with pytest.raises(ValueError, match="not an archived meeting message"):
        read_record(b"Subject: hi\r\nContent-Type: text/plain\r\n\r\nhello\r\n")
    data = build_message(meeting(), [], {})
    with pytest.raises(ValueError, match="not an archived meeting message"):
        read_message(data.replace(b"X-Zoom-Archive-Key: ", b"X-Zoom-Archive-Key: x"))


def test_a_file_whose_bytes_changed_since_download_is_never_written_as_if_whole() -> None:
    video = b"v" * 1000
    composition = compose(meeting(), [captured(1, "MP4", video)], {})
    with pytest.raises(IntegrityError, match=r"01-mp4\.mp4"):
        composition.write(io.BytesIO(), lambda c: io.BytesIO(b"w" + video[1:]))


# --- property-based: any Zoom text -------------------------------------------------------------


class _Markup(HTMLParser):
    """Every piece of markup in a document, in order: tags with their attributes, comments, declarations."""

    def __init__(self, document: str) -> None:
        super().__init__()
        self.seen: list[tuple[str, ...]] = []
        self.feed(document)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append(("start", tag, *(f"{name}={value}" for name, value in attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append(("startend", tag, *(f"{name}={value}" for name, value in attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.seen.append(("end", tag))

    def handle_comment(self, data: str) -> None:
        self.seen.append(("comment", data))

    def handle_decl(self, decl: str) -> None:
        self.seen.append(("decl", decl))

    def handle_pi(self, data: str) -> None:
        self.seen.append(("pi", data))

    def unknown_decl(self, data: str) -> None:
        self.seen.append(("unknown", data))


OUR_HEADERS = (
    "Subject",
    "From",
    "To",
    "Date",
    "Message-ID",
    "X-Zoom-Meeting-UUID",
    "X-Zoom-Meeting-ID",
    "X-Zoom-Archive-Key",
    "X-Zoom-File-SHA256",
    "MIME-Version",
    "Content-Type",
)
MARKUP = str.maketrans("<>&\"'", "_____")  # HTML's special characters, each replaced by a harmless one

zoom_text = st.text(
    alphabet=st.characters(exclude_categories=()), max_size=300
)  # any script, emoji, controls, surrogates
markup = st.sampled_from(["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</td></tr></table>", "&amp;"])
chat_text = st.lists(st.one_of(zoom_text, markup), max_size=4).map("".join)


def assert_headers_ours(data: bytes, files: int) -> None:
    """Exactly our top-level headers, each once (the file hashes once a file), and every raw header line either
    starts one of them or continues the one before (folded), with no other line break in it: Zoom text can add
    no header, and no line break that a reader splitting lines by Unicode's rules would see."""
    expected = Counter({name: 1 for name in OUR_HEADERS if name != "X-Zoom-File-SHA256"})
    expected.update({"X-Zoom-File-SHA256": files} if files else {})
    assert Counter(parsed(data).keys()) == expected
    block = data[: data.index(b"\r\n\r\n")]
    starts = tuple(f"{name}: ".encode() for name in OUR_HEADERS)
    for line in block.split(b"\r\n"):
        assert len(line.decode().splitlines()) == 1, line  # no CR, LF, VT, FF, NEL, U+2028... within a line
        assert line.startswith(starts) or line.startswith((b" ", b"\t")), line


def assert_safe(data: bytes, plain: bytes, files: int = 0) -> str:
    """The message parses back cleanly, its headers are ours and single-line, and its HTML has exactly the markup
    of `plain`, the same message made from the same Zoom text with HTML's special characters replaced."""
    assert_headers_ours(data, files)
    html = parsed(data).get_body(preferencelist=("html",)).get_content()
    assert _Markup(html).seen == _Markup(parsed(plain).get_body(preferencelist=("html",)).get_content()).seen
    return html


def test_a_topic_in_any_script_keeps_its_spaces_in_the_subject() -> None:
    """RFC 2047 encoded words drop the space between them when folded: the headers are UTF-8 instead."""
    topic = "000000000000 0¡¡¡¡¡𐀀𐀀𐀀𐀀𐀀 ¡ Réunion 会議"
    data = build_message(meeting(topic=topic), [], {})
    assert str(parsed(data)["Subject"]).startswith(topic + " - Zoom meeting")
    assert read_message(data).subject.startswith(topic)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topic=zoom_text, name=zoom_text, other=zoom_text)
def test_any_zoom_text_round_trips_without_new_headers_or_markup(topic: str, name: str, other: str) -> None:
    def make(topic: str, name: str, other: str) -> bytes:
        people = (attendee(name, "alice@contoso.example"), attendee(other, ""))
        return build_message(meeting(topic=topic, name=name, participants=people), [], {})

    data = make(topic, name, other)
    assert_safe(data, make(*(t.translate(MARKUP) for t in (topic, name, other))))
    assert header_text(topic, 160) in str(parsed(data)["Subject"]) or not header_text(topic)
    assert read_message(data).record["topic"] == topic


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(st.tuples(st.integers(0, 86399), zoom_text, chat_text), max_size=8),
    cue=chat_text,
)
def test_any_chat_or_transcript_text_is_shown_escaped_and_the_file_kept_whole(
    lines: list[tuple[int, str, str]], cue: str
) -> None:
    def make(lines: list[tuple[int, str, str]], cue: str) -> tuple[bytes, bytes, bytes]:
        chat = "".join(
            f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}\t{name}:\t{text}\r\n" for s, name, text in lines
        ).encode("utf-8", "surrogatepass")
        vtt = f"WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\n{cue}\n".encode("utf-8", "surrogatepass")
        files = [captured(1, "CHAT", chat), captured(2, "TRANSCRIPT", vtt)]
        return build_message(meeting(), files, {"key-1": chat, "key-2": vtt}), chat, vtt

    data, chat, vtt = make(lines, cue)
    plain, _, _ = make([(s, n.translate(MARKUP), t.translate(MARKUP)) for s, n, t in lines], cue.translate(MARKUP))
    html = assert_safe(data, plain, files=2)
    attachments = {a.filename: a.data for a in read_message(data).attachments}
    assert attachments["01-chat.txt"] == chat and attachments["02-transcript.vtt"] == vtt
    for _, _, text in lines:
        for word in re.findall(r"[A-Za-z0-9]{3,}", text.split("\n")[0].split("\r")[0]):
            assert word in html  # what was said is searchable in the body
