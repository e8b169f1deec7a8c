"""One retry policy for every Zoom and Graph call: bounded budgets, jittered back-off, a capped Retry-After,
a refused token renewed once, and a write whose outcome is unknown looked for before it is sent again.

Modelled on azure-core's `RetryPolicy`: one object holds the budgets (attempts in all, and of them those that
got no answer, and those answered "try again later") and the back-off; each call says what its failures mean
(`judge`), because only the call knows that a 401 means a stale token, that a 429 pauses a Zoom rate-limit
category or that Zoom's daily quota is spent, or that a write may already be done. Nothing is retried
forever: every budget is a number.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TypeVar

from shared.records import parse_time

log = logging.getLogger(__name__)
T = TypeVar("T")
_SECONDS = re.compile(r"\d+(\.\d*)?|\.\d+", re.ASCII)  # ASCII digits only: float() refuses "²" and "٣"

CONNECTION = "connection"  # no answer: the connection failed or broke off, or the answer was lost
STATUS = "status"  # an answer saying to try again later: throttling (429) or a server error (5xx)
CREDENTIAL = "credential"  # the token was refused before it expired: renewed once, then sent again at once


class AmbiguousResult(Exception):
    """A write may or may not have happened (timeout or server error after the request was sent)."""


@dataclass(frozen=True)
class Failure:
    """An attempt that failed in a way that may pass, as its call judged it."""

    kind: str  # CONNECTION, STATUS or CREDENTIAL: the budget it draws on
    error: Exception  # what is raised once no attempt is left
    retry_after: str = ""  # the answer's Retry-After, honoured up to the policy's `max_wait`
    min_backoff: float = 0.0  # the shortest wait when the answer named none
    ambiguous: bool = False  # a write that may have been done: looked for (`recover`) before it is sent again
    hold: Callable[[float], None] | None = None  # spends the wait instead of sleeping (e.g. pauses a rate limit)


def retry_after(value: str, now: datetime) -> datetime | None:
    """When a `Retry-After` says to try again: seconds (Graph sends fractions, e.g. 2.128), an HTTP-date, or an
    ISO 8601 timestamp (what Zoom sends with a daily limit); None when it says nothing readable."""
    value = value.strip()
    if not value:
        return None
    if _SECONDS.fullmatch(value):
        try:
            return now + timedelta(seconds=float(value))
        except OverflowError:
            return datetime.max.replace(tzinfo=UTC)  # further than can be said: the caller's cap bounds it
    moment = parse_time(value)
    if moment is None:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently one kind of call is tried. Thread-safe: each call counts its own failures.

    A call gives up at its `attempts`-th failure, or sooner when the failures of one kind reach that kind's
    budget (`connection`, `status`); renewing a refused token once is not counted.
    """

    attempts: int  # requests sent at most
    connection: int  # failures without an answer that end the call
    status: int  # answers saying to try again later that end the call
    backoff: tuple[float, float]  # seconds before the first retry, and at most
    max_wait: float  # seconds: the longest Retry-After honoured
    sleep: Callable[[float], None] = time.sleep

    def run(
        self,
        attempt: Callable[[], T],
        judge: Callable[[Exception], Failure | None],
        *,
        renew: Callable[[], None] | None = None,
        recover: Callable[[], T | None] | None = None,
        give_up: Callable[[Failure, int], Exception] | None = None,
        what: str = "",
    ) -> T:
        """`attempt()` until it returns, as long as `judge` says its errors may pass and the budgets last.

        An error `judge` does not know (None) is raised at once; `judge` may raise instead (Zoom's spent
        daily quota). A CREDENTIAL failure calls `renew()` and is sent again at once, once. Before a retry the
        policy waits for the answer's Retry-After (at most `max_wait`) or a jittered back-off, or lets the
        failure's `hold` spend that wait. An ambiguous failure raises `AmbiguousResult` without `recover` or
        without attempts left; with it, `recover()` looks after the wait, and what it finds is the result.
        Once a budget is spent, `give_up(last failure, attempts made)` is raised (by default its error).
        """
        failures: Counter[str] = Counter()
        sent = 0
        renewed = False
        while True:
            sent += 1
            try:
                return attempt()
            except Exception as caught:
                error = caught
            failure = judge(error)
            if failure is None:
                raise error
            if failure.kind == CREDENTIAL:
                if renewed or renew is None:
                    raise failure.error
                renew()
                renewed, sent = True, sent - 1
                continue
            failures[failure.kind] += 1
            spent = sent >= self.attempts or failures[failure.kind] >= self._budget(failure.kind)
            if failure.ambiguous and (recover is None or spent):
                raise AmbiguousResult(f"{what}: {failure.error}") from failure.error
            wait = self.wait(failure, sum(failures.values()) - 1)
            if failure.hold:
                failure.hold(wait)  # even when this call gives up: the hold concerns the calls that follow
            if spent:
                raise give_up(failure, sent) if give_up else failure.error
            kind = f"{failure.kind} failure ({type(failure.error).__name__})"  # not its text: URLs carry credentials
            log.info("%s: %s; attempt %d in %.1fs", what or "a call", kind, sent + 1, wait)
            if not failure.hold:
                self.sleep(wait)
            if failure.ambiguous and recover is not None and (found := recover()) is not None:
                return found

    def backoff_time(self, retry: int) -> float:
        """Seconds before retry number `retry` (0 for the first): doubled at each retry up to the maximum, then
        jittered down by up to half, so that workers that failed together do not retry together."""
        first, most = self.backoff
        return min(most, first * 2**retry) * random.uniform(0.5, 1.0)

    def wait(self, failure: Failure, retry: int) -> float:
        """Seconds before retry number `retry`: what the answer asked for, at most `max_wait`, else back-off."""
        now = datetime.now(UTC)
        until = retry_after(failure.retry_after, now)
        if until is not None:
            return min(self.max_wait, max(0.0, (until - now).total_seconds()))
        return max(failure.min_backoff, self.backoff_time(retry))

    def _budget(self, kind: str) -> int:
        return self.connection if kind == CONNECTION else self.status
