"""The retry policy as a caller sees it: what is tried again and how often, how long it waits, when it gives
up, a refused token renewed once, and a write whose outcome is unknown looked for before it is sent again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from shared.retry import CONNECTION, CREDENTIAL, STATUS, AmbiguousResult, Failure, RetryPolicy, retry_after


class Lost(Exception):
    """No answer came."""


class Busy(Exception):
    """The server answered 503, maybe with a Retry-After."""

    def __init__(self, retry_after: str = ""):
        super().__init__("busy")
        self.retry_after = retry_after


class Stale(Exception):
    """The server refused the token."""


class Server:
    """The far side of a call, scripted: each attempt meets the next error, and succeeds once they are spent."""

    def __init__(self, *errors: Exception, events: list[str] | None = None):
        self.errors = list(errors)
        self.attempts = 0
        self.events = events if events is not None else []

    def __call__(self) -> str:
        self.attempts += 1
        self.events.append("send")
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def judge(error: Exception, *, write: bool = False) -> Failure | None:
    if isinstance(error, Lost):
        return Failure(CONNECTION, error, ambiguous=write)
    if isinstance(error, Busy):
        return Failure(STATUS, error, retry_after=error.retry_after, ambiguous=write)
    if isinstance(error, Stale):
        return Failure(CREDENTIAL, error)
    return None


def write(error: Exception) -> Failure | None:
    return judge(error, write=True)


def policy(waits: list, **budgets: int) -> RetryPolicy:
    """Four attempts, back-off from 1 s to 8 s, Retry-After honoured up to 120 s; waits are recorded, not slept."""
    limits = {"attempts": 4, "connection": 4, "status": 4, **budgets}
    return RetryPolicy(**limits, backoff=(1.0, 8.0), max_wait=120.0, sleep=waits.append)


def test_a_failure_that_passes_is_tried_again_until_the_call_succeeds() -> None:
    waits: list[float] = []
    server = Server(Lost(), Busy())
    assert policy(waits).run(server, judge) == "done"
    assert server.attempts == 3 and len(waits) == 2


def test_a_call_that_keeps_failing_is_given_up_after_its_attempts_with_the_last_error() -> None:
    waits: list[float] = []
    server = Server(*[Busy() for _ in range(10)])
    with pytest.raises(Busy):
        policy(waits).run(server, judge)
    assert server.attempts == 4 and len(waits) == 3, "no wait after the last attempt"


def test_the_caller_says_what_giving_up_raises() -> None:
    server = Server(*[Lost() for _ in range(10)])
    with pytest.raises(RuntimeError, match="gave up after 4 attempts: Lost"):
        policy([]).run(
            server, judge, give_up=lambda f, n: RuntimeError(f"gave up after {n} attempts: {type(f.error).__name__}")
        )


def test_lost_answers_and_busy_answers_have_budgets_of_their_own() -> None:
    lost = Server(Lost(), Lost(), Lost())
    with pytest.raises(Lost):
        policy([], attempts=10, connection=2, status=3).run(lost, judge)
    assert lost.attempts == 2
    busy = Server(Busy(), Busy(), Busy(), Busy())
    with pytest.raises(Busy):
        policy([], attempts=10, connection=2, status=3).run(busy, judge)
    assert busy.attempts == 3
    mixed = Server(Lost(), Busy(), Busy())
    assert policy([], attempts=10, connection=2, status=3).run(mixed, judge) == "done"


def test_an_error_that_will_not_pass_is_raised_at_once() -> None:
    waits: list[float] = []
    server = Server(ValueError("refused"))
    with pytest.raises(ValueError, match="refused"):
        policy(waits).run(server, judge)
    assert server.attempts == 1 and waits == []


def test_retry_after_is_honoured_in_fractional_seconds_and_as_a_date() -> None:
    waits: list[float] = []
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    policy(waits).run(Server(Busy("2.128"), Busy(soon)), judge)
    assert waits[0] == pytest.approx(2.128)
    assert 25 < waits[1] <= 30


def test_a_retry_after_beyond_the_cap_waits_the_cap() -> None:
    waits: list[float] = []
    far = (datetime.now(UTC) + timedelta(days=3650)).isoformat()
    policy(waits).run(Server(Busy("3600"), Busy(far)), judge)
    assert waits == [120.0, 120.0]


def test_without_retry_after_the_waits_double_up_to_the_maximum_jittered_down_by_half_at_most() -> None:
    for _ in range(20):
        waits: list[float] = []
        with pytest.raises(Busy):
            policy(waits, attempts=7, status=7).run(Server(*[Busy() for _ in range(7)]), judge)
        bounds = [(0.5, 1), (1, 2), (2, 4), (4, 8), (4, 8), (4, 8)]
        assert all(low <= wait <= high for wait, (low, high) in zip(waits, bounds, strict=True)), waits
    workers = {round(RetryPolicy(1, 1, 1, (1.0, 8.0), 120.0).backoff_time(3), 6) for _ in range(20)}
    assert len(workers) > 1, "workers that failed together do not retry together"


def test_a_failure_that_names_a_shortest_wait_waits_at_least_that() -> None:
    waits: list[float] = []

    def at_least_6s(error: Exception) -> Failure | None:
        return Failure(STATUS, error, min_backoff=6.0)

    policy(waits).run(Server(Busy(), Busy()), at_least_6s)
    assert waits == [6.0, 6.0]


def test_a_refused_token_is_renewed_once_without_spending_an_attempt() -> None:
    renewals: list[int] = []
    server = Server(Stale(), Busy(), Busy(), Busy())
    assert policy([]).run(server, judge, renew=lambda: renewals.append(1)) == "done"
    assert server.attempts == 5 and renewals == [1]
    twice = Server(Stale(), Stale())
    with pytest.raises(Stale):
        policy([]).run(twice, judge, renew=lambda: renewals.append(1))
    assert twice.attempts == 2 and renewals == [1, 1], "renewed once: a token refused again is the answer"


def test_a_write_whose_outcome_is_unknown_is_looked_for_after_the_wait_and_not_sent_again_when_found() -> None:
    events: list[str] = []
    sleeper = RetryPolicy(4, 4, 4, (1.0, 8.0), 120.0, sleep=lambda _: events.append("wait"))
    assert sleeper.run(Server(Lost(), events=events), write, recover=lambda: _look(events, "found")) == "found"
    assert events == ["send", "wait", "look"]


def test_a_write_that_left_no_trace_is_sent_again() -> None:
    events: list[str] = []
    sleeper = RetryPolicy(4, 4, 4, (1.0, 8.0), 120.0, sleep=lambda _: events.append("wait"))
    assert sleeper.run(Server(Busy(), events=events), write, recover=lambda: _look(events, None)) == "done"
    assert events == ["send", "wait", "look", "send"]


def test_a_write_whose_outcome_is_unknown_and_cannot_be_looked_for_is_not_sent_again() -> None:
    server = Server(Lost())
    with pytest.raises(AmbiguousResult, match="POST /items: "):
        policy([]).run(server, write, what="POST /items")
    assert server.attempts == 1


def test_a_write_still_unknown_after_the_last_attempt_is_ambiguous() -> None:
    looks: list[str] = []
    server = Server(*[Lost() for _ in range(10)])
    with pytest.raises(AmbiguousResult):
        policy([]).run(server, write, recover=lambda: _look(looks, None))
    assert server.attempts == 4 and len(looks) == 3


def test_a_hold_spends_the_wait_instead_of_sleeping_and_holds_even_when_the_call_gives_up() -> None:
    held: list[float] = []
    slept: list[float] = []

    def paused(error: Exception) -> Failure | None:
        return Failure(STATUS, error, retry_after="2", hold=held.append)

    with pytest.raises(Busy):
        policy(slept).run(Server(*[Busy() for _ in range(10)]), paused)
    assert slept == [] and held == pytest.approx([2.0] * 4), "the calls that follow are held by the last one too"


def _look(events: list[str], result: str | None) -> str | None:
    events.append("look")
    return result


NOW = datetime(2020, 5, 30, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("2020-05-31T00:00:00Z", datetime(2020, 5, 31, tzinfo=UTC)),  # what Zoom sends with a daily limit
        ("Sun, 31 May 2020 00:00:00 GMT", datetime(2020, 5, 31, tzinfo=UTC)),
        ("30", NOW + timedelta(seconds=30)),
        ("1.5", NOW + timedelta(seconds=1.5)),
        ("", None),
        ("soon", None),
        ("²", None),  # a digit to str.isdigit, not to float()
        ("9" * 400, datetime.max.replace(tzinfo=UTC)),  # further than a datetime reaches: the caller caps it
    ],
)
def test_retry_after_is_read_as_a_timestamp_a_date_or_seconds(header: str, expected: datetime | None) -> None:
    assert retry_after(header, NOW) == expected
