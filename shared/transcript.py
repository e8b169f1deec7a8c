"""What was said: a meeting's chat file and its TRANSCRIPT/CC WebVTT files, as timed lines.

Both come from Zoom, so they are untrusted. Parsing never fails: a line that does not fit a format is kept as
text (without a time or a speaker when it has none), so a malformed or truncated file still puts every word into
the message's body; the raw file is archived as it came in any case. Only the first TEXT_LIMIT characters of a
file are read (far more than any real meeting holds), so memory stays bounded whatever a file contains.

Chat (`file_type` CHAT, `.txt`), in every layout Zoom has written (real samples: tests/samples/zoom/chat/):

- the cloud recording's file: `HH:MM:SS<TAB>Name:<TAB>text`, the time counted from the meeting's start (not the
  recording's: tests/samples/zoom/SOURCES.md shows why);
- the chat a participant saves from the client, the time of day on that computer: `HH:MM:SS From  Name  to
  Everyone:` with the message on the following (indented) lines, or on the same line after the colon; older
  clients `HH:MM:SS<TAB> From  Name : text`; other languages' words in the same places (`Von  X  an  Y :`);
- the chat panel copied in 2020: `From Name to Me: (Privately) (11:01 AM)` with the message on the next lines.

A recipient is Everyone or a named person; `(Direct Message)` or `(Privately)` after it marks a private
message. A line that starts no message continues the one before (a message with line breaks). A message that
begins `Replying to "..."` is a reply to the quoted message; `Reacted to "..." with X` and `Removed a X reaction
from "..."` are reactions to it.

TRANSCRIPT and CC (`.vtt`): WebVTT cues separated by blank lines, an optional cue number, a timing line
`HH:MM:SS.mmm --> HH:MM:SS.mmm` counted from the recording file's start, then the text, which Zoom prefixes with
`Name: ` when it knows the speaker (a `<v Name>` voice tag is read too).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import BinaryIO

CHAT = "CHAT"
SPOKEN = ("TRANSCRIPT", "CC")
TEXT_LIMIT = 512 * 1024  # characters of a file, and of all files together, that a message body shows
TIME = r"\d{1,2}:[0-5]\d(?::[0-5]\d)?(?:\s?[AaPp][Mm])?"
CLOUD_LINE = re.compile(r"(\d{1,3}):([0-5]\d):([0-5]\d)\t(?:(.*?):\t)?(.*)")
SAVED_LINE = re.compile(rf"({TIME})\s+(From|Von|De)\s+(.+)")
PANEL_LINE = re.compile(rf"From (.+?) to (.+?):(?: \((Privately|Direct Message)\))? \(({TIME})\)")
PRIVATE = re.compile(r"\s*\((?:Direct Message|[Pp]rivately)\)\s*$")
GROUPS = re.compile(r"Everyone\b|All panelists|Hosts and panelists|Waiting room", re.IGNORECASE)  # not one person
REPLYING = re.compile(r'Replying to "([^\n]*?)"(?=\s|$)\s*(.*)', re.DOTALL)
REACTED_TO = re.compile(r'Reacted to "([^\n]*)" with (\S+)\s*')
UNREACTED_TO = re.compile(r'Removed a (\S+) reaction from "([^\n]*)"\s*')
CUE_TIME = r"(?:(\d+):)?([0-5]\d):([0-5]\d)[.,](\d{1,3})"
CUE_TIMING = re.compile(rf"{CUE_TIME}\s+-->\s+{CUE_TIME}")
SPEAKER = re.compile(r"([^:<>]{1,80}?): (.*)", re.DOTALL)
VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]{1,80})>(.*?)(?:</v>)?", re.DOTALL)
VTT_SKIPPED_BLOCKS = ("WEBVTT", "NOTE", "STYLE", "REGION")
MESSAGE, REPLY, REACTION, UNREACTION = "message", "reply", "reaction", "reaction removed"


@dataclass(frozen=True)
class Utterance:
    """One chat message or one transcript cue."""

    offset: timedelta | None  # chat: from the meeting's start; cue: from the recording's; None when not counted
    speaker: str  # empty when the file does not say who
    text: str
    recipient: str = ""  # chat: "Everyone" or a person; empty when the file does not say
    private: bool = False  # chat: a direct (private) message
    clock: str = ""  # a saved chat's time of day as the file writes it (its computer's clock, zone unknown)
    refers_to: str = ""  # the message a reply or a reaction refers to, as Zoom quotes it
    kind: str = MESSAGE  # MESSAGE, REPLY, REACTION or UNREACTION


def is_text_record(file_type: str) -> bool:
    """Whether the body shows this file's content as text (chat, transcript, closed captions)."""
    return file_type == CHAT or file_type in SPOKEN


@dataclass(frozen=True)
class Transcript:
    """The utterances of one file, read up to a limit so that memory stays bounded whatever the file holds."""

    utterances: tuple[Utterance, ...]
    complete: bool = True  # False when the file goes on beyond what was read


def read(file_type: str, stream: BinaryIO, limit: int = TEXT_LIMIT) -> Transcript:
    """The utterances in the first `limit` characters of a CHAT, TRANSCRIPT or CC file (all of any real one).

    Any encoding damage becomes U+FFFD rather than an error.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline=None)
    try:
        lines = _lines(text, limit)
        utterances = parse_chat(lines) if file_type == CHAT else parse_vtt(lines)
        return Transcript(utterances, complete=not text.read(1))
    finally:
        text.detach()


def parse_chat(lines: Iterable[str]) -> tuple[Utterance, ...]:
    """The messages of a chat file in any of Zoom's layouts (see the module's docstring), in the file's order."""
    messages: list[tuple[Utterance, list[str]]] = []  # each message's header, and its lines of text
    for line in lines:
        header = _chat_header(line)
        if header is not None:
            first = header.text
            messages.append((header, [first] if first or header.offset is not None else []))
        elif messages:
            messages[-1][1].append(line)
        elif line.strip():
            messages.append((Utterance(None, "", ""), [line]))
    return tuple(_message(header, lines) for header, lines in messages)


def _chat_header(line: str) -> Utterance | None:
    """The message a line starts (its text: what follows the header on the same line); None for any other."""
    if saved := _saved_header(line.strip()):
        return saved
    if cloud := CLOUD_LINE.fullmatch(line):
        hours, minutes, seconds, speaker, text = cloud.groups()
        return Utterance(timedelta(hours=int(hours), minutes=int(minutes), seconds=int(seconds)), speaker or "", text)
    if panel := PANEL_LINE.fullmatch(line.strip()):
        speaker, recipient, private, time = panel.groups()
        return _addressed(speaker, recipient, "", time, private=bool(private))
    return None


def _saved_header(line: str) -> Utterance | None:
    """A saved chat's message header: `TIME From  Name  to  Whom:`, `TIME From Name to Whom:`, `TIME From  Name :`."""
    saved = SAVED_LINE.fullmatch(line)
    if saved is None:
        return None
    time, word, rest = saved.groups()
    if fields := re.fullmatch(r"(.+?)\s{2,}\S+\s{2,}(.+?)\s*:(?:\s(.*)|)", rest):  # Name  to  Whom: (any language)
        return _addressed(fields[1], fields[2], fields[3] or "", time)
    older = re.fullmatch(r"(.+?)\s+:(?:\s(.*)|)", rest)  # an older client's `Name : text`, without a recipient
    if older and " to " not in older[1]:
        return Utterance(None, older[1].strip(), older[2] or "", clock=time)
    if word == "From" and (fields := re.fullmatch(r"(.+) to (.+?)\s*:(?:\s(.*)|)", rest)):  # Name to Whom:
        return _addressed(fields[1], fields[2], fields[3] or "", time)
    return None


def _addressed(speaker: str, recipient: str, text: str, time: str, *, private: bool = False) -> Utterance:
    """A saved chat's message: to everyone (or a group), or privately to one person, marked or not."""
    whom = PRIVATE.sub("", recipient).strip()
    return Utterance(
        None,
        speaker.strip(),
        text,
        recipient=whom,
        private=private or PRIVATE.search(recipient) is not None or not GROUPS.match(whom),
        clock=time,
    )


def _message(header: Utterance, lines: list[str]) -> Utterance:
    """A message's text (its lines, indentation of a saved chat's lines removed), and what kind it is."""
    saved = header.offset is None and bool(header.clock)
    text = "\n".join(line.strip() if saved else line for line in lines).strip("\n")
    if saved:
        text = text.strip()
    if reply := REPLYING.fullmatch(text):
        return replace(header, text=reply[2], refers_to=reply[1], kind=REPLY)
    if reacted := REACTED_TO.fullmatch(text):
        return replace(header, text=reacted[2], refers_to=reacted[1], kind=REACTION)
    if unreacted := UNREACTED_TO.fullmatch(text):
        return replace(header, text=unreacted[1], refers_to=unreacted[2], kind=UNREACTION)
    return replace(header, text=text)


def parse_vtt(lines: Iterable[str]) -> tuple[Utterance, ...]:
    result: list[Utterance] = []
    cue: tuple[timedelta, list[str]] | None = None  # the cue being read: its start and its lines
    loose: list[str] = []  # lines outside any cue: the header, a comment, a cue number, or damage

    def end_cue() -> None:
        nonlocal cue
        if cue is not None:
            result.append(_cue(cue[0], cue[1]))
            cue = None

    def end_loose(before_cue: bool) -> None:
        if before_cue and loose:
            loose.pop()  # the line just before a timing line is the cue's identifier
        if loose and not loose[0].startswith(VTT_SKIPPED_BLOCKS) and not (len(loose) == 1 and loose[0].isdigit()):
            result.append(_cue(None, loose))
        loose.clear()

    for line in (line.strip() for line in lines):
        timing = CUE_TIMING.match(line)
        if timing:
            if cue is not None and cue[1] and cue[1][-1].isdigit():
                cue[1].pop()  # the next cue's number, when no blank line came before it
            end_cue()
            end_loose(before_cue=True)
            hours, minutes, seconds, millis = timing.groups()[:4]
            start = timedelta(
                hours=int(hours or 0),
                minutes=int(minutes),
                seconds=int(seconds),
                milliseconds=int(millis.ljust(3, "0")),
            )
            cue = (start, [])
        elif not line:
            end_cue()
            end_loose(before_cue=False)
        elif cue is not None:
            cue[1].append(line)
        else:
            loose.append(line)
    end_cue()
    end_loose(before_cue=False)
    return tuple(u for u in result if u.text or u.speaker)


def _cue(offset: timedelta | None, lines: list[str]) -> Utterance:
    text = " ".join(lines)
    if voice := VOICE.fullmatch(text):
        return Utterance(offset, voice.group(1).strip(), voice.group(2).strip())
    if speaker := SPEAKER.fullmatch(text):
        return Utterance(offset, speaker.group(1).strip(), speaker.group(2).strip())
    return Utterance(offset, "", text)


def _lines(text: io.TextIOWrapper, limit: int) -> Iterator[str]:
    """Lines without their line break, until `limit` characters are read (a line longer than that is cut)."""
    while limit > 0 and (line := text.readline(limit)):
        limit -= len(line)
        yield line.rstrip("\n")
