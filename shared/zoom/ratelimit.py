"""Zoom's API rate limits, kept on our side so that a busy archive run is not answered with 429s.

Zoom limits each account (shared by every app installed on it) per rate-limit category: requests per
second for Light, Medium and Heavy endpoints, per minute for Resource-intensive ones, and a daily quota
that Heavy and Resource-intensive calls share (../shared/reference/zoom-api.md §4). The limiter lets a
category's calls through at most at the plan's rate, less a margin for the network's jitter and for
other apps on the account; a 429 pauses the whole category, and a daily limit blocks it until Zoom's
reset time, so that work waits for the next day instead of failing (as does a 429 that asks for a wait
longer than an invocation should sleep).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.records import utc_text

LIGHT = "Light"
MEDIUM = "Medium"
HEAVY = "Heavy"
RESOURCE_INTENSIVE = "Resource-intensive"
CATEGORIES = (LIGHT, MEDIUM, HEAVY, RESOURCE_INTENSIVE)
DAILY_CATEGORIES = (HEAVY, RESOURCE_INTENSIVE)  # they share one daily quota
HEADROOM = 0.8  # use at most this share of a limit: the network's jitter and other apps need the rest


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
        resumes = utc_text(until)
        super().__init__(f"Zoom's {limit} for {category} API calls is reached; the work resumes after {resumes}")


def next_reset(now: datetime) -> datetime:
    """Zoom's daily limits start again at 00:00 UTC."""
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


class RateLimiter:
    """Thread-safe: one per process, shared by every invocation that calls Zoom."""

    def __init__(
        self,
        plan: Plan,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.plan = plan
        self._clock, self._sleep, self._now = clock, sleep, now
        self._lock = threading.Lock()
        self._next: dict[str, float] = dict.fromkeys(CATEGORIES, 0.0)  # earliest time of the next request
        self._paused_until: dict[str, float] = dict.fromkeys(CATEGORIES, 0.0)
        self._blocked_until: dict[str, tuple[datetime, str]] = {}  # categories refused until then, and why
        self._day = self._now().astimezone(UTC).date()
        self._daily_used = 0

    def acquire(self, category: str) -> None:
        """Wait until one more request of `category` keeps within the limits; raise when the day's quota is spent.

        Requests are spaced evenly rather than let through in bursts: Zoom counts them in its own windows,
        and a burst that the network delays a little would land in the next window on top of the next burst.
        """
        rate = self.plan.rates[category]
        interval = rate.seconds / max(1.0, rate.requests * HEADROOM)
        while True:
            with self._lock:
                self._check_daily(category)
                now = self._clock()
                start = max(self._next[category], self._paused_until[category])
                if now >= start:
                    self._next[category] = max(now, self._next[category]) + interval
                    if category in DAILY_CATEGORIES:
                        self._daily_used += 1
                    return
            self._sleep(start - now)

    def pause(self, category: str, seconds: float) -> None:
        """Zoom answered 429 for this category: hold all of its requests for `seconds`."""
        with self._lock:
            self._paused_until[category] = max(self._paused_until[category], self._clock() + seconds)

    def block(self, category: str, until: datetime, *, daily: bool = True) -> DailyLimitReached:
        """Zoom says a daily quota is spent (refuse the categories sharing it until Zoom's reset time), or, not
        `daily`, to wait long (refuse this category until `until`, rather than sleep through an invocation)."""
        with self._lock:
            return self._block(category, until, daily)

    def _block(self, category: str, until: datetime, daily: bool = True) -> DailyLimitReached:
        limit = "daily limit" if daily else "rate limit"
        for shared in DAILY_CATEGORIES if daily and category in DAILY_CATEGORIES else (category,):
            current = self._blocked_until.get(shared)
            if current is None or until > current[0]:
                self._blocked_until[shared] = (until, limit)
        return DailyLimitReached(category, until, limit)

    def _check_daily(self, category: str) -> None:
        now = self._now()
        blocked = self._blocked_until.get(category)
        if blocked and now < blocked[0]:
            raise DailyLimitReached(category, *blocked)
        self._blocked_until.pop(category, None)
        if category not in DAILY_CATEGORIES:
            return
        if now.astimezone(UTC).date() != self._day:
            self._day, self._daily_used = now.astimezone(UTC).date(), 0
        if self._daily_used >= self.plan.daily:
            raise self._block(category, next_reset(now))
