"""The sweep: work the host gave up on, or that a worker left unfinished, is driven again with back-off, a bounded
number of times, then failed for a person with the reason; nothing stays in a poison queue unseen."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import ResourceExistsError

from local.world import World
from shared import claims, sweep
from shared.archiver import Archiver
from shared.delivery import RetryLater
from shared.message.reader import read_message
from shared.records import MeetingRef, MessageRef, archive_key
from shared.settings import load_settings
from shared.state import mailbox_row
from shared.storage import BLOB_POISON_QUEUE, IMPORTS_QUEUE, MEETINGS_QUEUE, MESSAGES_CONTAINER
from shared.zoom import encode_uuid
from tests.tenant import GraphReader, Person, Tenant

pytestmark = pytest.mark.integration

SERVICE_UNAVAILABLE = {"error": {"code": "ServiceUnavailable", "message": "The service is temporarily unavailable."}}


def archiver(world: World) -> Archiver:
    archive = Archiver(load_settings(world.app_settings()))
    archive.storage.ensure_created()
    return archive


def items(world: World, person: Person) -> list[dict]:
    graph = GraphReader(world)
    folder = graph.folder(person)
    return graph.items(person, folder) if folder else []


def poison(archive: Archiver, queue: str, body: str) -> None:
    """A message the Functions host moved to a poison queue (made when first needed), base64 text as it writes them."""
    with contextlib.suppress(ResourceExistsError):
        archive.storage.raw_queue(queue).create_queue()
    archive.storage.raw_queue(queue).send_message(base64.b64encode(body.encode()).decode())


def take(archive: Archiver, queue: str) -> str:
    """The one visible message of one of our queues, deleted."""
    (message,) = archive.storage.queue(queue).receive_messages()
    archive.storage.queue(queue).delete_message(message)
    return str(message.content)


@pytest.fixture
def quiet_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows count as quiet at once (the host's own retries would otherwise be given 15 minutes)."""
    monkeypatch.setattr(sweep, "QUIET", timedelta(0))


def test_a_capture_the_host_gave_up_on_is_driven_again_with_back_off_then_failed_for_a_person(
    fresh: World, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    alice = tenant.person("Alice Archer")
    broken = tenant.meeting(alice, "Broken")
    tenant.apply(fresh)
    refused = {"code": 300, "message": "Cannot access meeting information."}
    polls = f"^/v2/past_meetings/{encode_uuid(broken.uuid)}/polls"
    fresh.zoom.fault({"method": "GET", "path": polls, "status": 400, "body": refused, "times": -1})
    archive = archiver(fresh)
    ref = MeetingRef(broken.uuid)
    queue = archive.storage.queue(MEETINGS_QUEUE)
    key = archive_key(broken.uuid)
    archive.enumerate_meetings()  # the listing's row has the meeting's day, for the status log
    queue.clear_messages()

    for number, delay in enumerate(sweep.REDRIVE_DELAYS, 1):
        poison(archive, f"{MEETINGS_QUEUE}-poison", ref.to_json())  # the host's attempts all failed
        swept = archive.sweep()
        assert (swept.poison, swept.captures, swept.given_up) == (1, 1, 0)
        row = archive.state.meeting(key) or {}
        assert row["capture_redrives"] == number
        if delay == 0:
            assert MeetingRef.from_json(take(archive, MEETINGS_QUEUE)).source == "sweep", "at once: a worker died"
            with pytest.raises(Exception, match="Cannot access meeting information"):
                archive.capture_meeting(ref)
        else:
            assert queue.get_queue_properties().approximate_message_count == 1
            assert not list(queue.receive_messages()), f"re-drive {number} waits {delay} s"
            queue.clear_messages()
    assert archive.storage.raw_queue(f"{MEETINGS_QUEUE}-poison").get_queue_properties().approximate_message_count == 0

    poison(archive, f"{MEETINGS_QUEUE}-poison", ref.to_json())
    with caplog.at_level(logging.ERROR):
        swept = archive.sweep()

    assert (swept.captures, swept.given_up) == (0, 1)
    row = archive.state.meeting(key) or {}
    assert (row["status"], row["final"], row["error_code"]) == ("failed", True, "zoom_400_300")
    assert "Cannot access meeting information" in row["reason"]
    assert "gave up after 6 automatic retries; fix the cause, then run `replay` for this meeting" in row["reason"]
    assert "stage failed: zoom_400_300 (final)" in caplog.text
    assert queue.get_queue_properties().approximate_message_count == 0
    (day,) = archive.status(broken.start.date(), broken.start.date()).days
    assert (day.counts["failed"], day.counts["retrying"]) == (1, 0), "now it needs a person"


def test_an_import_the_blob_trigger_gave_up_on_is_imported_again_with_graphs_own_code_kept(
    fresh: World, tenant: Tenant
) -> None:
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    meeting = tenant.meeting(alice, "Review", attendees=[(alice, 0, 30), (bob, 0, 30)])
    tenant.apply(fresh)
    outage = f"^/v1.0/users/{bob.graph_id}/mailFolders/[^/]+/messages$"
    fresh.graph.fault(
        {
            "method": "POST",
            "path": outage,
            "status": 503,
            "headers": {"Retry-After": "0"},
            "body": SERVICE_UNAVAILABLE,
            "times": -1,
        }
    )
    archive = archiver(fresh)
    archive.capture_meeting(MeetingRef(meeting.uuid))
    key = archive_key(meeting.uuid)
    message = archive.storage.container(MESSAGES_CONTAINER).download_blob(f"{key}.eml").readall()
    with pytest.raises(RetryLater):
        archive.import_message(message)
    bob_row = archive.state.deliveries(key)[mailbox_row(bob.email)]
    assert (bob_row["status"], bob_row["retryable"], bob_row["code"]) == ("failed", True, "ServiceUnavailable")
    blob = {"FunctionId": "Host.Functions.import_message", "ContainerName": "messages", "BlobName": f"{key}.eml"}
    poison(archive, BLOB_POISON_QUEUE, json.dumps(blob))
    fresh.graph.clear_faults()  # the outage is over

    swept = archive.sweep()

    assert (swept.poison, swept.imports) == (1, 1)
    delivery = archive.redeliver(MessageRef.from_json(take(archive, IMPORTS_QUEUE)))  # retry_import's work
    assert delivery is not None and delivery.imported == 2
    assert (len(items(fresh, alice)), len(items(fresh, bob))) == (1, 1)
    assert (archive.state.meeting(key) or {})["delivery"] == "delivered"


def test_a_claim_left_by_a_worker_with_no_trigger_to_retry_it_is_a_gap_and_driven_again(
    fresh: World, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The admin's `replay` was killed mid-import, say: nothing retries it but the report and the sweep."""
    monkeypatch.setattr(claims, "LEASE", timedelta(seconds=3))
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    meeting = tenant.meeting(alice, "Review", attendees=[(alice, 0, 30), (bob, 0, 30)])
    tenant.apply(fresh)
    archive = archiver(fresh)
    archive.capture_meeting(MeetingRef(meeting.uuid))
    key = archive_key(meeting.uuid)
    message = archive.storage.container(MESSAGES_CONTAINER).download_blob(f"{key}.eml").readall()
    day = meeting.start.date()
    dying = archive.state.claim_delivery(key, mailbox_row(bob.email), "a-killed-replay", None, day.isoformat())
    assert isinstance(dying, claims.Lease)
    with dying:  # alive while this import runs: Bob's mailbox is left to it
        archive.import_message(message)
    # ...and then it died: no outcome, and its lease lapses
    (status_day,) = archive.status(day, day).days
    assert status_day.counts["unfinished"] == 1
    time.sleep(claims.LEASE.total_seconds())

    (report,) = archive.reconcile(days=[day])

    (gap,) = report.gaps
    assert (gap.mailbox, gap.kind) == (bob.email, "not_imported")
    assert gap.detail == "claimed by a worker that stopped before recording an outcome; the sweep drives it again"
    assert archive.sweep().imports == 1
    archive.redeliver(MessageRef.from_json(take(archive, IMPORTS_QUEUE)))
    assert (len(items(fresh, alice)), len(items(fresh, bob))) == (1, 1)
    assert archive.reconcile(days=[day])[0].gaps == []


def test_a_participant_the_directory_did_not_know_yet_is_looked_up_again_and_delivered(
    fresh: World, tenant: Tenant, quiet_now: None
) -> None:
    alice = tenant.person("Alice Archer")
    frank = tenant.person("Frank Fox", graph=False)  # his Microsoft 365 account is created minutes later
    meeting = tenant.meeting(alice, "Onboarding", attendees=[(alice, 0, 30), (frank, 0, 30)])
    tenant.apply(fresh)
    archive = archiver(fresh)
    archive.capture_meeting(MeetingRef(meeting.uuid))
    key = archive_key(meeting.uuid)
    message = archive.storage.container(MESSAGES_CONTAINER).download_blob(f"{key}.eml").readall()
    assert archive.import_message(message).unmapped == 1
    frank_account = tenant.person("Frank Fox", zoom=False)
    fresh.graph.seed(tenant.graph_seed())

    later = archiver(fresh)  # a later run: its directory asks again
    (report,) = later.reconcile(days=[meeting.start.date()])

    assert [(g.mailbox, g.kind) for g in report.gaps] == [(frank.email, "not_imported")]
    assert later.sweep().imports == 1
    later.redeliver(MessageRef.from_json(take(later, IMPORTS_QUEUE)))
    assert len(items(fresh, frank_account)) == 1
    rows = later.state.deliveries(key)
    assert sorted(r.get("status") for r in rows.values()) == ["imported", "imported"], "the unmapped row is gone"
    assert read_message(message).archive_key == key


def test_work_still_in_the_hosts_retries_is_left_alone(fresh: World, tenant: Tenant) -> None:
    """A failure written a moment ago may be retried by the host any second: the sweep does not pile on."""
    alice = tenant.person("Alice Archer")
    broken = tenant.meeting(alice, "Failing right now")
    tenant.apply(fresh)
    archive = archiver(fresh)
    day = broken.start.date()
    archive.state.update_meeting(archive_key(broken.uuid), uuid=broken.uuid, status="failed", day=day.isoformat())
    assert archive.reconcile(days=[day])[0].gaps[0].kind == "capture_failed"

    assert archive.sweep().captures == 0
    assert archive.storage.queue(MEETINGS_QUEUE).get_queue_properties().approximate_message_count == 0


def test_a_meeting_queued_is_driven_again_only_when_its_message_was_never_sent(fresh: World, tenant: Tenant) -> None:
    """One waiting in a long queue (a backfill of thousands) has its message on the way: another would only wait
    behind it. One whose worker died between writing `queued` and sending the message has none."""
    alice = tenant.person("Alice Archer")
    waiting, lost = tenant.meeting(alice, "In a long queue"), tenant.meeting(alice, "Never sent")
    tenant.apply(fresh)
    archive = archiver(fresh)
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    for meeting, message_id in ((waiting, "a-message-id"), (lost, "")):
        key, day = archive_key(meeting.uuid), meeting.start.date().isoformat()
        fields = {"status": "queued", "queued_at": an_hour_ago, "message_id": message_id, "day": day}
        archive.state.update_meeting(key, uuid=meeting.uuid, **fields)
    assert len(archive.reconcile(days=[waiting.start.date()])[0].gaps) == 2

    assert archive.sweep().captures == 1
    assert MeetingRef.from_json(take(archive, MEETINGS_QUEUE)).uuid == lost.uuid
