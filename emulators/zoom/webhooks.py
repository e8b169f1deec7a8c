"""Zoom's event notifications, sent by the emulator as Zoom sends them: `POST /_emulator/webhook` with
`{"event", "uuid", "url", "secret"}` posts the event about that instance to `url`, signed with the app's
Secret Token (`x-zm-signature` = `v0=` + hex HMAC-SHA256(secret, `v0:{x-zm-request-timestamp}:{body}`)),
and answers the receiver's status and body.

The events are those of Zoom's Rivet SDK types (../shared/reference/zoom-api.md §5):
`recording.archive_files_completed` (object: the archived instance as GET /past_meetings/{uuid}/archive_files
gives it) and `recording.completed` (object: the recording, with `host_email`), each with a top-level
`download_token` that downloads the files, and `event_ts` in milliseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

from emulators.base import CONTROL_PREFIX, Request, Response

EVENTS = ("recording.archive_files_completed", "recording.completed")
DOWNLOAD_TOKEN_TTL = 24 * 3600
TIMEOUT = 30


class Webhooks:
    """The webhook control endpoint of the Zoom emulator (a mixin of `ZoomEmulator`)."""

    def control(self, request: Request, base_dir: Path) -> Response:
        if request.raw_path.split("?")[0] != CONTROL_PREFIX + "webhook" or request.method != "POST":
            return super().control(request, base_dir)
        spec = request.json()
        if not isinstance(spec, dict) or not all(isinstance(spec.get(k), str) for k in ("event", "uuid", "url")):
            return Response.json(400, {"error": 'the body must be {"event", "uuid", "url", "secret"}'})
        if not spec["url"].startswith(("http://", "https://")):
            return Response.json(400, {"error": "url must be an http:// or https:// URL"})
        if spec["event"] not in EVENTS:
            return Response.json(400, {"error": f"event must be one of {', '.join(EVENTS)}"})
        meeting = next((m for m in self.meetings if m["recording"].get("uuid") == spec["uuid"]), None)
        archived = spec["event"] == EVENTS[0]
        if meeting is None or (meeting["archive"] is None if archived else not meeting["recorded"]):
            return Response.json(404, {"error": f"no {'archive' if archived else 'recording'} of {spec['uuid']}"})
        if archived:
            subject = self._public_archive(request, meeting)
        else:
            host = self._user(str(meeting["recording"].get("host_id"))) or {}
            subject = {**self._public(request, meeting), "host_email": str(host.get("email") or "")}
        event = {
            "event": spec["event"],
            "event_ts": int(time.time() * 1000),
            "download_token": self.issue_token(DOWNLOAD_TOKEN_TTL),
            "payload": {"account_id": self.account_id, "object": subject},
        }
        status, answer = notify(spec["url"], str(spec.get("secret") or ""), json.dumps(event).encode())
        return Response.json(200, {"status": status, "body": answer})


def notify(url: str, secret: str, body: bytes) -> tuple[int, str]:
    """POST one event as Zoom does; the receiver's status and body (status 0 when it could not be reached)."""
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Zoom Marketplace/1.0a",
        "x-zm-request-timestamp": timestamp,
        "x-zm-signature": f"v0={digest}",
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (http or https, checked)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode(errors="replace")
    except OSError as unreachable:
        return 0, str(unreachable)
