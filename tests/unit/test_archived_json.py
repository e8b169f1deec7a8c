"""The JSON files of Zoom's archiving, as Zoom's "Archived JSON schemas" page documents them: the in-meeting chat
with private messages, edits, deletions, reactions, nonverbal feedback, replies, files and audiences (base64
names, ids and text), read from a JSON file or a base64 one, and the subgroups' member log; damaged files say so
and lose nothing else."""

from __future__ import annotations

import base64
import io
import json
from datetime import timedelta
from typing import Any

from shared.archived_json import (
    DELETED,
    EDITED,
    FEEDBACK,
    PRIVATE,
    PUBLIC,
    REACTION,
    READ_LIMIT,
    REPLY,
    ArchivedChat,
    chat_transcript,
    member_log_transcript,
    read_chat,
    read_member_log,
)
from shared.transcript import REPLY as REPLY_LINE
from shared.transcript import Utterance


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def entry(msg_type: int, e_time: str, sender: str, msg_id: str = "", **fields: Any) -> dict[str, Any]:
    """A message in the schema's shape: names, emails, ids and text in base64; `msg_extended_type` says the
    sender was in the meeting and wrote to everyone unless given."""
    name, _, email = sender.partition("|")
    return {
        "msg_type": msg_type,
        "e_time": e_time,
        "e_archive_time": e_time,
        "s_id": "16778240",
        "s_name": b64(name),
        "s_email": b64(email),
        **({"msg_id": b64(msg_id), "msg_extended_type": "010101000100"} if msg_id else {}),
        **fields,
    }


ALICE, BOB, CAROL = "Alice Archer|alice@contoso.example", "Bob Baker|bob@contoso.example", "Carol Cho|"
CHAT = {
    "uuid": "yO3dfhh3t467UkQ==",
    "messages": [
        entry(1, "00:01:02", ALICE, "m1", msg_content=b64("Hello everyone")),
        entry(
            2,
            "00:02:00",
            BOB,
            "m2",
            msg_extended_type="010101000400",
            r_id="16778241",
            r_name=b64("Alice Archer"),
            r_email=b64("alice@contoso.example"),
            msg_content=b64("just between us"),
        ),
        entry(6, "00:03:00", ALICE, "m6", original_msg_id=b64("m1"), msg_content=b64("Hello all")),
        entry(3, "00:04:00", BOB, "m7", original_msg_id=b64("m2"), msg_extended_type="010102000400"),
        entry(7, "00:05:00", CAROL, "m3", parent_msg_id=b64("m1"), msg_content=b64("agreed")),
        entry(4, "00:06:00", CAROL, msg_content=b64("👍")),
        entry(5, "00:06:30", CAROL, msg_content="1"),
        entry(
            1,
            "00:07:00",
            ALICE,
            "m5",
            msg_content=b64("the plan"),
            files=[{"fileId": "f1", "fileName": "plan.pdf", "fileSize": 1024}],
            rich_text=[{"start_position": 0, "end_position": 3, "format_type": "Bold"}],
        ),
    ],
}


def chat(data: bytes) -> ArchivedChat:
    return read_chat(io.BytesIO(data))


def test_each_message_has_its_kind_time_sender_recipient_and_text_decoded() -> None:
    messages = chat(json.dumps(CHAT).encode()).messages
    assert [m.kind for m in messages] == [PUBLIC, PRIVATE, EDITED, DELETED, REPLY, REACTION, FEEDBACK, PUBLIC]
    first, private = messages[0], messages[1]
    assert (first.offset, first.sender, first.sender_email, first.text) == (
        timedelta(minutes=1, seconds=2),
        "Alice Archer",
        "alice@contoso.example",
        "Hello everyone",
    )
    assert first.message_id == "m1" and not first.private and first.since_archiving is False
    assert private.private and (private.recipient, private.recipient_email) == ("Alice Archer", "alice@contoso.example")
    assert messages[2].changes == "m1" and messages[3].changes == "m2" and messages[4].replied_to == "m1"
    assert messages[7].files == ("plan.pdf (1024 bytes)",) and messages[7].other == ()


def test_a_file_encoded_in_base64_whole_is_read_too() -> None:
    assert chat(base64.b64encode(json.dumps(CHAT).encode())).messages == chat(json.dumps(CHAT).encode()).messages


def test_the_time_since_archiving_started_stands_in_only_for_a_missing_time_since_the_meeting_started() -> None:
    both = {**CHAT["messages"][0], "e_archive_time": "00:00:50"}
    (message,) = chat(json.dumps({"messages": [both]}).encode()).messages
    assert message.offset == timedelta(minutes=1, seconds=2) and not message.since_archiving
    only = {k: v for k, v in both.items() if k != "e_time"}
    (message,) = chat(json.dumps({"messages": [only]}).encode()).messages
    assert message.offset == timedelta(seconds=50) and message.since_archiving


def test_the_chat_reads_like_a_chat_file_with_private_messages_edits_deletions_and_replies_marked() -> None:
    lines = chat_transcript(chat(json.dumps(CHAT).encode())).utterances
    alice, bob = "Alice Archer <alice@contoso.example>", "Bob Baker <bob@contoso.example>"
    assert lines[0] == Utterance(
        timedelta(minutes=1, seconds=2), alice, "Hello everyone\n(message m1)", recipient="Everyone"
    )
    assert (lines[1].speaker, lines[1].recipient, lines[1].private) == (bob, alice, True)
    assert lines[1].text == "just between us\n(message m2)"
    assert lines[2].text == '[edited "Hello everyone" (message m1), now:] Hello all'
    assert lines[3].text == '[deleted "just between us" (message m2)]' and lines[3].private
    assert lines[4] == Utterance(
        timedelta(minutes=5), "Carol Cho", "agreed", recipient="Everyone", refers_to="Hello everyone", kind=REPLY_LINE
    )
    assert lines[5].text == "[reaction] 👍"
    assert lines[6].text == "[nonverbal feedback] raising hand"
    assert lines[7].text == "the plan\n[file: plan.pdf (1024 bytes)]"  # the formatting is not shown


def test_the_extended_type_says_to_whom_a_message_went_and_where_its_sender_was() -> None:
    messages = [
        entry(1, "00:01:00", ALICE, "w1", msg_extended_type="040101000500", msg_content=b64("please wait")),
        entry(1, "00:02:00", ALICE, "w2", msg_extended_type="020201000200", msg_content=b64("panel only")),
        entry(1, "00:03:00", BOB, "w3", msg_extended_type="030301000100", msg_content=b64("room talk")),
        entry(
            1,
            "00:04:00",
            BOB,
            "w4",
            msg_extended_type="010101000700",
            private_group_id=b64("g1"),
            msg_content=b64("group only"),
        ),
    ]
    lines = chat_transcript(chat(json.dumps({"uuid": "x", "messages": messages}).encode())).utterances
    assert [(u.recipient, u.private) for u in lines] == [
        ("Waiting room participants", False),
        ("Hosts and panelists", False),
        ("Everyone", False),
        ("private group chat g1", True),
    ]
    assert lines[0].text.startswith("[in the waiting room] please wait")
    assert lines[2].text.startswith("[in a breakout room] room talk")


def test_fields_zoom_may_add_are_shown_as_they_are() -> None:
    (message,) = chat(json.dumps({"messages": [{**CHAT["messages"][0], "room": "BO 1"}]}).encode()).messages
    assert message.other == (("room", "BO 1"),)
    assert chat_transcript(ArchivedChat((message,))).utterances[0].text == "Hello everyone\nroom: BO 1"


def test_a_text_that_is_not_base64_is_kept_as_it_is() -> None:
    plain = {"msg_type": 1, "e_time": "00:00:01", "s_name": "Dave", "msg_content": "Test", "msg_id": "not base64!"}
    (message,) = chat(json.dumps({"messages": [plain]}).encode()).messages
    assert (message.sender, message.text, message.message_id) == ("Dave", "Test", "not base64!")


def test_a_damaged_or_oversized_file_says_so_instead_of_failing() -> None:
    assert chat(b'{"messages": [').problem == "the file is not valid JSON"
    assert chat(b"\x00\x01garbage").problem == "the file is neither JSON nor base64-encoded JSON"
    assert "larger than 16 MB" in chat(b"[" + b" " * READ_LIMIT + b"]").problem
    assert chat_transcript(chat(b"{")).utterances == (Utterance(None, "", "[the file is not valid JSON]"),)
    assert chat(b'{"messages": [1, "x", null, {"msg_type": "?", "files": "x"}]}').messages[0].kind == 0


LOG = {
    "archiving_start_time": "2026-03-02T10:00:00Z",
    "backstage_room": {
        "id": "bs1",
        "createTime": "00:00:30",
        "deleteTime": "00:10:30",
        "actions": [{"email": "bob@contoso.example", "joinTime": "00:00:30", "leaveTime": "00:05:00"}],
    },
    "private_group": [
        {
            "id": "g1",
            "createTime": "00:02:00",
            "deleteTime": "00:20:30",
            "actions": [
                {"email": "carol@contoso.example", "joinTime": "00:02:00", "leaveTime": "00:20:30"},
                {"email": "bob@contoso.example", "joinTime": "00:03:00", "leaveTime": "00:04:00"},
                {"joinTime": "00:05:00", "leaveTime": "00:06:00"},
            ],
        }
    ],
}


def test_a_member_log_names_each_subgroup_and_who_was_in_it_when() -> None:
    log = read_member_log(io.BytesIO(json.dumps(LOG).encode()))
    assert [(g.kind, g.id, g.created, g.deleted, len(g.members)) for g in log.groups] == [
        ("Backstage", "bs1", "00:00:30", "00:10:30", 1),
        ("Private chat group", "g1", "00:02:00", "00:20:30", 3),
    ]
    assert log.emails == ("bob@contoso.example", "carol@contoso.example")
    assert [u.text for u in member_log_transcript(log).utterances] == [
        "Times count from when archiving started (2026-03-02T10:00:00Z).",
        "Backstage bs1: opened 00:00:30, closed 00:10:30",
        "  bob@contoso.example: joined 00:00:30, left 00:05:00",
        "Private chat group g1: opened 00:02:00, closed 00:20:30",
        "  carol@contoso.example: joined 00:02:00, left 00:20:30",
        "  bob@contoso.example: joined 00:03:00, left 00:04:00",
        "  (no email): joined 00:05:00, left 00:06:00",
    ]


def test_a_member_log_that_cannot_be_read_says_why() -> None:
    assert read_member_log(io.BytesIO(b"nope")).problem
    assert read_member_log(io.BytesIO(b'[{"a": 1}]')).problem == (
        "the file is not in the shape Zoom documents for a member log"
    )
    assert read_member_log(io.BytesIO(b'{"archiving_start_time": "x", "private_group": [1, null]}')).groups == ()
