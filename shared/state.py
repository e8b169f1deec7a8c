"""What the archiver knows, in Table storage: the listing checkpoint, each meeting, each delivery.

Rows are keyed by our archive key (a hash of the meeting UUID) and by a hash of the mailbox address, never
by Zoom strings, which may hold characters Table keys forbid. Every stage records its outcome here
before it acknowledges its trigger, so a failure always leaves a row that says what happened and why.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode

from shared import claims
from shared.claims import Lease
from shared.records import parse_time, short_hash, utc_text
from shared.storage import (
    CHECKPOINTS_TABLE,
    DELIVERIES_TABLE,
    FOLDERS_TABLE,
    MEETINGS_TABLE,
    WEBHOOK_EVENTS_TABLE,
    Storage,
)

# Meeting status
QUEUED = "queued"
DEFERRED = "deferred"  # files still processing at Zoom: captured on a later run
WAITING = "waiting"  # Zoom's daily API quota is spent: captured on the first run after it resets
EXCLUDED = "excluded"  # left out by the administrator's filters (the row's reason names the setting)
CAPTURED = "captured"  # message written to blob storage
DELIVERED = "delivered"  # every mapped mailbox has the item
PARTIAL = "partial"  # some mailboxes have no item: failed for good, or still to be tried (failed for now, busy)
FAILED = "failed"

# Delivery status
IMPORTED = "imported"
DUPLICATE = "duplicate"  # already in the mailbox: nothing created
UNMAPPED = "unmapped"

MEETING_ROW = "meeting"
CAPTURE_ROW = "capture"  # a meeting's capture claim, on a row of its own beside the meeting's row
CHECKPOINT_PARTITION = "zoom"
CHECKPOINT_ROW = "recordings"
HEAVY_PARTITION = "heavy-listing"  # checkpoints table: Heavy calls listing past meetings, a row per UTC day
HEAVY_CONFLICTS = 50
ROOM_ROW = "room-"  # meetings table: a breakout room of the meeting, a row each beside the meeting's row


Claim = Lease | dict[str, Any] | None  # what a claim attempt gives: see `claims.take`


def now() -> str:
    return utc_text(datetime.now(UTC))


MAILBOX_ROW_PREFIX = "m-"
UNMAPPED_ROW_PREFIX = "u-"


def mailbox_row(address: str) -> str:
    return MAILBOX_ROW_PREFIX + short_hash(address.strip().lower())


def unmapped_row(name: str, email: str) -> str:
    return UNMAPPED_ROW_PREFIX + short_hash(f"{email.strip().lower()}|{name}")


class State:
    def __init__(self, storage: Storage):
        self._meetings = storage.table(MEETINGS_TABLE)
        self._deliveries = storage.table(DELIVERIES_TABLE)
        self._checkpoints = storage.table(CHECKPOINTS_TABLE)
        self._folders = storage.table(FOLDERS_TABLE)
        self._webhook_events = storage.table(WEBHOOK_EVENTS_TABLE)

    # --- listing checkpoint ---------------------------------------------------------------------

    def checkpoint(self, listing: str = CHECKPOINT_ROW) -> date | None:
        """The last day a completed run listed: of the recordings, or of another `listing` (a source's, a user's)."""
        row = _get(self._checkpoints, CHECKPOINT_PARTITION, listing)
        return date.fromisoformat(row["through"]) if row else None

    def save_checkpoint(self, through: date, listing: str = CHECKPOINT_ROW) -> None:
        self._checkpoints.upsert_entity(
            {
                "PartitionKey": CHECKPOINT_PARTITION,
                "RowKey": listing,
                "through": through.isoformat(),
                "updated_at": now(),
            }
        )

    def heavy_calls(self, day: date) -> int:
        """How many Heavy Zoom calls listing past meetings made on `day` (UTC)."""
        row = _get(self._checkpoints, HEAVY_PARTITION, day.isoformat())
        return int((row or {}).get("calls") or 0)

    def take_heavy_call(self, day: date, allowed: int) -> bool:
        """Count one more Heavy call of listing past meetings on `day`, unless `allowed` are counted already
        (False); a conditional write, so that instances listing at once never count past it together."""
        for _ in range(HEAVY_CONFLICTS):
            try:
                entity = self._checkpoints.get_entity(HEAVY_PARTITION, day.isoformat())
            except ResourceNotFoundError:
                entity = None
            calls = int((entity or {}).get("calls") or 0)
            if calls >= allowed:
                return False
            row = {"PartitionKey": HEAVY_PARTITION, "RowKey": day.isoformat(), "calls": calls + 1, "updated_at": now()}
            try:
                if entity is None:
                    self._checkpoints.create_entity(row)
                else:
                    self._checkpoints.update_entity(
                        row, etag=entity.metadata["etag"], match_condition=MatchConditions.IfNotModified
                    )
                return True
            except (ResourceExistsError, ResourceModifiedError):
                continue
        raise RuntimeError(f"the count of Heavy calls of {day} changed under {HEAVY_CONFLICTS} attempts to update it")

    # --- meetings -------------------------------------------------------------------------------

    def meeting(self, key: str) -> dict[str, Any] | None:
        return _get(self._meetings, key, MEETING_ROW)

    def meeting_entity(self, key: str) -> TableEntity | None:
        """The meeting's row with its ETag, for a write conditional on nobody having written it since."""
        try:
            return self._meetings.get_entity(key, MEETING_ROW)
        except ResourceNotFoundError:
            return None

    def update_meeting(self, key: str, **fields: Any) -> None:
        self._meetings.upsert_entity(
            {"PartitionKey": key, "RowKey": MEETING_ROW, **fields, "updated_at": now()}, mode=UpdateMode.MERGE
        )

    def update_meeting_if(self, key: str, entity: TableEntity | None, **fields: Any) -> bool:
        """Write the meeting's row only if it is still as read (`entity`; None: there was none); False when
        another worker wrote it since."""
        row = {"PartitionKey": key, "RowKey": MEETING_ROW, **fields, "updated_at": now()}
        try:
            if entity is None:
                self._meetings.create_entity(row)
            else:
                self._meetings.update_entity(
                    row,
                    mode=UpdateMode.MERGE,
                    etag=entity.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
            return False
        return True

    def claim_capture(self, key: str, owner: str) -> Lease | None:
        """Take the capture of one meeting for `owner` (a row of its own, so writes to the meeting's row never
        disturb its lease); None while another worker's claim is live. Release the Lease when done."""
        claimed = claims.take(self._meetings, key, CAPTURE_ROW, owner, _entity(self._meetings, key, CAPTURE_ROW))
        return claimed if isinstance(claimed, Lease) else None

    def meetings_with_status(self, status: str) -> list[dict[str, Any]]:
        return list(self._meetings.query_entities("status eq @status", parameters={"status": status}))

    def meetings_to_recheck(self, now: datetime) -> list[dict[str, Any]]:
        """Captured meetings the sweep should look at again now (a file missing, or a first look after capture)."""
        return list(
            self._meetings.query_entities(
                f"RowKey eq '{MEETING_ROW}' and status eq '{CAPTURED}' and recheck eq true and recheck_after le @now",
                parameters={"now": utc_text(now)},
            )
        )

    def meetings_between(self, first: date, last: date) -> list[dict[str, Any]]:
        """Meeting rows whose meeting day is from `first` to `last` (the status log and the report)."""
        return list(
            self._meetings.query_entities(
                "RowKey eq @row and day ge @first and day le @last",
                parameters={"row": MEETING_ROW, "first": first.isoformat(), "last": last.isoformat()},
            )
        )

    def unfinished_days(self, since: date) -> set[date]:
        """Days from `since` with a meeting not yet captured, or captured but not delivered to every mailbox.

        A meeting the filters exclude is finished: it is left out on purpose.
        """
        rows = self._meetings.query_entities(
            f"RowKey eq '{MEETING_ROW}' and day ge @since and status ne '{EXCLUDED}'"
            f" and (status ne '{CAPTURED}' or delivery eq '{PARTIAL}')",
            parameters={"since": since.isoformat()},
            select=["day"],
        )
        return {date.fromisoformat(row["day"]) for row in rows if row.get("day")}

    def due_meetings(self, since: date) -> list[datetime]:
        """When the archive first knew of each meeting from `since` still due: queued, deferred, waiting for
        Zoom's quota, or captured and not yet in every mapped mailbox (failed and excluded ones are not due)."""
        rows = self._meetings.query_entities(
            f"RowKey eq '{MEETING_ROW}' and day ge @since and status ne '{EXCLUDED}' and status ne '{FAILED}'",
            parameters={"since": since.isoformat()},
            select=["status", "delivery", "known_at", "queued_at", "updated_at"],
        )
        return sorted(
            parse_time(row.get("known_at") or row.get("queued_at") or row.get("updated_at")) or datetime.now(UTC)
            for row in rows
            if row.get("status") != CAPTURED or row.get("delivery") != DELIVERED
        )

    def add_breakout_room(self, key: str, uuid: str) -> bool:
        """Remember a breakout room of the meeting (its archive lists its files); False when it was known."""
        try:
            self._meetings.create_entity({"PartitionKey": key, "RowKey": ROOM_ROW + short_hash(uuid), "uuid": uuid})
        except ResourceExistsError:
            return False
        return True

    def breakout_rooms(self, key: str) -> list[str]:
        """The UUIDs of the meeting's breakout rooms known so far."""
        rows = self._meetings.query_entities(
            "PartitionKey eq @key and RowKey ge @first and RowKey lt @after",
            parameters={"key": key, "first": ROOM_ROW, "after": ROOM_ROW[:-1] + chr(ord(ROOM_ROW[-1]) + 1)},
            select=["uuid"],
        )
        return sorted(str(row["uuid"]) for row in rows)

    # --- deliveries -----------------------------------------------------------------------------

    def deliveries(self, key: str) -> dict[str, TableEntity]:
        rows = self._deliveries.query_entities("PartitionKey eq @key", parameters={"key": key})
        return {row["RowKey"]: row for row in rows}

    def forget_delivery(self, key: str, row: str) -> None:
        try:
            self._deliveries.delete_entity(key, row)
        except ResourceNotFoundError:
            pass

    def reopen_deliveries(self, key: str) -> int:
        """Forget the meeting's deliveries that did not put an item in a mailbox (failed, or unmapped), so the
        next import tries them again; returns how many. Delivered ones stay settled, and so does a mailbox a live
        worker is importing into (its claim is its import in progress: the next import leaves it to that one).
        Each row goes only as it was read, so a claim taken meanwhile stays."""
        reopened = 0
        for row in self.deliveries(key).values():
            if row.get("status") in (IMPORTED, DUPLICATE) or claims.live_holder(row):
                continue
            try:
                self._deliveries.delete_entity(
                    key, row["RowKey"], etag=row.metadata["etag"], match_condition=MatchConditions.IfNotModified
                )
            except (ResourceModifiedError, ResourceNotFoundError):
                continue
            reopened += 1
        return reopened

    def claim_delivery(self, key: str, row: str, owner: str, entity: TableEntity | None, day: str) -> Claim:
        """Take the delivery of one meeting to one mailbox for `owner`, so that no other worker imports into
        that mailbox at the same time (Event Grid may deliver a blob event twice; Graph has no idempotency key).

        `entity` is the row as `deliveries` read it (None when there was none). Returns a `Lease` to hold
        while importing (its holder's outcome write releases it), the row when it is settled, or None when
        another worker is alive and importing it: a claim held by a worker that died lapses within a lease
        and is taken over here, after watching it that long.
        """
        return claims.take(
            self._deliveries, key, row, owner, entity, done=settled, fields={"day": day} if day else None, watch=True
        )

    def update_delivery(self, key: str, row: str, **fields: Any) -> None:
        self._deliveries.upsert_entity(
            {"PartitionKey": key, "RowKey": row, **fields, "updated_at": now()}, mode=UpdateMode.MERGE
        )

    def deliveries_between(self, first: date, last: date) -> list[dict[str, Any]]:
        """Delivery and unmapped rows of the meetings held from `first` to `last`."""
        return list(
            self._deliveries.query_entities(
                "day ge @first and day le @last", parameters={"first": first.isoformat(), "last": last.isoformat()}
            )
        )

    def totals(self) -> dict[str, dict[str, int]]:
        """How many meetings and deliveries are in each status (the run summary)."""
        result: dict[str, dict[str, int]] = {"meetings": {}, "deliveries": {}}
        for name, rows in (
            ("meetings", self._meetings.query_entities(f"RowKey eq '{MEETING_ROW}'", select=["status"])),
            ("deliveries", self._deliveries.list_entities(select=["status"])),
        ):
            for row in rows:
                status = str(row.get("status", ""))
                result[name][status] = result[name].get(status, 0) + 1
        return result

    # --- webhook requests seen ------------------------------------------------------------------

    def first_sighting(self, day: date, signature: str) -> bool:
        """Remember a signed webhook request; False when the same one was seen before (a replay).

        Insert-if-absent is atomic in Table storage, so of two concurrent copies exactly one is first.
        """
        try:
            self._webhook_events.create_entity(
                {"PartitionKey": day.isoformat(), "RowKey": short_hash(signature), "received_at": now()}
            )
        except ResourceExistsError:
            return False
        return True

    def forget_webhooks_before(self, day: date) -> int:
        """Drop the record of webhook requests older than `day`: their timestamps are refused as stale anyway."""
        rows = list(
            self._webhook_events.query_entities(
                "PartitionKey lt @day", parameters={"day": day.isoformat()}, select=["PartitionKey", "RowKey"]
            )
        )
        for row in rows:
            self._webhook_events.delete_entity(row["PartitionKey"], row["RowKey"])
        return len(rows)

    # --- mailbox folder ids ---------------------------------------------------------------------

    def folder(self, user_id: str, name: str) -> str | None:
        row = _get(self._folders, short_hash(user_id), short_hash(name))
        return row["folder_id"] if row else None

    def save_folder(self, user_id: str, name: str, folder_id: str) -> None:
        self._folders.upsert_entity(
            {"PartitionKey": short_hash(user_id), "RowKey": short_hash(name), "folder_id": folder_id}
        )

    def forget_folder(self, user_id: str, name: str) -> None:
        self._folders.delete_entity(short_hash(user_id), short_hash(name))


def column_list(value: Any) -> list[str]:
    """A list kept in one column of a row, comma-separated (file keys and archive keys hold no comma)."""
    return [item for item in str(value or "").split(",") if item]


def settled(row: dict[str, Any]) -> bool:
    """A delivery done, or failed for good: a retry leaves it alone."""
    status = row.get("status")
    return status in (IMPORTED, DUPLICATE, UNMAPPED) or (status == FAILED and not row.get("retryable"))


def _get(table: Any, partition: str, row: str) -> dict[str, Any] | None:
    entity = _entity(table, partition, row)
    return dict(entity) if entity is not None else None


def _entity(table: Any, partition: str, row: str) -> TableEntity | None:
    try:
        return table.get_entity(partition, row)
    except ResourceNotFoundError:
        return None
