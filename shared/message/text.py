"""Zoom text as the message may carry it, and the clock, duration and size formats of both bodies.

Everything that comes from Zoom is untrusted: a header value loses control and line-break characters before
the `email` package sees it (the Python 3.11 runtime may predate the CVE-2024-6923 fix); a body keeps line
breaks but no other control character, nor a lone surrogate, which a JSON string may hold and UTF-8 cannot.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

BODY_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def header_text(value: str, limit: int = 0) -> str:
    """A single line of text safe for a header: no control characters, no line or paragraph separators, and
    no lone surrogate; shortened to `limit` characters, with an ellipsis, when given."""
    cleaned = "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else "\ufffd" if unicodedata.category(c) == "Cs" else c
        for c in str(value)
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
