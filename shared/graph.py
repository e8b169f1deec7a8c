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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property, partial
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from msal.exceptions import MsalServiceError

from shared import telemetry
from shared.retry import CONNECTION, CREDENTIAL, STATUS, AmbiguousResult, Failure, RetryPolicy
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
RETRIES = RetryPolicy(
    attempts=MAX_ATTEMPTS, connection=MAX_ATTEMPTS, status=MAX_ATTEMPTS, backoff=BACKOFF, max_wait=MAX_WAIT
)


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, retry_after: str = ""):
        self.status = status
        self.code = code
        self.retry_after = retry_after  # the answer's Retry-After header, when it had one
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
        errors by the retry policy, honouring `Retry-After`.

        A read is simply repeated. A write whose outcome is unknown is repeated only after `recover()` found
        no trace of it (`recover` returns the result when the write did happen); without `recover` the
        write raises `AmbiguousResult`.
        """
        url = self._url(path)
        write = method.upper() != "GET"

        def attempt() -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {self.token()}", "Prefer": 'IdType="ImmutableId"'}
            with self._slot(mailbox):
                response = self.session.request(method, url, json=json, params=params, headers=headers, timeout=TIMEOUT)
            if response.status_code >= 400:
                raise _refusal(response, mailbox)
            return response.json() if response.content else {}

        return RETRIES.run(
            attempt,
            lambda error: _judge(error, write=write),
            renew=self._forget_token,
            recover=recover,
            what=f"{method} {path}",
        )

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

    def upload(self, upload_url: str, size: int, read: Callable[[int, int], bytes], mailbox: str) -> None:
        """Upload a file of `size` bytes to an upload session in ordered ranges of at most 4 MB, each read with
        `read(offset, length)` when it is sent (the file is never held whole), going on from wherever the
        server says it expects the next byte (`nextExpectedRanges`), so a lost answer costs one repeated
        range, never a gap or a duplicate. The URL is pre-authenticated: it gets no Authorization header.

        Raises `GraphError` when the session refuses (for instance `ErrorMessageSizeExceeded`, or a session
        that is gone because its last range had already completed the attachment).
        """
        start = 0
        ranges = 2 * (size // UPLOAD_CHUNK + 1) + MAX_ATTEMPTS  # ranges the session may ask for, again too
        for _ in range(ranges):
            put = partial(self._put_range, upload_url, read(start, UPLOAD_CHUNK), start, size, mailbox)
            following = RETRIES.run(put, _judge_upload(start), what=f"upload of bytes {start}-")
            if following is None:
                return
            start = following
        raise AmbiguousResult(f"the upload session did not complete after {ranges} ranges")

    def _put_range(self, upload_url: str, chunk: bytes, start: int, size: int, mailbox: str) -> int | None:
        """Send `chunk`, the range from `start`; the first byte the session needs next, or None once it is
        complete."""
        headers = {
            "Content-Range": f"bytes {start}-{start + len(chunk) - 1}/{size}",
            "Content-Type": "application/octet-stream",
        }
        with self._slot(mailbox):
            response = self.session.put(upload_url, data=chunk, headers=headers, timeout=TIMEOUT)
        body = response.json() if response.content else {}
        if response.status_code == 201:
            return None
        expected = _next_expected(body)
        if response.status_code in (200, 416) and expected not in (None, start):
            return expected  # 416: that range had arrived; the server says what is next
        if response.status_code == 200 and expected == start:
            raise AmbiguousResult(f"the upload session did not keep bytes {start}-")
        raise _refusal(response, mailbox)


def _refusal(response: requests.Response, mailbox: str) -> GraphError:
    """Graph's error answer; a 429 is counted for its mailbox (the workbook's throttling tile)."""
    if response.status_code == 429:
        telemetry.graph_throttled.add(1, {"mailbox": telemetry.current().get("mailbox") or mailbox})
    return _error(response)


def _judge(error: Exception, *, write: bool) -> Failure | None:
    """What a failed request means: a write is ambiguous unless Graph said it did not process it (a 429), or
    it was never sent (no token)."""
    if isinstance(error, TokenUnavailable):
        return Failure(STATUS, error)
    if isinstance(error, TRANSPORT_ERRORS):
        return Failure(CONNECTION, error, ambiguous=write)
    if not isinstance(error, GraphError):
        return None
    if error.status == 401 and error.code == INVALID_TOKEN:
        return Failure(CREDENTIAL, error)
    if not error.retryable:
        return None
    return Failure(STATUS, error, retry_after=error.retry_after, ambiguous=write and error.status != 429)


def _judge_upload(start: int) -> Callable[[Exception], Failure | None]:
    """A range is simply sent again: the session says which bytes it holds, so nothing is doubled."""

    def judge(error: Exception) -> Failure | None:
        if isinstance(error, AmbiguousResult):
            return Failure(STATUS, error)
        if isinstance(error, (*TRANSPORT_ERRORS, ValueError)):
            # Only the kind of error: its text would carry the upload URL, whose query is a credential.
            return Failure(CONNECTION, AmbiguousResult(f"upload of bytes {start}-: {type(error).__name__}"))
        if isinstance(error, GraphError) and error.retryable:
            return Failure(STATUS, error, retry_after=error.retry_after)
        return None

    return judge


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
    return GraphError(
        response.status_code,
        str(error.get("code", "")),
        str(error.get("message", response.reason)),
        response.headers.get("Retry-After", ""),
    )
