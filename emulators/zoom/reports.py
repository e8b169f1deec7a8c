"""Zoom's usage report of a user's past meetings, `GET /report/users/{userId}/meetings` (Heavy), as the
Meetings spec describes it: `from` and `to` required, a range of at most a month that falls within the past
six months; `type` past (meetings the user hosted), pastJoined (hosted or joined) or pastOne; only meetings
and webinars with two or more unique participants; recorded or not (`has_recording` says which).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote

from emulators.base import Request, Response, route
from emulators.zoom.archiving import is_breakout_room
from emulators.zoom.dates import day_of, months_before
from emulators.zoom.errors import INVALID_REQUEST, USER_NOT_FOUND, error

REPORT_MONTHS = 6  # "the month must fall within the past six months"
REPORT_TYPES = ("past", "pastOne", "pastJoined")
MAX_PAGE_SIZE = 300


class Reports:
    """The reports endpoints of the Zoom emulator (a mixin of `ZoomEmulator`)."""

    @route("GET", r"/v2/report/users/([^/]+)/meetings", category="Heavy")
    def meeting_reports(self, request: Request, user_id: str) -> Response:
        user = self._user(unquote(user_id))
        if user is None:
            return error(404, USER_NOT_FOUND, f"User {unquote(user_id)} not exist or not belong to this account.")
        try:
            start, end = date.fromisoformat(request.arg("from")), date.fromisoformat(request.arg("to"))
        except ValueError:
            return error(400, INVALID_REQUEST, "Validation Failed: from and to are required dates (yyyy-mm-dd).")
        today = datetime.now(UTC).date()
        if end < start or start < months_before(end):
            return error(400, INVALID_REQUEST, "The date range can only be one month.")
        if start < months_before(today, REPORT_MONTHS):
            return error(400, INVALID_REQUEST, "Report can only be provided for a month within the recent 6 months.")
        kind = request.arg("type") or "past"
        if kind not in REPORT_TYPES:
            return error(400, INVALID_REQUEST, "Validation Failed: invalid type.")
        found = [
            self._report_item(m)
            for m in self.meetings
            if not is_breakout_room(m)
            and start <= day_of(m["recording"].get("start_time")) <= end
            and len(_people(m)) >= 2
            and (m["recording"].get("host_id") == user.get("id") or (kind == "pastJoined" and _joined(m, user)))
        ]
        found.sort(key=lambda item: str(item["start_time"]))
        if kind == "pastOne":
            found = found[-1:]
        extra = {"from": start.isoformat(), "to": end.isoformat(), "page_number": 1}
        return self._page(request, found, "meetings", extra, MAX_PAGE_SIZE)

    def _report_item(self, meeting: dict[str, Any]) -> dict[str, Any]:
        facts, details = meeting["recording"], self._details(meeting) or {}
        host = self._user(str(facts.get("host_id"))) or {}
        files = [str(f.get("file_type")) for f in facts.get("recording_files") or []]
        return {
            "uuid": facts["uuid"],
            "id": facts.get("id"),
            "topic": str(details.get("topic") or facts.get("topic") or ""),
            "type": int(details.get("type") or facts.get("type") or 2),
            "start_time": str(details.get("start_time") or facts["start_time"]),
            "end_time": str(details.get("end_time") or facts["start_time"]),
            "duration": int(details.get("duration") or 0),
            "total_minutes": sum(int(p.get("duration") or 0) for p in meeting["participants"]) // 60,
            "participants_count": len(_people(meeting)),
            "user_email": str(host.get("email") or ""),
            "user_name": str(host.get("display_name") or ""),
            "host_name": str(host.get("display_name") or ""),
            "source": str(details.get("source") or "Zoom"),
            "custom_keys": [],
            "has_recording": meeting["recorded"],
            "has_chat": "CHAT" in files,
            "has_screen_share": False,
        }


def _joined(meeting: dict[str, Any], user: dict[str, Any]) -> bool:
    email = str(user.get("email") or "").lower()
    return any(
        p.get("id") == user.get("id") or (email and str(p.get("user_email") or "").lower() == email)
        for p in meeting["participants"]
    )


def _people(meeting: dict[str, Any]) -> set[str]:
    """The unique participants of an instance, as Zoom counts them for its reports."""
    return {str(p.get("user_email") or p.get("name") or "") for p in meeting["participants"]}
