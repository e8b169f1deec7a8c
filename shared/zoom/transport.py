"""Authorised GETs of Zoom's API: each within its rate-limit category, with the API's retry policy.

Every call counts against its category of Zoom's account-wide limits (shared/zoom/ratelimit.py); a 429 is
honoured by pausing the whole category (for its `Retry-After` when Zoom sends one), and so is a success with
`X-RateLimit-Remaining: 0`; a spent daily quota, or a 429 asking to wait longer than an invocation should,
raises `DailyLimitReached` so that the work waits for a later run. A 401 renews the token once; 5xx and lost
connections are retried with back-off. (Facts: ../shared/reference/zoom-api.md §4.)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from shared import telemetry
from shared.retry import CONNECTION, CREDENTIAL, STATUS, Failure, RetryPolicy, retry_after
from shared.zoom.errors import DAILY_LIMIT, ZoomError
from shared.zoom.ratelimit import DAILY_CATEGORIES, RESOURCE_INTENSIVE, RateLimiter, next_reset
from shared.zoom.retries import API_RETRIES, LONG_WAIT_SECONDS, MAX_RETRY_AFTER_SECONDS, TIMEOUT
from shared.zoom.token import TokenRefused, Tokens

log = logging.getLogger(__name__)
MIN_PAUSE = {RESOURCE_INTENSIVE: 6.0}  # after a 429 without Retry-After; 1 s for the others
DAILY_SLACK = timedelta(hours=1)  # a daily limit's Retry-After may name a moment this far past 00:00 UTC


class Transport:
    """Thread-safe: one per process, so that every invocation's calls share the token and the limiter."""

    def __init__(
        self,
        api_url: str,
        session: requests.Session,
        tokens: Tokens,
        limiter: RateLimiter,
        policy: RetryPolicy = API_RETRIES,
    ):
        self.api_url = api_url
        self.session = session
        self.tokens = tokens
        self.limiter = limiter
        self.policy = policy

    def get(self, category: str, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET `path` (its segments already encoded), counted in rate-limit `category`; what still fails once
        the policy's attempts are spent is raised."""
        url = self.api_url + path

        def attempt() -> dict[str, Any]:
            self.limiter.acquire(category)
            try:
                response = self.session.get(url, params=params, headers=self.tokens.authorization(), timeout=TIMEOUT)
            except requests.RequestException:
                _count(category, "error")
                raise
            _count(category, _OUTCOMES.get(response.status_code, "error"))
            if response.status_code != 200:
                raise ZoomError.from_response(response)
            self._observe(category, response.headers)
            return response.json()

        return self.policy.run(
            attempt, lambda error: self._judge(category, error), renew=self.tokens.renew, give_up=_gave_up, what=path
        )

    def _judge(self, category: str, error: Exception) -> Failure | None:
        """What a failed GET means; an answer that is not JSON is raised (asking again would get the same)."""
        if isinstance(error, requests.RequestException) and not isinstance(error, requests.JSONDecodeError):
            return Failure(CONNECTION, error)  # a GET is safe to repeat, even after a lost answer
        if not isinstance(error, ZoomError) or isinstance(error, TokenRefused):
            return None
        if error.status == 401:
            return Failure(CREDENTIAL, error)
        if error.status == 429:
            return self._rate_limited(category, error)
        if error.status >= 500:
            return Failure(STATUS, error, retry_after=error.headers.get("Retry-After", ""))
        return None

    def _observe(self, category: str, headers: Mapping[str, str]) -> None:
        """Honour `X-RateLimit-Remaining: 0` on a success: the next request would be refused, so it is not
        sent; the shared daily quota waits for Zoom's reset, any other category for a moment."""
        if headers.get("X-RateLimit-Remaining") != "0":
            return
        log.info("Zoom's %s rate limit has no request left", headers.get("X-RateLimit-Category", category))
        if category in DAILY_CATEGORIES:
            self.limiter.block(category, next_reset(datetime.now(UTC)))
        else:
            self.limiter.pause(category, MIN_PAUSE.get(category, 1.0))

    def _rate_limited(self, category: str, error: ZoomError) -> Failure:
        """Honour a 429: the daily quota, or a wait over `LONG_WAIT_SECONDS`, raises `DailyLimitReached`; a
        per-second limit pauses the category (the limiter then holds the retry, and every other call of it)."""
        now = datetime.now(UTC)
        header = error.headers.get("Retry-After", "")
        until = retry_after(header, now)
        zoom_category = error.headers.get("X-RateLimit-Category", category)
        if error.headers.get("X-RateLimit-Type", "").lower() == DAILY_LIMIT or "daily" in error.message.lower():
            latest = next_reset(now) + DAILY_SLACK
            if until and until > latest:
                log.warning("Zoom's daily limit answered 429 until %s, after its next reset: that is used", until)
            raise self.limiter.block(category, until if until and now < until <= latest else next_reset(now)) from error
        wait = (until - now).total_seconds() if until else 0.0
        if wait > MAX_RETRY_AFTER_SECONDS:
            log.warning(
                "Zoom's %s rate limit answered 429 asking to wait until %s, beyond any sane wait: treated as a "
                "transient limit and retried",
                zoom_category,
                until,
            )
            header = ""
        elif until and wait > LONG_WAIT_SECONDS:
            log.info("Zoom's %s rate limit answered 429 until %s; the work waits for it", zoom_category, until)
            raise self.limiter.block(category, until, daily=False) from error

        def pause(seconds: float) -> None:
            log.info("Zoom's %s rate limit answered 429; pausing that category for %.1fs", zoom_category, seconds)
            self.limiter.pause(category, seconds)

        return Failure(STATUS, error, retry_after=header, min_backoff=MIN_PAUSE.get(category, 1.0), hold=pause)


_OUTCOMES = {200: "ok", 429: "rate_limited"}


def _count(category: str, outcome: str) -> None:
    """One request sent, in the counter the workbook's Zoom budget tiles read."""
    telemetry.zoom_requests.add(1, {"category": category, "outcome": outcome})


def _gave_up(failure: Failure, attempts: int) -> Exception:
    """A ZoomError says it was the last of its attempts; a lost connection is raised as it is."""
    return failure.error.gave_up(attempts) if isinstance(failure.error, ZoomError) else failure.error
