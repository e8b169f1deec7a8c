"""Stage 1 (timer): list Zoom's meeting instances with cloud recordings and queue the ones not archived.

The listing starts a few days before the checkpoint (`ARCHIVE_OVERLAP_DAYS`) because Zoom finishes
processing recordings late; the checkpoint only moves once a whole listing succeeded, so a failed run
leaves no gap. Re-listing is harmless: a meeting already captured is not queued again. Hosts and meetings
the administrator's filters leave out are not queued (a short meeting's state row says why). Each run also
queues again the meetings left for later, whatever their day: those deferred while Zoom processed their
files, those held up by Zoom's daily quota once it has reset, and captured meetings due for another look (a
file that could not be fetched, what Zoom finished after the capture). A meeting the capture found shorter than
`ARCHIVE_MIN_DURATION_MINUTES` is not queued again while the setting leaves it out. When the listing meets the daily
quota, it stops, says so, and keeps the checkpoint, so the next run lists those days again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from azure.data.tables import TableEntity
from azure.storage.queue import QueueClient

from shared import telemetry
from shared.filters import Filters
from shared.records import MeetingRef, archive_key, parse_time, utc_text
from shared.settings import Settings
from shared.state import CAPTURED, DEFERRED, DELIVERED, EXCLUDED, PARTIAL, QUEUED, WAITING, State
from shared.zoom import DailyLimitReached, ZoomClient

log = logging.getLogger(__name__)
REQUEUE_AFTER = timedelta(hours=12)  # a meeting queued this long ago and still not captured lost its message
QUEUEING = timedelta(minutes=1)  # a row says queued, its message not yet sent: after this, its worker died
QUEUE_TRIES = 3  # conditional writes of a meeting's row lost to concurrent writers before leaving it to them
RECHECK_QUEUED = timedelta(hours=12)  # a recheck queued is not queued again before this, if its message is lost
STORAGE_WORKERS = 16  # listed meetings are checked and queued in parallel: a busy day has tens of thousands


@dataclass(frozen=True)
class Listing:
    start: date
    end: date
    users: int
    found: int
    queued: int
    already_archived: int
    users_left_out: int = 0  # hosts the filters leave out: their recordings are not listed
    meetings_left_out: int = 0  # meetings the filters leave out (too short)
    requeued: int = 0  # deferred or waiting meetings queued again
    waiting_until: datetime | None = None  # set when Zoom's daily quota stopped the listing


class Scope:
    """The Zoom users, active and inactive, whose meetings the filters keep: the hosts whose recordings count.

    The listing, the backfill and the completeness report all list recordings through this one class, so a
    host the administrator left out is never listed, queued or reported as a gap.
    """

    def __init__(self, zoom: ZoomClient, filters: Filters):
        self.zoom = zoom
        users = list(zoom.users())
        self.hosts = [user for user in users if not filters.host_excluded(user)]
        self.left_out = len(users) - len(self.hosts)

    def recordings(
        self, start: date, end: date, progress: Callable[[int], None] | None = None
    ) -> Iterator[dict[str, Any]]:
        """The hosts' recordings from `start` to `end`; `progress(hosts done)` is called after each host."""
        for done, host in enumerate(self.hosts, 1):
            yield from self.zoom.recordings(host["id"], start, end)
            if progress:
                progress(done)


@dataclass(frozen=True)
class Sweep:
    """What queueing the recordings of a date range did."""

    users: int
    users_left_out: int
    outcomes: Counter[str]  # QUEUED, CAPTURED (archived or on its way) or EXCLUDED, per listed meeting
    waiting_until: datetime | None  # set when Zoom's daily quota stopped the listing


def enumerate_meetings(
    zoom: ZoomClient,
    state: State,
    queue: QueueClient,
    settings: Settings,
    filters: Filters,
    today: date | None = None,
) -> Listing:
    today = today or datetime.now(UTC).date()
    checkpoint = state.checkpoint()
    if checkpoint:
        start = checkpoint - timedelta(days=settings.archive_overlap_days)
    else:
        start = today - timedelta(days=settings.archive_backfill_days)
    sweep = queue_range(zoom, state, queue, filters, start, today, "timer")
    if sweep.waiting_until is None:
        state.save_checkpoint(today)
    requeued = _queue_postponed(state, queue)
    outcomes = sweep.outcomes
    listing = Listing(
        start=start,
        end=today,
        users=sweep.users,
        found=sum(outcomes.values()),
        queued=outcomes[QUEUED],
        already_archived=outcomes[CAPTURED],
        users_left_out=sweep.users_left_out,
        meetings_left_out=outcomes[EXCLUDED],
        requeued=requeued,
        waiting_until=sweep.waiting_until,
    )
    log.info(
        "listed %d meeting instance(s) of %d user(s) from %s to %s: %d queued, %d already archived, "
        "%d left out by the filters (and %d user(s)), %d deferred or waiting queued again",
        listing.found,
        listing.users,
        start,
        today,
        listing.queued,
        listing.already_archived,
        listing.meetings_left_out,
        listing.users_left_out,
        requeued,
    )
    return listing


def queue_range(
    zoom: ZoomClient,
    state: State,
    queue: QueueClient,
    filters: Filters,
    start: date,
    end: date,
    source: str,
    progress: Callable[[int, int, int], None] | None = None,
) -> Sweep:
    """Queue the meetings of the hosts in scope recorded from `start` to `end` that are not archived nor left out.

    `progress(users done, users, meetings queued)` is called after each user. Zoom's daily quota stops the
    listing: what was queued stays queued, and `waiting_until` says when the quota resets.
    """
    users = users_left_out = 0
    waiting_until = None
    with ThreadPoolExecutor(max_workers=STORAGE_WORKERS) as pool:
        decisions: list[Future[str]] = []

        def host_done(done: int) -> None:
            if progress:
                progress(done, users, sum(decision.result() == QUEUED for decision in decisions))

        try:
            scope = Scope(zoom, filters)
            users, users_left_out = len(scope.hosts), scope.left_out
            for recording in scope.recordings(start, end, host_done):
                decisions.append(pool.submit(_consider, state, queue, filters, recording, source))
        except DailyLimitReached as limit:
            waiting_until = limit.until
            log.warning("listing stopped: %s; list these days again once it has reset", limit)
        outcomes = Counter(decision.result() for decision in decisions)
    return Sweep(users, users_left_out, outcomes, waiting_until)


def _consider(state: State, queue: QueueClient, filters: Filters, recording: dict, source: str) -> str:
    """Queue one listed meeting unless it is archived, on its way, or left out; returns which it was."""
    key = archive_key(recording["uuid"])
    entity = state.meeting_entity(key)
    row = dict(entity or {})
    if _settled(row):
        return CAPTURED
    if _still_too_short(row, filters):  # the capture found it shorter than ARCHIVE_MIN_DURATION_MINUTES
        return EXCLUDED
    return QUEUED if enqueue(state, queue, recording["uuid"], source, recording, entity=entity) else CAPTURED


def _still_too_short(row: dict, filters: Filters) -> bool:
    """The capture left this meeting out for its length, and the setting still does: the listing cannot tell
    (its `duration` is what was recorded), so it does not queue the meeting again."""
    seconds = row.get("meeting_seconds")
    return row.get("status") == EXCLUDED and seconds is not None and bool(filters.too_short(timedelta(seconds=seconds)))


def _queue_postponed(state: State, queue: QueueClient) -> int:
    """Queue again the meetings deferred while Zoom processed their files, those whose daily wait is over, and
    the captured meetings due for another look (a recheck): files that could not be fetched, and what Zoom
    finishes after a capture (a transcript, the AI summary), archived as additions."""
    now = datetime.now(UTC)
    rows = state.meetings_with_status(DEFERRED) + [
        row for row in state.meetings_with_status(WAITING) if not _still_waiting(row, now)
    ]
    rechecked = sum(enqueue(state, queue, str(row["uuid"]), "retry", entity=row) for row in rows)
    rechecks = state.meetings_to_recheck(now)
    for row in rechecks:  # their status stays captured: only the capture's look at Zoom is queued
        state.update_meeting(row["PartitionKey"], recheck_after=utc_text(now + RECHECK_QUEUED))
        queue.send_message(MeetingRef(uuid=str(row["uuid"]), source="recheck").to_json())
    return rechecked + len(rechecks)


def _settled(row: dict) -> bool:
    """The meeting of this state row is archived, on its way (queued recently, or being queued right now), or
    waits for Zoom's quota (the listing after the reset queues it)."""
    now = datetime.now(UTC)
    if row.get("status") in (CAPTURED, DELIVERED, PARTIAL) or _still_waiting(row, now):
        return True
    queued_at = parse_time(row.get("queued_at"))
    if row.get("status") != QUEUED or queued_at is None:
        return False
    unsent = "message_id" in row and not row["message_id"]  # rows written before the id was kept were sent
    return now - queued_at < (QUEUEING if unsent else REQUEUE_AFTER)


def _still_waiting(row: dict, now: datetime) -> bool:
    """The meeting waits for Zoom's quota, which has not reset yet."""
    return row.get("status") == WAITING and now < (parse_time(row.get("retry_after")) or now)


def enqueue(
    state: State,
    queue: QueueClient,
    uuid: str,
    source: str,
    recording: dict | None = None,
    *,
    entity: TableEntity | None = None,
    force: bool = False,
) -> bool:
    """Queue the meeting once per need; returns whether this call queued it.

    The row says `queued` (with an empty `message_id`) before the message is sent, and names the message
    once it is: a row never claims a message that was not sent, and a worker that died in between leaves a
    row that the next listing queues again after a minute. The row is written only if nobody wrote it since
    it was read, so of two listings (or instances) queueing a meeting at once one does; a row already
    `captured` keeps its status. `force` (a webhook: Zoom may have added files) queues it even when it is on
    its way. `entity` is the row as the caller read it. The first time the archive hears of a meeting is
    kept (`known_at`): its latency to the mailboxes is measured from then.
    """
    key = archive_key(uuid)
    facts = _facts(recording or {})
    for _ in range(QUEUE_TRIES):
        entity = entity if entity is not None else state.meeting_entity(key)
        row = dict(entity or {})
        if not force and _settled(row):
            return False
        now = datetime.now(UTC).isoformat()
        fields = {
            "uuid": uuid,
            "queued_at": now,
            "source": source,
            "message_id": "",
            **({} if row.get("status") == CAPTURED else {"status": QUEUED}),
            **({} if row.get("known_at") else {"known_at": now}),
            **facts,
        }
        if state.update_meeting_if(key, entity if row else None, **fields):
            break
        entity = None  # written since it was read: read it again
    else:
        if not force:
            return False  # others keep writing the row: they queue it
        state.update_meeting(key, uuid=uuid, queued_at=datetime.now(UTC).isoformat(), source=source, message_id="")
    sent = queue.send_message(MeetingRef(uuid=uuid, source=source).to_json())
    state.update_meeting(key, message_id=sent.id)
    with telemetry.dimensions(meeting_uuid=uuid, archive_key=key):
        day = facts.get("day") or str(row.get("day") or "")
        telemetry.event(log, "meeting_queued", "meeting queued (%s)", source, day=day, source=source)
    return True


def _facts(recording: dict) -> dict[str, str]:
    """What the listing already tells about a meeting, for its state row."""
    start = parse_time(recording.get("start_time"))
    return {
        **({"topic": str(recording["topic"])} if recording.get("topic") else {}),
        **({"meeting_id": str(recording["id"])} if recording.get("id") else {}),
        **({"start_time": start.isoformat(), "day": start.date().isoformat()} if start else {}),
    }
