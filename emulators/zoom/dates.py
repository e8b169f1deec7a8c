"""Times as Zoom writes and reads them: `2021-03-12T02:12:27Z`, `yyyy-mm-dd` days in UTC, and its one-month
ranges (a month before the same day number, or the month's last day when it has no such day)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from typing import Any


def zoom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def moment(value: str) -> datetime:
    """A time Zoom writes (or a client sends); ValueError when it is none."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def day_of(value: Any) -> date:
    """The UTC day of a Zoom time; date.min when it is none."""
    try:
        return moment(str(value)).astimezone(UTC).date()
    except ValueError:
        return date.min


def months_before(day: date, months: int = 1) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
