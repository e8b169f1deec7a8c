"""NCRONTAB schedules (`second minute hour day month weekday`), as the Functions timer trigger reads them: the
settings check each schedule at start with this, and the local host fires its timers by it."""

from __future__ import annotations

from datetime import datetime, timedelta

NAMES = {
    **{name: n for n, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))},
    **{
        name: n + 1
        for n, name in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"))
    },
}
RANGES = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def _field(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in text.upper().split(","):
        stepped = "/" in part
        step = 1
        if stepped:
            part, step_text = part.split("/", 1)
            step = _number(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = _number(first), _number(last)
        else:
            start = _number(part)
            end = high if stepped else start
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise ValueError(f"{text!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


def _number(text: str) -> int:
    try:
        return int(NAMES.get(text, text))
    except ValueError:
        raise ValueError(f"{text!r} is neither a number nor a day or month name") from None


class Schedule:
    def __init__(self, expression: str):
        parts = expression.split()
        if len(parts) != 6:
            raise ValueError(f"NCRONTAB needs 6 fields, got {expression!r}")
        self.seconds, self.minutes, self.hours, self.days, self.months, self.weekdays = (
            _field(p, *r) for p, r in zip(parts, RANGES, strict=True)
        )

    def next_after(self, moment: datetime) -> datetime:
        """The first matching time strictly after `moment` (looked for up to five years ahead)."""
        start = moment.replace(microsecond=0) + timedelta(seconds=1)
        day = start.replace(hour=0, minute=0, second=0)
        for _ in range(5 * 366):
            weekday = (day.weekday() + 1) % 7  # NCRONTAB: Sunday = 0
            if day.month in self.months and day.day in self.days and weekday in self.weekdays:
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        for second in sorted(self.seconds):
                            candidate = day.replace(hour=hour, minute=minute, second=second)
                            if candidate >= start:
                                return candidate
            day += timedelta(days=1)
        raise ValueError("the schedule never fires")
