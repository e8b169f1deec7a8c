"""Stage 1 (timer): list Zoom's meeting instances with cloud recordings and queue the ones not archived.

The listing starts a few days before the checkpoint (`ARCHIVE_OVERLAP_DAYS`) because Zoom finishes
processing recordings late; the checkpoint only moves once a whole listing succeeded, so a failed run
leaves no gap. Re-listing is harmless: a meeting already captured is not queued again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from azure.storage.queue import QueueClient

from shared.records import MeetingRef, archive_key, parse_time
from shared.settings import Settings
from shared.state import CAPTURED, QUEUED, State
from shared.zoom import ZoomClient

log = logging.getLogger(__name__)
REQUEUE_AFTER = timedelta(hours=12)  # a meeting queued this long ago and still not captured lost its message


@dataclass(frozen=True)
class Listing:
    start: date
    end: date
    users: int
    found: int
    queued: int
    already_archived: int


def enumerate_meetings(
    zoom: ZoomClient, state: State, queue: QueueClient, settings: Settings, today: date | None = None
) -> Listing:
    today = today or datetime.now(UTC).date()
    checkpoint = state.checkpoint()
    if checkpoint:
        start = checkpoint - timedelta(days=settings.archive_overlap_days)
    else:
        start = today - timedelta(days=settings.archive_backfill_days)
    users = found = queued = archived = 0
    for user in zoom.users():
        users += 1
        for recording in zoom.recordings(user["id"], start, today):
            found += 1
            if _archived_or_pending(state, recording["uuid"]):
                archived += 1
                continue
            enqueue(state, queue, recording["uuid"], "timer", recording)
            queued += 1
    state.save_checkpoint(today)
    listing = Listing(start=start, end=today, users=users, found=found, queued=queued, already_archived=archived)
    log.info(
        "listed %d meeting instance(s) of %d user(s) from %s to %s: %d queued, %d already archived",
        found,
        users,
        start,
        today,
        queued,
        archived,
    )
    return listing


def _archived_or_pending(state: State, uuid: str) -> bool:
    row = state.meeting(archive_key(uuid))
    if not row:
        return False
    if row.get("status") == CAPTURED:
        return True
    queued_at = parse_time(row.get("queued_at"))
    return row.get("status") == QUEUED and queued_at is not None and datetime.now(UTC) - queued_at < REQUEUE_AFTER


def enqueue(state: State, queue: QueueClient, uuid: str, source: str, recording: dict | None = None) -> None:
    """Record the meeting as queued, then queue it (in that order, so the capture's own status wins)."""
    recording = recording or {}
    start = parse_time(recording.get("start_time"))
    state.update_meeting(
        archive_key(uuid),
        uuid=uuid,
        status=QUEUED,
        queued_at=datetime.now(UTC).isoformat(),
        source=source,
        **({"topic": str(recording["topic"])} if recording.get("topic") else {}),
        **({"meeting_id": str(recording["id"])} if recording.get("id") else {}),
        **({"start_time": start.isoformat(), "day": start.date().isoformat()} if start else {}),
    )
    queue.send_message(MeetingRef(uuid=uuid, source=source).to_json())
