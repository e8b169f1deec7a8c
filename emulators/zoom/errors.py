"""Zoom's error answers: `{"code", "message"}` with the HTTP status, and the codes the emulator answers.

The codes are Zoom's own, as its API reference gives them (../shared/reference/zoom-api.md §6); the emulator
names them itself rather than borrowing the client's, so that the two agree by the docs, not by construction.
"""

from __future__ import annotations

from emulators.base import Response

INVALID_TOKEN = 124  # 401 "Invalid access token."
INVALID_REQUEST = 300  # 400: an expired page token, an invalid date, ...
USER_NOT_FOUND = 1001  # 404 "User does not exist: {userId}."
MEETING_NOT_FOUND = 3001  # 404 "Meeting does not exist: {meetingId}.", also: no participant list, no summary
NO_RECORDING = 3301  # 404 "There is no recording for this meeting."


def error(status: int, code: int, message: str) -> Response:
    return Response.json(status, {"code": code, "message": message})
