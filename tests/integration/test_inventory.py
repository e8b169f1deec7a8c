"""The listing against the Zoom emulator: filters, meetings left for later queued again, the daily quota."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.queue import QueueClient, TextBase64DecodePolicy

from local.world import World
from shared.archiver import Archiver
from shared.records import MeetingRef, archive_key, utc_text
from shared.settings import load_settings
from shared.storage import MEETINGS_QUEUE
from tests.integration.conftest import daily_limit_spent
from tests.tenant import Tenant

pytestmark = pytest.mark.integration


def archiver(world: World, **settings: str) -> Archiver:
    archive = Archiver(load_settings(world.app_settings(**settings)))
    archive.storage.ensure_created()
    return archive


def clear(world: World) -> None:
    QueueClient.from_connection_string(world.azurite.connection_string, MEETINGS_QUEUE).clear_messages()


def queued(world: World) -> list[str]:
    queue = QueueClient.from_connection_string(
        world.azurite.connection_string, MEETINGS_QUEUE, message_decode_policy=TextBase64DecodePolicy()
    )
    return sorted(json.loads(m.content)["uuid"] for m in queue.peek_messages(max_messages=32))


def test_hosts_the_filters_leave_out_are_not_even_listed(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer", groups=("gSales",))
    bob = tenant.person("Bob Baker", groups=("gSales",))
    carol = tenant.person("Carol Cole", status="inactive")
    dan = tenant.person("Dan Diaz", groups=("gLegal",))
    meetings = {p.name: tenant.meeting(p, f"{p.name}'s meeting") for p in (alice, bob, carol, dan)}
    tenant.apply(fresh)

    listing = archiver(
        fresh, ZOOM_INCLUDE_GROUPS="gSales", ZOOM_INCLUDE_USERS=carol.email, ZOOM_EXCLUDE_USERS=bob.zoom_id
    ).enumerate_meetings()

    assert queued(fresh) == sorted([meetings["Alice Archer"].uuid, meetings["Carol Cole"].uuid])
    assert (listing.users, listing.users_left_out, listing.queued) == (2, 2, 2)
    listed = {r["path"].split("/")[3] for r in fresh.zoom.requests() if r["path"].endswith("/recordings")}
    assert listed == {alice.zoom_id, carol.zoom_id}


def test_a_meeting_shorter_than_the_minimum_is_left_out_by_how_long_it_lasted_not_what_was_recorded(
    fresh: World, tenant: Tenant
) -> None:
    alice = tenant.person("Alice Archer")
    short = tenant.meeting(alice, "Wrong room", minutes=2)
    long = tenant.meeting(alice, "Planning", minutes=60)
    long.recorded = (30, 31)  # an hour-long meeting recorded for a minute: the listing says `duration` 1
    tenant.apply(fresh)
    archive = archiver(fresh, ARCHIVE_MIN_DURATION_MINUTES="5")

    archive.enumerate_meetings()  # the listing cannot tell how long a meeting lasted: both are queued
    assert queued(fresh) == sorted([short.uuid, long.uuid])
    assert archive.capture_meeting(MeetingRef(long.uuid)).status == "captured"
    assert archive.capture_meeting(MeetingRef(short.uuid)).status == "excluded"

    row = archive.state.meeting(archive_key(short.uuid))
    assert row and (row["status"], row["topic"], row["meeting_seconds"]) == ("excluded", "Wrong room", 120)
    assert row["reason"] == "the meeting lasted 2 minute(s), less than ARCHIVE_MIN_DURATION_MINUTES (5)"
    clear(fresh)
    listing = archive.enumerate_meetings()  # the next runs know it is too short: it is not queued again
    assert queued(fresh) == [] and listing.meetings_left_out == 1

    archiver(fresh).enumerate_meetings()  # the administrator drops the minimum: the meeting is archived now
    assert short.uuid in queued(fresh)


def test_meetings_left_for_later_are_queued_again_whatever_their_day(fresh: World, tenant: Tenant) -> None:
    tenant.apply(fresh)  # an account with no recordings in the listing window
    archive = archiver(fresh)
    now = datetime.now(UTC)
    rows = {
        "deferred==": {"status": "deferred", "deferred_since": (now - timedelta(days=1)).isoformat()},
        "waited==": {"status": "waiting", "retry_after": (now - timedelta(minutes=1)).isoformat()},
        "waiting==": {"status": "waiting", "retry_after": (now + timedelta(hours=3)).isoformat()},
        "failed==": {"status": "failed"},
        "captured==": {"status": "captured"},
    }
    for uuid, fields in rows.items():
        archive.state.update_meeting(archive_key(uuid), uuid=uuid, day="2020-01-01", **fields)

    listing = archive.enumerate_meetings()

    assert queued(fresh) == ["deferred==", "waited=="]
    assert listing.requeued == 2
    assert archive.state.meeting(archive_key("waiting=="))["status"] == "waiting"  # type: ignore[index]


def test_a_daily_limit_met_while_listing_stops_it_and_keeps_the_checkpoint(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    tenant.meeting(alice, "Planning")
    tenant.apply(fresh)
    archive = archiver(fresh)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    archive.state.save_checkpoint(yesterday)
    fresh.zoom.fault(daily_limit_spent("/recordings$", "Medium", **{"Retry-After": ""}))

    listing = archive.enumerate_meetings()

    assert listing.waiting_until == datetime.combine(
        datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC
    )
    assert archive.state.checkpoint() == yesterday and queued(fresh) == []


def test_a_meeting_already_archived_is_neither_queued_again_nor_relabelled(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    delivered = tenant.meeting(alice, "Delivered", minutes=2)
    captured = tenant.meeting(alice, "Captured", minutes=30)
    tenant.apply(fresh)
    archive = archiver(fresh, ARCHIVE_MIN_DURATION_MINUTES="5")
    archive.state.update_meeting(archive_key(delivered.uuid), uuid=delivered.uuid, status="delivered")
    archive.state.update_meeting(archive_key(captured.uuid), uuid=captured.uuid, status="captured")

    listing = archive.enumerate_meetings()

    assert queued(fresh) == [] and listing.already_archived == 2
    assert archive.state.meeting(archive_key(delivered.uuid))["status"] == "delivered"  # type: ignore[index]


def test_backfill_leaves_out_what_the_filters_leave_out(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    kept = tenant.meeting(alice, "Planning", days_ago=50)
    short = tenant.meeting(alice, "Wrong room", days_ago=50, minutes=2)
    tenant.meeting(bob, "Bob's meeting", days_ago=50)
    tenant.apply(fresh)
    archive = archiver(fresh, ZOOM_EXCLUDE_USERS=bob.email, ARCHIVE_MIN_DURATION_MINUTES="5")
    today = datetime.now(UTC).date()
    progress = []

    queued_count = archive.backfill(
        today - timedelta(days=60), today - timedelta(days=40), lambda *step: progress.append(step)
    )

    # Both of Alice's are queued (how long a meeting lasted is the capture's to find out), none of Bob's.
    assert queued(fresh) == sorted([kept.uuid, short.uuid]) and queued_count == 2
    assert progress == [(1, 1, 2)], "only the hosts the filters keep are listed"
    assert archive.capture_meeting(MeetingRef(short.uuid, source="backfill")).status == "excluded"
    assert archive.state.meeting(archive_key(kept.uuid))["source"] == "backfill"  # type: ignore[index]


def test_backfill_stops_at_the_daily_limit_and_keeps_what_it_queued(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    tenant.meeting(alice, "Planning", days_ago=50)
    tenant.apply(fresh)
    archive = archiver(fresh)
    fresh.zoom.fault(daily_limit_spent("/recordings$", "Medium", **{"Retry-After": ""}))
    today = datetime.now(UTC).date()

    assert archive.backfill(today - timedelta(days=60), today - timedelta(days=40)) == 0
    assert queued(fresh) == []


def test_a_listed_meeting_waiting_for_zoom_is_queued_only_once_its_wait_is_over(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    waiting = tenant.meeting(alice, "Planning")
    waited = tenant.meeting(alice, "Review")
    tenant.apply(fresh)
    archive = archiver(fresh)
    now = datetime.now(UTC)
    for meeting, retry_after in ((waiting, now + timedelta(hours=3)), (waited, now - timedelta(minutes=1))):
        archive.state.update_meeting(
            archive_key(meeting.uuid), uuid=meeting.uuid, status="waiting", retry_after=retry_after.isoformat()
        )

    archive.enumerate_meetings()

    assert queued(fresh) == [waited.uuid]


def test_two_listings_at_once_queue_each_meeting_once(fresh: World, tenant: Tenant) -> None:
    """Two instances (or a listing and a backfill) list the same days: the row is written before the message,
    on the condition that nobody wrote it since it was read, so only one of them queues each meeting."""
    alice = tenant.person("Alice Archer")
    meetings = [tenant.meeting(alice, f"Meeting {n}") for n in range(6)]
    tenant.apply(fresh)
    fresh.zoom.seed({**tenant.zoom_seed(), "latency": 0.05}, tenant.folder)
    first, second = archiver(fresh), archiver(fresh)

    with ThreadPoolExecutor(max_workers=2) as pool:
        listings = list(pool.map(lambda a: a.enumerate_meetings(), (first, second)))

    assert queued(fresh) == sorted(m.uuid for m in meetings)
    assert sum(listing.queued for listing in listings) == len(meetings)
    rows = [first.state.meeting(archive_key(m.uuid)) or {} for m in meetings]
    assert all(row["status"] == "queued" and row["message_id"] for row in rows), "each row names its message"


def test_a_meeting_marked_queued_whose_message_was_never_sent_is_queued_again(fresh: World, tenant: Tenant) -> None:
    """A worker killed between writing `queued` and sending the message leaves a row without a message id."""
    alice = tenant.person("Alice Archer")
    lost = tenant.meeting(alice, "Killed while queueing")
    being_queued = tenant.meeting(alice, "Being queued right now")
    tenant.apply(fresh)
    archive = archiver(fresh)
    for meeting, queued_at in ((lost, datetime.now(UTC) - timedelta(minutes=2)), (being_queued, datetime.now(UTC))):
        key = archive_key(meeting.uuid)
        archive.state.update_meeting(
            key, uuid=meeting.uuid, status="queued", queued_at=queued_at.isoformat(), message_id=""
        )

    listing = archive.enumerate_meetings()

    assert queued(fresh) == [lost.uuid], "the other is being queued by a live worker"
    assert listing.queued == 1


def test_the_timer_has_captured_meetings_due_for_another_look_captured_again_without_touching_their_status(
    fresh: World, tenant: Tenant
) -> None:
    tenant.apply(fresh)
    archive = archiver(fresh)
    now = datetime.now(UTC)
    due, later, done = "due==", "later==", "done=="
    archive.state.update_meeting(
        archive_key(due), uuid=due, status="captured", recheck=True, recheck_after=utc_text(now - timedelta(minutes=1))
    )
    archive.state.update_meeting(
        archive_key(later),
        uuid=later,
        status="captured",
        recheck=True,
        recheck_after=utc_text(now + timedelta(hours=5)),
    )
    archive.state.update_meeting(archive_key(done), uuid=done, status="captured", recheck=False, recheck_after="")

    assert archive.enumerate_meetings().requeued == 1

    assert queued(fresh) == [due]
    row = archive.state.meeting(archive_key(due)) or {}
    assert row["status"] == "captured" and row["recheck_after"] > utc_text(now + timedelta(hours=11))
    clear(fresh)
    archive.enumerate_meetings()  # queued once: not again on the next run, unless its look never happened
    assert queued(fresh) == []
