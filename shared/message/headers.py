"""The message's headers: who and what it is about in the standard ones, our ids in `X-Zoom-*` ones.

Headers are UTF-8 (RFC 6532), folded only past RFC 5322's hard limit: the `email` package drops the space
between RFC 2047 encoded words, and adds one before a folded Subject, so Zoom's words would not survive intact.
Every Zoom value goes through `header_text` first: no line break from Zoom reaches a header.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from shared.message.text import header_text
from shared.records import CapturedFile, Meeting, Person

MESSAGE_ID_DOMAIN = "zoom-archiver.invalid"
SUBJECT_TOPIC_LIMIT = 160
ADDITION_PREFIX = "[addition] "  # the subject of a message holding files Zoom listed after the meeting's message
HEADER_UUID = "X-Zoom-Meeting-UUID"
HEADER_MEETING_ID = "X-Zoom-Meeting-ID"
HEADER_ARCHIVE_KEY = "X-Zoom-Archive-Key"
HEADER_FILE_HASH = "X-Zoom-File-SHA256"
FALLBACK_SENDER = Address("Zoom", "zoom-host", MESSAGE_ID_DOMAIN)
HEADERS = policy.SMTPUTF8.clone(max_line_length=998)


def message_id(key: str) -> str:
    return f"<{key}@{MESSAGE_ID_DOMAIN}>"


def address(person: Person) -> Address | None:
    """An address header value, or None when Zoom's email is not a usable address."""
    name = header_text(person.name, 100)
    try:
        return Address(display_name=name, addr_spec=header_text(person.email))
    except (ValueError, IndexError, HeaderParseError):
        return None


def write_headers(msg: EmailMessage, meeting: Meeting, files: Sequence[CapturedFile], zone: ZoneInfo) -> None:
    """The headers of the meeting's message, in their order; `zone` is the meeting's, for the Subject."""
    start_local = meeting.start.astimezone(zone)
    topic = header_text(meeting.topic, SUBJECT_TOPIC_LIMIT) or "(no topic)"
    addition = ADDITION_PREFIX if meeting.addition else ""
    msg["Subject"] = f"{addition}{topic} - Zoom meeting {start_local:%Y-%m-%d %H:%M} {start_local.tzname()}"
    msg["From"] = address(meeting.host) or FALLBACK_SENDER
    msg["To"] = _recipients(meeting) or [address(meeting.host) or FALLBACK_SENDER]
    msg["Date"] = format_datetime(meeting.start.astimezone(UTC))
    msg["Message-ID"] = message_id(meeting.key)
    msg[HEADER_UUID] = header_text(meeting.uuid)
    msg[HEADER_MEETING_ID] = str(meeting.meeting_id)
    msg[HEADER_ARCHIVE_KEY] = meeting.key
    for captured in files:
        msg[HEADER_FILE_HASH] = f"{captured.filename}; {captured.sha256}"


def _recipients(meeting: Meeting) -> list[Address]:
    """The internal participants, each once."""
    seen: set[str] = set()
    result = []
    for participant in meeting.participants:
        key = participant.email.lower()
        if participant.internal and key not in seen and (value := address(Person(participant.name, participant.email))):
            seen.add(key)
            result.append(value)
    return result
