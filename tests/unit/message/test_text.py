"""Zoom text as a header or a body may carry it, and how the bodies write times, durations and sizes."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from shared.message.text import body_text, clock, duration, header_text, meeting_zone, size
from tests.unit.message.examples import zoom_text


@given(value=zoom_text, limit=st.integers(0, 200))
def test_header_text_is_one_clean_line_within_its_limit(value: str, limit: int) -> None:
    line = header_text(value, limit)
    assert len(line.splitlines()) <= 1 and line == line.strip()
    assert not any(unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") for c in line)
    assert not limit or len(line) <= limit
    line.encode()  # UTF-8 can carry it


def test_header_text_drops_every_character_that_reorders_text() -> None:
    """Bidi embeddings, overrides, isolates and marks (U+202E makes "gnp.exe" read "exe.png") are invisible
    and can disguise a name or a subject; the joiners that emoji and some scripts need stay."""
    reordering = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u206a\u206f\ufeff"
    assert header_text(f"In{reordering}voice \u202egnp.exe") == "Invoice gnp.exe"
    assert header_text("👩\u200d💻 می\u200cخواهم") == "👩\u200d💻 می\u200cخواهم"


def test_header_text_keeps_words_and_shortens_with_an_ellipsis() -> None:
    assert header_text("  Réunion\r\n\t会議\u2028now\x00 ") == "Réunion 会議 now"
    assert header_text("Plan\ud800ning") == "Plan\ufffdning"
    assert header_text("a" * 10, 5) == "aaaa…"


@given(value=zoom_text)
def test_body_text_keeps_line_breaks_and_nothing_utf8_or_a_reader_would_trip_on(value: str) -> None:
    text = body_text(value)
    assert "\r" not in text
    text.encode()  # UTF-8 can carry it
    assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in text.replace("\n", "").replace("\t", ""))


def test_body_text_writes_every_line_break_as_lf() -> None:
    assert body_text("one\r\ntwo\rthree\nfour\x07") == "one\ntwo\nthree\nfour\ufffd"


def test_times_durations_and_sizes_read_as_people_write_them() -> None:
    zone = ZoneInfo("America/New_York")
    assert clock(datetime(2026, 3, 4, 9, 30, tzinfo=UTC), zone) == "2026-03-04 04:30:00"
    assert clock(None, zone) == "unknown"
    assert (duration(2100), duration(-5), duration(90000)) == ("0:35:00", "0:00:00", "1 day, 1:00:00")
    assert [size(n) for n in (0, 1023, 5000, 3 * 1024**2, 5 * 1024**3, 2048 * 1024**3)] == [
        "0 bytes",
        "1023 bytes",
        "4.9 KB",
        "3.0 MB",
        "5.0 GB",
        "2048.0 GB",
    ]


def test_a_time_zone_zoom_names_wrongly_or_not_at_all_is_utc() -> None:
    assert meeting_zone("Asia/Tokyo").key == "Asia/Tokyo"
    assert meeting_zone("").key == meeting_zone("Not/AZone").key == meeting_zone("../etc").key == "UTC"
