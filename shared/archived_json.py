"""The JSON files of Zoom's compliance archiving, read for the message's bodies: the in-meeting chat
(`CHAT_MESSAGE`) and a breakout room's member log (`SUB_GROUP_MEMBER_LOG`).

Zoom documents the chat file in "Archived JSON schemas" (developers.zoom.us/docs/api/references/
archived-json-schema): `{"uuid", "messages": [{"msg_type", "e_time", "e_archive_time", "s_id", "s_name",
"s_email", "msg_id", ...}]}`, where `msg_type` is 1 public, 2 private, 3 deleted, 4 emoji reaction, 5 nonverbal
feedback, 6 edited, 7 reply; `e_time` is the time since the meeting started and `e_archive_time` since archiving
started (HH:MM:SS); names, emails and ids are base64 (`msg_id` is the message's own id, or, for a deletion or
an edit, the id of the message it deletes or edits). The copy of that page our research holds ends there, so
the recipient, the text, the files and the message replied to are read by the names the same convention gives
them (`r_id`, `r_name`, `r_email`; `content`; `files`; `reply_main_msg_id`) and a few plain ones; any other field
of a message is shown as it is, so the body loses nothing the file says. The spec also calls the file "a JSON
file encoded in base64": both a JSON file and a base64-encoded one are read. The member log's schema is not in
that copy at all: each of its records is shown with its own field names, its base64 names and emails decoded.

Both are Zoom's data, untrusted: reading never fails (what is not JSON is said to be unreadable), and only the
first READ_LIMIT bytes are read, so memory stays bounded; the file itself is archived whole in any case.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, BinaryIO

from shared.records import as_list
from shared.transcript import MESSAGE, Transcript, Utterance
from shared.transcript import REPLY as TRANSCRIPT_REPLY

CHAT_MESSAGE = "CHAT_MESSAGE"
MEMBER_LOG = "SUB_GROUP_MEMBER_LOG"
READ_LIMIT = 16 * 1024 * 1024  # bytes of a file that are parsed; a larger one is not shown, only archived
ELAPSED = re.compile(r"(\d{1,3}):([0-5]\d):([0-5]\d)")
EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")

PUBLIC, PRIVATE, DELETED, REACTION, FEEDBACK, EDITED, REPLY = range(1, 8)
# The fields read for what Zoom's page documents, then by its convention (see above): first present wins.
SENDER = ("s_name",)
SENDER_EMAIL = ("s_email",)
RECIPIENT = ("r_name", "receiver_name", "receiver")
RECIPIENT_EMAIL = ("r_email", "receiver_email")
TEXT = ("content", "msg_content", "message", "text")
FILES = ("files", "file", "file_names", "file_name")
REPLIED = ("reply_main_msg_id", "main_msg_id", "reply_msg_id")
KNOWN = {"msg_type", "e_time", "e_archive_time", "s_id", "msg_id", "msg_extended_type", "r_id"}
KNOWN |= {*SENDER, *SENDER_EMAIL, *RECIPIENT, *RECIPIENT_EMAIL, *TEXT, *FILES, *REPLIED}
ENCODED = {"s_name", "s_email", "msg_id", "r_name", "r_email", "content", "msg_content", *REPLIED}


@dataclass(frozen=True)
class ChatMessage:
    """One entry of the archived chat."""

    kind: int  # msg_type: PUBLIC, PRIVATE, DELETED, REACTION, FEEDBACK, EDITED or REPLY (0 when Zoom gives none)
    offset: timedelta | None  # since the meeting started (e_time), else since archiving started (e_archive_time)
    since_archiving: bool  # which of the two the offset counts from
    message_id: str  # the message's id; for a deletion or an edit, the id of the message it changes
    sender: str
    sender_email: str
    recipient: str  # a private message's recipient; empty for a message to everyone
    recipient_email: str
    text: str
    files: tuple[str, ...]
    replied_to: str  # a reply's original message id
    other: tuple[tuple[str, str], ...]  # fields of the entry not read above, as Zoom gave them

    @property
    def private(self) -> bool:
        return self.kind == PRIVATE or bool(self.recipient or self.recipient_email)


@dataclass(frozen=True)
class ArchivedChat:
    messages: tuple[ChatMessage, ...]
    problem: str = ""  # why the file could not be read (then there are no messages)


def read_chat(stream: BinaryIO) -> ArchivedChat:
    """The messages of a CHAT_MESSAGE file, in the file's order."""
    data, problem = _load(stream)
    if problem:
        return ArchivedChat((), problem)
    entries = data.get("messages") if isinstance(data, dict) else data
    return ArchivedChat(tuple(_message(entry) for entry in as_list(entries) if isinstance(entry, dict)))


def chat_transcript(chat: ArchivedChat) -> Transcript:
    """The chat as timed lines, like a chat file's: who wrote, to whom (Everyone, or one person privately), what,
    and what each edit, deletion and reply was about: the message it changes or answers, quoted, and its id
    (shown with that message too, as two messages may say the same)."""
    if chat.problem:
        return Transcript((Utterance(None, "", f"[{chat.problem}]"),))
    texts = {m.message_id: m.text for m in chat.messages if m.kind in (PUBLIC, PRIVATE, REPLY) and m.message_id}
    referred = {m.message_id for m in chat.messages if m.kind in (DELETED, EDITED)}
    referred |= {m.replied_to for m in chat.messages if m.replied_to}
    referred.discard("")
    return Transcript(tuple(_utterance(m, referred, texts) for m in chat.messages))


def _utterance(message: ChatMessage, referred: set[str], texts: dict[str, str]) -> Utterance:
    text = message.text
    if message.files:
        text = "\n".join(filter(None, [text, *(f"[file: {name}]" for name in message.files)]))
    changed = _quoted(message.message_id, texts)
    lead = {
        DELETED: f"[deleted {changed}]",
        EDITED: f"[edited {changed}, now:] ",
        REACTION: "[reaction] ",
        FEEDBACK: "[nonverbal feedback] ",
    }.get(message.kind, "")
    lines = [f"{lead}{text}".rstrip()]
    if message.other:
        lines.append("; ".join(f"{name}: {value}" for name, value in message.other))
    if message.message_id in referred and message.kind not in (DELETED, EDITED):
        lines.append(f"(message {message.message_id})")
    replied = message.kind == REPLY and bool(message.replied_to)
    return Utterance(
        message.offset,
        _who(message.sender, message.sender_email),
        "\n".join(line for line in lines if line),
        recipient=_who(message.recipient, message.recipient_email) or "someone" if message.private else "Everyone",
        private=message.private,
        refers_to=(texts.get(message.replied_to) or f"message {message.replied_to}") if replied else "",
        kind=TRANSCRIPT_REPLY if replied else MESSAGE,
    )


def _quoted(message_id: str, texts: dict[str, str]) -> str:
    """A message another refers to: its text, quoted, and its id."""
    text = texts.get(message_id, "")
    return f'"{text}" (message {message_id})' if text else f"message {message_id}"


def _who(name: str, email: str) -> str:
    return f"{name} <{email}>" if name and email else name or email


def _message(entry: dict[str, Any]) -> ChatMessage:
    meeting_offset = _elapsed(entry.get("e_time"))
    return ChatMessage(
        kind=_int(entry.get("msg_type")),
        offset=meeting_offset if meeting_offset is not None else _elapsed(entry.get("e_archive_time")),
        since_archiving=meeting_offset is None,
        message_id=_field(entry, ("msg_id",)),
        sender=_field(entry, SENDER),
        sender_email=_field(entry, SENDER_EMAIL),
        recipient=_field(entry, RECIPIENT),
        recipient_email=_field(entry, RECIPIENT_EMAIL),
        text=_field(entry, TEXT),
        files=_file_names(next((entry[name] for name in FILES if entry.get(name)), None)),
        replied_to=_field(entry, REPLIED),
        other=tuple((name, _plain(value)) for name, value in entry.items() if name not in KNOWN),
    )


def _file_names(value: Any) -> tuple[str, ...]:
    """A message's files: names, or objects with a name (`file_name` or `name`)."""
    names = []
    for item in value if isinstance(value, list) else [value] if value else []:
        if isinstance(item, dict):
            name = item.get("file_name") or item.get("name") or item.get("file_id") or item.get("id")
            names.append(_decoded(str(name)) if name else json.dumps(item, sort_keys=True))
        else:
            names.append(_decoded(str(item)))
    return tuple(names)


# --- the member log -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberLog:
    """A breakout room's member log: its records as (field, value) pairs, and the emails in them."""

    records: tuple[tuple[tuple[str, str], ...], ...]
    problem: str = ""

    @property
    def emails(self) -> tuple[str, ...]:
        """The addresses of the people the log names, each once, in order."""
        found = (value for record in self.records for name, value in record if "email" in name.lower())
        return tuple(dict.fromkeys(value.strip() for value in found if EMAIL.fullmatch(value.strip())))


def read_member_log(stream: BinaryIO) -> MemberLog:
    """The records of a SUB_GROUP_MEMBER_LOG file: a list of objects, or the first list of objects an object
    holds (nested objects are flattened into `parent.child` fields)."""
    data, problem = _load(stream)
    if problem:
        return MemberLog((), problem)
    entries = data if isinstance(data, list) else _first_list(data)
    return MemberLog(tuple(tuple(_flat(entry)) for entry in entries if isinstance(entry, dict)))


def _first_list(data: Any) -> list[Any]:
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, list) and any(isinstance(item, dict) for item in value):
                return value
    return []


def _flat(entry: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for name, value in entry.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{name}.")
        else:
            shown = _plain(value)
            if "name" in name.lower() or "email" in name.lower():
                shown = _decoded(shown)
            yield f"{prefix}{name}", shown


# --- reading ------------------------------------------------------------------------------------------------


def _load(stream: BinaryIO) -> tuple[Any, str]:
    """The file's JSON (from base64 first when it is base64), or why it cannot be read."""
    data = stream.read(READ_LIMIT + 1)
    if len(data) > READ_LIMIT:
        return None, f"the file is larger than {READ_LIMIT // (1024 * 1024)} MB and is not shown here"
    text = data.decode("utf-8-sig", errors="replace").strip()
    if text[:1] not in ("{", "["):
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8-sig", errors="replace").strip()
        except (binascii.Error, ValueError):
            return None, "the file is neither JSON nor base64-encoded JSON"
    try:
        return json.loads(text), ""
    except ValueError:
        return None, "the file is not valid JSON"


def _field(entry: dict[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        value = entry.get(name)
        if value not in (None, ""):
            shown = _plain(value)
            return _decoded(shown) if name in ENCODED else shown
    return ""


def _decoded(value: str) -> str:
    """A base64 value as the text it encodes; the value as it is when it is not base64 of UTF-8 text."""
    if not value or len(value) % 4 or not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", value):
        return value
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return value
    return text if text.isprintable() or "\n" in text else value


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _elapsed(value: Any) -> timedelta | None:
    match = ELAPSED.fullmatch(str(value or "").strip())
    if not match:
        return None
    hours, minutes, seconds = map(int, match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def member_log_transcript(log: MemberLog) -> Transcript:
    """The member log as lines for the bodies: one a record, its fields as Zoom names them."""
    if log.problem:
        return Transcript((Utterance(None, "", f"[{log.problem}]"),))
    return Transcript(tuple(Utterance(None, "", "; ".join(f"{k}: {v}" for k, v in record)) for record in log.records))
