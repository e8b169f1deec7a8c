"""Zoom's rate limits for the whole account, kept in one Table storage table that every instance shares.

Zoom counts an account's requests per category across every app and every caller (../shared/reference/
zoom-api.md §4), so N instances each keeping to the limit alone would send N times it. Here the account has
one schedule per category, a row holding when its next call may go: calls are spaced evenly at the share of
the plan's rate the archiver uses (`ZOOM_RATE_SHARE`), whatever the number of instances. A process reserves
as many consecutive times ("slots") as it has callers waiting, with one optimistic update of the row (its
ETag), then lets each caller go at its slot, so the table is written once per batch, not once per call.

The same rows say what one instance learnt for all: a 429 pauses the category (`paused_until`), a spent daily
quota or a long Retry-After blocks it (`blocked_until`); a row per UTC day counts the Heavy and
Resource-intensive calls that share the daily quota. Every time is the wall clock (seconds since the epoch),
which Azure keeps in step across instances far closer than the share's margin: a clock d seconds fast makes
the others' calls wait d more (never more calls than the rate), one d seconds slow sends its calls up to d late,
on top of others' (within the share's margin for the milliseconds Azure's clocks differ by; the 429 pause
covers the rest), and a schedule further ahead than HORIZON is taken for a wrong clock and not kept.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from shared.records import parse_time, utc_text
from shared.zoom.ratelimit import DAILY_CATEGORIES, DailyLimitReached, Plan, next_reset

log = logging.getLogger(__name__)
CONFLICTS = 100  # optimistic updates of one row tried at most, each after a short random wait
TABLE_NOT_FOUND = "TableNotFound"  # the storage's code: the table itself is missing, not the row
CONFLICT_WAIT = 0.005  # seconds, at most, before reading a row another instance has just written again
# Seconds ahead no schedule reaches with clocks that agree: a 429's pause is at most a minute (a longer wait
# blocks instead), and the queue of every instance's batches about a minute (README, Scale).
HORIZON = 600.0


@dataclass(frozen=True)
class Schedule:
    """One category's row: when its next call may go, and until when it is paused or blocked."""

    next: float = 0.0  # the time of the account's next free slot
    paused_until: float = 0.0  # a 429: no call before then
    blocked_until: datetime | None = None  # a spent daily quota or a long Retry-After: calls refused until then
    blocked_limit: str = ""  # "daily limit" or "rate limit": what blocks it

    def slots(self, now: float, count: int, interval: float) -> tuple[list[float], Schedule]:
        """`count` slots `interval` apart from the first free one, and the schedule after them. A schedule
        further ahead than HORIZON was written by a clock far ahead of this one (or read by one far behind):
        it is not kept, rather than every caller of every instance sleeping until then."""
        start = max(self.next, self.paused_until, now)
        if start > now + HORIZON:
            log.warning(
                "the Zoom budget's schedule is %.0f s ahead of this clock: an instance's clock is wrong", start - now
            )
            start = now
        times = [start + n * interval for n in range(count)]
        return times, Schedule(start + count * interval, self.paused_until, self.blocked_until, self.blocked_limit)

    def refuses(self, category: str, moment: datetime) -> DailyLimitReached | None:
        """What callers of `category` are told while the category is blocked at `moment`; None when it is not."""
        if self.blocked_until is None or moment >= self.blocked_until:
            return None
        return DailyLimitReached(category, self.blocked_until, self.blocked_limit or "rate limit")


def interval(plan: Plan, category: str, share: float) -> float:
    """Seconds between two calls of `category` at `share` of the plan's rate."""
    rate = plan.rates[category]
    return rate.seconds / max(1.0, rate.requests * share)


class AccountBudget:
    """The account's schedules in `table` (partition `account`); thread-safe, and safe across processes."""

    def __init__(
        self,
        table: TableClient,
        account: str,
        plan: Plan,
        share: float,
        *,
        clock: Callable[[], float] = time.time,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.table = table
        self.partition = account or "account"
        self.plan = plan
        self.share = share
        self._clock, self._now = clock, now

    def reserve(self, category: str, count: int) -> list[float]:
        """The times of `count` calls of `category` (fewer when the day's quota has fewer left); raises
        `DailyLimitReached` while the category is blocked or when the daily quota is spent."""
        if category in DAILY_CATEGORIES:
            count = self._count_daily(category, count)
        step = interval(self.plan, category, self.share)

        def reserve(schedule: Schedule) -> tuple[Schedule, list[float]]:
            if refused := schedule.refuses(category, self._now()):
                raise refused
            times, after = schedule.slots(self._clock(), count, step)
            return after, times

        return self._update(category, reserve)

    def pause(self, category: str, seconds: float) -> None:
        """Zoom answered 429 for `category`: no instance sends one before `seconds` from now."""
        until = self._clock() + seconds

        def pause(schedule: Schedule) -> tuple[Schedule, None]:
            if schedule.paused_until >= until:
                return schedule, None
            return Schedule(schedule.next, until, schedule.blocked_until, schedule.blocked_limit), None

        self._update(category, pause)

    def block(self, category: str, until: datetime, *, daily: bool = True) -> DailyLimitReached:
        """Zoom says the daily quota is spent (block the categories sharing it until `until`), or, not `daily`,
        to wait longer than an invocation should (block this category); returns what callers are told."""
        limit = "daily limit" if daily else "rate limit"
        for shared in DAILY_CATEGORIES if daily and category in DAILY_CATEGORIES else (category,):

            def block(schedule: Schedule) -> tuple[Schedule, None]:
                if schedule.blocked_until is not None and schedule.blocked_until >= until:
                    return schedule, None
                return Schedule(schedule.next, schedule.paused_until, until, limit), None

            self._update(shared, block)
        return DailyLimitReached(category, until, limit)

    # --- rows -----------------------------------------------------------------------------------

    def daily_used(self, day: date) -> int:
        """How much of the daily quota of Heavy and Resource-intensive calls was reserved on `day` (UTC)."""
        return int(self._read(_daily_row(day))[0].get("used") or 0)

    def _count_daily(self, category: str, count: int) -> int:
        """Count `count` more calls in today's shared quota, or as many as it has left; raises once it is spent."""
        today = self._now().astimezone(UTC)
        row = _daily_row(today.date())
        for _ in range(CONFLICTS):
            entity, etag = self._read(row)
            used = int(entity.get("used") or 0)
            granted = min(count, self.plan.daily - used)
            if granted <= 0:
                raise self.block(category, next_reset(today))
            if self._write(row, {"used": used + granted}, etag):
                return granted
        raise _Contended(row)

    def _update(self, category: str, change: Callable[[Schedule], tuple[Schedule, Any]]) -> Any:
        """Read the category's row, apply `change`, write it back unless another instance wrote it first."""
        for _ in range(CONFLICTS):
            entity, etag = self._read(category)
            before = _schedule(entity)
            after, result = change(before)
            if after == before or self._write(category, _fields(after), etag):
                return result
        raise _Contended(category)

    def _read(self, row: str) -> tuple[dict[str, Any], str | None]:
        """The row and its ETag; nothing when it does not exist yet (nor the table, which is then made)."""
        try:
            entity = self.table.get_entity(self.partition, row)
        except ResourceNotFoundError as error:
            if getattr(error, "error_code", None) == TABLE_NOT_FOUND:
                with contextlib.suppress(ResourceExistsError):
                    self.table.create_table()
            return {}, None
        return dict(entity), entity.metadata["etag"]

    def _write(self, row: str, fields: dict[str, Any], etag: str | None) -> bool:
        """Write the row only if it is as read (`etag`; None: absent); False when another instance wrote first."""
        entity = {"PartitionKey": self.partition, "RowKey": row, **fields}
        try:
            if etag is None:
                self.table.create_entity(entity)
            else:
                self.table.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
                )
        except (ResourceExistsError, ResourceModifiedError):
            time.sleep(random.uniform(0, CONFLICT_WAIT))
            return False
        return True


class _Contended(Exception):
    """A row kept changing under every attempt to write it: more instances than the table can serve."""

    def __init__(self, row: str):
        super().__init__(f"the Zoom budget row {row!r} changed under each of {CONFLICTS} attempts to update it")


def _daily_row(day: date) -> str:
    return f"daily-{day.isoformat()}"


def _schedule(entity: dict[str, Any]) -> Schedule:
    return Schedule(
        next=float(entity.get("next") or 0.0),
        paused_until=float(entity.get("paused_until") or 0.0),
        blocked_until=parse_time(entity.get("blocked_until")),
        blocked_limit=str(entity.get("blocked_limit") or ""),
    )


def _fields(schedule: Schedule) -> dict[str, Any]:
    return {
        "next": float(schedule.next),
        "paused_until": float(schedule.paused_until),
        "blocked_until": utc_text(schedule.blocked_until) if schedule.blocked_until else "",
        "blocked_limit": schedule.blocked_limit,
    }
