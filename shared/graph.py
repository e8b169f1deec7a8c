"""Microsoft Graph client: app-only token through MSAL, and requests that ride out throttling.

Errors are matched on Graph's `error.code`, never on the message text. A POST that fails in a way that may
still have created something (a timeout, a 5xx) raises `AmbiguousResult`, so the caller looks before it
retries: Graph has no idempotency key.
"""

from __future__ import annotations

import random
import threading
import time
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import msal
import requests

from shared.settings import Settings

WELL_KNOWN_AUTHORITIES = {
    "login.microsoftonline.com",
    "login.microsoft.com",
    "login.windows.net",
    "login.microsoftonline.us",
    "login.partner.microsoftonline.cn",
}
RETRY_STATUSES = {429, 503, 504}
MAX_ATTEMPTS = 6
TIMEOUT = (10, 120)


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str):
        self.status = status
        self.code = code
        super().__init__(f"Graph error {status} {code}: {message}")


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
        with self._lock:
            result = self._app.acquire_token_for_client(scopes=[self._scope])
        if "access_token" not in result:
            raise GraphError(
                401,
                str(result.get("error", "token_error")),
                "the app-only token request was refused; check GRAPH_TENANT_ID, GRAPH_CLIENT_ID and "
                f"GRAPH_CLIENT_SECRET ({result.get('error_description', '').splitlines()[0:1]})",
            )
        return result["access_token"]

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send one Graph request; retries throttling (429/503/504, honouring Retry-After) a bounded number of
        times. Only reads are retried after a timeout or 5xx; a write then raises AmbiguousResult."""
        url = path if path.startswith("https://") else self.settings.graph_api_url + path
        write = method.upper() != "GET"
        for attempt in range(MAX_ATTEMPTS):
            headers = {"Authorization": f"Bearer {self.token()}", "Prefer": 'IdType="ImmutableId"'}
            try:
                response = self.session.request(method, url, json=json, params=params, headers=headers, timeout=TIMEOUT)
            except (requests.ConnectionError, requests.Timeout) as error:
                if write:
                    raise AmbiguousResult(f"{method} {path}: {error}") from error
                if attempt == MAX_ATTEMPTS - 1:
                    raise
                time.sleep(_backoff(attempt))
                continue
            if response.status_code < 400:
                return response.json() if response.content else {}
            error = _error(response)
            if response.status_code == 429 or (response.status_code in RETRY_STATUSES and not write):
                if attempt == MAX_ATTEMPTS - 1:
                    raise error
                time.sleep(retry_after(response, attempt))
                continue
            if write and response.status_code >= 500:
                raise AmbiguousResult(str(error)) from error
            raise error
        raise AssertionError("unreachable")

    def upload(self, upload_url: str, chunk: bytes, start: int, total: int) -> requests.Response:
        """PUT one byte range to a pre-authenticated upload URL; it must carry no Authorization header."""
        end = start + len(chunk) - 1
        headers = {"Content-Range": f"bytes {start}-{end}/{total}", "Content-Type": "application/octet-stream"}
        for attempt in range(MAX_ATTEMPTS):
            response = self.session.put(upload_url, data=chunk, headers=headers, timeout=TIMEOUT)
            if response.status_code in RETRY_STATUSES and attempt < MAX_ATTEMPTS - 1:
                time.sleep(retry_after(response, attempt))
                continue
            if response.status_code >= 400:
                raise _error(response)
            return response
        raise AssertionError("unreachable")


def retry_after(response: requests.Response, attempt: int) -> float:
    """Graph's Retry-After is in seconds and may be fractional (e.g. 2.128)."""
    try:
        return min(120.0, max(0.0, float(response.headers["Retry-After"])))
    except (KeyError, ValueError):
        return _backoff(attempt)


def _backoff(attempt: int) -> float:
    return min(60.0, (2**attempt) * 0.5 + random.uniform(0, 0.5))


def _error(response: requests.Response) -> GraphError:
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    return GraphError(response.status_code, str(error.get("code", "")), str(error.get("message", response.reason)))
