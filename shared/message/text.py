"""Zoom text as the message may carry it, and the clock, duration and size formats of both bodies.

Everything that comes from Zoom is untrusted: a header value (and any one-line value a body shows) loses
control and line-break characters, and the Unicode controls that reorder text (bidi embeddings, overrides,
isolates and marks: a name or topic holding U+202E could disguise itself and what follows it in a Subject or a
list of recipients); a body keeps line breaks but no other control character, nor a lone surrogate, which a
JSON string may hold and UTF-8 cannot.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

BODY_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# Bidi controls (ALM, LRM, RLM, LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI), the deprecated format controls
# after them, and the zero-width no-break space: invisible, and able to reorder what a reader sees.
REORDERING = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u206f\ufeff]")


def header_text(value: str, limit: int = 0) -> str:
    """A single line of text safe for a header: no control characters, no line or paragraph separators, no
    character that reorders text, and no lone surrogate; shortened to `limit` characters, with an ellipsis, when
    given."""
    cleaned = "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else "\ufffd" if unicodedata.category(c) == "Cs" else c
        for c in REORDERING.sub("", str(value))
    )
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    if limit and len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def body_text(value: str) -> str:
    """Zoom text for a body: line breaks as LF; controls and lone surrogates (which UTF-8 cannot carry) as U+FFFD."""
    return BODY_UNSAFE.sub("\ufffd", value.replace("\r\n", "\n").replace("\r", "\n"))


def meeting_zone(name: str) -> ZoneInfo:
    """The time zone Zoom names for the meeting; UTC when it names none we know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def clock(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if value else "unknown"


def duration(seconds: int) -> str:
    return str(timedelta(seconds=max(0, seconds)))


def size(count: int) -> str:
    """A file's size in bytes as a reader takes it in: `20 bytes`, `4.9 KB`, `1.2 GB`."""
    value: float = count
    for unit in ("bytes", "KB", "MB"):
        if value < 1024:
            return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
