"""Zoom's rate limits as the emulated account enforces them: per category, per second (per minute for
Resource-intensive), and a daily quota that Heavy and Resource-intensive calls share, reset at 00:00 UTC.

The figures are those Zoom publishes per plan (../shared/reference/zoom-api.md §4.1); the 429 bodies and
`X-RateLimit-*` headers are Zoom's (§4.2): `Retry-After` is a timestamp, and only on the daily limit.
Requests are counted in fixed windows (each second, each minute), as a per-second limit reads. Without a
plan the account is not limited, and responses only name their category.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from emulators.base import Response

RATE_LIMITED = 429  # Zoom's error code in a 429's body, per-second and daily limits alike
QPS_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."
DAILY_MESSAGE = (
    "You have reached the maximum daily rate limit for this API. Refer to the response header for details on "
    "when you can make another request."
)
SHARED_DAILY = ("Heavy", "Resource-intensive")
# plan -> category -> (requests, per seconds); and the daily quota Heavy and Resource-intensive share
PLANS: dict[str, tuple[dict[str, tuple[int, int]], int]] = {
    "pro": ({"Light": (30, 1), "Medium": (20, 1), "Heavy": (10, 1), "Resource-intensive": (10, 60)}, 30_000),
    "business": ({"Light": (80, 1), "Medium": (60, 1), "Heavy": (40, 1), "Resource-intensive": (20, 60)}, 60_000),
}
PLANS["enterprise"] = PLANS["business"]


class AccountLimits:
    """One account's counters; thread-safe (the server answers requests on many threads)."""

    def __init__(self, plan: str = "", daily: int | None = None, clock: Callable[[], float] = time.time):
        self.rates, plan_daily = PLANS[plan] if plan else ({}, 0)
        self.daily = daily if daily is not None else plan_daily
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}  # category -> (window number, requests in it)
        self._day = self._today()
        self._used_today = 0

    def _today(self) -> date:
        return datetime.fromtimestamp(self._clock(), UTC).date()

    def admit(self, category: str) -> Response | None:
        """Count one request; a 429 response when it is over a limit (a refused request does not count)."""
        if category not in self.rates:
            return None
        limit, seconds = self.rates[category]
        with self._lock:
            window = int(self._clock() // seconds)
            number, count = self._windows.get(category, (window, 0))
            count = count if number == window else 0
            if count >= limit:
                return _too_many(category, "QPS", limit, QPS_MESSAGE)
            if category in SHARED_DAILY and self.daily:
                today = self._today()
                if today != self._day:
                    self._day, self._used_today = today, 0
                if self._used_today >= self.daily:
                    reset = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
                    retry = reset.strftime("%Y-%m-%dT%H:%M:%SZ")
                    return _too_many(category, "Daily-limit", self.daily, DAILY_MESSAGE, {"Retry-After": retry})
                self._used_today += 1
            self._windows[category] = (window, count + 1)
        return None

    def headers(self, category: str) -> dict[str, str]:
        """The headers Zoom sends on a successful response: the category, and the limit it counts against."""
        headers = {"X-RateLimit-Category": category}
        if category in self.rates:
            with self._lock:
                if category in SHARED_DAILY and self.daily:
                    limit, remaining = self.daily, self.daily - self._used_today
                else:
                    limit = self.rates[category][0]
                    remaining = limit - self._windows.get(category, (0, 0))[1]
            headers.update({"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(0, remaining))})
        return headers


def _too_many(category: str, kind: str, limit: int, message: str, extra: dict[str, str] | None = None) -> Response:
    headers = {
        "X-RateLimit-Category": category,
        "X-RateLimit-Type": kind,
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": "0",
        **(extra or {}),
    }
    return Response.json(429, {"code": RATE_LIMITED, "message": message}, headers)
