"""The JSON files of Zoom's compliance archiving, read for the message's bodies: the in-meeting chat
(`CHAT_MESSAGE`) and the subgroups' member log (`SUB_GROUP_MEMBER_LOG`).

Zoom documents both in "Archived JSON schemas" (developers.zoom.us/docs/api/references/archived-json-schema;
what is read here is summarised in tests/samples/zoom/SOURCES.md):

- The chat: `{"uuid", "messages": [...]}`; each message has `msg_type` (1 public, 2 private, 3 deleted,
  4 emoji reaction, 5 nonverbal feedback, 6 edited, 7 reply), `e_time` (since the meeting started) and
  `e_archive_time` (since archiving started), the sender (`s_id`; `s_name`, `s_email` in base64), `msg_id` (the
  message's id, in base64), `msg_extended_type` (six two-digit pairs: where the sender was, where the receiver
  was, sent/deleted/edited, -, to whom it went, -), a private message's receiver (`r_id`; `r_name`, `r_email` in
  base64), the text `msg_content` (base64; a nonverbal feedback's is its number: 1 raising hand, 2 yes, 3 no),
  `original_msg_id` (the message a deletion or an edit changes), `parent_msg_id` (the message a reply answers),
  `private_group_id` (a private group chat's), `files` (`[{"fileId", "fileName", "fileSize"}]`) and `rich_text`
  (the formatting of ranges of the text, not shown). Any other field is shown as it is. The spec also calls
  the file "a JSON file encoded in base64": both a JSON file and a base64-encoded one are read.
- The member log ("Subgroup archiving activity"): `{"archiving_start_time", "backstage_room": {group},
  "private_group": [{group}]}`, each group (a webinar's backstage, a private chat group) with its `id`,
  `createTime`, `deleteTime` and `actions`: `[{"email", "joinTime", "leaveTime"}]`, times counted from when
  archiving started (HH:MM:SS).

Both are Zoom's data, untrusted: reading never fails (what is not JSON is said to be unreadable), and only the
first READ_LIMIT bytes are read, so memory stays bounded; the file itself is archived whole in any case.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
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
FEEDBACK_NAMES = {"1": "raising hand", "2": "yes", "3": "no"}
# msg_extended_type's pairs: where the sender was (the first), and to whom the message went (the fifth).
WHERE = {"03": "in a breakout room", "04": "in the waiting room", "05": "in the backstage"}
AUDIENCES = {
    "01": "Everyone",
    "02": "Hosts and panelists",
    "03": "Panelists and hosts (an attendee's message)",
    "05": "Waiting room participants",
    "06": "All hosts (from the waiting room)",
}
DIRECT, PRIVATE_GROUP = "04", "07"
# What is read from a message; `rich_text` (formatting) is read and not shown; any other field is shown.
KNOWN = {"msg_type", "e_time", "e_archive_time", "s_id", "s_name", "s_email", "msg_id", "msg_extended_type"}
KNOWN |= {"r_id", "r_name", "r_email", "msg_content", "original_msg_id", "parent_msg_id", "private_group_id"}
KNOWN |= {"files", "rich_text"}


@dataclass(frozen=True)
class ChatMessage:
    """One entry of the archived chat."""

    kind: int  # msg_type: PUBLIC, PRIVATE, DELETED, REACTION, FEEDBACK, EDITED or REPLY (0 when Zoom gives none)
    offset: timedelta | None  # since the meeting started (e_time), else since archiving started (e_archive_time)
    since_archiving: bool  # which of the two the offset counts from
    message_id: str  # msg_id: the message's own id
    sender: str
    sender_email: str
    recipient: str  # a direct message's recipient; empty for a message to a group of people
    recipient_email: str
    text: str
    files: tuple[str, ...]
    changes: str  # original_msg_id: the message a deletion or an edit changes
    replied_to: str  # parent_msg_id: the message a reply answers
    audience: str = ""  # msg_extended_type's fifth pair: to whom it went (AUDIENCES, DIRECT, PRIVATE_GROUP)
    where: str = ""  # msg_extended_type's first pair: where the sender was
    group: str = ""  # private_group_id: the private group chat it went to
    other: tuple[tuple[str, str], ...] = ()  # fields of the entry not read above, as Zoom gave them

    @property
    def private(self) -> bool:
        """A direct message to one person, or a message to a private group chat."""
        direct = self.kind == PRIVATE or self.audience in (DIRECT, PRIVATE_GROUP)
        return direct or bool(self.recipient or self.recipient_email or self.group)

    @property
    def to(self) -> str:
        """To whom the message went, as the bodies say it."""
        if self.recipient or self.recipient_email:
            return _who(self.recipient, self.recipient_email)
        if self.group or self.audience == PRIVATE_GROUP:
            return f"private group chat {self.group}".strip()
        if self.private:
            return "someone"
        return AUDIENCES.get(self.audience, "Everyone")


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
    """The chat as timed lines, like a chat file's: who wrote, to whom (Everyone, another audience, or one person
    or a private group privately), what, and what each edit, deletion and reply was about: the message it changes
    or answers, quoted, and its id (shown with that message too, as two messages may say the same)."""
    if chat.problem:
        return Transcript((Utterance(None, "", f"[{chat.problem}]"),))
    texts = {m.message_id: m.text for m in chat.messages if m.kind in (PUBLIC, PRIVATE, REPLY) and m.message_id}
    referred = {m.changes or m.message_id for m in chat.messages if m.kind in (DELETED, EDITED)}
    referred |= {m.replied_to for m in chat.messages if m.replied_to}
    referred.discard("")
    return Transcript(tuple(_utterance(m, referred, texts) for m in chat.messages))


def _utterance(message: ChatMessage, referred: set[str], texts: dict[str, str]) -> Utterance:
    text = message.text
    if message.kind == FEEDBACK:
        text = FEEDBACK_NAMES.get(text, text)
    if message.files:
        text = "\n".join(filter(None, [text, *(f"[file: {name}]" for name in message.files)]))
    changed = _quoted(message.changes or message.message_id, texts)
    lead = {
        DELETED: f"[deleted {changed}]",
        EDITED: f"[edited {changed}, now:] ",
        REACTION: "[reaction] ",
        FEEDBACK: "[nonverbal feedback] ",
    }.get(message.kind, "")
    lines = [f"{f'[{message.where}] ' if message.where else ''}{lead}{text}".rstrip()]
    if message.other:
        lines.append("; ".join(f"{name}: {value}" for name, value in message.other))
    if message.message_id in referred and message.kind not in (DELETED, EDITED):
        lines.append(f"(message {message.message_id})")
    replied = message.kind == REPLY and bool(message.replied_to)
    return Utterance(
        message.offset,
        _who(message.sender, message.sender_email),
        "\n".join(line for line in lines if line),
        recipient=message.to,
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
    pairs = re.findall(r"\d\d", str(entry.get("msg_extended_type") or ""))
    return ChatMessage(
        kind=_int(entry.get("msg_type")),
        offset=meeting_offset if meeting_offset is not None else _elapsed(entry.get("e_archive_time")),
        since_archiving=meeting_offset is None,
        message_id=_field(entry, "msg_id"),
        sender=_field(entry, "s_name"),
        sender_email=_field(entry, "s_email"),
        recipient=_field(entry, "r_name"),
        recipient_email=_field(entry, "r_email"),
        text=_field(entry, "msg_content"),
        files=_file_names(entry.get("files")),
        changes=_field(entry, "original_msg_id"),
        replied_to=_field(entry, "parent_msg_id"),
        audience=pairs[4] if len(pairs) == 6 else "",
        where=WHERE.get(pairs[0], "") if len(pairs) == 6 else "",
        group=_field(entry, "private_group_id"),
        other=tuple((name, _plain(value)) for name, value in entry.items() if name not in KNOWN),
    )


def _file_names(value: Any) -> tuple[str, ...]:
    """A message's files (`fileName`, with its `fileSize` when Zoom gives it); one without a name as Zoom gave it."""
    names = []
    for item in as_list(value):
        if isinstance(item, dict) and item.get("fileName"):
            size = item.get("fileSize")
            names.append(f"{_plain(item['fileName'])}" + (f" ({size} bytes)" if isinstance(size, int) else ""))
        else:
            names.append(_plain(item))
    return tuple(names)


# --- the member log -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """One member's stay in a subgroup, times counted from when archiving started."""

    email: str
    joined: str
    left: str


@dataclass(frozen=True)
class Subgroup:
    """A webinar's backstage or a private chat group: when it existed, and who was in it when."""

    kind: str  # "Backstage" or "Private chat group"
    id: str
    created: str
    deleted: str
    members: tuple[Member, ...]


@dataclass(frozen=True)
class MemberLog:
    """The subgroups of a meeting or webinar (its backstage, its private chat groups) and their members."""

    archiving_start: str
    groups: tuple[Subgroup, ...]
    problem: str = ""

    @property
    def emails(self) -> tuple[str, ...]:
        """The addresses of the people the log names, each once, in order."""
        found = (member.email.strip() for group in self.groups for member in group.members)
        return tuple(dict.fromkeys(email for email in found if EMAIL.fullmatch(email)))


def read_member_log(stream: BinaryIO) -> MemberLog:
    """The subgroups of a SUB_GROUP_MEMBER_LOG file: its backstage room, then its private chat groups."""
    data, problem = _load(stream)
    if problem:
        return MemberLog("", (), problem)
    if not isinstance(data, dict):
        return MemberLog("", (), "the file is not in the shape Zoom documents for a member log")
    backstage = [("Backstage", data["backstage_room"])] if isinstance(data.get("backstage_room"), dict) else []
    groups = backstage + [("Private chat group", group) for group in as_list(data.get("private_group"))]
    return MemberLog(
        _plain(data.get("archiving_start_time") or ""),
        tuple(_subgroup(kind, group) for kind, group in groups if isinstance(group, dict)),
    )


def _subgroup(kind: str, group: dict[str, Any]) -> Subgroup:
    members = tuple(
        Member(_plain(a.get("email") or ""), _plain(a.get("joinTime") or ""), _plain(a.get("leaveTime") or ""))
        for a in as_list(group.get("actions"))
        if isinstance(a, dict)
    )
    created, deleted = (_plain(group.get(name) or "") for name in ("createTime", "deleteTime"))
    return Subgroup(kind, _plain(group.get("id") or ""), created, deleted, members)


def member_log_transcript(log: MemberLog) -> Transcript:
    """The member log as lines for the bodies: when archiving started, then each subgroup and each stay in it."""
    if log.problem:
        return Transcript((Utterance(None, "", f"[{log.problem}]"),))
    lines = [f"Times count from when archiving started ({log.archiving_start or 'not given'})."]
    for group in log.groups:
        lines.append(f"{group.kind} {group.id}: opened {group.created or '?'}, closed {group.deleted or '?'}")
        lines += [f"  {m.email or '(no email)'}: joined {m.joined or '?'}, left {m.left or '?'}" for m in group.members]
    return Transcript(tuple(Utterance(None, "", line) for line in lines))


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


def _field(entry: dict[str, Any], name: str) -> str:
    """A field Zoom encodes in base64 (ids, names, emails, text), decoded; as it is when it is not base64."""
    value = entry.get(name)
    return _decoded(_plain(value)) if value not in (None, "") else ""


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
