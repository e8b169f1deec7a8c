"""Zoom's Meeting and Webinar Archiving, as the Meetings spec describes it (Archiving tag): `GET /archive_files`
lists the account's archived instances, breakout rooms among them (`is_breakout_room`, `parent_meeting_id`),
in ranges of at most seven days of meeting start (or of archive completion, `query_date_type`); a `to` in the
future is taken as Zoom's now and answered as such, and a page token is valid only with that `to`.
`GET /past_meetings/{meetingUUID}/archive_files` gives one instance's. Files keep their `status` (completed,
processing, failed) and `encryption_fingerprint` as seeded; their download URLs lead to this emulator
(`/rec/archive/download/...`, as Zoom's `{{base-domain}}/rec/archive/download/xxx`).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from emulators.base import Request, Response, route
from emulators.zoom.dates import moment, zoom_time
from emulators.zoom.errors import INVALID_REQUEST, MEETING_NOT_FOUND, error

ARCHIVE_RANGE = timedelta(days=7)  # "This value and the `to` query parameter value cannot exceed seven days."
DATE_TYPES = {"meeting_start_time": "start_time", "archive_complete_time": "complete_time"}
MAX_PAGE_SIZE = 300


class Archiving:
    """The archiving endpoints of the Zoom emulator (a mixin of `ZoomEmulator`)."""

    @route("GET", r"/v2/archive_files", category="Medium")
    def archive_files(self, request: Request) -> Response:
        now = datetime.now(UTC).replace(microsecond=0)
        try:
            end = moment(request.arg("to")) if request.arg("to") else now
            start = moment(request.arg("from")) if request.arg("from") else end - timedelta(days=1)
        except ValueError:
            return error(400, INVALID_REQUEST, "Invalid date-time: use yyyy-MM-dd'T'HH:mm:ssZ.")
        end = min(end, now)  # a `to` in the future is reset to the current time, and answered as such
        if start > end or end - start > ARCHIVE_RANGE:
            return error(400, INVALID_REQUEST, "The from and to range cannot exceed seven days.")
        field = DATE_TYPES.get(request.arg("query_date_type") or "meeting_start_time")
        if field is None:
            return error(400, INVALID_REQUEST, "Invalid query_date_type.")
        groups = {g for g in request.arg("group_ids", request.arg("group_id")).split(",") if g}
        found = [
            self._public_archive(request, m)
            for m in self.meetings
            if m["archive"] is not None
            and _within(m["archive"].get(field), start, end)
            and (not groups or groups & set(str(m["archive"].get("group_id") or "").split(",")))
        ]
        found.sort(key=lambda archived: str(archived.get("start_time", "")))
        to = zoom_time(end)
        extra = {"from": zoom_time(start), "to": to}
        return self._page(request, found, "meetings", extra, MAX_PAGE_SIZE, effective={"to": to})

    @route("GET", r"/v2/past_meetings/([^/]+)/archive_files", category="Light")
    def meeting_archive(self, request: Request, meeting_uuid: str) -> Response:
        meeting = self._meeting(meeting_uuid)
        if meeting is None or meeting["archive"] is None:
            return error(404, MEETING_NOT_FOUND, f"Meeting {unquote(meeting_uuid)} does not exist.")
        return Response.json(200, self._public_archive(request, meeting))

    def _public_archive(self, request: Request, meeting: dict[str, Any]) -> dict[str, Any]:
        """The archived instance as the API returns it, with download URLs that lead to this emulator."""
        archived = copy.deepcopy(meeting["archive"])
        for item in archived.get("archive_files") or []:
            if "file_path" not in item:  # an on-premise account's file has a path instead of a URL
                item["download_url"] = f"{request.base_url}/rec/archive/download/{self._ref(meeting, item)}"
        return archived


def _within(value: Any, start: datetime, end: datetime) -> bool:
    try:
        return start <= moment(str(value)) <= end
    except ValueError:
        return False  # an archive not complete yet has no complete_time


def instance_facts(entry: dict[str, Any]) -> dict[str, Any]:
    """The facts of an instance without a cloud recording, in a recording's shape: from its `archive` (a meeting
    or breakout room only the archiving API has) or its `details` (a meeting neither recorded nor archived)."""
    source = entry.get("archive") or entry.get("details") or {}
    facts = {k: source[k] for k in ("uuid", "id", "host_id", "topic", "type", "start_time", "timezone") if k in source}
    return {**facts, "duration": int(source.get("duration") or 0), "recording_files": []}


def archive_items(meeting: dict[str, Any]) -> list[dict[str, Any]]:
    return list((meeting.get("archive") or {}).get("archive_files") or [])


def is_breakout_room(meeting: dict[str, Any]) -> bool:
    return bool((meeting.get("archive") or {}).get("is_breakout_room"))
