"""Zoom REST API emulator: the OAuth token endpoint, the endpoints the archiver reads, and file downloads.

It follows Zoom's contract and its documented quirks (../shared/reference/zoom-api.md §8): Bearer tokens in
the Authorization header only (a token in the query string is error 124), from Server-to-Server OAuth or
a legacy JWT app (HS256, `iss` = API key, `exp` in seconds or, as Zoom's own sample wrote it, milliseconds);
opaque page tokens that expire, `next_page_token` "" on the last page, recordings ranges clamped to one
month, meeting UUIDs that begin with `/` or contain `//` found only when double-encoded, no participant list
of a meeting that had one participant (404/3001: "the API doesn't return results"), rate limits per
category with Zoom's 429 bodies and headers (emulators/zoom/limits.py), and downloads that answer 302 to a
second, pre-signed "CDN" path (or an HTML page with 200 when unauthenticated) that honours Range requests.

Seed (Zoom's own wire shapes): `{"account_id", "users": [user objects as GET /users returns them],
"meetings": [{"recording": <one item of GET /users/{id}/recordings "meetings">, "participants": [<items of
GET /past_meetings/{uuid}/participants>], "polls": [<"questions" items of GET /past_meetings/{uuid}/polls>],
"qa": [<"questions" items of GET /past_meetings/{uuid}/qa>], "summary": <GET
/meetings/{uuid}/meeting_summary, its summary fields>, "details": <GET /past_meetings/{uuid} (or the webinar
report) as Zoom answers it>, "files": {"<file id or file_type>": "<path relative to the seed>"}}]}`. Without
`details`, the meeting ends when its last participant left (never at start + the recording's `duration`, which
is what was recorded), and without participants Zoom has no details (404). A recording of type 5, 6 or 9 is a
webinar: it is served by the webinar endpoints instead of the meeting ones. A file whose content is not given
is generated, deterministically, with its `file_size`. An optional `"latency"` (seconds each API request and
download takes) overrides `--latency`.

An instance may have, instead of a recording or besides it, an `"archive"` (<one item of GET /archive_files
"meetings">: emulators/zoom/archiving.py; a breakout room is an instance with only that); one with neither is
known by its `details`. All but breakout rooms are in their hosts' meeting reports when they had two or more
participants (emulators/zoom/reports.py). `POST /_emulator/webhook` sends Zoom's signed event notifications
(emulators/zoom/webhooks.py).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import random
import re
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote

import jwt

from emulators.base import Emulator, Request, Response, route
from emulators.zoom.archiving import Archiving, archive_items, instance_facts, is_breakout_room
from emulators.zoom.dates import day_of, months_before, zoom_time
from emulators.zoom.errors import (
    INVALID_REQUEST,
    INVALID_TOKEN,
    MEETING_NOT_FOUND,
    NO_RECORDING,
    USER_NOT_FOUND,
    error,
)
from emulators.zoom.limits import AccountLimits
from emulators.zoom.reports import Reports
from emulators.zoom.webhooks import Webhooks

DEFAULT_CLIENT_ID = "demo-zoom-client"
DEFAULT_CLIENT_SECRET = "demo-zoom-secret"
DEFAULT_API_KEY = "demo-jwt-api-key"  # a legacy JWT app's
DEFAULT_API_SECRET = "demo-jwt-api-secret-of-32-or-more-bytes"  # HS256 keys should have at least 32 bytes
PAGE_TOKEN_TTL = 15 * 60
BLOCK = 1024 * 1024
CONTENT_TYPES = {
    "MP4": "video/mp4",
    "M4A": "audio/mp4",
    "TXT": "text/plain",
    "VTT": "text/vtt",
    "JSON": "application/json",
    "CSV": "text/csv",
    "JPG": "image/jpeg",
}
TYPE_EXTENSIONS = {"CHAT": "TXT", "TRANSCRIPT": "VTT", "CC": "VTT", "TIMELINE": "JSON", "CSV": "CSV", "SUMMARY": "JSON"}
WEBINAR_TYPES = (5, 6, 9)


MAX_PAGE_SIZE = 300  # page_size beyond this is clamped (Zoom's spec: maximum 300)


def needs_double_encoding(uuid: str) -> bool:
    return uuid.startswith("/") or "//" in uuid


class ZoomEmulator(Archiving, Reports, Webhooks, Emulator):
    name = "zoom"

    def __init__(
        self,
        seed: dict[str, Any],
        base_dir: Path,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        token_ttl: int = 3600,
        page_token_ttl: int = PAGE_TOKEN_TTL,
        cdn_host: str = "",
        plan: str = "",
        daily_limit: int | None = None,
        latency: float = 0.0,
    ):
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_key = api_key
        self.api_secret = api_secret
        self.token_ttl = token_ttl
        self.page_token_ttl = page_token_ttl
        self.cdn_host = cdn_host
        self.plan = plan
        self.daily_limit = daily_limit
        self.default_latency = latency
        self.signing_key = secrets.token_bytes(32)
        super().__init__(seed, base_dir)

    def load(self, seed: dict[str, Any], base_dir: Path) -> None:
        self.account_id = str(seed["account_id"])
        self.latency = float(seed.get("latency", self.default_latency))
        self.users: list[dict[str, Any]] = list(seed.get("users", []))
        self.meetings: list[dict[str, Any]] = []
        self.files: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # ref -> (meeting entry, file item)
        for entry in seed.get("meetings", []):
            meeting = {
                # The instance's facts, in the shape of a recording (without files when it has none).
                "recording": copy.deepcopy(entry.get("recording") or instance_facts(entry)),
                "recorded": "recording" in entry,
                "archive": copy.deepcopy(entry.get("archive")),
                "participants": list(entry.get("participants", [])),
                "polls": list(entry.get("polls", [])),
                "qa": list(entry.get("qa", [])),
                "summary": entry.get("summary"),
                "details": entry.get("details"),
                "files": {k: base_dir / v for k, v in (entry.get("files") or {}).items()},
            }
            self.meetings.append(meeting)
            for item in _file_items(meeting["recording"]) + archive_items(meeting):
                self.files[self._ref(meeting, item)] = (meeting, item)
        self.tokens: dict[str, float] = {}
        self.page_tokens: dict[str, tuple[str, int, float]] = {}
        self.limits = AccountLimits(self.plan, self.daily_limit)

    def dispatch(self, request: Request) -> Response:
        """API calls are authenticated, then counted against their rate-limit category, then answered."""
        found = self.route(request)
        if found is None:
            return self.not_found(request)
        declared, args = found
        if self.latency and declared.handler.__name__ != "token":
            time.sleep(self.latency)  # a real round trip to Zoom: its API and its CDN, not the token endpoint
        if not declared.category:
            return declared.handler(self, request, *args)
        if denied := self.authorized(request):
            return denied
        if refused := self.limits.admit(declared.category):
            return refused
        response = declared.handler(self, request, *args)
        response.headers.update(self.limits.headers(declared.category))
        response.headers["x-zm-trackingid"] = "v=2.0;clid=us06;rid=" + secrets.token_hex(8)
        return response

    # --- helpers --------------------------------------------------------------------------------

    def _ref(self, meeting: dict[str, Any], item: dict[str, Any]) -> str:
        uuid = meeting["recording"]["uuid"]
        key = item.get("id") or f"{item.get('file_type')}|{item.get('recording_start')}"
        return hashlib.sha256(f"{uuid}|{key}".encode()).hexdigest()[:32]

    def authorized(self, request: Request) -> Response | None:
        """None when the request carries a valid token in its Authorization header, else Zoom's 401/124."""
        if "access_token" in request.query:
            return error(401, INVALID_TOKEN, "Invalid access token.")
        if self.bearer_valid(request) or (request.bearer and self._valid_jwt(request.bearer)):
            return None
        return error(401, INVALID_TOKEN, "Invalid access token.")

    def _valid_jwt(self, token: str) -> bool:
        """A legacy JWT app's token: HS256 with the API secret, `iss` the API key, `exp` not passed."""
        try:
            claims = jwt.decode(token, self.api_secret, algorithms=["HS256"], options={"verify_exp": False})
        except jwt.InvalidTokenError:
            return False
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or claims.get("iss") != self.api_key:
            return False
        return (expires / 1000 if expires > 10**11 else expires) > time.time()  # Zoom's sample used milliseconds

    def _user(self, user_id: str) -> dict[str, Any] | None:
        for user in self.users:
            if user_id in (user.get("id"), user.get("email")):
                return user
        return None

    def _meeting(self, segment: str) -> dict[str, Any] | None:
        """Find an instance by a path segment as sent: a UUID (double-encoded when Zoom requires it) or an id."""
        once = unquote(segment)
        if once.isdigit():
            instances = [m for m in self.meetings if str(m["recording"].get("id")) == once]
            return max(instances, key=lambda m: m["recording"].get("start_time", ""), default=None)
        twice = unquote(once)
        for meeting in self.meetings:
            uuid = meeting["recording"]["uuid"]
            if needs_double_encoding(uuid):
                if twice == uuid and once != uuid:
                    return meeting
            elif uuid in (once, twice):
                return meeting
        return None

    def _page(
        self,
        request: Request,
        items: list[Any],
        key: str,
        extra: dict[str, Any],
        limit: int,
        effective: dict[str, str] | None = None,
    ) -> Response:
        """One page of `items`; its token is valid for the same request only (`effective` values are the
        parameters as Zoom took them, when it changed them: the next page must send those)."""
        signature = self._signature(request, {})
        size = max(1, min(limit, int(request.arg("page_size", "30") or 30)))
        offset = 0
        token = request.arg("next_page_token")
        if token:
            with self.lock:
                saved = self.page_tokens.get(token)
            if not saved or saved[0] != signature or saved[2] < time.time():
                return error(400, INVALID_REQUEST, "The next page token is invalid or expired.")
            offset = saved[1]
        page = items[offset : offset + size]
        next_token = ""
        if offset + size < len(items):
            next_token = secrets.token_urlsafe(24)
            answered = self._signature(request, effective or {})
            with self.lock:
                self.page_tokens[next_token] = (answered, offset + size, time.time() + self.page_token_ttl)
        body = {
            **extra,
            "page_count": (len(items) + size - 1) // size,
            "page_size": size,
            "total_records": len(items),
            "next_page_token": next_token,
            key: page,
        }
        return Response.json(200, body)

    def _signature(self, request: Request, effective: dict[str, str]) -> str:
        """The request a page token belongs to: its path and parameters but the page's own."""
        query = {**request.query, **{k: [v] for k, v in effective.items()}}
        return (
            request.raw_path.split("?")[0]
            + "|"
            + "&".join(f"{k}={v}" for k, v in sorted(query.items()) if k not in ("next_page_token", "page_size"))
        )

    def _public(self, request: Request, meeting: dict[str, Any]) -> dict[str, Any]:
        """The recording object as the API returns it, with download URLs that lead to this emulator."""
        recording = copy.deepcopy(meeting["recording"])
        for item in _file_items(recording):
            item["download_url"] = f"{request.base_url}/rec/download/{self._ref(meeting, item)}"
        return recording

    # --- OAuth ----------------------------------------------------------------------------------

    @route("POST", r"/oauth/token")
    def token(self, request: Request) -> Response:
        params = {**parse_qs(request.body.decode(errors="replace")), **request.query}
        header = request.headers.get("authorization", "")
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            client_id, secret = "", ""
        if not header.lower().startswith("basic ") or (client_id, secret) != (self.client_id, self.client_secret):
            return Response.json(401, {"reason": "Invalid client_id or client_secret", "error": "invalid_client"})
        if params.get("grant_type", [""])[0] != "account_credentials":
            return Response.json(400, {"reason": "Unsupported grant type", "error": "unsupported_grant_type"})
        if params.get("account_id", [""])[0] != self.account_id:
            return Response.json(400, {"reason": "Invalid account_id", "error": "invalid_request"})
        token = self.issue_token(self.token_ttl)
        return Response.json(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.token_ttl,
                "scope": "user:read:list_users:admin cloud_recording:read:list_user_recordings:admin "
                "meeting:read:list_past_participants:admin",
                "api_url": request.base_url,
            },
        )

    # --- API ------------------------------------------------------------------------------------

    @route("GET", r"/v2/users", category="Medium")
    def users(self, request: Request) -> Response:
        status = request.arg("status", "active")
        users = [u for u in self.users if u.get("status", "active") == status]
        if status == "pending":
            users = [{k: v for k, v in u.items() if k != "id"} for u in users]
        return self._page(request, users, "users", {"page_number": 1}, 2000)

    @route("GET", r"/v2/users/([^/]+)", category="Light")
    def user(self, request: Request, user_id: str) -> Response:
        user = self._user(unquote(user_id))
        if user is None:
            return error(404, USER_NOT_FOUND, f"User does not exist: {unquote(user_id)}.")
        return Response.json(200, user)

    @route("GET", r"/v2/users/([^/]+)/recordings", category="Medium")
    def recordings(self, request: Request, user_id: str) -> Response:
        user = self._user(unquote(user_id))
        if user is None:
            return error(404, USER_NOT_FOUND, f"User does not exist: {unquote(user_id)}.")
        try:
            end = date.fromisoformat(request.arg("to")) if request.arg("to") else datetime.now(UTC).date()
            start = date.fromisoformat(request.arg("from")) if request.arg("from") else end
        except ValueError:
            return error(400, INVALID_REQUEST, "Invalid date.")
        start = max(start, months_before(end))  # Zoom silently shortens a longer range
        found = [
            self._public(request, m)
            for m in self.meetings
            if m["recorded"]
            and m["recording"].get("host_id") == user.get("id")
            and start <= day_of(m["recording"].get("start_time")) <= end
        ]
        found.sort(key=lambda r: r.get("start_time", ""), reverse=True)
        extra = {"from": start.isoformat(), "to": end.isoformat()}
        return self._page(request, found, "meetings", extra, MAX_PAGE_SIZE)

    @route("GET", r"/v2/meetings/([^/]+)/recordings", category="Light")
    def meeting_recordings(self, request: Request, meeting_id: str) -> Response:
        meeting = self._meeting(meeting_id)
        if meeting is None or not meeting["recorded"]:
            return error(404, NO_RECORDING, "There is no recording for this meeting.")
        return Response.json(200, self._public(request, meeting))

    @route("GET", r"/v2/past_meetings/([^/]+)", category="Light")
    def past_meeting(self, request: Request, meeting_id: str) -> Response:
        meeting = self._instance(meeting_id, webinar=False)
        if meeting is None:
            return error(404, MEETING_NOT_FOUND, f"Meeting does not exist: {unquote(meeting_id)}.")
        details = self._details(meeting)
        if details is None:
            return error(404, MEETING_NOT_FOUND, f"Meeting does not exist: {unquote(meeting_id)}.")
        return Response.json(200, {"source": "Zoom", **details})

    @route("GET", r"/v2/report/webinars/([^/]+)", category="Heavy")
    def webinar_report(self, request: Request, webinar_id: str) -> Response:
        meeting = self._instance(webinar_id, webinar=True)
        if meeting is None:
            return error(404, MEETING_NOT_FOUND, f"Meeting {unquote(webinar_id)} not found or has expired.")
        details = self._details(meeting)
        if details is None:
            return error(404, MEETING_NOT_FOUND, f"Meeting {unquote(webinar_id)} not found or has expired.")
        return Response.json(200, {"custom_keys": [], "tracking_fields": [], **details})

    @route("GET", r"/v2/past_meetings/([^/]+)/participants", category="Medium")
    def participants(self, request: Request, meeting_id: str) -> Response:
        return self._participants(request, meeting_id, webinar=False)

    @route("GET", r"/v2/past_webinars/([^/]+)/participants", category="Medium")
    def webinar_participants(self, request: Request, webinar_id: str) -> Response:
        return self._participants(request, webinar_id, webinar=True)

    @route("GET", r"/v2/past_meetings/([^/]+)/polls", category="Medium")
    def polls(self, request: Request, meeting_id: str) -> Response:
        return self._answers(meeting_id, "polls", webinar=False)

    @route("GET", r"/v2/past_webinars/([^/]+)/polls", category="Medium")
    def webinar_polls(self, request: Request, webinar_id: str) -> Response:
        return self._answers(webinar_id, "polls", webinar=True)

    @route("GET", r"/v2/past_meetings/([^/]+)/qa", category="Medium")
    def qa(self, request: Request, meeting_id: str) -> Response:
        return self._answers(meeting_id, "qa", webinar=False)

    @route("GET", r"/v2/past_webinars/([^/]+)/qa", category="Medium")
    def webinar_qa(self, request: Request, webinar_id: str) -> Response:
        return self._answers(webinar_id, "qa", webinar=True)

    @route("GET", r"/v2/meetings/([^/]+)/meeting_summary", category="Light")
    def meeting_summary(self, request: Request, meeting_id: str) -> Response:
        meeting = self._meeting(meeting_id)
        if meeting is None or not meeting["summary"]:
            return error(404, MEETING_NOT_FOUND, "There is no meeting summary for this meeting.")
        recording, details = meeting["recording"], self._details(meeting) or {}
        host = self._user(str(recording.get("host_id"))) or {}
        start, end = details.get("start_time") or recording["start_time"], details.get("end_time") or ""
        return Response.json(
            200,
            {
                "meeting_host_id": str(recording.get("host_id") or ""),
                "meeting_host_email": str(host.get("email") or ""),
                "meeting_uuid": recording["uuid"],
                "meeting_id": recording.get("id"),
                "meeting_topic": str(recording.get("topic") or ""),
                "meeting_start_time": start,
                "meeting_end_time": end,
                "summary_start_time": start,
                "summary_end_time": end,
                "summary_created_time": end,
                "summary_last_modified_time": end,
                **meeting["summary"],
            },
        )

    def _instance(self, segment: str, *, webinar: bool) -> dict[str, Any] | None:
        """A meeting for the meeting endpoints, a webinar for the webinar ones: each 404s for the other. A
        breakout room is known to the archiving endpoints only (Zoom documents it nowhere else)."""
        meeting = self._meeting(segment)
        found = meeting is not None and _is_webinar(meeting) == webinar and not is_breakout_room(meeting)
        return meeting if found else None

    def _details(self, meeting: dict[str, Any]) -> dict[str, Any] | None:
        """The instance's details, as GET /past_meetings/{uuid} and the webinar report give them: the seed's
        `details` as they are; without them, the meeting ends when its last participant left (the recording's
        `duration` is what was recorded, not the meeting's). None when nothing says when it ended."""
        recording = meeting["recording"]
        if meeting["details"] is not None:
            return {"id": recording.get("id"), "uuid": recording["uuid"], **meeting["details"]}
        leaves = [_moment(p.get("leave_time")) for p in meeting["participants"]]
        if not any(leaves):
            return None
        start = _moment(recording["start_time"]) or datetime.now(UTC)
        end = max(leave for leave in leaves if leave)
        host = self._user(str(recording.get("host_id"))) or {}
        people = {p.get("user_email") or p.get("name") for p in meeting["participants"]}
        return {
            "id": recording.get("id"),
            "uuid": recording["uuid"],
            "duration": -(-int((end - start).total_seconds()) // 60),
            "start_time": recording["start_time"],
            "end_time": zoom_time(end),
            "host_id": str(recording.get("host_id") or ""),
            "dept": str(host.get("dept") or ""),
            "participants_count": len(people),
            "topic": str(recording.get("topic") or ""),
            "total_minutes": sum(int(p.get("duration") or 0) for p in meeting["participants"]) // 60,
            "type": int(recording.get("type") or 2),
            "user_email": str(host.get("email") or ""),
            "user_name": str(host.get("display_name") or ""),
        }

    def _participants(self, request: Request, segment: str, *, webinar: bool) -> Response:
        meeting = self._instance(segment, webinar=webinar)
        if meeting is None:
            return error(
                404, MEETING_NOT_FOUND, f"{'Webinar' if webinar else 'Meeting'} does not exist: {unquote(segment)}."
            )
        if len({p.get("user_email") or p.get("name") for p in meeting["participants"]}) < 2:
            # "the API doesn't return results if there's only one participant in a meeting" (Zoom's spec)
            return error(404, MEETING_NOT_FOUND, f"Meeting does not exist: {unquote(segment)}.")
        return self._page(request, meeting["participants"], "participants", {}, MAX_PAGE_SIZE)

    def _answers(self, segment: str, kind: str, *, webinar: bool) -> Response:
        """Poll results or Q&A: `{id, uuid, start_time, questions}`; no questions when there were none."""
        meeting = self._instance(segment, webinar=webinar)
        if meeting is None:
            return error(404, MEETING_NOT_FOUND, f"{'Webinar' if webinar else 'Meeting'} ID is invalid or not end.")
        recording = meeting["recording"]
        body = {"id": recording.get("id"), "uuid": recording["uuid"], "start_time": recording["start_time"]}
        return Response.json(200, {**body, "questions": meeting[kind]})

    # --- downloads ------------------------------------------------------------------------------

    @route("GET", r"/rec/download/([0-9a-f]+)")
    @route("GET", r"/rec/archive/download/([0-9a-f]+)")
    def download(self, request: Request, ref: str) -> Response:
        if "access_token" in request.query:
            return error(401, INVALID_TOKEN, "Invalid access token.")
        if ref not in self.files:
            return error(404, NO_RECORDING, "This recording does not exist.")
        if self.authorized(request) is not None:
            return Response(
                200,
                b"<html><body>Only the host can download this recording.</body></html>",
                {"Content-Type": "text/html; charset=utf-8"},
            )
        expires = str(int(time.time()) + 600)
        signature = hmac.new(self.signing_key, f"{ref}|{expires}".encode(), "sha256").hexdigest()
        base = request.base_url
        if self.cdn_host:
            base = re.sub(r"//[^:/]+", f"//{self.cdn_host}", base, count=1)
        return Response(302, b"", {"Location": f"{base}/cdn/{ref}?expires={expires}&signature={quote(signature)}"})

    @route("GET", r"/cdn/([0-9a-f]+)")
    def cdn(self, request: Request, ref: str) -> Response:
        expires, signature = request.arg("expires"), request.arg("signature")
        expected = hmac.new(self.signing_key, f"{ref}|{expires}".encode(), "sha256").hexdigest()
        if ref not in self.files or not hmac.compare_digest(signature, expected) or int(expires or 0) < time.time():
            return Response(403, b"<Error><Code>AccessDenied</Code></Error>", {"Content-Type": "application/xml"})
        meeting, item = self.files[ref]
        size = self._size(meeting, item)
        start = 0
        status = 200
        headers = {"Content-Type": _content_type(item), "Accept-Ranges": "bytes"}
        if match := re.fullmatch(r"bytes=(\d+)-", request.headers.get("range", "")):
            start = min(int(match.group(1)), size)
            status = 206
            headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
        return Response(status, self._content(meeting, item, start), headers, length=size - start)

    def _source(self, meeting: dict[str, Any], item: dict[str, Any]) -> Path | None:
        files = meeting["files"]
        return files.get(str(item.get("id") or "")) or files.get(str(item.get("file_type") or ""))

    def _size(self, meeting: dict[str, Any], item: dict[str, Any]) -> int:
        source = self._source(meeting, item)
        if source is not None:
            return source.stat().st_size
        if item.get("file_size") is not None:
            return int(item["file_size"])
        return len(_default_text(item))

    def _content(self, meeting: dict[str, Any], item: dict[str, Any], start: int) -> Iterator[bytes]:
        source = self._source(meeting, item)
        if source is not None:
            with open(source, "rb") as handle:
                handle.seek(start)
                while chunk := handle.read(BLOCK):
                    yield chunk
            return
        size = self._size(meeting, item)
        if item.get("file_size") is None:
            yield _default_text(item)[start:]
            return
        yield from generated(self._ref(meeting, item), size, start, text=_is_text(item))


def _is_webinar(meeting: dict[str, Any]) -> bool:
    return int(meeting["recording"].get("type") or 0) in WEBINAR_TYPES


def _file_items(recording: dict[str, Any]) -> list[dict[str, Any]]:
    return list(recording.get("recording_files") or []) + list(recording.get("participant_audio_files") or [])


def _extension(item: dict[str, Any]) -> str:
    return str(item.get("file_extension") or TYPE_EXTENSIONS.get(str(item.get("file_type")), "MP4")).upper()


def _content_type(item: dict[str, Any]) -> str:
    return CONTENT_TYPES.get(_extension(item), "application/octet-stream")


def _is_text(item: dict[str, Any]) -> bool:
    return _extension(item) in ("TXT", "VTT", "JSON", "CSV")


def _default_text(item: dict[str, Any]) -> bytes:
    """Content for a file Zoom lists without a size (CC, TIMELINE) when the seed gives none."""
    if item.get("file_type") == "TIMELINE":
        return b'{"timeline":[{"ts":"00:00:01.000","users":[]}]}'
    return b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.000\nSpeaker: generated caption\n"


def generated(seed: str, size: int, start: int = 0, *, text: bool = False) -> Iterator[bytes]:
    """Deterministic content of exactly `size` bytes from offset `start`, produced block by block."""
    block_index, skip = divmod(start, BLOCK)
    produced = start
    while produced < size:
        rng = random.Random(f"{seed}:{block_index}")
        if text:
            line = f"00:00:{block_index % 60:02d}\tSpeaker {block_index}:\tgenerated line {rng.random():.6f}\r\n"
            block = (line.encode() * (BLOCK // len(line) + 1))[:BLOCK]
        else:
            block = rng.randbytes(BLOCK)
        chunk = block[skip : skip + (size - produced)]
        yield chunk
        produced += len(chunk)
        block_index += 1
        skip = 0


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
