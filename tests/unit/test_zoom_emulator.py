"""The Zoom emulator, in process: its rate limits with Zoom's 429s, legacy JWT tokens, and double-encoded UUIDs."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import jwt
import pytest

from emulators.base import Request, Response
from emulators.zoom.emulator import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    ZoomEmulator,
)
from emulators.zoom.limits import AccountLimits

SEED = {
    "account_id": "acct",
    "users": [{"id": "zAlice0001", "email": "alice@contoso.example", "type": 2, "status": "active"}],
    "meetings": [
        {
            "recording": {
                "uuid": "webinar==",
                "id": 91234567890,
                "host_id": "zAlice0001",
                "topic": "Town hall",
                "type": 5,
                "start_time": "2026-03-09T10:00:00Z",
                "duration": 60,
                "recording_files": [],
            },
            "details": {"start_time": "2026-03-09T10:00:00Z", "end_time": "2026-03-09T11:02:00Z", "duration": 62},
        }
    ],
}
NOON = datetime(2026, 3, 9, 12, 0, tzinfo=UTC).timestamp()


def call(emulator: ZoomEmulator, path: str, token: str = "", method: str = "GET", **headers: str) -> Response:
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = Request(method, path, parse_qs(urlsplit(path).query), headers, b"", "https://127.0.0.1:1")
    return emulator.dispatch(request)


def body(response: Response) -> Any:
    assert isinstance(response.body, bytes)
    return json.loads(response.body)


def oauth_token(emulator: ZoomEmulator) -> str:
    basic = base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()).decode()
    response = call(
        emulator,
        f"/oauth/token?grant_type=account_credentials&account_id={emulator.account_id}",
        method="POST",
        authorization=f"Basic {basic}",
    )
    return body(response)["access_token"]


def limited(plan: str, daily: int | None = None) -> tuple[ZoomEmulator, str, list[float]]:
    emulator = ZoomEmulator(SEED, Path("."), plan=plan)
    now = [NOON]
    emulator.limits = AccountLimits(plan, daily, clock=lambda: now[0])
    return emulator, oauth_token(emulator), now


def test_each_category_has_its_per_second_limit_with_zoom_s_429() -> None:
    emulator, token, now = limited("business")
    for _ in range(80):
        assert call(emulator, "/v2/users/zAlice0001", token).status == 200
    refused = call(emulator, "/v2/users/zAlice0001", token)
    assert refused.status == 429
    assert body(refused) == {
        "code": 429,
        "message": "You have reached the maximum per-second rate limit for this API. Try again later.",
    }
    assert {k: refused.headers[k] for k in ("X-RateLimit-Category", "X-RateLimit-Type", "X-RateLimit-Limit")} == {
        "X-RateLimit-Category": "Light",
        "X-RateLimit-Type": "QPS",
        "X-RateLimit-Limit": "80",
    }
    assert call(emulator, "/v2/users?status=active", token).status == 200  # Medium counts on its own
    now[0] += 1
    assert call(emulator, "/v2/users/zAlice0001", token).status == 200


def test_responses_name_their_category_and_what_remains() -> None:
    emulator, token, _ = limited("pro")
    first = call(emulator, "/v2/users?status=active", token)
    assert (first.headers["X-RateLimit-Category"], first.headers["X-RateLimit-Limit"]) == ("Medium", "20")
    assert first.headers["X-RateLimit-Remaining"] == "19"
    unlimited = ZoomEmulator(SEED, Path("."))
    response = call(unlimited, "/v2/users?status=active", oauth_token(unlimited))
    assert response.headers["X-RateLimit-Category"] == "Medium" and "X-RateLimit-Limit" not in response.headers


def test_the_heavy_daily_quota_answers_until_midnight_utc() -> None:
    emulator, token, now = limited("business", daily=2)
    for _ in range(2):
        assert call(emulator, "/v2/report/webinars/webinar%3D%3D", token).status == 200
    refused = call(emulator, "/v2/report/webinars/webinar%3D%3D", token)
    assert refused.status == 429
    assert "maximum daily rate limit" in body(refused)["message"]
    assert refused.headers["X-RateLimit-Type"] == "Daily-limit"
    assert refused.headers["Retry-After"] == "2026-03-10T00:00:00Z"
    assert call(emulator, "/v2/past_webinars/webinar%3D%3D/participants", token).status != 429  # Medium: no quota
    now[0] = datetime(2026, 3, 10, 0, 0, 1, tzinfo=UTC).timestamp()
    assert call(emulator, "/v2/report/webinars/webinar%3D%3D", token).status == 200


def test_a_request_refused_for_its_token_does_not_count() -> None:
    emulator, token, _ = limited("pro")
    for _ in range(40):
        assert call(emulator, "/v2/users?status=active", "not-a-token").status == 401
    assert call(emulator, "/v2/users?status=active", token).status == 200


def jwt_token(expires_in: float, *, unit: int = 1, key: str = DEFAULT_API_KEY, secret: str = DEFAULT_API_SECRET) -> str:
    return jwt.encode({"iss": key, "exp": (time.time() + expires_in) * unit}, secret, algorithm="HS256")


@pytest.mark.parametrize(
    ("token", "status"),
    [
        (lambda: jwt_token(60), 200),
        (lambda: jwt_token(60, unit=1000), 200),  # Zoom's own sample wrote exp in milliseconds
        (lambda: jwt_token(-60), 401),
        (lambda: jwt_token(-60, unit=1000), 401),
        (lambda: jwt_token(60, key="another-key"), 401),
        (lambda: jwt_token(60, secret="another-secret-of-32-or-more-bytes"), 401),
        (lambda: jwt.encode({"iss": DEFAULT_API_KEY}, DEFAULT_API_SECRET, algorithm="HS256"), 401),
    ],
)
def test_a_legacy_jwt_app_token_is_accepted_only_when_valid(token: Callable[[], str], status: int) -> None:
    response = call(ZoomEmulator(SEED, Path(".")), "/v2/users?status=active", token())
    assert response.status == status
    if status == 401:
        assert body(response) == {"code": 124, "message": "Invalid access token."}


def test_a_token_in_the_query_string_is_refused_even_when_valid() -> None:
    emulator = ZoomEmulator(SEED, Path("."))
    response = call(emulator, f"/v2/users?status=active&access_token={oauth_token(emulator)}")
    assert response.status == 401 and body(response)["code"] == 124


@pytest.mark.parametrize("uuid", ["/ajXp112QmuoKj4854875==", "ajXp112Qmuo//Kj4854875=="])
@pytest.mark.parametrize("endpoint", ["/v2/past_meetings/{}", "/v2/past_meetings/{}/participants"])
def test_a_uuid_starting_with_a_slash_or_holding_two_is_found_only_double_encoded(uuid: str, endpoint: str) -> None:
    """Zoom's rule for UUIDs that begin with "/" or contain "//": encoded once, the meeting does not exist."""
    recording = {**SEED["meetings"][0]["recording"], "uuid": uuid, "type": 2, "topic": "Planning"}
    details = SEED["meetings"][0]["details"]
    two = [{"name": "Ann", "user_email": "ann@contoso.example"}, {"name": "Bo", "user_email": "bo@contoso.example"}]
    entry = {"recording": recording, "details": details, "participants": two}
    emulator = ZoomEmulator({**SEED, "meetings": [entry]}, Path("."))
    token = oauth_token(emulator)
    once, twice = quote(uuid, safe=""), quote(quote(uuid, safe=""), safe="")

    assert call(emulator, endpoint.format(twice), token).status == 200
    refused = call(emulator, endpoint.format(once), token)
    assert (refused.status, body(refused)) == (404, {"code": 3001, "message": f"Meeting does not exist: {uuid}."})


def test_with_latency_every_api_request_takes_at_least_that_long() -> None:
    """The knob the benchmarks and the kill test use to stand for a real round trip to Zoom."""
    emulator = ZoomEmulator({**SEED, "latency": 0.2}, Path("."))
    token = oauth_token(emulator)
    started = time.monotonic()
    assert call(emulator, "/v2/users?status=active", token).status == 200
    assert time.monotonic() - started >= 0.2


def test_a_meetings_end_is_never_made_from_the_recordings_duration() -> None:
    """The listing's `duration` is what was recorded: the details say when the meeting ended, else its participants."""
    recording = {**SEED["meetings"][0]["recording"], "type": 2, "duration": 5}
    rows = [{"name": "Ann", "join_time": "2026-03-09T10:00:00Z", "leave_time": "2026-03-09T11:30:00Z"}]
    seeds = [
        {"recording": recording, "details": SEED["meetings"][0]["details"]},
        {"recording": recording, "participants": rows},
        {"recording": recording},
    ]
    answers = []
    for seed in seeds:
        emulator = ZoomEmulator({**SEED, "meetings": [seed]}, Path("."))
        response = call(emulator, "/v2/past_meetings/webinar%3D%3D", oauth_token(emulator))
        answers.append((response.status, body(response).get("end_time"), body(response).get("duration")))
    assert answers == [
        (200, "2026-03-09T11:02:00Z", 62),  # the seed's details, as Zoom gave them
        (200, "2026-03-09T11:30:00Z", 90),  # the last participant's leave
        (404, None, None),  # nothing says when it ended: Zoom has no details
    ]


def test_the_participants_of_a_meeting_of_one_are_not_listed() -> None:
    """Zoom's spec: "the API doesn't return results if there's only one participant in a meeting"."""
    recording = {**SEED["meetings"][0]["recording"], "type": 2}
    ann = {"name": "Ann", "user_email": "ann@contoso.example", "join_time": "2026-03-09T10:00:00Z"}
    statuses = []
    for rows in ([ann, {**ann, "join_time": "2026-03-09T10:30:00Z"}], [ann, {**ann, "name": "Bo", "user_email": ""}]):
        emulator = ZoomEmulator({**SEED, "meetings": [{"recording": recording, "participants": rows}]}, Path("."))
        response = call(emulator, "/v2/past_meetings/webinar%3D%3D/participants", oauth_token(emulator))
        statuses.append((response.status, body(response).get("code"), len(body(response).get("participants", []))))
    assert statuses == [(404, 3001, 0), (200, None, 2)]  # one person who rejoined; two people
