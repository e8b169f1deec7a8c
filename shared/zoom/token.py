"""The Zoom access token: a Server-to-Server OAuth token (`account_credentials`), or a legacy JWT app's own.

The token goes in the Authorization header only, and is renewed before it expires (and once when Zoom
answers 401 to it). S2S OAuth gives no refresh token: a new one is asked for with the app's credentials.
(Facts: ../shared/reference/zoom-api.md §1.)
"""

from __future__ import annotations

import threading
import time

import jwt
import requests

from shared.retry import CONNECTION, STATUS, Failure
from shared.settings import Settings
from shared.zoom.errors import ZoomError
from shared.zoom.retries import TIMEOUT, TOKEN_RETRIES

TOKEN_MARGIN_SECONDS = 300  # renew this long before expiry (at most a tenth of the lifetime)
JWT_LIFETIME_SECONDS = 3600


class TokenRefused(ZoomError):
    """Zoom's token endpoint did not issue a token (refused the credentials, or kept failing): no API call can
    be made until it does, and the settings are the first thing to check."""

    def __init__(self, response: requests.Response):
        super().__init__(
            response.status_code,
            None,
            "the Server-to-Server OAuth token request was refused; check ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and "
            "ZOOM_CLIENT_SECRET",
            response.headers,
        )


class Tokens:
    """One per process: the token is valid for an hour, and every call of every invocation shares it."""

    def __init__(self, settings: Settings, session: requests.Session):
        self.settings = settings
        self.session = session
        self._token = ""
        self._renew_at = 0.0
        self._lock = threading.Lock()

    def token(self, *, force: bool = False) -> str:
        """The current token, renewed first when it is near its expiry (or `force`d)."""
        with self._lock:
            if force or time.monotonic() >= self._renew_at:
                self._token, lifetime = self._jwt() if self.settings.zoom_auth == "jwt" else self._oauth()
                self._renew_at = time.monotonic() + lifetime - min(TOKEN_MARGIN_SECONDS, lifetime / 10)
            return self._token

    def renew(self) -> None:
        """Zoom refused the token before its time (revoked, or the app's secret rotated): get a new one."""
        self.token(force=True)

    def authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def _oauth(self) -> tuple[str, float]:
        """Ask Zoom for a token; a lost connection, a 429 or a 5xx is tried again, a refusal is raised."""

        def request() -> tuple[str, float]:
            response = self.session.post(
                self.settings.zoom_oauth_url,
                data={"grant_type": "account_credentials", "account_id": self.settings.zoom_account_id},
                auth=(self.settings.zoom_client_id, self.settings.zoom_client_secret),
                timeout=TIMEOUT,
            )
            if response.status_code != 200:
                raise TokenRefused(response)
            body = response.json()
            return body["access_token"], float(body.get("expires_in", 3600))

        return TOKEN_RETRIES.run(request, _judge, what="Zoom's token request")

    def _jwt(self) -> tuple[str, float]:
        """A legacy JWT app's token: HS256, issued by the API key, signed with the API secret."""
        expires = int(time.time()) + JWT_LIFETIME_SECONDS
        payload = {"iss": self.settings.zoom_client_id, "exp": expires}
        return jwt.encode(payload, self.settings.zoom_client_secret, algorithm="HS256"), JWT_LIFETIME_SECONDS


def _judge(error: Exception) -> Failure | None:
    """What a failed token request means; an answer that is not JSON is raised (asking again would get the same)."""
    if isinstance(error, requests.RequestException) and not isinstance(error, requests.JSONDecodeError):
        return Failure(CONNECTION, error)
    if isinstance(error, TokenRefused) and (error.status == 429 or error.status >= 500):
        return Failure(STATUS, error, retry_after=error.headers.get("Retry-After", ""))
    return None
