"""Zoom's errors: the HTTP status with Zoom's own code from the body, and the codes the archiver acts on.

Zoom answers an error as `{"code": 300, "message": "..."}`; one code can carry several messages, so the
client decides on the status and the code, never on the message (../shared/reference/zoom-api.md §6).
"""

from __future__ import annotations

from collections.abc import Mapping

import requests

# 400: Zoom's code for a request it cannot serve as asked; on a listing whose `next_page_token` was sent, "The
# next page token is invalid or expired." (other messages: "Validation Failed.", "Invalid meeting ID.").
INVALID_REQUEST = 300
# 404: "Meeting does not exist: {meetingId}." or "... not found or has expired.": also when Zoom keeps no
# participant list for the instance (a meeting with a single participant).
MEETING_NOT_FOUND = 3001
DAILY_LIMIT = "daily-limit"  # `X-RateLimit-Type` of a 429 for a spent daily quota (Zoom writes `Daily-limit`)


class ZoomError(Exception):
    """Zoom answered with an error; `code` is Zoom's own error code when the body carried one."""

    def __init__(self, status: int, code: int | None, message: str, headers: Mapping[str, str] | None = None):
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}  # the answer's, for its Retry-After and X-RateLimit-* headers
        super().__init__(f"Zoom API error {status}" + (f" code {code}" if code is not None else "") + f": {message}")

    @classmethod
    def from_response(cls, response: requests.Response) -> ZoomError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = body.get("code") if isinstance(body, dict) else None
        message = body.get("message", "") if isinstance(body, dict) else ""
        return cls(response.status_code, code if isinstance(code, int) else None, str(message), response.headers)

    def gave_up(self, attempts: int) -> ZoomError:
        """The same error, saying that it is the last of `attempts`."""
        return ZoomError(self.status, self.code, f"{self.message} (gave up after {attempts} attempts)", self.headers)
