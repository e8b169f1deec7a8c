"""What was said: a cloud recording's CHAT file and its TRANSCRIPT/CC WebVTT files, as timed lines.

Both formats time each line as an offset from the start of the recording file, and both come from Zoom,
so they are untrusted. Parsing never fails: a line that does not fit the format is kept as text (without a
time or a speaker when it has none), so a malformed or truncated file still puts every word into the
message's body; the raw file is archived as it came in any case. Only the first TEXT_LIMIT characters of a
file are read (far more than any real meeting holds), so memory stays bounded whatever a file contains.

- CHAT (`file_type` CHAT, `.txt`): `HH:MM:SS<TAB>Name:<TAB>text<CRLF>`; a line without a time continues the
  previous message (a message with line breaks).
- TRANSCRIPT and CC (`.vtt`): WebVTT cues separated by blank lines, an optional cue number, a timing line
  `HH:MM:SS.mmm --> HH:MM:SS.mmm`, then the text, which Zoom prefixes with `Name: ` when it knows the
  speaker (a `<v Name>` voice tag is read too).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO

CHAT = "CHAT"
SPOKEN = ("TRANSCRIPT", "CC")
TEXT_LIMIT = 512 * 1024  # characters of a file, and of all files together, that a message body shows
CHAT_LINE = re.compile(r"(\d{1,3}):([0-5]\d):([0-5]\d)\t(?:(.*?):\t)?(.*)")
CUE_TIME = r"(?:(\d+):)?([0-5]\d):([0-5]\d)[.,](\d{1,3})"
CUE_TIMING = re.compile(rf"{CUE_TIME}\s+-->\s+{CUE_TIME}")
SPEAKER = re.compile(r"([^:<>]{1,80}?): (.*)", re.DOTALL)
VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]{1,80})>(.*?)(?:</v>)?", re.DOTALL)
VTT_SKIPPED_BLOCKS = ("WEBVTT", "NOTE", "STYLE", "REGION")


@dataclass(frozen=True)
class Utterance:
    """One chat message or one transcript cue."""

    offset: timedelta | None  # from the start of the recording; None when the line carried no time
    speaker: str  # empty when the file does not say who
    text: str


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
    result: list[tuple[timedelta | None, str, list[str]]] = []
    for line in lines:
        match = CHAT_LINE.fullmatch(line)
        if match:
            hours, minutes, seconds, speaker, text = match.groups()
            offset = timedelta(hours=int(hours), minutes=int(minutes), seconds=int(seconds))
            result.append((offset, speaker or "", [text]))
        elif result:
            result[-1][2].append(line)
        elif line.strip():
            result.append((None, "", [line]))
    return tuple(Utterance(offset, speaker, "\n".join(text).rstrip("\n")) for offset, speaker, text in result)


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
