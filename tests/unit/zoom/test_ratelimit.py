"""The client-side rate limiter: Zoom's per-category rates with headroom, 429 pauses, the daily quota."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.zoom.ratelimit import (
    HEADROOM,
    HEAVY,
    LIGHT,
    MEDIUM,
    PLANS,
    RESOURCE_INTENSIVE,
    DailyLimitReached,
    RateLimiter,
)


class Clock:
    """Time that moves only when the limiter sleeps: what it lets through per second is then exact."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.day = datetime(2026, 3, 9, 23, 0, tzinfo=UTC)

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds
        self.day += timedelta(seconds=seconds)


def limiter(plan: str = "business") -> tuple[RateLimiter, Clock]:
    clock = Clock()
    return RateLimiter(PLANS[plan], clock=lambda: clock.now, sleep=clock.sleep, now=lambda: clock.day), clock


def sent_within(limiter: RateLimiter, clock: Clock, category: str, seconds: float) -> int:
    started, count = clock.now, 0
    while True:
        limiter.acquire(category)
        if clock.now - started >= seconds:
            return count
        count += 1


@pytest.mark.parametrize(
    ("plan", "category", "per_second"),
    [
        ("pro", LIGHT, 30),
        ("pro", MEDIUM, 20),
        ("business", LIGHT, 80),
        ("business", MEDIUM, 60),
        ("business", HEAVY, 40),
    ],
)
def test_each_category_keeps_below_its_plan_rate(plan: str, category: str, per_second: int) -> None:
    rate_limiter, clock = limiter(plan)
    sent = sent_within(rate_limiter, clock, category, 10)
    assert per_second * HEADROOM * 10 - 1 <= sent <= per_second * 10


def test_no_second_holds_more_than_the_limit_even_in_a_burst() -> None:
    rate_limiter, clock = limiter("business")
    times = []
    for _ in range(500):
        rate_limiter.acquire(MEDIUM)
        times.append(clock.now)
    assert max(sum(1 for t in times if start <= t < start + 1) for start in times) <= 60


def test_resource_intensive_calls_are_limited_per_minute() -> None:
    rate_limiter, clock = limiter("business")
    assert sent_within(rate_limiter, clock, RESOURCE_INTENSIVE, 600) <= 20 * 10


def test_categories_do_not_wait_for_each_other() -> None:
    rate_limiter, clock = limiter("pro")
    for _ in range(20):
        rate_limiter.acquire(MEDIUM)
    started = clock.now
    rate_limiter.acquire(LIGHT)
    assert clock.now == started


def test_a_429_pauses_the_whole_category() -> None:
    rate_limiter, clock = limiter()
    rate_limiter.acquire(MEDIUM)
    rate_limiter.pause(MEDIUM, 5)
    started = clock.now
    rate_limiter.acquire(MEDIUM)
    assert clock.now - started == pytest.approx(5)
    started = clock.now
    rate_limiter.acquire(LIGHT)
    assert clock.now == started


def test_a_spent_daily_quota_blocks_heavy_and_resource_intensive_until_the_reset() -> None:
    rate_limiter, clock = limiter()
    reset = datetime(2026, 3, 10, tzinfo=UTC)
    error = rate_limiter.block(HEAVY, reset)
    assert "daily limit for Heavy" in str(error) and "2026-03-10T00:00:00Z" in str(error)
    for category in (HEAVY, RESOURCE_INTENSIVE):
        with pytest.raises(DailyLimitReached) as raised:
            rate_limiter.acquire(category)
        assert raised.value.until == reset
    rate_limiter.acquire(LIGHT)
    clock.day = reset
    rate_limiter.acquire(HEAVY)


def test_the_plans_daily_quota_is_counted_and_starts_again_at_midnight_utc() -> None:
    rate_limiter, clock = limiter("pro")
    clock.day = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    for number in range(PLANS["pro"].daily):
        rate_limiter.acquire(RESOURCE_INTENSIVE if number < 10 else HEAVY)  # one quota for both
    with pytest.raises(DailyLimitReached) as raised:
        rate_limiter.acquire(HEAVY)
    assert raised.value.until == datetime(2026, 3, 10, tzinfo=UTC)
    clock.day = datetime(2026, 3, 10, 0, 0, 1, tzinfo=UTC)
    rate_limiter.acquire(HEAVY)
