"""The Zoom API calls the archiver makes, each with its rate-limit category, as typed methods.

Traps handled here (see ../shared/reference/zoom-api.md §2): inactive users must be listed explicitly;
recordings and meeting reports are listed in windows of at most one month, archived files in windows of at
most seven days (whose `to`, when Zoom moves it back to its own now, must be sent again as Zoom answered it);
`next_page_token` is "" on the last page, and a page token that expired restarts its listing; a UUID that
begins with `/` or contains `//` is URL-encoded twice; a 404 is an answer ("there is none"), not a failure,
where the call says so.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from shared.records import utc_text
from shared.zoom.errors import INVALID_REQUEST, MEETING_NOT_FOUND, ZoomError
from shared.zoom.ratelimit import HEAVY, LIGHT, MEDIUM
from shared.zoom.transport import Transport

log = logging.getLogger(__name__)

WINDOW_DAYS = 30  # Zoom silently shortens a recordings range longer than one month
ARCHIVE_WINDOW = timedelta(days=7)  # the longest from/to range of GET /archive_files
REPORT_HORIZON_DAYS = 182  # meeting reports cover "a month that falls within the past six months"
PAGE_SIZE = 300
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
    "/archive_files": MEDIUM,
    "/past_meetings/{meetingUUID}/archive_files": LIGHT,
    "/report/users/{userId}/meetings": HEAVY,
}


def encode_uuid(uuid: str) -> str:
    """A meeting UUID as a path segment; Zoom requires double encoding when it begins with / or contains //."""
    once = quote(uuid, safe="")
    return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once


class Endpoints:
    """The typed calls, over one `Transport`; hosts are kept an hour, as they recur across meetings."""

    def __init__(self, transport: Transport):
        self.transport = transport
        self._users: dict[str, tuple[float, dict[str, Any]]] = {}

    def get(self, template: str, params: dict[str, Any] | None = None, **segments: str) -> dict[str, Any]:
        """GET one of `ENDPOINTS`, its path segments already encoded."""
        return self.transport.get(ENDPOINTS[template], template.format(**segments), params)

    def pages(
        self,
        template: str,
        params: dict[str, Any],
        items: str,
        key: str = "",
        *,
        echoed: tuple[str, ...] = (),
        on_page: Callable[[], None] | None = None,
        **segments: str,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paginated listing; `next_page_token` is "" (not absent) on the last page.

        Page tokens expire after 15 minutes (Zoom answers 400/300): the listing then starts again from its
        first page, and the items already given (known by their `key` field, or whole when they have none)
        are not given twice. The `echoed` parameters are sent on later pages as Zoom's answer gave them (it
        may change them, and then refuses a page token sent with the original). `on_page` is called before
        each request.
        """
        seen: set[str] = set()
        for _ in range(PAGE_RESTARTS + 1):
            token = ""
            asked = dict(params)
            try:
                while True:
                    query = {**asked, "page_size": PAGE_SIZE, **({"next_page_token": token} if token else {})}
                    if on_page:
                        on_page()
                    body = self.get(template, query, **segments)
                    asked.update({name: body[name] for name in echoed if body.get(name)})
                    for item in body.get(items) or []:
                        identity = str(item[key]) if item.get(key) else json.dumps(item, sort_keys=True)
                        if identity not in seen:
                            seen.add(identity)
                            yield item
                    token = body.get("next_page_token") or ""
                    if not token:
                        return
            except ZoomError as error:
                if not (token and error.status == 400 and error.code == INVALID_REQUEST):
                    raise
                log.info("a page token of %s expired; the listing starts again", template)
        raise ZoomError(
            400, INVALID_REQUEST, f"the page tokens of {template} kept expiring ({PAGE_RESTARTS + 1} tries)"
        )

    def users(self) -> Iterator[dict[str, Any]]:
        """Active and inactive users: leaving out inactive ones silently loses their recordings."""
        for status in ("active", "inactive"):
            for user in self.pages("/users", {"status": status}, "users", key="id"):
                if user.get("id"):
                    yield user

    def user(self, user_id: str) -> dict[str, Any] | None:
        """A user, or None when Zoom no longer knows them."""
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

    def recording(self, uuid: str) -> dict[str, Any] | None:
        """The instance's cloud recording; None when it has none (Zoom answers 404/3301)."""
        return self._optional("/meetings/{meetingId}/recordings", meetingId=encode_uuid(uuid))

    def archived_meetings(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """The account's archived meeting instances (breakout rooms among them) that started from `start` to
        `end`, each with its `archive_files`, in windows of at most seven days (Medium)."""
        window_start = start
        while window_start < end:
            window_end = min(end, window_start + ARCHIVE_WINDOW)
            params = {
                "from": utc_text(window_start),
                "to": utc_text(window_end),
                "query_date_type": "meeting_start_time",
            }
            yield from self.pages("/archive_files", params, "meetings", key="uuid", echoed=("to",))
            window_start = window_end

    def archive(self, uuid: str) -> dict[str, Any] | None:
        """One instance's archived files (Light); None when Zoom archived none (404/3001, or 400/3001)."""
        try:
            return self.get("/past_meetings/{meetingUUID}/archive_files", meetingUUID=encode_uuid(uuid))
        except ZoomError as error:
            if error.status == 404 or (error.status == 400 and error.code == MEETING_NOT_FOUND):
                return None
            raise

    def meeting_reports(
        self, user_id: str, start: date, end: date, on_page: Callable[[], None] | None = None
    ) -> Iterator[dict[str, Any]]:
        """The past meetings `user_id` hosted from `start` to `end` (both inclusive), recorded or not, from Zoom's
        usage report: a Heavy call per month window (and per further page); `on_page` is called before each.

        Zoom reports only meetings with two or more participants, of the past six months.
        """
        window_start = start
        while window_start <= end:
            window_end = min(end, window_start + timedelta(days=WINDOW_DAYS - 1))
            params = {"from": window_start.isoformat(), "to": window_end.isoformat(), "type": "past"}
            yield from self.pages(
                "/report/users/{userId}/meetings",
                params,
                "meetings",
                key="uuid",
                on_page=on_page,
                userId=quote(user_id, safe=""),
            )
            window_start = window_end + timedelta(days=1)

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
            if error.status == 404 and error.code == MEETING_NOT_FOUND:
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


def _instance(template: str, uuid: str) -> dict[str, str]:
    """The path segment naming a meeting or webinar instance in `template`."""
    return {"webinarId" if "{webinarId}" in template else "meetingId": encode_uuid(uuid)}
