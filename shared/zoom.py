"""Zoom REST API client: Server-to-Server OAuth, the listings the archiver needs, and safe downloads.

Traps handled here (see ../shared/reference/zoom-api.md): the token goes in the Authorization header only;
inactive users must be listed explicitly; recordings are listed in windows of at most one month; a UUID
that begins with `/` or contains `//` is URL-encoded twice; a download redirects to another host and a
failed one can be an HTML page served with 200.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, BinaryIO
from urllib.parse import quote, urljoin, urlsplit

import requests

from shared.settings import Settings

WINDOW_DAYS = 30  # Zoom silently shortens a recordings range longer than one month
PAGE_SIZE = 300
TOKEN_MARGIN_SECONDS = 300  # refresh this long before expiry, so a long run never sends a stale token
MAX_REDIRECTS = 5
CHUNK = 1024 * 1024
TIMEOUT = (10, 60)


class ZoomError(Exception):
    """Zoom answered with an error; `code` is Zoom's own error code when the body carried one."""

    def __init__(self, status: int, code: int | None, message: str, *, retryable: bool = False):
        self.status = status
        self.code = code
        self.retryable = retryable
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


@dataclass(frozen=True)
class Download:
    size: int
    sha256: str
    content_type: str


class ZoomClient:
    """One per process: it caches the OAuth token, which is valid for an hour, across invocations."""

    def __init__(self, settings: Settings, session: requests.Session):
        self.settings = settings
        self.session = session
        self._token = ""
        self._expires_at = 0.0
        self._lock = threading.Lock()

    # --- authentication -------------------------------------------------------------------------

    def token(self, *, force: bool = False) -> str:
        with self._lock:
            if force or time.monotonic() > self._expires_at - TOKEN_MARGIN_SECONDS:
                response = self.session.post(
                    self.settings.zoom_oauth_url,
                    data={"grant_type": "account_credentials", "account_id": self.settings.zoom_account_id},
                    auth=(self.settings.zoom_client_id, self.settings.zoom_client_secret),
                    timeout=TIMEOUT,
                )
                if response.status_code != 200:
                    raise ZoomError(
                        response.status_code,
                        None,
                        "the Server-to-Server OAuth token request was refused; check ZOOM_ACCOUNT_ID, "
                        "ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET",
                    )
                body = response.json()
                self._token = body["access_token"]
                self._expires_at = time.monotonic() + float(body.get("expires_in", 3600))
            return self._token

    # --- API calls ------------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET an API path; refreshes the token once on 401/124 and retries briefly on 429 and 5xx."""
        url = self.settings.zoom_api_url + path
        refreshed = False
        for attempt in range(5):
            response = self.session.get(
                url, params=params, headers={"Authorization": f"Bearer {self.token()}"}, timeout=TIMEOUT
            )
            if response.status_code == 200:
                return response.json()
            error = _error(response)
            if response.status_code == 401 and not refreshed:
                self.token(force=True)
                refreshed = True
                continue
            if not error.retryable or attempt == 4:
                raise error
            time.sleep(_backoff(attempt))
        raise AssertionError("unreachable")

    def pages(self, path: str, params: dict[str, Any], items: str) -> Iterator[dict[str, Any]]:
        """Every item of a paginated listing; `next_page_token` is "" (not absent) on the last page."""
        token = ""
        while True:
            query = {**params, "page_size": PAGE_SIZE}
            if token:
                query["next_page_token"] = token
            body = self.get(path, query)
            yield from body.get(items) or []
            token = body.get("next_page_token") or ""
            if not token:
                return

    def users(self) -> Iterator[dict[str, Any]]:
        """Active and inactive users: leaving out inactive ones silently loses their recordings."""
        for status in ("active", "inactive"):
            for user in self.pages("/users", {"status": status}, "users"):
                if user.get("id"):
                    yield user

    def user(self, user_id: str) -> dict[str, Any] | None:
        try:
            return self.get(f"/users/{quote(user_id, safe='')}")
        except ZoomError as error:
            if error.status == 404:
                return None
            raise

    def recordings(self, user_id: str, start: date, end: date) -> Iterator[dict[str, Any]]:
        """A user's cloud recordings (one item per meeting instance) from start to end, both inclusive."""
        window_start = start
        while window_start <= end:
            window_end = min(end, window_start + timedelta(days=WINDOW_DAYS - 1))
            params = {"from": window_start.isoformat(), "to": window_end.isoformat()}
            yield from self.pages(f"/users/{quote(user_id, safe='')}/recordings", params, "meetings")
            window_start = window_end + timedelta(days=1)

    def meeting_recordings(self, uuid: str) -> dict[str, Any]:
        return self.get(f"/meetings/{encode_uuid(uuid)}/recordings")

    def participants(self, uuid: str) -> list[dict[str, Any]]:
        """Join/leave sessions of a past instance (Medium rate category, unlike the Heavy report endpoint).

        Zoom answers 404/3001 when it has no participant list for the instance, e.g. a meeting with a single
        participant: that is an empty list, not a failure.
        """
        try:
            return list(self.pages(f"/past_meetings/{encode_uuid(uuid)}/participants", {}, "participants"))
        except ZoomError as error:
            if error.status == 404 and error.code == 3001:
                return []
            raise

    # --- downloads ------------------------------------------------------------------------------

    def download(self, url: str, sink: BinaryIO, expected_size: int | None) -> Download:
        """Stream a recording file into `sink`, hashing it, and check it is the file and all of it."""
        allowed = self.settings.zoom_download_hosts
        if not host_allowed(url, allowed):
            raise DownloadError(f"download URL host {urlsplit(url).hostname!r} is not an allowed Zoom host")
        origin = urlsplit(url).netloc
        for _ in range(MAX_REDIRECTS + 1):
            headers = {"Authorization": f"Bearer {self.token()}"} if urlsplit(url).netloc == origin else {}
            response = self.session.get(url, headers=headers, stream=True, allow_redirects=False, timeout=TIMEOUT)
            if response.is_redirect:
                target = urljoin(url, response.headers.get("Location", ""))
                response.close()
                if not host_allowed(target, allowed):
                    raise DownloadError(
                        f"download redirected to {urlsplit(target).hostname!r}, which is not an allowed Zoom host"
                    )
                url = target
                continue
            with response:
                return _receive(response, sink, expected_size)
        raise DownloadError(f"download redirected more than {MAX_REDIRECTS} times")


def _receive(response: requests.Response, sink: BinaryIO, expected_size: int | None) -> Download:
    if response.status_code != 200:
        raise DownloadError(f"download answered HTTP {response.status_code}")
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type == "text/html":
        raise DownloadError("download answered an HTML page instead of the file (Zoom does this with HTTP 200)")
    digest = hashlib.sha256()
    size = 0
    try:
        for chunk in response.iter_content(CHUNK):
            digest.update(chunk)
            sink.write(chunk)
            size += len(chunk)
    except requests.RequestException as error:
        raise DownloadError(f"download broke off after {size} bytes: {error}") from error
    if expected_size is not None and size != expected_size:
        raise DownloadError(f"download has {size} bytes but Zoom lists the file with {expected_size}")
    return Download(size=size, sha256=digest.hexdigest(), content_type=content_type)


def _error(response: requests.Response) -> ZoomError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = body.get("code") if isinstance(body, dict) else None
    message = body.get("message", "") if isinstance(body, dict) else ""
    retryable = response.status_code == 429 or response.status_code >= 500
    return ZoomError(response.status_code, code if isinstance(code, int) else None, str(message), retryable=retryable)


def _backoff(attempt: int) -> float:
    return min(30.0, (2**attempt) * 0.5 + random.uniform(0, 0.5))
