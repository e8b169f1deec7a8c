"""The rate limits of one Zoom account, kept by every instance together: the plan's rates at the configured
share, evenly spaced whatever the number of instances, 429 pauses and blocks seen by all, the daily quota.

Time here moves only when a limiter sleeps, so what goes out per second is exact; the instances share an
in-memory table that behaves as Table storage does for the calls the budget makes (ETags, 404, 409, 412).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode

from shared.zoom import ratelimit
from shared.zoom.budget import AccountBudget
from shared.zoom.ratelimit import (
    HEAVY,
    LIGHT,
    MEDIUM,
    PLANS,
    RESOURCE_INTENSIVE,
    DailyLimitReached,
    RateLimiter,
)

SHARE = 0.8


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.day = datetime(2026, 3, 9, 23, 0, tzinfo=UTC)

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds
        self.day += timedelta(seconds=seconds)


class Table:
    """Table storage's optimistic concurrency for one partition: every write changes the row's ETag."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[dict[str, Any], str]] = {}
        self.etags = (f'W/"{n}"' for n in itertools.count())
        self.writes = 0

    def get_entity(self, partition: str, row: str) -> TableEntity:
        if row not in self.rows:
            raise ResourceNotFoundError("not found")
        fields, etag = self.rows[row]
        entity = TableEntity(fields)
        entity._metadata = {"etag": etag}
        return entity

    def create_entity(self, entity: dict[str, Any]) -> None:
        if entity["RowKey"] in self.rows:
            raise ResourceExistsError("exists")
        self._store(entity)

    def update_entity(self, entity: dict[str, Any], *, mode: UpdateMode, etag: str, match_condition: Any) -> None:
        assert mode == UpdateMode.REPLACE and match_condition == MatchConditions.IfNotModified
        if self.rows[entity["RowKey"]][1] != etag:
            raise ResourceModifiedError("modified")
        self._store(entity)

    def _store(self, entity: dict[str, Any]) -> None:
        self.writes += 1
        self.rows[entity["RowKey"]] = (dict(entity), next(self.etags))


@pytest.fixture
def one_caller_each(monkeypatch: pytest.MonkeyPatch) -> None:
    """Instances here take turns on one thread, each with one caller: reserving ahead for a stream of calls
    (AHEAD) would only give slots their turn makes them miss."""
    monkeypatch.setattr(ratelimit, "AHEAD", 0)


def instances(count: int = 1, plan: str = "business", table: Table | None = None) -> tuple[list[RateLimiter], Clock]:
    """`count` processes of one account (one table), on one clock."""
    clock, table = Clock(), table or Table()
    limiters = []
    for _ in range(count):
        budget = AccountBudget(table, "acct", PLANS[plan], SHARE, clock=lambda: clock.now, now=lambda: clock.day)
        limiters.append(RateLimiter(budget, clock=lambda: clock.now, sleep=clock.sleep, now=lambda: clock.day))
    return limiters, clock


def sent_within(limiters: list[RateLimiter], clock: Clock, category: str, seconds: float) -> list[float]:
    """Calls the instances make in turn as fast as they are let, for `seconds`: the time of each."""
    started, times = clock.now, []
    for limiter in itertools.cycle(limiters):
        limiter.acquire(category)
        if clock.now - started >= seconds:
            return times
        times.append(clock.now)
    raise AssertionError("unreachable")


def busiest_second(times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + 1) for start in times)


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
def test_each_category_keeps_to_its_share_of_the_plan_rate(plan: str, category: str, per_second: int) -> None:
    limiters, clock = instances(1, plan)
    sent = len(sent_within(limiters, clock, category, 10))
    assert per_second * SHARE * 10 - 1 <= sent <= per_second * SHARE * 10 + 1


@pytest.mark.usefixtures("one_caller_each")
def test_four_instances_together_keep_to_the_rate_one_would() -> None:
    limiters, clock = instances(4)
    times = sent_within(limiters, clock, MEDIUM, 10)
    assert 60 * SHARE * 10 - 1 <= len(times) <= 60 * SHARE * 10 + 1
    assert busiest_second(times) <= 60 * SHARE + 1


@pytest.mark.usefixtures("one_caller_each")
def test_calls_are_spaced_evenly_not_let_through_in_bursts() -> None:
    limiters, clock = instances(3)
    times = sent_within(limiters, clock, MEDIUM, 3)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) == pytest.approx(1 / (60 * SHARE))


def test_a_process_reserves_slots_for_all_its_waiting_callers_at_once() -> None:
    table = Table()
    (limiter,), _ = instances(1, table=table)
    limiter._waiting[MEDIUM] = 9  # nine other callers of this process are waiting for a Medium slot
    limiter.acquire(MEDIUM)
    assert len(limiter._slots[MEDIUM]) == 9 and table.writes == 1


def test_categories_do_not_wait_for_each_other() -> None:
    (limiter,), clock = instances(1, "pro")
    for _ in range(20):
        limiter.acquire(MEDIUM)
    started = clock.now
    limiter.acquire(LIGHT)
    assert clock.now == started


def test_a_429_seen_by_one_instance_pauses_the_category_in_every_instance() -> None:
    (first, second), clock = instances(2)
    first.acquire(MEDIUM)
    first.pause(MEDIUM, 5)
    started = clock.now
    second.acquire(MEDIUM)
    assert clock.now - started == pytest.approx(5)
    started = clock.now
    second.acquire(LIGHT)
    assert clock.now == started


def test_a_slot_missed_by_its_caller_is_given_up_not_sent_on_top_of_the_next() -> None:
    (limiter,), clock = instances(1)
    limiter._waiting[MEDIUM] = 4
    limiter.acquire(MEDIUM)
    limiter._waiting[MEDIUM] = 0  # the four other callers went away: their slots pass unused
    clock.now += 1
    started = clock.now
    limiter.acquire(MEDIUM)
    assert clock.now == started and not limiter._slots[MEDIUM]


def test_a_spent_daily_quota_blocks_heavy_and_resource_intensive_in_every_instance_until_the_reset() -> None:
    (first, second), clock = instances(2)
    reset = datetime(2026, 3, 10, tzinfo=UTC)
    error = first.block(HEAVY, reset)
    assert "daily limit for Heavy" in str(error) and "2026-03-10T00:00:00Z" in str(error)
    for category in (HEAVY, RESOURCE_INTENSIVE):
        with pytest.raises(DailyLimitReached) as raised:
            second.acquire(category)
        assert raised.value.until == reset
    second.acquire(LIGHT)
    clock.day = reset
    second.acquire(HEAVY)


def test_a_long_retry_after_blocks_only_its_category() -> None:
    (first, second), clock = instances(2)
    until = clock.day + timedelta(minutes=10)
    first.block(MEDIUM, until, daily=False)
    with pytest.raises(DailyLimitReached) as raised:
        second.acquire(MEDIUM)
    assert "rate limit for Medium" in str(raised.value)
    second.acquire(HEAVY)


def test_the_plans_daily_quota_is_counted_across_instances_and_starts_again_at_midnight_utc() -> None:
    (first, second), clock = instances(2, "pro")
    clock.day = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    for number in range(PLANS["pro"].daily):
        limiter = first if number % 2 else second
        limiter.acquire(RESOURCE_INTENSIVE if number < 10 else HEAVY)  # one quota for both
    with pytest.raises(DailyLimitReached) as raised:
        first.acquire(HEAVY)
    assert raised.value.until == datetime(2026, 3, 10, tzinfo=UTC)
    clock.day = datetime(2026, 3, 10, 0, 0, 1, tzinfo=UTC)
    second.acquire(HEAVY)


def test_a_steady_stream_of_calls_writes_the_budget_once_per_batch_not_once_per_call() -> None:
    table = Table()
    (limiter,), clock = instances(1, table=table)
    calls = sent_within([limiter], clock, MEDIUM, 10)
    assert len(calls) >= 60 * SHARE * 10 - 1
    assert table.writes <= len(calls) / 5  # each reservation covers the last AHEAD seconds' calls: a dozen


def test_a_schedule_written_by_a_clock_far_ahead_does_not_hold_every_instance_back() -> None:
    """An instance whose clock is an hour fast reserves its calls an hour ahead on the account's schedule; the
    others do not wait an hour for it (inside a function's 30-minute timeout): no schedule reaches that far."""
    table = Table()
    (right,), clock = instances(1, table=table)
    fast = AccountBudget(table, "acct", PLANS["business"], SHARE, clock=lambda: clock.now + 3600)
    fast.reserve(MEDIUM, 16)
    fast.pause(MEDIUM, 5)
    started = clock.now
    right.acquire(MEDIUM)
    assert clock.now - started < 1
