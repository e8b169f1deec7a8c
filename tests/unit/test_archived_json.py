"""The JSON files of Zoom's archiving: the in-meeting chat with private messages, edits, deletions, reactions,
replies and files, read in the documented shape (base64 names and ids) or as a base64 file, and a breakout
room's member log; damaged files say so and lose nothing else."""

from __future__ import annotations

import base64
import io
import json
from datetime import timedelta
from typing import Any

from shared.archived_json import (
    DELETED,
    EDITED,
    PRIVATE,
    PUBLIC,
    READ_LIMIT,
    ArchivedChat,
    chat_transcript,
    read_chat,
    read_member_log,
)
from shared.transcript import REPLY, Utterance


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def entry(msg_type: int, e_time: str, sender: str, msg_id: str, **fields: Any) -> dict[str, Any]:
    """A message as Zoom's "Archived JSON schemas" page documents it: names, emails and ids in base64."""
    name, _, email = sender.partition("|")
    return {
        "msg_type": msg_type,
        "e_time": e_time,
        "s_id": "16778240",
        "s_name": b64(name),
        "s_email": b64(email),
        "msg_id": b64(msg_id),
        **fields,
    }


CHAT = {
    "uuid": "yO3dfhh3t467UkQ==",
    "messages": [
        entry(1, "00:01:02", "Alice Archer|alice@contoso.example", "m1", content=b64("Hello everyone")),
        entry(
            2,
            "00:02:00",
            "Bob Baker|bob@contoso.example",
            "m2",
            r_name=b64("Alice Archer"),
            r_email=b64("alice@contoso.example"),
            content=b64("just between us"),
        ),
        entry(6, "00:03:00", "Alice Archer|alice@contoso.example", "m1", content=b64("Hello all")),
        entry(3, "00:04:00", "Bob Baker|bob@contoso.example", "m2"),
        entry(7, "00:05:00", "Carol Cho|", "m3", content=b64("agreed"), reply_main_msg_id=b64("m1")),
        entry(4, "00:06:00", "Carol Cho|", "m4", content=b64("👍")),
        entry(1, "00:07:00", "Alice Archer|alice@contoso.example", "m5", files=[{"file_name": "plan.pdf"}]),
    ],
}


def chat(data: bytes) -> ArchivedChat:
    return read_chat(io.BytesIO(data))


def test_each_message_has_its_kind_time_sender_recipient_and_text_decoded() -> None:
    messages = chat(json.dumps(CHAT).encode()).messages
    assert [m.kind for m in messages] == [PUBLIC, PRIVATE, EDITED, DELETED, 7, 4, PUBLIC]
    first, private = messages[0], messages[1]
    assert (first.offset, first.sender, first.sender_email, first.text) == (
        timedelta(minutes=1, seconds=2),
        "Alice Archer",
        "alice@contoso.example",
        "Hello everyone",
    )
    assert first.message_id == "m1" and not first.private and first.since_archiving is False
    assert private.private and (private.recipient, private.recipient_email) == ("Alice Archer", "alice@contoso.example")
    assert messages[4].replied_to == "m1" and messages[6].files == ("plan.pdf",)


def test_a_file_encoded_in_base64_whole_is_read_too() -> None:
    assert chat(base64.b64encode(json.dumps(CHAT).encode())).messages == chat(json.dumps(CHAT).encode()).messages


def test_the_time_since_archiving_started_stands_in_only_for_a_missing_time_since_the_meeting_started() -> None:
    both = {**CHAT["messages"][0], "e_archive_time": "00:00:50"}
    (message,) = chat(json.dumps({"messages": [both]}).encode()).messages
    assert message.offset == timedelta(minutes=1, seconds=2) and not message.since_archiving
    only = {k: v for k, v in both.items() if k != "e_time"}
    (message,) = chat(json.dumps({"messages": [only]}).encode()).messages
    assert message.offset == timedelta(seconds=50) and message.since_archiving


def test_the_chat_reads_like_a_chat_file_with_private_messages_edits_and_deletions_marked() -> None:
    lines = chat_transcript(chat(json.dumps(CHAT).encode())).utterances
    alice, bob = "Alice Archer <alice@contoso.example>", "Bob Baker <bob@contoso.example>"
    assert lines[0] == Utterance(
        timedelta(minutes=1, seconds=2), alice, "Hello everyone\n(message m1)", recipient="Everyone"
    )
    assert (lines[1].speaker, lines[1].recipient, lines[1].private) == (bob, alice, True)
    assert lines[1].text == "just between us\n(message m2)"
    assert lines[2].text == '[edited "Hello everyone" (message m1), now:] Hello all'
    assert lines[3].text == '[deleted "just between us" (message m2)]'
    assert lines[4] == Utterance(
        timedelta(minutes=5), "Carol Cho", "agreed", recipient="Everyone", refers_to="Hello everyone", kind=REPLY
    )
    assert lines[5].text == "[reaction] 👍"
    assert lines[6].text == "[file: plan.pdf]"


def test_fields_zoom_may_add_are_shown_as_they_are() -> None:
    (message,) = chat(
        json.dumps({"messages": [{**CHAT["messages"][0], "msg_extended_type": 2, "room": "BO 1"}]}).encode()
    ).messages
    assert message.other == (("room", "BO 1"),)
    assert chat_transcript(ArchivedChat((message,))).utterances[0].text == "Hello everyone\nroom: BO 1"


def test_a_text_that_is_not_base64_is_kept_as_it_is() -> None:
    plain = {"msg_type": 1, "e_time": "00:00:01", "s_name": "Dave", "content": "Test", "msg_id": "not base64!"}
    (message,) = chat(json.dumps({"messages": [plain]}).encode()).messages
    assert (message.sender, message.text, message.message_id) == ("Dave", "Test", "not base64!")


def test_a_damaged_or_oversized_file_says_so_instead_of_failing() -> None:
    assert chat(b'{"messages": [').problem == "the file is not valid JSON"
    assert chat(b"\x00\x01garbage").problem == "the file is neither JSON nor base64-encoded JSON"
    assert "larger than 16 MB" in chat(b"[" + b" " * READ_LIMIT + b"]").problem
    assert chat_transcript(chat(b"{")).utterances == (Utterance(None, "", "[the file is not valid JSON]"),)
    assert chat(b'{"messages": [1, "x", null, {"msg_type": "?"}]}').messages[0].kind == 0


def test_a_member_log_shows_each_record_with_its_fields_and_names_its_emails() -> None:
    log = read_member_log(
        io.BytesIO(
            json.dumps(
                {
                    "uuid": "room==",
                    "members": [
                        {
                            "user_name": b64("Bob Baker"),
                            "email": "bob@contoso.example",
                            "join_time": "2026-03-02T10:05:00Z",
                        },
                        {
                            "user_name": "Carol",
                            "user_email": b64("carol@contoso.example"),
                            "leave": {"time": "00:10:00"},
                        },
                    ],
                }
            ).encode()
        )
    )
    assert log.records[0] == (
        ("user_name", "Bob Baker"),
        ("email", "bob@contoso.example"),
        ("join_time", "2026-03-02T10:05:00Z"),
    )
    assert log.records[1] == (
        ("user_name", "Carol"),
        ("user_email", "carol@contoso.example"),
        ("leave.time", "00:10:00"),
    )
    assert log.emails == ("bob@contoso.example", "carol@contoso.example")
    assert read_member_log(io.BytesIO(b'[{"a": 1}]')).records == ((("a", "1"),),)
    assert read_member_log(io.BytesIO(b"nope")).problem
