"""The message's headers: who and what it is about in the standard ones, our ids in `X-Zoom-*` ones.

They are plain RFC 5322, readable by every mail system: ASCII only, text in other scripts as RFC 2047 encoded
words (UTF-8, each at most 75 characters, never splitting a character), lines folded at spaces to 78
characters where a space allows it and never past 998 octets. We write them ourselves: the `email` package drops
the space between encoded words when it folds them, and adds one before a folded Subject, so Zoom's words
would not survive intact. Every Zoom value goes through `header_text` first: no line break, control or
reordering character from Zoom reaches a header.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from shared.message.text import header_text
from shared.records import CapturedFile, Meeting, Person, archive_key

MESSAGE_ID_DOMAIN = "zoom-archiver.invalid"
SUBJECT_TOPIC_LIMIT = 160
NAME_LIMIT = 100
ADDRESS_LIMIT = 254  # octets of an address (RFC 5321's path limit less its angle brackets)
ADDITION_PREFIX = "[addition] "  # the subject of a message holding files Zoom listed after the meeting's message
HEADER_UUID = "X-Zoom-Meeting-UUID"
HEADER_MEETING_ID = "X-Zoom-Meeting-ID"
HEADER_ARCHIVE_KEY = "X-Zoom-Archive-Key"
HEADER_FILE_HASH = "X-Zoom-File-SHA256"
FALLBACK_SENDER = Person("Zoom", f"zoom-host@{MESSAGE_ID_DOMAIN}")
LINE = 78  # RFC 5322's recommended line length, in characters (all ASCII)
LINE_LIMIT = 998  # its hard limit, in octets, without the CRLF
ENCODED_WORD = 75  # RFC 2047's limit on one encoded word
_WORD_ROOM = ENCODED_WORD - len("=?utf-8?q??=")
_Q_SAFE = re.compile(r"[A-Za-z0-9!*+\-/]")  # characters a Q-encoded word may carry as they are, in any header
_ATOM_TEXT = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+")  # RFC 5322 atext


@dataclass(frozen=True)
class Mailbox:
    """A person as an address header names them: their display name (cleaned, shortened) and an ASCII address."""

    name: str
    address: str

    def words(self) -> list[str]:
        return [*phrase(self.name), f"<{self.address}>"] if self.name else [self.address]


def message_id(key: str) -> str:
    return f"<{key}@{MESSAGE_ID_DOMAIN}>"


def mailbox(person: Person) -> Mailbox | None:
    """A person for an address header, or None when Zoom's email is not an address a plain header can carry:
    not an address at all, a local part outside ASCII, or longer than an address may be. (They stay in the
    bodies and the record; a domain in another script is written in its ASCII form.)"""
    try:
        parsed = Address(addr_spec=header_text(person.email))
        domain = parsed.domain.encode("idna").decode("ascii")
        spec = Address(username=parsed.username, domain=domain).addr_spec
    except (ValueError, IndexError, HeaderParseError, UnicodeError):
        return None
    if not spec.isascii() or not parsed.username or len(spec) > ADDRESS_LIMIT:
        return None
    return Mailbox(header_text(person.name, NAME_LIMIT), spec)


def header_block(meeting: Meeting, files: Sequence[CapturedFile], zone: ZoneInfo) -> bytes:
    """The headers of the meeting's message, in their order, each folded and ending in CRLF; `zone` is the
    meeting's, for the Subject. An addition names the meeting's message as the one it follows, so that mail
    programs thread it with the meeting."""
    start_local = meeting.start.astimezone(zone)
    topic = header_text(meeting.topic, SUBJECT_TOPIC_LIMIT) or "(no topic)"
    addition = ADDITION_PREFIX if meeting.addition else ""
    sender = mailbox(meeting.host) or mailbox(FALLBACK_SENDER)
    assert sender is not None
    subject = f"{addition}{topic} - Zoom meeting {start_local:%Y-%m-%d %H:%M} {start_local.tzname()}"
    lines = [
        unstructured("Subject", subject),
        address_list("From", [sender]),
        address_list("To", _recipients(meeting) or [sender]),
        fold("Date", [format_datetime(meeting.start.astimezone(UTC))]),
        fold("Message-ID", [message_id(meeting.key)]),
    ]
    if meeting.addition:
        original = message_id(archive_key(meeting.uuid))
        lines += [fold("In-Reply-To", [original]), fold("References", [original])]
    lines += [
        unstructured(HEADER_UUID, header_text(meeting.uuid)),
        fold(HEADER_MEETING_ID, [str(meeting.meeting_id)]),
        fold(HEADER_ARCHIVE_KEY, [meeting.key]),
        *(fold(HEADER_FILE_HASH, [f"{c.filename};", c.sha256]) for c in files),
    ]
    return b"".join(lines)


def _recipients(meeting: Meeting) -> list[Mailbox]:
    """The internal participants, each once."""
    seen: set[str] = set()
    result = []
    for participant in meeting.participants:
        key = participant.email.lower()
        if participant.internal and key not in seen and (value := mailbox(Person(participant.name, participant.email))):
            seen.add(key)
            result.append(value)
    return result


# --- writing a header ---------------------------------------------------------------------------


def unstructured(name: str, text: str) -> bytes:
    """A header of free text (RFC 5322 `unstructured`): its words as they are where they are plain ASCII, and each
    stretch of other words as encoded words, spaces within the stretch encoded with it."""
    return fold(name, _text_words(text))


def address_list(name: str, mailboxes: Iterable[Mailbox]) -> bytes:
    words: list[str] = []
    for value in mailboxes:
        if words:
            words[-1] += ","
        words += value.words()
    return fold(name, words)


def phrase(name: str) -> list[str]:
    """A display name as RFC 5322 `phrase` words: atoms, else one quoted string, else (outside ASCII, or text an
    encoded word could be mistaken for) encoded words."""
    if not name:
        return []
    if not _plain(name):
        return encoded_words(name)
    words = name.split(" ")
    if all(_ATOM_TEXT.fullmatch(word) for word in words):
        return words
    quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return quoted.split(" ")  # folding at a space within a quoted string keeps the space


def fold(name: str, words: Sequence[str]) -> bytes:
    """`Name: words` with a single space between words, a line break put before a space wherever the line would
    pass 78 characters (unfolding takes the line breaks out again, giving back the same text). Every word is
    ASCII and short enough for a line of its own."""
    lines, line = [], f"{name}:"
    for word in words:
        assert word.isascii() and len(word) <= LINE_LIMIT - 1, word
        if len(line) + 1 + len(word) > LINE and line.strip() and not line.endswith(":"):
            lines.append(line)
            line = ""
        line += " " + word
    lines.append(line)
    return "".join(f"{line}\r\n" for line in lines).encode("ascii")


def encoded_words(text: str) -> list[str]:
    """`text` as RFC 2047 encoded words in UTF-8: Q encoding or B, whichever is shorter, each word within 75
    characters and holding whole characters only. A reader joins adjacent encoded words with nothing between
    them, so `text`'s own spaces are encoded inside the words."""
    q = _chunks(text, lambda chunk: sum(len(_q(c)) for c in chunk))
    b = _chunks(text, lambda chunk: 4 * -(-len(chunk.encode()) // 3))
    q_words = ["=?utf-8?q?" + "".join(map(_q, chunk)) + "?=" for chunk in q]
    b_words = ["=?utf-8?b?" + base64.b64encode(chunk.encode()).decode() + "?=" for chunk in b]
    return q_words if sum(map(len, q_words)) <= sum(map(len, b_words)) else b_words


def _chunks(text: str, size: Callable[[str], int]) -> list[str]:
    """`text` cut into the longest runs of characters whose encoded `size` fits in one encoded word."""
    chunks, chunk = [], ""
    for character in text:
        if chunk and size(chunk + character) > _WORD_ROOM:
            chunks.append(chunk)
            chunk = ""
        chunk += character
    return [*chunks, chunk] if chunk else chunks


def _q(character: str) -> str:
    if character == " ":
        return "_"
    if _Q_SAFE.fullmatch(character):
        return character
    return "".join(f"={byte:02X}" for byte in character.encode())


def _plain(word: str) -> bool:
    """Printable ASCII that no reader would take for an encoded word."""
    return word.isascii() and word.isprintable() and "=?" not in word


def _text_words(text: str) -> list[str]:
    words: list[str] = []
    stretch: list[str] = []
    for word in text.split(" ") if text else []:
        if _plain(word) and len(word) < LINE - 2:
            words += encoded_words(" ".join(stretch)) if stretch else []
            words.append(word)
            stretch = []
        else:
            stretch.append(word)
    return words + (encoded_words(" ".join(stretch)) if stretch else [])
