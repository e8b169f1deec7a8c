"""The text and HTML bodies: every fact, person, line said, poll, question, summary and file of the meeting,
readable where mail is read, searchable, and shown as text whatever Zoom sends."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.message.bodies import read_said
from shared.message.compose import build_message, compose
from shared.message.reader import read_message
from shared.records import MissingFile, Participant, PollAnswer, Question, Session, StoredIn, Summary
from tests.conftest import shared_file
from tests.corpus import answer, sample
from tests.unit.message.examples import (
    MARKUP,
    START,
    ZONE,
    Page,
    assert_headers_ours,
    assert_markup_of,
    attendee,
    bodies,
    captured,
    chat_text,
    meeting,
    zoom_text,
)


def test_the_bodies_state_the_meeting_facts() -> None:
    end = START + timedelta(minutes=47)
    video = captured(1, "MP4", b"v", start=START + timedelta(minutes=5))  # recorded 09:35 to 10:35 UTC
    built = meeting(end=end, end_source="details", timezone_source="meeting", recording_minutes=60, files=(video.file,))
    text, html = bodies(build_message(built, [video], {"key-1": b"v"}))
    facts = [
        ("Topic", "Planning"),
        ("Meeting ID", "123"),
        ("Meeting UUID", "/ajXp112QmuoKj4854875=="),
        ("Host", "Alice Archer <alice@contoso.example>"),
        ("Start", "2026-03-04 04:30:00"),  # in the meeting's time zone
        ("End", "2026-03-04 05:17:00 (from Zoom's past meeting details)"),
        ("Duration", "45 minutes"),
        ("Recorded", "2026-03-04 04:35:00 to 2026-03-04 05:35:00 (60 minutes)"),
        ("Time zone", f"{ZONE} (the meeting's)"),
        ("Type", "Scheduled meeting (type 2)"),
    ]
    assert "\n".join(f"{label}: {value}" for label, value in facts) in text
    assert all([label, value] in Page(html).rows for label, value in facts)


def test_the_time_zone_is_the_hosts_when_zoom_names_none_for_the_meeting_and_the_body_says_so() -> None:
    text, html = bodies(build_message(meeting(timezone="Europe/Paris", timezone_source="host"), [], {}))
    assert "Start: 2026-03-04 10:30:00" in text
    assert ["Time zone", "Europe/Paris (the host's: Zoom names none for the meeting)"] in Page(html).rows


def test_a_meeting_without_its_end_or_a_known_zone_says_so_and_is_dated_in_utc() -> None:
    text, html = bodies(build_message(meeting(timezone="Not/AZone", type=42), [], {}))
    assert "Start: 2026-03-04 09:30:00\nEnd: unknown: Zoom gives no end time" in text  # never start + a duration
    assert "Duration:" not in text and "Type: type 42" in text
    assert ["Time zone", "UTC (neither the meeting nor its host names a time zone)"] in Page(html).rows


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
    assert (
        "Participants (2)\n"
        "- Bob Baker <bob@contoso.example> (internal), total 0:35:00\n"
        "    joined 2026-03-04 04:30:00, left 2026-03-04 04:40:00 (0:10:00)\n"
        "    joined 2026-03-04 04:50:00, left 2026-03-04 05:15:00 (0:25:00)\n"
        "- Grace Guest <grace@fabrikam.example> (external), total 0:00:30\n"
        "    joined 2026-03-04 04:30:00, left unknown (0:00:30)\n"
    ) in text
    page = Page(html)
    assert "Participants (2)" in page.headings
    assert ["Name", "Email", "Internal/external", "Joined", "Left", "Duration", "Total"] in page.rows
    # A person's name, email, kind and total span their sessions' rows.
    bob_rows = [
        [
            "Bob Baker",
            "bob@contoso.example",
            "internal",
            "2026-03-04 04:30:00",
            "2026-03-04 04:40:00",
            "0:10:00",
            "0:35:00",
        ],
        ["2026-03-04 04:50:00", "2026-03-04 05:15:00", "0:25:00"],
    ]
    assert page.rows[page.rows.index(bob_rows[0]) + 1] == bob_rows[1]
    assert '<td rowspan="2">Bob Baker</td>' in html
    assert [
        "Grace Guest",
        "grace@fabrikam.example",
        "external",
        "2026-03-04 04:30:00",
        "unknown",
        "0:00:30",
        "0:00:30",
    ] in page.rows


def test_the_manifest_lists_every_file_and_where_it_went() -> None:
    video, chat = b"v" * 5000, b"00:00:01\tAlice:\thi\r\n"
    files = [
        captured(1, "MP4", video, stored=True, fingerprint=hashlib.sha256(video).hexdigest()),
        captured(2, "CHAT", chat),
    ]
    stored_in = StoredIn("starchive", "recordings", "https://starchive.blob.core.windows.net/recordings")
    out = io.BytesIO()
    compose(meeting(), files, {}, stored_in=stored_in).write(out, lambda c: io.BytesIO(chat))
    text, html = bodies(out.getvalue())
    video_sha, chat_sha = hashlib.sha256(video).hexdigest(), hashlib.sha256(chat).hexdigest()
    assert (
        f"Files (2)\n- 01-mp4.mp4: MP4, 4.9 KB, SHA-256 {video_sha}, matches Zoom's fingerprint, stored in the "
        f"archive (see below)\n- 02-chat.txt: CHAT, 20 bytes, SHA-256 {chat_sha}, attached\n"
    ) in text
    url = f"https://starchive.blob.core.windows.net/recordings/{video_sha}.mp4"
    assert (
        f"- 01-mp4.mp4 (4.9 KB)\n    SHA-256: {video_sha}\n    Storage account: starchive\n    Container: recordings\n"
        f"    Blob: {video_sha}.mp4\n    URL: {url}\n    Download: az storage blob download --auth-mode login "
        f"--account-name starchive --container-name recordings --name {video_sha}.mp4 --file 01-mp4.mp4\n"
    ) in text
    page = Page(html)
    assert ["01-mp4.mp4", "MP4", "4.9 KB", "stored in the archive (see below)"] in page.rows
    assert [f"SHA-256 {video_sha}, matches Zoom's fingerprint"] in page.rows
    assert ["02-chat.txt", "CHAT", "20 bytes", "attached"] in page.rows and [f"SHA-256 {chat_sha}"] in page.rows
    assert "Files stored in the archive instead of attached" in page.headings
    assert [["File", "01-mp4.mp4 (4.9 KB)"], ["SHA-256", video_sha], ["Storage account", "starchive"]] == [
        row for row in page.rows if row[0] in ("File", "SHA-256", "Storage account")
    ]
    assert ["Blob", f"{video_sha}.mp4"] in page.rows and ["URL", url] in page.rows
    attachments = {a.filename: a.data for a in read_message(out.getvalue()).attachments}
    assert attachments["02-chat.txt"] == chat  # CRLF and tabs untouched
    assert "01-mp4.mp4" not in attachments


def test_an_addition_says_what_it_adds_and_to_which_message() -> None:
    vtt = b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nAlice: late\n"
    files = [captured(1, "TRANSCRIPT", vtt)]
    original = read_message(build_message(meeting(), [], {}))
    data = build_message(meeting(addition=True, files=(files[0].file,)), files, {"key-1": vtt})
    text, html = bodies(data)
    said = (
        "This message adds 1 file that Zoom made available after the meeting was archived. The meeting's own "
        f"message has the same topic and start (2026-03-04 04:30:00); its Message-ID is {original.message_id}."
    )
    assert f"Zoom meeting record\n\n{said}\n" in text and said in Page(html).paragraphs
    addition = read_message(data)
    assert addition.in_reply_to == original.message_id and original.in_reply_to == ""
    assert addition.record.addition_to == original.archive_key and original.record.addition_to == ""


def test_the_chat_is_text_with_speakers_and_wall_clock_times_from_the_meetings_start() -> None:
    chat = b"00:01:02\tAlice Archer:\tHello <b>all</b>\r\nsecond line\r\n00:02:03\tBob Baker:\tHi & bye\r\n"
    recording_start = START + timedelta(minutes=2)  # a cloud chat's times count from the meeting's start anyway
    files = [captured(1, "CHAT", chat, start=recording_start)]
    text, html = bodies(build_message(meeting(), files, {"key-1": chat}))
    heading = "In-meeting chat (01-chat.txt; the meeting started 2026-03-04 04:30:00, times in America/New_York)"
    # 09:30 UTC meeting start + 1 min 2 s, shown in New York time
    assert (
        f"{heading}\n04:31:02 Alice Archer: Hello <b>all</b>\n    second line\n04:32:03 Bob Baker: Hi & bye\n" in text
    )
    page = Page(html)
    assert heading in page.headings
    assert ["04:31:02", "Alice Archer", "Hello <b>all</b>\nsecond line"] in page.rows
    assert ["04:32:03", "Bob Baker", "Hi & bye"] in page.rows


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
    assert "04:30:04 Andrew Knight: Okay, so we're recording.\n04:30:09 And that\n" in text  # one unattributed
    assert ["04:30:04", "Andrew Knight", "Okay, so we're recording."] in Page(html).rows
    assert ["04:30:09", "", "And that"] in Page(html).rows


def _sample_times(offset: str) -> str:
    hours, minutes, seconds = (int(p) for p in offset.split(".")[0].split(":"))
    moment = START + timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return moment.astimezone(ZoneInfo(ZONE)).strftime("%H:%M:%S")


def test_every_line_of_a_real_chat_file_is_in_the_body() -> None:
    chat = shared_file("samples/zoom/cloud-chat-file.txt").read_bytes()
    text, html = bodies(build_message(meeting(), [captured(1, "CHAT", chat)], {"key-1": chat}))
    lines = chat.decode().split("\r\n")[:-1]
    assert len(lines) == 10
    rows = Page(html).rows
    for line in lines:
        offset, speaker, said = line.split("\t")
        clock = _sample_times(offset)
        assert f"{clock} {speaker} {said}" in text
        assert [clock, speaker[:-1], said] in rows


def test_every_cue_of_a_real_transcript_is_in_the_body() -> None:
    vtt = shared_file("samples/zoom/cloud-transcript.vtt").read_bytes()
    text, html = bodies(build_message(meeting(), [captured(1, "TRANSCRIPT", vtt)], {"key-1": vtt}))
    cues = vtt.decode().replace("\r\n", "\n").strip().split("\n\n")[1:]
    assert len(cues) == 300
    rows = Page(html).rows
    for cue in cues:
        number, timing, said = cue.strip().split("\n")
        clock = _sample_times(timing.split(" --> ")[0])
        assert f"{clock} {said}" in text, f"cue {number}"
        speaker, _, words = said.rpartition(": ")
        assert [clock, speaker, words] in rows, f"cue {number}"


def test_polls_questions_and_the_ai_summary_are_in_the_bodies() -> None:
    polls = (
        PollAnswer("Lunch <poll>", "Bob", "bob@contoso.example", "Pizza?", "Yes & more", START),
        PollAnswer("Lunch <poll>", "Cy", "", "Pizza?", "No", None),
    )
    qa = (Question("Dan", "dan@contoso.example", "When is <i>launch</i>?", "Monday"), Question("Eve", "", "Why?", ""))
    summary = Summary("Quarterly plan", "We agreed\non a plan.", (("Budget", "Up 5%"),), ("Send notes",))
    one = bodies(build_message(meeting(polls=polls[:1]), [], {}))
    assert "Polls (1 answer)\n" in one[0] and "Polls (1 answer)" in Page(one[1]).headings
    data = build_message(meeting(polls=polls, qa=qa, summary=summary), [], {})
    text, html = bodies(data)
    assert (
        "Polls (2 answers)\n- Lunch <poll>: Pizza?\n"
        "    Bob <bob@contoso.example>: Yes & more (2026-03-04 04:30:00)\n    Cy: No (unknown)\n"
    ) in text
    assert (
        "Questions and answers (2)\n- Dan <dan@contoso.example> asked: When is <i>launch</i>?\n    Answer: Monday\n"
        "- Eve asked: Why?\n    Answer: (not answered)\n"
    ) in text
    assert "AI summary: Quarterly plan\nWe agreed\non a plan.\nBudget: Up 5%\nNext steps:\n- Send notes" in text
    page = Page(html)
    assert ["Lunch <poll>", "Pizza?", "Bob <bob@contoso.example>", "Yes & more", "2026-03-04 04:30:00"] in page.rows
    assert ["Lunch <poll>", "Pizza?", "Cy", "No", "unknown"] in page.rows
    assert ["Dan <dan@contoso.example>", "When is <i>launch</i>?", "Monday"] in page.rows
    assert ["Eve", "Why?", "(not answered)"] in page.rows
    assert "AI summary: Quarterly plan" in page.headings and "We agreed\non a plan." in page.paragraphs
    assert ["Budget", "Up 5%"] in page.rows and ["Send notes"] in page.rows


def test_the_hosts_edited_summary_is_archived_beside_zooms_own() -> None:
    edited = Summary("Quarterly plan", "We agreed on <b>a bigger</b> plan.", (("", "Budget up 7% & more"),), ("Call",))
    summary = Summary("Quarterly plan", "We agreed on a plan.", (("Budget", "Up 5%"),), ("Send notes",), edited)
    text, html = bodies(build_message(meeting(summary=summary), [], {}))
    assert "AI summary: Quarterly plan\nWe agreed on a plan.\nBudget: Up 5%\nNext steps:\n- Send notes" in text
    assert (
        "AI summary as edited by the host: Quarterly plan\nWe agreed on <b>a bigger</b> plan.\n"
        "Budget up 7% & more\nNext steps:\n- Call"
    ) in text
    page = Page(html)
    assert page.headings[-3:-1] == ["AI summary: Quarterly plan", "AI summary as edited by the host: Quarterly plan"]
    assert "We agreed on <b>a bigger</b> plan." in page.paragraphs
    assert ["", "Budget up 7% & more"] in page.rows and ["Call"] in page.rows


def test_bodies_show_less_chat_when_the_message_must_be_small_and_say_so() -> None:
    chat = b"".join(f"00:00:{n:02d}\tAlice:\tline {n}\r\n".encode() for n in range(50))
    files = [captured(1, "CHAT", chat)]
    said = read_said(files, lambda c: io.BytesIO(chat))
    short = compose(meeting(), files, said, said_limit=60)
    out = io.BytesIO()
    short.write(out, lambda c: io.BytesIO(chat))
    text, html = bodies(out.getvalue())
    assert "line 0" in text and "line 49" not in text
    notice = "Not all of it is shown here, for the message's size: 01-chat.txt holds all of it."
    assert notice in text and notice in Page(html).paragraphs
    assert short.size < compose(meeting(), files, said).size


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
    assert message.record.topic == topic  # our record keeps Zoom's value exactly
    assert message.record.participants[0].name == name


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
        assert any("<script>alert(1)</script>" in cell for row in Page(html).rows for cell in row)


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
    assert_headers_ours(data, files=2)
    html = assert_markup_of(data, plain)
    attachments = {a.filename: a.data for a in read_message(data).attachments}
    assert attachments["01-chat.txt"] == chat and attachments["02-transcript.vtt"] == vtt
    for _, _, text in lines:
        for word in re.findall(r"[A-Za-z0-9]{3,}", text.split("\n")[0].split("\r")[0]):
            assert word in html  # what was said is searchable in the body


def test_a_saved_chat_shows_to_whom_each_message_went_and_marks_private_ones() -> None:
    chat = sample("chat/local-2023-bushong1.txt").read_bytes()
    text, html = bodies(build_message(meeting(), [captured(1, "CHAT", chat)], {"key-1": chat}))
    heading = "In-meeting chat (01-chat.txt; times as the file writes them, on its writer's clock)"
    assert heading in text and heading in Page(html).headings
    assert "10:01:00 John Doe to Everyone: Good morning folks\n" in text
    assert "10:03:00 John Doe to Open Mike (privately): Please mute\n" in text
    assert '10:01:10 Alice Balice to Everyone: (replying to "Good morning folks") Hi John\n' in text
    assert '10:04:06 Charlie Barlie (she/her) to Everyone: (reacted \U0001f44b to "Good morning folks")\n' in text
    page = Page(html)
    assert ["10:03:00", "John Doe", "Open Mike (privately)", "Please mute"] in page.rows
    assert ["Time", "From", "To", "Text"] in page.rows


def test_files_zoom_lists_that_could_not_be_fetched_are_named_with_why() -> None:
    chat = b"00:00:01\tAlice:\thi\r\n"
    video = captured(2, "MP4", b"v").file
    lost = MissingFile(replace(video, size=None), "download answered HTTP 404 (1 attempts)")
    listed = replace(
        captured(1, "CHAT", chat), note="Zoom lists 30 bytes; the download has 20, all the server announced"
    )
    text, html = bodies(build_message(meeting(missing=(lost,)), [listed], {"key-1": chat}))
    assert (
        "Files not archived (1): Zoom lists them, but they could not be fetched; a later run adds them\n"
        "- MP4, recorded 2026-03-04 04:30:00 to 2026-03-04 05:30:00: download answered HTTP 404 (1 attempts)\n"
    ) in text
    assert ["MP4", "2026-03-04 04:30:00 to 2026-03-04 05:30:00", "download answered HTTP 404 (1 attempts)"] in (
        Page(html).rows
    )
    assert "attached (Zoom lists 30 bytes; the download has 20, all the server announced)" in text


def test_the_ai_summary_as_markdown_is_readable_in_both_bodies_and_links_to_its_zoom_doc() -> None:
    summary = Summary.from_zoom(answer("api/meeting-summary-docs-zoomnet.json"))
    text, html = bodies(build_message(meeting(summary=summary), [], {}))
    assert "AI summary: Meeting summary for my meeting\n## Key takeaways\n- Mobile app performance issues" in text
    assert "As a Zoom Doc: https://docs.zoom.us/doc/1aBcDeFgHiJkLmNoPqRsTu" in text
    assert "<h2>Key takeaways</h2>" in html and "<li><strong>Details</strong>" in html
    assert '<a href="https://docs.zoom.us/doc/1aBcDeFgHiJkLmNoPqRsTu">' in html
    assert "Meeting overview" in text  # the older fields, present too, are shown as well


@given(markdown=zoom_text)
@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
def test_markdown_from_zoom_never_puts_its_own_markup_or_scripts_in_the_html_body(markdown: str) -> None:
    summary = Summary("T", "", (), (), content=f"{markdown}\n<script>alert(1)</script>[x](javascript:alert(1))")
    _, html = bodies(build_message(meeting(summary=summary), [], {}))
    assert "<script" not in html.lower() and 'href="javascript' not in html.lower()


def test_a_summary_zoom_gives_no_text_for_says_so() -> None:
    summary = Summary.from_zoom(answer("api/meeting-summary-2025-devforum-title-only.json"))
    text, html = bodies(build_message(meeting(summary=summary), [], {}))
    assert "AI summary: Meeting Summary for Introductory Chat\nZoom gives this summary a title but no text." in text
    assert "Zoom gives this summary a title but no text." in Page(html).paragraphs


def test_an_addition_says_what_it_adds_to_the_archived_meeting() -> None:
    summary = Summary("Plan", "Agreed.", (), ())
    text, html = bodies(build_message(meeting(summary=summary, addition=True), [], {}))
    said = "This message adds its AI summary that Zoom made available after the meeting was archived."
    assert said in text and said in " ".join(Page(html).paragraphs)
