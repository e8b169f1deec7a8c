"""NCRONTAB schedules, as the local host fires the timer trigger."""

from __future__ import annotations

from datetime import datetime

import pytest

from shared.ncrontab import Schedule


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 0 2 * * *", datetime(2026, 11, 23, 1, 0), datetime(2026, 11, 23, 2, 0)),
        ("0 0 2 * * *", datetime(2026, 11, 23, 2, 0), datetime(2026, 11, 24, 2, 0)),
        ("*/30 * * * * *", datetime(2026, 11, 23, 2, 0, 10), datetime(2026, 11, 23, 2, 0, 30)),
        ("0 15 9 * * MON-FRI", datetime(2026, 11, 21, 12, 0), datetime(2026, 11, 23, 9, 15)),  # Sat -> Mon
        ("0 0 0 1 JAN *", datetime(2026, 11, 23), datetime(2027, 1, 1)),
        ("0 1,30/20 * * * *", datetime(2026, 11, 23, 2, 1), datetime(2026, 11, 23, 2, 30)),  # a step binds its part
    ],
)
def test_next_occurrence(expression: str, after: datetime, expected: datetime) -> None:
    assert Schedule(expression).next_after(after) == expected


def test_a_five_field_cron_is_refused() -> None:
    with pytest.raises(ValueError, match="6 fields"):
        Schedule("0 2 * * *")
