"""Claims on units of work: a Table row naming its holder, with a short lease a heartbeat renews.

Two workers must not do one unit of work at once (Event Grid may deliver a blob event twice, a meeting is
queued by the listing and by a webhook, many instances run), and a worker that dies must not keep the work
from everyone else for long. A claim is taken with an ETag-conditional write, so of two workers exactly one
gets it; while its holder works, a background thread renews the lease every `LEASE / 3`; the holder's last
write releases it. A holder that dies stops renewing, so its lease lapses within `LEASE` and a successor
takes the claim over: recovery after a crash takes seconds, not the minutes a lease long enough for the
slowest work would hold it. A worker that finds a claim held can watch it for at most one lease to learn
whether its holder is alive (the lease is renewed, or the work settled) or dead (the lease lapses).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, UpdateMode

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)  # how long a claim outlives its holder's last heartbeat
CLAIMED_BY = "claimed_by"
CLAIMED_UNTIL = "claimed_until"
WATCH_POLL = 2.0  # seconds between two looks at a claim held by another worker
TAKE_TRIES = 4  # conditional writes lost to concurrent writers before giving up for now


def lease_end() -> str:
    return (datetime.now(UTC) + LEASE).isoformat()


def live_holder(row: dict[str, Any] | None, owner: str = "") -> bool:
    """The row is claimed by a worker other than `owner` whose lease has not lapsed."""
    row = row or {}
    holder = row.get(CLAIMED_BY)
    until = str(row.get(CLAIMED_UNTIL) or "")
    return bool(holder) and holder != owner and until > datetime.now(UTC).isoformat()


def lapsed(row: dict[str, Any] | None) -> bool:
    """The row is claimed and its holder stopped renewing (it died, or lost its storage) longer than a lease ago."""
    row = row or {}
    return bool(row.get(CLAIMED_BY)) and str(row.get(CLAIMED_UNTIL) or "") <= datetime.now(UTC).isoformat()


class Lease:
    """A claim this worker holds: renewed in the background from `start` until `stop`.

    `lost` turns true when a renewal finds the row written by someone else (a successor that took the
    claim over after a pause longer than the lease); the holder's work is idempotent, so it finishes and
    records its outcome all the same, but it says so.
    """

    def __init__(self, table: TableClient, partition: str, row: str, owner: str, etag: str, before: dict[str, Any]):
        self.table = table
        self.partition = partition
        self.row = row
        self.owner = owner
        self.etag = etag
        self.before = before  # the row as it was before this claim (earlier attempts, for example)
        self.lost = False
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._beat, name=f"lease {self.partition[:8]}/{self.row}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _beat(self) -> None:
        interval = LEASE.total_seconds() / 3
        while not self._stopped.wait(interval):
            try:
                written = self.table.update_entity(
                    {"PartitionKey": self.partition, "RowKey": self.row, CLAIMED_UNTIL: lease_end()},
                    mode=UpdateMode.MERGE,
                    etag=self.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
                self.etag = written["etag"]
            except (ResourceModifiedError, ResourceNotFoundError):
                self.lost = True
                log.warning("claim %s lost to another worker while held: its lease was not renewed in time", self.row)
                return
            except HttpResponseError as error:  # storage unreachable for a moment: the lease still has time
                log.warning("claim %s not renewed this time (%s)", self.row, type(error).__name__)

    def release(self) -> None:
        """Stop renewing and delete the claim row (a claim kept on a row of its own); a row written by someone
        else since is theirs and stays."""
        self.stop()
        try:
            self.table.delete_entity(
                self.partition, self.row, etag=self.etag, match_condition=MatchConditions.IfNotModified
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            pass


def take(
    table: TableClient,
    partition: str,
    row: str,
    owner: str,
    entity: Any,
    *,
    done: Callable[[dict[str, Any]], bool] = lambda _: False,
    fields: dict[str, Any] | None = None,
    watch: bool = False,
) -> Lease | dict[str, Any] | None:
    """Claim the row for `owner`: a Lease (not started: `with` it), the row when `done(row)` says its work is
    settled, or None when another worker's claim is live.

    `entity` is the row as last read (None: there was none), so a claim costs one write when nothing changed.
    With `watch`, a live claim is watched for up to one lease: its holder is alive if it renews the lease
    (None), dead if the lease lapses (then it is taken over), and done if the work settles meanwhile.
    """
    for _ in range(TAKE_TRIES):
        current = dict(entity) if entity is not None else None
        if current is not None and done(current):
            return current
        if live_holder(current, owner):
            if not watch:
                return None
            seen = _watch(table, partition, row, entity)
            if seen is None:
                return None  # its holder is alive: the work is theirs
            entity = seen if seen is not _GONE else None
            continue
        claim = {
            "PartitionKey": partition,
            "RowKey": row,
            CLAIMED_BY: owner,
            CLAIMED_UNTIL: lease_end(),
            **(fields or {}),
        }
        try:
            if entity is None:
                written = table.create_entity(claim)
            else:
                etag = entity.metadata["etag"]
                written = table.update_entity(claim, etag=etag, match_condition=MatchConditions.IfNotModified)
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError) as conflict:
            if isinstance(conflict, ResourceNotFoundError) and entity is None:
                raise  # no such table: not a race
            entity = _read(table, partition, row)  # someone wrote (or deleted) it since it was read: look again
            continue
        return Lease(table, partition, row, owner, written["etag"], current or {})
    return None


_GONE = object()  # the watched row was deleted: its claim was released


def _watch(table: TableClient, partition: str, row: str, entity: Any) -> Any:
    """Watch another worker's claim for at most one lease: the row once it changed in a way that frees it
    (released, settled, or its lease lapsed), `_GONE` when it was deleted, None when its holder renewed it
    (it is alive; so is one holding a lease longer than ours, which this does not wait out)."""
    etag = entity.metadata["etag"]
    until = datetime.fromisoformat(str(entity.get(CLAIMED_UNTIL)))
    deadline = time.monotonic() + LEASE.total_seconds() + WATCH_POLL
    while time.monotonic() < deadline:
        left = (until - datetime.now(UTC)).total_seconds()
        time.sleep(max(0.0, min(WATCH_POLL, left + 0.2)))
        current = _read(table, partition, row)
        if current is None:
            return _GONE
        if current.metadata["etag"] == etag:
            if lapsed(current):
                return current  # the holder stopped renewing: dead
            continue
        if live_holder(current) and current.get(CLAIMED_BY) == entity.get(CLAIMED_BY):
            return None  # renewed: the holder is alive
        return current  # released, settled, or taken by a third worker: `take` looks at it again
    return None


def _read(table: TableClient, partition: str, row: str) -> Any:
    try:
        return table.get_entity(partition, row)
    except ResourceNotFoundError:
        return None
