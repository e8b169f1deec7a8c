"""Microsoft Graph client: app-only token through MSAL, and requests that ride out throttling.

Errors are matched on Graph's `error.code`, never on the message text. Graph has no idempotency key, so a
write that fails in a way that may still have done the work (a timeout, a lost connection, a 5xx) is never
simply sent again: the caller says how to look for its result (`recover`), and the client looks first.
Outlook throttles per app and mailbox (about 4 concurrent requests): requests that name their mailbox
take one of its 4 slots in this process; across instances Graph's 429 and `Retry-After` do the rest.
(Facts: ../shared/reference/microsoft-graph.md §8, §10, §12.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from msal.exceptions import MsalServiceError

from shared.http import backoff
from shared.settings import Settings

WELL_KNOWN_AUTHORITIES = {
    "login.microsoftonline.com",
    "login.microsoft.com",
    "login.windows.net",
    "login.microsoftonline.us",
    "login.partner.microsoftonline.cn",
}
MAILBOX_CONCURRENCY = 4  # Outlook's limit of concurrent requests per app and mailbox
MAX_ATTEMPTS = 8
MAX_WAIT = 120.0  # seconds: the longest single Retry-After honoured
BACKOFF = (1.0, 60.0)  # seconds before the first retry without a Retry-After, and at most
TIMEOUT = (10, 120)
TRANSPORT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
INVALID_TOKEN = "InvalidAuthenticationToken"  # noqa: S105 (an error code, not a secret)
TRANSIENT_TOKEN_ERRORS = {"temporarily_unavailable", "server_error"}  # OAuth 2.0 (RFC 6749 §5.2, §4.1.2.1)
UPLOAD_CHUNK = 4 * 1024 * 1024  # upload session ranges are at most 4 MB


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str):
        self.status = status
        self.code = code
        super().__init__(f"Graph error {status} {code}: {message}")

    @property
    def retryable(self) -> bool:
        """Throttling and server errors pass; anything else will fail again the same way."""
        return self.status == 429 or self.status >= 500


class TokenUnavailable(GraphError):
    """Entra ID could not issue a token just now (a 5xx, `temporarily_unavailable`, a lost connection): it passes."""

    def __init__(self, code: str, message: str):
        super().__init__(503, code, message)


class AuthenticationFailed(Exception):
    """Entra ID refused the app's credentials: no mailbox can be reached until an admin fixes the settings."""


class AmbiguousResult(Exception):
    """A write may or may not have happened (timeout or server error after the request was sent)."""


class GraphClient:
    """One per process: MSAL keeps the token cache in the application object."""

    def __init__(self, settings: Settings, session: requests.Session):
        self.settings = settings
        self.session = session
        api = urlsplit(settings.graph_api_url)
        self._scope = f"{api.scheme}://{api.netloc}/.default"
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    @cached_property
    def _app(self) -> msal.ConfidentialClientApplication:
        """Built on first use: MSAL reads the authority's OpenID configuration when constructed."""
        authority_host = urlsplit(self.settings.graph_authority_url).hostname or ""
        return msal.ConfidentialClientApplication(
            self.settings.graph_client_id,
            client_credential=self.settings.graph_client_secret,
            authority=f"{self.settings.graph_authority_url}/{self.settings.graph_tenant_id}",
            http_client=self.session,
            instance_discovery=authority_host in WELL_KNOWN_AUTHORITIES,
        )

    def token(self) -> str:
        """MSAL's cached token, renewed by MSAL five minutes before it expires.

        Raises `TokenUnavailable` when Entra ID fails for a reason that passes (MSAL raises on a 5xx), and
        `AuthenticationFailed` when it refuses the app itself: retrying that cannot help any mailbox.
        """
        try:
            with self._lock:
                result = self._app.acquire_token_for_client(scopes=[self._scope])
        except (MsalServiceError, requests.RequestException) as error:
            raise TokenUnavailable(type(error).__name__, f"the token request failed: {error}") from error
        if "access_token" in result:
            return result["access_token"]
        error = str(result.get("error", "token_error"))
        first_line = str(result.get("error_description", "")).splitlines()[0:1]
        if error in TRANSIENT_TOKEN_ERRORS:
            raise TokenUnavailable(error, f"Entra ID could not issue a token just now {first_line}")
        raise AuthenticationFailed(
            f"the app-only token request was refused ({error}); check GRAPH_TENANT_ID, GRAPH_CLIENT_ID and "
            f"GRAPH_CLIENT_SECRET {first_line}"
        )

    def _forget_token(self) -> None:
        """Graph refused the token before it expired (revoked, or signed by a rotated key): get a new one."""
        with self._lock:
            self._app.remove_tokens_for_client()

    @contextmanager
    def _slot(self, mailbox: str) -> Iterator[None]:
        """One of the mailbox's concurrent-request slots in this process (none needed without a mailbox)."""
        if not mailbox:
            yield
            return
        with self._lock:
            slot = self._slots.setdefault(mailbox, threading.BoundedSemaphore(MAILBOX_CONCURRENCY))
        with slot:
            yield

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        mailbox: str = "",
        recover: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        """Send one Graph request (within a slot of `mailbox`, when given), riding out throttling and server
        errors a bounded number of times, honouring `Retry-After`.

        A read is simply repeated. A write whose outcome is unknown is repeated only after `recover()` found
        no trace of it (`recover` returns the result when the write did happen); without `recover` the
        write raises `AmbiguousResult`.
        """
        url = self._url(path)
        write = method.upper() != "GET"
        refreshed = False
        for attempt in range(MAX_ATTEMPTS):
            try:
                headers = {"Authorization": f"Bearer {self.token()}", "Prefer": 'IdType="ImmutableId"'}
                with self._slot(mailbox):
                    response = self.session.request(
                        method, url, json=json, params=params, headers=headers, timeout=TIMEOUT
                    )
            except (*TRANSPORT_ERRORS, TokenUnavailable) as error:
                failure: Exception = error
                wait = backoff(attempt, *BACKOFF)
                ambiguous = write and not isinstance(error, TokenUnavailable)  # no token: nothing was sent
            else:
                if response.status_code < 400:
                    return response.json() if response.content else {}
                failure = _error(response)
                if failure.status == 401 and failure.code == INVALID_TOKEN and not refreshed:
                    self._forget_token()
                    refreshed = True
                    continue
                if not failure.retryable:
                    raise failure
                wait = retry_after(response, attempt)
                ambiguous = write and failure.status != 429  # a throttled request was not processed
            if ambiguous and (recover is None or attempt == MAX_ATTEMPTS - 1):
                raise AmbiguousResult(f"{method} {path}: {failure}") from failure
            if attempt == MAX_ATTEMPTS - 1:
                raise failure
            time.sleep(wait)
            if ambiguous and recover is not None and (found := recover()) is not None:
                return found
        raise AssertionError("unreachable")

    def _url(self, path: str) -> str:
        """A path under Graph's API URL; an absolute URL (an `@odata.nextLink`) only when it is under it too,
        so the token is never sent to another host."""
        if "://" not in path:
            return self.settings.graph_api_url + path
        if path == self.settings.graph_api_url or path.startswith(
            (f"{self.settings.graph_api_url}/", f"{self.settings.graph_api_url}?")
        ):
            return path
        raise ValueError(f"not a Microsoft Graph URL, the token is not sent there: {urlsplit(path).netloc}")

    def upload(self, upload_url: str, data: bytes, mailbox: str) -> None:
        """Upload `data` to an upload session in ordered ranges of at most 4 MB, going on from wherever the
        server says it expects the next byte (`nextExpectedRanges`), so a lost answer costs one repeated
        range, never a gap or a duplicate. The URL is pre-authenticated: it gets no Authorization header.

        Raises `GraphError` when the session refuses (for instance `ErrorMessageSizeExceeded`, or a session
        that is gone because its last range had already completed the attachment).
        """
        start = 0
        failures = 0
        budget = 2 * (len(data) // UPLOAD_CHUNK + 1) + MAX_ATTEMPTS  # ranges sent, repeats included
        for _ in range(budget):
            chunk = data[start : start + UPLOAD_CHUNK]
            headers = {
                "Content-Range": f"bytes {start}-{start + len(chunk) - 1}/{len(data)}",
                "Content-Type": "application/octet-stream",
            }
            try:
                with self._slot(mailbox):
                    response = self.session.put(upload_url, data=chunk, headers=headers, timeout=TIMEOUT)
                body = response.json() if response.content else {}
            except (*TRANSPORT_ERRORS, ValueError) as error:
                # Only the kind of error: its text would carry the upload URL, whose query is a credential.
                failure: Exception = AmbiguousResult(f"upload of bytes {start}-: {type(error).__name__}")
                wait = backoff(failures, *BACKOFF)
            else:
                if response.status_code == 201:
                    return
                expected = _next_expected(body)
                if response.status_code in (200, 416) and expected not in (None, start):
                    start, failures = expected, 0  # 416: that range had arrived; the server says what is next
                    continue
                if response.status_code == 200 and expected == start:
                    failure = AmbiguousResult(f"the upload session did not keep bytes {start}-")
                    wait = 0.0
                else:
                    failure = _error(response)
                    if not failure.retryable:
                        raise failure
                    wait = retry_after(response, failures)
            failures += 1
            if failures == MAX_ATTEMPTS:
                raise failure
            time.sleep(wait)
        raise AmbiguousResult(f"the upload session did not complete after {budget} ranges")


def retry_after(response: requests.Response, attempt: int) -> float:
    """Graph's Retry-After is in seconds and may be fractional (e.g. 2.128)."""
    try:
        return min(MAX_WAIT, max(0.0, float(response.headers["Retry-After"])))
    except (KeyError, ValueError):
        return backoff(attempt, *BACKOFF)


def _next_expected(body: Any) -> int | None:
    """The first byte the upload session still needs: Outlook says `["{start}"]`, OneDrive `["{start}-"]`."""
    ranges = body.get("nextExpectedRanges") if isinstance(body, dict) else None
    try:
        return int(str(ranges[0]).split("-")[0])
    except (TypeError, IndexError, ValueError):
        return None


def _error(response: requests.Response) -> GraphError:
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    return GraphError(response.status_code, str(error.get("code", "")), str(error.get("message", response.reason)))
