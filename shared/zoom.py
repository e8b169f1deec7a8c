"""Zoom REST API client: sign-in, the calls the archiver makes, rate limits, retries and safe downloads.

Traps handled here (see ../shared/reference/zoom-api.md): the token goes in the Authorization header only
and is renewed before it expires (and once when Zoom answers 401); inactive users must be listed
explicitly; recordings are listed in windows of at most one month; a page token that expired restarts its
listing; a UUID that begins with `/` or contains `//` is URL-encoded twice; every call counts against its
rate-limit category, a 429 is honoured and a spent daily quota makes the work wait; a download redirects to
another host, can be an HTML page served with 200, and resumes with a Range request when the connection
breaks. Nothing is retried forever: each call has a bounded number of attempts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO
from urllib.parse import quote, urljoin, urlsplit

import jwt
import requests

from shared.http import backoff
from shared.ratelimit import (
    DAILY_CATEGORIES,
    HEAVY,
    LIGHT,
    MEDIUM,
    PLANS,
    RESOURCE_INTENSIVE,
    RateLimiter,
    next_reset,
)
from shared.records import parse_time
from shared.settings import Settings

log = logging.getLogger(__name__)

WINDOW_DAYS = 30  # Zoom silently shortens a recordings range longer than one month
PAGE_SIZE = 300
TOKEN_MARGIN_SECONDS = 300  # renew this long before expiry (at most a tenth of the lifetime)
JWT_LIFETIME_SECONDS = 3600
MAX_REDIRECTS = 5
CHUNK = 256 * 1024  # what a broken connection can lose: a resumed download starts after the last whole one
TIMEOUT = (10, 60)
ATTEMPTS = 6  # per API call: 429s, 5xx and lost connections, with jittered backoff in between
BACKOFF = (0.25, 30.0)  # seconds before the first retry, and at most
TOKEN_ATTEMPTS = 3
DOWNLOAD_ATTEMPTS = 4  # per file: each broken connection resumes where it stopped
PAGE_RESTARTS = 3  # a listing whose page token expired starts again this many times at most
USER_CACHE_SECONDS = 3600

# The calls the archiver makes, by the path template of Zoom's spec, with the "Rate Limit Label" the spec
# gives each (tests/contract checks this table against the spec).
ENDPOINTS = {
    "/users": MEDIUM,
    "/users/{userId}": LIGHT,
    "/users/{userId}/recordings": MEDIUM,
    "/meetings/{meetingId}/recordings": LIGHT,
    "/past_meetings/{meetingId}": LIGHT,
    "/past_meetings/{meetingId}/participants": MEDIUM,
    "/past_meetings/{meetingId}/polls": MEDIUM,
    "/past_meetings/{meetingId}/qa": MEDIUM,
    "/meetings/{meetingId}/meeting_summary": LIGHT,
    "/past_webinars/{webinarId}/participants": MEDIUM,
    "/past_webinars/{webinarId}/polls": MEDIUM,
    "/past_webinars/{webinarId}/qa": MEDIUM,
    "/report/webinars/{webinarId}": HEAVY,
}
MIN_PAUSE = {RESOURCE_INTENSIVE: 6.0}  # after a 429 without Retry-After; 1 s for the others
# A 429 asking to wait longer than this makes the work wait for a later run (as for the daily quota): the
# invocation would otherwise sleep through it, maybe past the Functions timeout.
LONG_WAIT_SECONDS = 60.0


class ZoomError(Exception):
    """Zoom answered with an error; `code` is Zoom's own error code when the body carried one."""

    def __init__(self, status: int, code: int | None, message: str):
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"Zoom API error {status}" + (f" code {code}" if code is not None else "") + f": {message}")


class DownloadError(Exception):
    """A recording download failed a check (host, status, content type or size): never archive it as is."""


def encode_uuid(uuid: str) -> str:
    """A meeting UUID as a path segment; Zoom requires double encoding when it begins with / or contains //."""
    once = quote(uuid, safe="")
    return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once


def host_allowed(url: str, allowed: tuple[str, ...]) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and any(host == d or host.endswith("." + d) for d in allowed)


def retry_after(value: str, now: datetime) -> datetime | None:
    """When a `Retry-After` says to try again: Zoom sends a timestamp; HTTP also allows a date or seconds."""
    value = value.strip()
    if not value:
        return None
    if value.replace(".", "", 1).isdigit():
        return now + timedelta(seconds=float(value))
    moment = parse_time(value)
    if moment is None:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Download:
    size: int
    sha256: str


class ZoomClient:
    """One per process: it holds the token (valid for an hour) and the rate limiter across invocations."""

    def __init__(self, settings: Settings, session: requests.Session):
        self.settings = settings
        self.session = session
        self.limiter = RateLimiter(PLANS[settings.zoom_plan])
        self._token = ""
        self._renew_at = 0.0
        self._lock = threading.Lock()
        self._users: dict[str, tuple[float, dict[str, Any]]] = {}

    # --- authentication -------------------------------------------------------------------------

    def token(self, *, force: bool = False) -> str:
        with self._lock:
            if force or time.monotonic() >= self._renew_at:
                self._token, lifetime = self._jwt() if self.settings.zoom_auth == "jwt" else self._oauth()
                self._renew_at = time.monotonic() + lifetime - min(TOKEN_MARGIN_SECONDS, lifetime / 10)
            return self._token

    def _oauth(self) -> tuple[str, float]:
        """A Server-to-Server OAuth token (`account_credentials`); Zoom gives no refresh token."""
        for attempt in range(TOKEN_ATTEMPTS):
            try:
                response = self.session.post(
                    self.settings.zoom_oauth_url,
                    data={"grant_type": "account_credentials", "account_id": self.settings.zoom_account_id},
                    auth=(self.settings.zoom_client_id, self.settings.zoom_client_secret),
                    timeout=TIMEOUT,
                )
            except requests.RequestException:
                if attempt == TOKEN_ATTEMPTS - 1:
                    raise
                time.sleep(backoff(attempt, *BACKOFF))
                continue
            if response.status_code == 200:
                body = response.json()
                return body["access_token"], float(body.get("expires_in", 3600))
            if response.status_code < 500 and response.status_code != 429:
                break
            if attempt < TOKEN_ATTEMPTS - 1:
                time.sleep(backoff(attempt, *BACKOFF))
        raise ZoomError(
            response.status_code,
            None,
            "the Server-to-Server OAuth token request was refused; check ZOOM_ACCOUNT_ID, "
            "ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET",
        )

    def _jwt(self) -> tuple[str, float]:
        """A legacy JWT app's token: HS256, issued by the API key, signed with the API secret."""
        expires = int(time.time()) + JWT_LIFETIME_SECONDS
        payload = {"iss": self.settings.zoom_client_id, "exp": expires}
        return jwt.encode(payload, self.settings.zoom_client_secret, algorithm="HS256"), JWT_LIFETIME_SECONDS

    def _authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    # --- API calls ------------------------------------------------------------------------------

    def get(self, template: str, params: dict[str, Any] | None = None, **segments: str) -> dict[str, Any]:
        """GET one of `ENDPOINTS`, its path segments already encoded; bounded retries, rate limits honoured.

        A 401 renews the token once; a 429 pauses the endpoint's category (for `Retry-After` when Zoom
        sends one), and so does a success with `X-RateLimit-Remaining: 0`; a spent daily quota raises
        `DailyLimitReached`; 5xx and lost connections are retried
        with backoff. What still fails after `ATTEMPTS` is raised.
        """
        category = ENDPOINTS[template]
        url = self.settings.zoom_api_url + template.format(**segments)
        renewed = False
        attempt = 0
        while True:
            self.limiter.acquire(category)
            try:
                response = self.session.get(url, params=params, headers=self._authorization(), timeout=TIMEOUT)
            except requests.RequestException as error:  # a GET is safe to repeat, even after a lost answer
                attempt += 1
                if attempt == ATTEMPTS:
                    raise
                log.info("no answer from Zoom for %s (%s); retrying", template, type(error).__name__)
                time.sleep(backoff(attempt - 1, *BACKOFF))
                continue
            if response.status_code == 200:
                self._observe(category, response.headers)
                return response.json()
            if response.status_code == 401 and not renewed:
                self.token(force=True)
                renewed = True
                continue
            error = _error(response)
            if response.status_code != 429 and response.status_code < 500:
                raise error
            attempt += 1
            if response.status_code == 429:
                self._rate_limited(category, response, error, attempt)
            if attempt == ATTEMPTS:
                raise ZoomError(error.status, error.code, f"{error.message} (gave up after {ATTEMPTS} attempts)")
            if response.status_code >= 500:
                time.sleep(backoff(attempt - 1, *BACKOFF))

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

    def _rate_limited(self, category: str, response: requests.Response, error: ZoomError, attempt: int) -> None:
        """Honour a 429: the daily quota, or a wait over `LONG_WAIT_SECONDS`, raises `DailyLimitReached`; a
        per-second limit pauses the category."""
        now = datetime.now(UTC)
        until = retry_after(response.headers.get("Retry-After", ""), now)
        zoom_category = response.headers.get("X-RateLimit-Category", category)
        if response.headers.get("X-RateLimit-Type", "").lower() == "daily-limit" or "daily" in error.message.lower():
            raise self.limiter.block(category, until if until and until > now else next_reset(now))
        if until:
            pause = (until - now).total_seconds()
            if pause > LONG_WAIT_SECONDS:
                log.info("Zoom's %s rate limit answered 429 until %s; the work waits for it", zoom_category, until)
                raise self.limiter.block(category, until, daily=False)
        else:
            pause = max(MIN_PAUSE.get(category, 1.0), backoff(attempt - 1, *BACKOFF))
        log.info("Zoom's %s rate limit answered 429; pausing that category for %.1fs", zoom_category, pause)
        self.limiter.pause(category, pause)

    def pages(
        self, template: str, params: dict[str, Any], items: str, key: str = "", **segments: str
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paginated listing; `next_page_token` is "" (not absent) on the last page.

        Page tokens expire after 15 minutes (Zoom answers 400/300): the listing then starts again from its
        first page, and the items already given (known by their `key` field, or whole when they have none)
        are not given twice.
        """
        seen: set[str] = set()
        for _ in range(PAGE_RESTARTS + 1):
            token = ""
            try:
                while True:
                    query = {**params, "page_size": PAGE_SIZE, **({"next_page_token": token} if token else {})}
                    body = self.get(template, query, **segments)
                    for item in body.get(items) or []:
                        identity = str(item[key]) if item.get(key) else json.dumps(item, sort_keys=True)
                        if identity not in seen:
                            seen.add(identity)
                            yield item
                    token = body.get("next_page_token") or ""
                    if not token:
                        return
            except ZoomError as error:
                if not (token and error.status == 400 and error.code == 300):
                    raise
                log.info("a page token of %s expired; the listing starts again", template)
        raise ZoomError(400, 300, f"the page tokens of {template} kept expiring ({PAGE_RESTARTS + 1} tries)")

    def users(self) -> Iterator[dict[str, Any]]:
        """Active and inactive users: leaving out inactive ones silently loses their recordings."""
        for status in ("active", "inactive"):
            for user in self.pages("/users", {"status": status}, "users", key="id"):
                if user.get("id"):
                    yield user

    def user(self, user_id: str) -> dict[str, Any] | None:
        """A user, or None when Zoom no longer knows them; kept an hour, as hosts recur across meetings."""
        cached = self._users.get(user_id)
        if cached and time.monotonic() - cached[0] < USER_CACHE_SECONDS:
            return cached[1]
        user = self._optional("/users/{userId}", userId=quote(user_id, safe=""))
        if user is not None:
            self._users[user_id] = (time.monotonic(), user)
        return user

    def recordings(self, user_id: str, start: date, end: date) -> Iterator[dict[str, Any]]:
        """A user's cloud recordings (one item per meeting instance) from start to end, both inclusive."""
        window_start = start
        while window_start <= end:
            window_end = min(end, window_start + timedelta(days=WINDOW_DAYS - 1))
            params = {"from": window_start.isoformat(), "to": window_end.isoformat()}
            yield from self.pages(
                "/users/{userId}/recordings", params, "meetings", key="uuid", userId=quote(user_id, safe="")
            )
            window_start = window_end + timedelta(days=1)

    def meeting_recordings(self, uuid: str) -> dict[str, Any]:
        return self.get("/meetings/{meetingId}/recordings", meetingId=encode_uuid(uuid))

    def past_meeting(self, uuid: str) -> dict[str, Any] | None:
        """The instance's details (its end time); None when Zoom has none."""
        return self._optional("/past_meetings/{meetingId}", meetingId=encode_uuid(uuid))

    def webinar_report(self, uuid: str) -> dict[str, Any] | None:
        """A webinar instance's details: only the report (a Heavy call) has its end time."""
        return self._optional("/report/webinars/{webinarId}", webinarId=encode_uuid(uuid))

    def participants(self, uuid: str, *, webinar: bool = False) -> list[dict[str, Any]]:
        """Join/leave sessions of a past instance (Medium rate category, unlike the Heavy report endpoints).

        Zoom answers 404/3001 when it has no participant list for the instance, e.g. a meeting with a single
        participant: that is an empty list, not a failure.
        """
        template = "/past_webinars/{webinarId}/participants" if webinar else "/past_meetings/{meetingId}/participants"
        try:
            return list(self.pages(template, {}, "participants", **_instance(template, uuid)))
        except ZoomError as error:
            if error.status == 404 and error.code == 3001:
                return []
            raise

    def polls(self, uuid: str, *, webinar: bool = False) -> dict[str, Any] | None:
        template = "/past_webinars/{webinarId}/polls" if webinar else "/past_meetings/{meetingId}/polls"
        return self._optional(template, **_instance(template, uuid))

    def qa(self, uuid: str, *, webinar: bool = False) -> dict[str, Any] | None:
        template = "/past_webinars/{webinarId}/qa" if webinar else "/past_meetings/{meetingId}/qa"
        return self._optional(template, **_instance(template, uuid))

    def meeting_summary(self, uuid: str) -> dict[str, Any] | None:
        """The AI Companion summary; None when the meeting has none (or the account lacks the feature)."""
        return self._optional("/meetings/{meetingId}/meeting_summary", meetingId=encode_uuid(uuid))

    def _optional(self, template: str, **segments: str) -> dict[str, Any] | None:
        """GET, or None when Zoom answers 404: what is asked for does not exist."""
        try:
            return self.get(template, **segments)
        except ZoomError as error:
            if error.status == 404:
                return None
            raise

    # --- downloads ------------------------------------------------------------------------------

    def download(self, url: str, sink: BinaryIO, expected_size: int | None) -> Download:
        """Stream a recording file into `sink`, hashing it, and check it is the file and all of it.

        A connection that breaks mid-file is resumed where it stopped (a Range request through the same
        redirects); a 5xx is retried; both a bounded number of times. An HTML page, a foreign host or a
        wrong size is refused at once.
        """
        if not host_allowed(url, self.settings.zoom_download_hosts):
            raise DownloadError(f"download URL host {urlsplit(url).hostname!r} is not an allowed Zoom host")
        received = _Received(sink)
        problem = ""
        for attempt in range(DOWNLOAD_ATTEMPTS):
            try:
                with self._open(url, received.size) as response:
                    if response.status_code >= 500 or response.status_code == 429:
                        problem = f"download answered HTTP {response.status_code}"
                    else:
                        received.take(response)
                        return received.result(expected_size)
            except requests.RequestException as error:
                problem = f"download broke off after {received.size} bytes: {type(error).__name__}"
            log.info("%s; %s", problem, "resuming" if attempt < DOWNLOAD_ATTEMPTS - 1 else "giving up")
            if attempt < DOWNLOAD_ATTEMPTS - 1:
                time.sleep(backoff(attempt, *BACKOFF))
        raise DownloadError(f"{problem} ({DOWNLOAD_ATTEMPTS} attempts)")

    def _open(self, url: str, offset: int) -> requests.Response:
        """GET the file, following redirects only to allowed hosts; the token goes to the first host only."""
        allowed = self.settings.zoom_download_hosts
        origin = urlsplit(url).netloc
        for _ in range(MAX_REDIRECTS + 1):
            headers = self._authorization() if urlsplit(url).netloc == origin else {}
            if offset:
                headers["Range"] = f"bytes={offset}-"
            response = self.session.get(url, headers=headers, stream=True, allow_redirects=False, timeout=TIMEOUT)
            if not response.is_redirect:
                return response
            target = urljoin(url, response.headers.get("Location", ""))
            response.close()
            if not host_allowed(target, allowed):
                raise DownloadError(
                    f"download redirected to {urlsplit(target).hostname!r}, which is not an allowed Zoom host"
                )
            url = target
        raise DownloadError(f"download redirected more than {MAX_REDIRECTS} times")


class _Received:
    """What one download has written so far: it spans the responses of a resumed download."""

    def __init__(self, sink: BinaryIO):
        self.sink = sink
        self.size = 0
        self.digest = hashlib.sha256()
        self.total: int | None = None  # the whole file's size, as the server announced it

    def take(self, response: requests.Response) -> None:
        """Write the response's bytes after those already received; raises when it is not the file."""
        status = response.status_code
        if status not in (200, 206):
            raise DownloadError(f"download answered HTTP {status}")
        if response.headers.get("Content-Type", "").split(";")[0].strip().lower() == "text/html":
            raise DownloadError("download answered an HTML page instead of the file (Zoom does this with HTTP 200)")
        skip = self._skip(response)
        for chunk in response.iter_content(CHUNK):
            if skip:
                dropped = min(skip, len(chunk))
                chunk, skip = chunk[dropped:], skip - dropped
            if self.size == 0 and chunk.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
                raise DownloadError("download answered an HTML page instead of the file")
            self.digest.update(chunk)
            self.sink.write(chunk)
            self.size += len(chunk)

    def _skip(self, response: requests.Response) -> int:
        """Bytes of this response already written: all of them up to our offset when the server ignored Range."""
        length = response.headers.get("Content-Length")
        if response.status_code == 206:
            span, _, total = response.headers.get("Content-Range", "").removeprefix("bytes ").partition("/")
            first = span.partition("-")[0]
            if not first.isdigit() or int(first) != self.size:
                raise DownloadError(f"download resumed at the wrong offset ({response.headers.get('Content-Range')})")
            self.total = int(total) if total.isdigit() else self.total
            return 0
        self.total = int(length) if length and length.isdigit() else None
        return self.size

    def result(self, expected_size: int | None) -> Download:
        if self.total is not None and self.size != self.total:
            raise DownloadError(f"download has {self.size} bytes but the server announced {self.total}")
        if expected_size is not None and self.size != expected_size:
            raise DownloadError(f"download has {self.size} bytes but Zoom lists the file with {expected_size}")
        return Download(size=self.size, sha256=self.digest.hexdigest())


def _instance(template: str, uuid: str) -> dict[str, str]:
    """The path segment naming a meeting or webinar instance in `template`."""
    return {"webinarId" if "{webinarId}" in template else "meetingId": encode_uuid(uuid)}


def _error(response: requests.Response) -> ZoomError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = body.get("code") if isinstance(body, dict) else None
    message = body.get("message", "") if isinstance(body, dict) else ""
    return ZoomError(response.status_code, code if isinstance(code, int) else None, str(message))
