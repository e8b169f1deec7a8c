"""Zoom event notifications: a verified `recording.completed` queues its meeting within seconds.

Zoom signs every notification: `x-zm-signature` = `v0=` + hex HMAC-SHA256(secret token,
`v0:{x-zm-request-timestamp}:{raw body}`). A request is refused unless that signature matches (compared in
constant time), its timestamp is within 5 minutes of now, and the same signed request was not seen before
(a replay). A verified `recording.completed` or `recording.transcript_completed`, or `meeting.summary_completed`
or `meeting.summary_updated` (the AI summary done or edited, after the meeting may be archived), queues the
meeting UUID and nothing more: the capture stage re-reads everything from Zoom's API (what is new goes into an
addition), so a forged or replayed event cannot inject content, and the event's `download_token`,
`download_url` and summary text are never used. Zoom sends
duplicates and retries: queueing a meeting twice is harmless (capture skips a meeting already archived).
Zoom wants an answer within 3 seconds; this is one Table insert, a read and two writes of the meeting's row
(queued before the message is sent, naming it after) and one queue message.
The daily timer remains the safety net for a notification that never arrives.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.storage.queue import QueueClient

from shared import inventory, telemetry
from shared.records import archive_key
from shared.state import State

log = logging.getLogger(__name__)

VALIDATION = "endpoint.url_validation"
RECORDING_EVENTS = ("recording.completed", "recording.transcript_completed")
SUMMARY_EVENTS = ("meeting.summary_completed", "meeting.summary_updated")  # the AI summary done, or edited
TOLERANCE = timedelta(minutes=5)
# The largest body read: Zoom's recording events are a few KB (one entry of about 500 bytes per file, even a
# participant's own audio); a larger one is refused before it is hashed, so a flood of big bodies costs nothing.
MAX_BODY_BYTES = 1024 * 1024
SIGNATURE_HEADER = "x-zm-signature"
TIMESTAMP_HEADER = "x-zm-request-timestamp"


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def request_time(timestamp: str) -> datetime | None:
    """Zoom's request timestamp: epoch seconds (milliseconds when it has more than 10 digits)."""
    if not timestamp.isdigit():
        return None
    value = int(timestamp)
    return datetime.fromtimestamp(value / 1000 if len(timestamp) > 10 else value, UTC)


def receive(
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str,
    state: State,
    queue: QueueClient,
    now: datetime | None = None,
) -> Reply:
    """Answer one notification request; `headers` are matched without regard to case."""
    if len(body) > MAX_BODY_BYTES:
        return _refuse(413, f"the body is over {MAX_BODY_BYTES} bytes, more than any Zoom event")
    lower = {name.lower(): value for name, value in headers.items()}
    timestamp = lower.get(TIMESTAMP_HEADER, "")
    given = lower.get(SIGNATURE_HEADER, "")
    expected = signature(secret, timestamp, body)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return _refuse(401, "the signature does not match")
    moment = request_time(timestamp)
    if moment is None or abs((now or datetime.now(UTC)) - moment) > TOLERANCE:
        return _refuse(401, "the request timestamp is more than 5 minutes off")
    if not state.first_sighting(moment.date(), given):
        return _refuse(409, "this signed request was already received (a replay)")
    try:
        event = json.loads(body)
        name = str(event.get("event") or "")
        payload = event.get("payload") or {}
    except (ValueError, AttributeError):
        return _refuse(400, "the body is not a Zoom event")
    if name == VALIDATION:
        plain = payload.get("plainToken") if isinstance(payload, dict) else None
        if not isinstance(plain, str) or not plain:
            return _refuse(400, "endpoint.url_validation without a plainToken")
        encrypted = hmac.new(secret.encode(), plain.encode(), hashlib.sha256).hexdigest()
        log.info("webhook endpoint validated")
        return Reply(200, {"plainToken": plain, "encryptedToken": encrypted})
    if name not in RECORDING_EVENTS + SUMMARY_EVENTS:
        log.info("webhook event %s ignored", name[:100])
        return Reply(200, {"ignored": name})
    meeting = payload.get("object") if isinstance(payload, dict) else None
    field = "meeting_uuid" if name in SUMMARY_EVENTS else "uuid"  # Zoom's summary events name it so
    uuid = meeting.get(field) if isinstance(meeting, dict) else None
    if not isinstance(uuid, str) or not uuid:
        return _refuse(400, f"{name} without a meeting uuid")
    if name in SUMMARY_EVENTS:
        meeting = {"uuid": uuid, "topic": meeting.get("meeting_topic"), "start_time": meeting.get("meeting_start_time")}
    with telemetry.dimensions(meeting_uuid=uuid, archive_key=archive_key(uuid)):
        inventory.enqueue(state, queue, uuid, "webhook", meeting, force=True)  # Zoom may have added files
        log.info("webhook %s: meeting queued", name)
    return Reply(200, {"queued": uuid})


def _refuse(status: int, reason: str) -> Reply:
    log.warning("webhook request refused (%d): %s", status, reason)
    return Reply(status, {"error": reason})
