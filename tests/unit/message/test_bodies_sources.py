"""What the bodies say of a meeting's sources: which Zoom sources the record came from, where each file came
from (the cloud recording, the archive, a breakout room, one participant's recording), the archived chat
(CHAT_MESSAGE) read like the chat file with private messages marked, and a member log under its room."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import timedelta

from shared.message.compose import build_message
from shared.records import BreakoutRoom, CapturedFile, RecordingFile
from shared.settings import ARCHIVING, MEETINGS, RECORDINGS
from tests.unit.message.examples import START, Page, bodies, captured, meeting

ROOM = BreakoutRoom("room1==", "Pricing", START + timedelta(minutes=10), START + timedelta(minutes=25))


def archived(number: int, file_type: str, data: bytes, room: str = "", participant: str = "") -> CapturedFile:
    """A downloaded archive file: JSON ones (CHAT_MESSAGE, SUB_GROUP_MEMBER_LOG) as Zoom's archiving names them."""
    extension = "JSON" if file_type in ("CHAT_MESSAGE", "SUB_GROUP_MEMBER_LOG", "TRANSCRIPT") else "M4A"
    file = RecordingFile(
        f"key-{number}", file_type, extension, "", len(data), "", START, START + timedelta(hours=1), "completed"
    )
    file = replace(file, source=ARCHIVING, room=room, participant=participant, individual=bool(participant))
    name = f"{number:02d}-{file_type.lower()}.{extension.lower()}"
    kind = "application/json" if extension == "JSON" else "audio/mp4"
    return CapturedFile(file, name, kind, len(data), hashlib.sha256(data).hexdigest())


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


CHAT = json.dumps(
    {
        "uuid": "/ajXp112QmuoKj4854875==",
        "messages": [
            {
                "msg_type": 1,
                "e_time": "00:01:02",
                "s_name": b64("Alice"),
                "msg_id": b64("m1"),
                "msg_extended_type": "010101000100",
                "msg_content": b64("Hi <all>"),
            },
            {
                "msg_type": 2,
                "e_time": "00:02:00",
                "s_name": b64("Bob"),
                "s_email": b64("bob@contoso.example"),
                "r_name": b64("Alice"),
                "msg_id": b64("m2"),
                "msg_extended_type": "010101000400",
                "msg_content": b64("psst"),
            },
            {
                "msg_type": 3,
                "e_time": "00:03:00",
                "s_name": b64("Bob"),
                "msg_id": b64("m3"),
                "msg_extended_type": "010102000100",
                "original_msg_id": b64("m2"),
            },
        ],
    }
).encode()
LOG = json.dumps(
    {
        "archiving_start_time": "2026-03-04T04:30:00Z",
        "private_group": [
            {
                "id": "g1",
                "createTime": "00:10:00",
                "deleteTime": "00:12:00",
                "actions": [{"email": "carol@contoso.example", "joinTime": "00:10:00", "leaveTime": "00:12:00"}],
            }
        ],
    }
).encode()


def test_the_facts_name_the_sources_and_the_breakout_rooms() -> None:
    text, html = bodies(build_message(meeting(sources=(RECORDINGS, ARCHIVING, MEETINGS), rooms=(ROOM,)), [], {}))
    sources = "Zoom cloud recording; Zoom archiving; Zoom meeting details and participants"
    assert f"Sources: {sources}\n" in text
    assert "Breakout rooms: Pricing (2026-03-04 04:40:00 to 2026-03-04 04:55:00)\n" in text
    assert ["Sources", sources] in Page(html).rows


def test_each_file_says_where_it_came_from() -> None:
    files = [
        captured(1, "MP4", b"v" * 10),
        archived(2, "M4A", b"a" * 10, participant="bob@contoso.example"),
        archived(3, "M4A", b"r" * 10, room="room1=="),
    ]
    contents = {"key-1": b"v" * 10, "key-2": b"a" * 10, "key-3": b"r" * 10}
    text, html = bodies(build_message(meeting(rooms=(ROOM,)), files, contents))
    assert "01-mp4.mp4: MP4 from Zoom cloud recording," in text
    assert "02-m4a.m4a: M4A from Zoom archiving, individual recording of bob@contoso.example," in text
    assert "03-m4a.m4a: M4A from Zoom archiving, breakout room Pricing," in text
    assert any(row[0].startswith("From Zoom archiving, breakout room Pricing. SHA-256") for row in Page(html).rows)


def test_the_archived_chat_reads_like_the_chat_file_with_private_messages_and_deletions_marked() -> None:
    files = [archived(1, "CHAT_MESSAGE", CHAT)]
    text, html = bodies(build_message(meeting(), files, {"key-1": CHAT}))
    assert "In-meeting chat as Zoom archived it (private messages, edits and deletions included)" in text
    assert "04:31:02 Alice to Everyone: Hi <all>\n" in text  # times count from the meeting's start, in its zone
    assert "04:32:00 Bob <bob@contoso.example> to Alice (privately): psst\n" in text
    assert '04:33:00 Bob to Everyone: [deleted "psst" (message m2)]\n' in text
    rows = Page(html).rows
    assert ["Time", "From", "To", "Text"] in rows and ["04:31:02", "Alice", "Everyone", "Hi <all>"] in rows
    assert ["04:32:00", "Bob <bob@contoso.example>", "Alice (privately)", "psst\n(message m2)"] in rows


def test_a_breakout_room_s_member_log_is_shown_under_its_room() -> None:
    files = [archived(1, "SUB_GROUP_MEMBER_LOG", LOG, room="room1==")]
    text, html = bodies(build_message(meeting(rooms=(ROOM,)), files, {"key-1": LOG}))
    assert "Breakout room Pricing: Member log (01-sub_group_member_log.json;" in text
    assert any(h.startswith("Breakout room Pricing: Member log") for h in Page(html).headings)
    assert "carol@contoso.example: joined 00:10:00, left 00:12:00" in text


def test_zoom_s_archived_transcript_is_archived_but_not_shown_as_text() -> None:
    transcript = b'{"transcript": [{"text": "hello"}]}'
    files = [archived(1, "TRANSCRIPT", transcript)]
    text, _ = bodies(build_message(meeting(), files, {"key-1": transcript}))
    assert "01-transcript.json: TRANSCRIPT from Zoom archiving" in text and "Transcript (" not in text


def test_a_file_zoom_s_archiving_failed_to_make_is_said_so() -> None:
    failed = replace(
        RecordingFile("t1", "TRANSCRIPT", "JSON", "", None, "", START, START + timedelta(hours=1), "failed"),
        source=ARCHIVING,
    )
    text, html = bodies(build_message(meeting(not_archived=(failed,)), [], {}))
    assert "Files Zoom's archiving failed to make (1)" in text
    assert "- TRANSCRIPT, recorded 2026-03-04 04:30:00 to 2026-03-04 05:30:00, from Zoom archiving\n" in text
    assert ["TRANSCRIPT", "2026-03-04 04:30:00 to 2026-03-04 05:30:00", "Zoom archiving"] in Page(html).rows
