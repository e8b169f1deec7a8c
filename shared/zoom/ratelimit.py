"""Zoom's API rate limits, kept on our side so that a busy archive run is not answered with 429s.

Zoom limits each account (shared by every app installed on it) per rate-limit category: requests per
second for Light, Medium and Heavy endpoints, per minute for Resource-intensive ones, and a daily quota
that Heavy and Resource-intensive calls share (../shared/reference/zoom-api.md §4). The account's budget
(shared/zoom/budget.py) spaces the calls of every instance evenly at a share of the plan's rate; the limiter
here is one process's side of it: each call waits for a time the budget reserved for it. A 429 pauses the
whole category, and a daily limit blocks it until Zoom's reset time, so that work waits for the next day
instead of failing (as does a 429 that asks for a wait longer than an invocation should sleep).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from shared.records import utc_text

LIGHT = "Light"
MEDIUM = "Medium"
HEAVY = "Heavy"
RESOURCE_INTENSIVE = "Resource-intensive"
CATEGORIES = (LIGHT, MEDIUM, HEAVY, RESOURCE_INTENSIVE)
DAILY_CATEGORIES = (HEAVY, RESOURCE_INTENSIVE)  # they share one daily quota
BATCH = 16  # slots one process reserves at most at once
AHEAD = 0.25  # seconds of this process's recent calls a reservation covers, so that a steady stream of calls
# writes the budget's row once per batch, not once per call (what a batch may leave unused is this long)
LATE = 0.1  # seconds a caller may go after its slot; a later slot is given up, so that calls never bunch


@dataclass(frozen=True)
class Rate:
    requests: int
    seconds: float


@dataclass(frozen=True)
class Plan:
    rates: dict[str, Rate]
    daily: int  # Heavy and Resource-intensive requests per day, together


_PRO = {LIGHT: Rate(30, 1), MEDIUM: Rate(20, 1), HEAVY: Rate(10, 1), RESOURCE_INTENSIVE: Rate(10, 60)}
_BUSINESS = {LIGHT: Rate(80, 1), MEDIUM: Rate(60, 1), HEAVY: Rate(40, 1), RESOURCE_INTENSIVE: Rate(20, 60)}
# Business, Education, Enterprise and Partners share the "Business+" figures.
PLANS = {"pro": Plan(_PRO, 30_000), "business": Plan(_BUSINESS, 60_000), "enterprise": Plan(_BUSINESS, 60_000)}


class DailyLimitReached(Exception):
    """Zoom's daily quota of a category is used up, or Zoom asked to wait longer than an invocation should:
    the work waits until `until`, it has not failed."""

    def __init__(self, category: str, until: datetime, limit: str = "daily limit"):
        self.category = category
        self.until = until
        self.limit = limit
        resumes = utc_text(until)
        super().__init__(f"Zoom's {limit} for {category} API calls is reached; the work resumes after {resumes}")


def next_reset(now: datetime) -> datetime:
    """Zoom's daily limits start again at 00:00 UTC."""
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


class Budget(Protocol):
    """Where the limiter gets the times its calls may go (shared/zoom/budget.py: the account's, in Table storage)."""

    def reserve(self, category: str, count: int) -> list[float]: ...

    def pause(self, category: str, seconds: float) -> None: ...

    def block(self, category: str, until: datetime, *, daily: bool = True) -> DailyLimitReached: ...


class RateLimiter:
    """Thread-safe: one per process, shared by every invocation that calls Zoom.

    Each category has the slots this process reserved and has not used yet. A call takes the earliest one
    and sleeps until its time; when none is left, one of the waiting calls reserves a batch: for all those
    waiting, or for the calls this process made in the last AHEAD seconds if it made more (a steady stream of
    calls arrives one by one), so that a busy process writes the budget's row once per batch. A slot missed by
    more than `LATE` (its caller came too late) is given up rather than sent late, on top of those that follow.
    """

    def __init__(
        self,
        budget: Budget,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.budget = budget
        self._clock, self._sleep, self._now = clock, sleep, now
        self._lock = threading.Lock()
        self._slots: dict[str, deque[float]] = {c: deque() for c in CATEGORIES}
        self._waiting: Counter[str] = Counter()
        self._recent: dict[str, deque[float]] = {c: deque() for c in CATEGORIES}  # when calls took their slots
        self._reserving = {c: threading.Lock() for c in CATEGORIES}
        self._paused_until: dict[str, float] = dict.fromkeys(CATEGORIES, 0.0)
        self._blocked: dict[str, DailyLimitReached] = {}  # categories refused until then, as this process knows

    def acquire(self, category: str) -> None:
        """Wait for the next time a `category` call may go; raise `DailyLimitReached` while it is blocked."""
        with self._lock:
            self._waiting[category] += 1
        try:
            slot = self._slot(category)
        finally:
            with self._lock:
                self._waiting[category] -= 1
        wait = slot - self._clock()
        if wait > 0:
            self._sleep(wait)

    def pause(self, category: str, seconds: float) -> None:
        """Zoom answered 429 for this category: hold all of its requests, in every instance, for `seconds`."""
        with self._lock:
            until = self._clock() + seconds
            self._paused_until[category] = max(self._paused_until[category], until)
            slots = self._slots[category]
            while slots and slots[0] < until:
                slots.popleft()
        self.budget.pause(category, seconds)

    def block(self, category: str, until: datetime, *, daily: bool = True) -> DailyLimitReached:
        """Zoom says a daily quota is spent (refuse the categories sharing it until Zoom's reset time), or, not
        `daily`, to wait long (refuse this category until `until`, rather than sleep through an invocation)."""
        refused = self.budget.block(category, until, daily=daily)
        with self._lock:
            for shared in DAILY_CATEGORIES if daily and category in DAILY_CATEGORIES else (category,):
                self._blocked[shared] = refused
                self._slots[shared].clear()
        return refused

    def _slot(self, category: str) -> float:
        while True:
            with self._lock:
                if (slot := self._take(category)) is not None:
                    return slot
            with self._reserving[category]:
                with self._lock:
                    if self._usable(category):
                        continue  # another caller reserved while this one waited for the lock
                    # The daily quota counts what is reserved: Heavy and Resource-intensive calls reserve no more
                    # than they wait for.
                    ahead = 0 if category in DAILY_CATEGORIES else len(self._recent[category])
                    count = min(BATCH, max(1, self._waiting[category], ahead))
                try:
                    times = self.budget.reserve(category, count)
                except DailyLimitReached as refused:
                    with self._lock:
                        self._blocked[category] = refused
                    raise
                with self._lock:
                    self._slots[category].extend(t for t in times if t >= self._paused_until[category])

    def _usable(self, category: str) -> bool:
        """Drop the slots missed by more than LATE; whether one is left."""
        slots, now = self._slots[category], self._clock()
        while slots and slots[0] < now - LATE:
            slots.popleft()
        return bool(slots)

    def _take(self, category: str) -> float | None:
        refused = self._blocked.get(category)
        if refused is not None:
            if self._now() < refused.until:
                raise DailyLimitReached(category, refused.until, refused.limit)
            del self._blocked[category]
        if not self._usable(category):
            return None
        recent, now = self._recent[category], self._clock()
        recent.append(now)
        while recent[0] < now - AHEAD:
            recent.popleft()
        return self._slots[category].popleft()
