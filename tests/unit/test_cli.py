"""The admin CLI's arguments and progress bar (its commands run against the local world in tests/integration)."""

from __future__ import annotations

import io

import pytest

from shared.cli import parser, progress_bar


def test_backfill_needs_a_range_of_dates() -> None:
    args = parser().parse_args(["backfill", "--from", "2026-01-01", "--to", "2026-01-31"])
    assert (args.first.isoformat(), args.last.isoformat()) == ("2026-01-01", "2026-01-31")
    with pytest.raises(SystemExit):
        parser().parse_args(["backfill", "--from", "January", "--to", "2026-01-31"])
    with pytest.raises(SystemExit):
        parser().parse_args(["backfill", "--from", "2026-01-01"])


def test_the_progress_bar_fills_and_ends_its_line() -> None:
    stream = io.StringIO()
    show = progress_bar(stream, width=10)

    show(1, 4, 3)
    show(4, 4, 9)

    first, last = stream.getvalue().split("\r")[1:]
    assert first == "  [##........] 1/4 users, 3 meeting(s) queued"
    assert last == "  [##########] 4/4 users, 9 meeting(s) queued\n"
