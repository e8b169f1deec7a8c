"""The webhook receiver: Zoom's documented events, signed as Zoom signs them, against Azurite.

Requests are signed here from Zoom's documented formula, not with the module's own helper, so a wrong
formula in the code fails these tests. The last test goes through the local host's HTTP endpoint and ends
with the meeting's items in the mailboxes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from azure.storage.queue import QueueClient

from local.world import WEBHOOK_SECRET_TOKEN, World, serving_host
from shared.mailbox import IN_REPLY_TO, REFERENCES
from shared.records import MeetingRef, archive_key
from shared.settings import load_settings
from shared.state import State
from shared.storage import MEETINGS_QUEUE, MESSAGES_CONTAINER, Storage
from shared.webhook import receive
from tests.conftest import shared_file
from tests.corpus import sample as corpus_sample
from tests.tenant import File, GraphReader, Tenant

pytestmark = pytest.mark.integration

SAMPLE_UUID = "4444AAAiAAAAAiAiAiiAii=="


def sample(name: str) -> bytes:
    """A documented Zoom event as Zoom sends it: compact JSON."""
    event = json.loads(shared_file(f"samples/zoom/webhook-{name}.json").read_text())
    return json.dumps(event, separators=(",", ":")).encode()


def signed(body: bytes, *, at: datetime | None = None, secret: str = WEBHOOK_SECRET_TOKEN) -> dict[str, str]:
    timestamp = str(int((at or datetime.now(UTC)).timestamp()))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-zm-request-timestamp": timestamp, "x-zm-signature": f"v0={digest}", "content-type": "application/json"}


class Receiver:
    def __init__(self, world: World):
        storage = Storage(load_settings(world.app_settings()).storage)
        storage.ensure_created()
        self.state = State(storage)
        self.queue = storage.queue(MEETINGS_QUEUE)

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        reply = receive(body, headers, secret=WEBHOOK_SECRET_TOKEN, state=self.state, queue=self.queue)
        return reply.status, reply.body


def queued(queue: QueueClient) -> list[MeetingRef]:
    return [MeetingRef.from_json(m.content) for m in queue.peek_messages(max_messages=32)]


def test_url_validation_answers_the_encrypted_token(fresh: World) -> None:
    receiver = Receiver(fresh)
    body = sample("endpoint.url_validation")
    plain = json.loads(body)["payload"]["plainToken"]

    status, reply = receiver.post(body, signed(body))

    assert status == 200
    assert reply == {
        "plainToken": plain,
        "encryptedToken": hmac.new(WEBHOOK_SECRET_TOKEN.encode(), plain.encode(), hashlib.sha256).hexdigest(),
    }
    assert queued(receiver.queue) == []


@pytest.mark.parametrize("event", ["recording.completed", "recording.transcript_completed"])
def test_a_signed_recording_event_queues_the_meeting_uuid_and_nothing_else(fresh: World, event: str) -> None:
    receiver = Receiver(fresh)
    body = sample(event)

    status, _ = receiver.post(body, signed(body))

    assert status == 200
    assert queued(receiver.queue) == [MeetingRef(uuid=SAMPLE_UUID, source="webhook")]
    row = receiver.state.meeting(archive_key(SAMPLE_UUID))
    assert row["status"] == "queued" and row["source"] == "webhook"
    assert row["day"] == "2021-07-13" and row["topic"] == "My Personal Recording"
    stored = json.dumps(row) + json.dumps([m.content for m in receiver.queue.peek_messages(max_messages=32)])
    assert "abJhbGciOiJIUzUxMiJ9" not in stored, "the event's download_token must never be kept"
    assert "example.com/recording" not in stored, "the event's download URLs must never be kept"


@pytest.mark.parametrize("event", ["meeting.summary_completed", "meeting.summary_updated"])
def test_a_signed_summary_event_queues_its_meeting_for_the_summary_to_be_archived(fresh: World, event: str) -> None:
    receiver = Receiver(fresh)
    documented = json.loads(corpus_sample(f"webhook/{event}-docs-zoomnet.json").read_text())
    body = json.dumps(documented, separators=(",", ":")).encode()

    status, _ = receiver.post(body, signed(body))

    uuid = documented["payload"]["object"]["meeting_uuid"]
    assert status == 200 and queued(receiver.queue) == [MeetingRef(uuid=uuid, source="webhook")]
    row = receiver.state.meeting(archive_key(uuid))
    assert (row["status"], row["topic"], row["day"]) == ("queued", "My Meeting", "2019-07-15")
    assert "Mobile app" not in json.dumps(row), "the event's summary text is never kept: the capture reads Zoom's"


def test_other_events_are_acknowledged_and_ignored(fresh: World) -> None:
    receiver = Receiver(fresh)
    body = sample("meeting.ended")

    status, _ = receiver.post(body, signed(body))

    assert status == 200
    assert queued(receiver.queue) == []


def test_a_bad_signature_is_refused(fresh: World) -> None:
    receiver = Receiver(fresh)
    body = sample("recording.completed")
    forged = signed(body, secret="not-the-secret")
    tampered = signed(body)
    unsigned = {k: v for k, v in signed(body).items() if k != "x-zm-signature"}

    assert receiver.post(body, forged)[0] == 401
    assert receiver.post(body.replace(b"My Personal", b"Our Personal"), tampered)[0] == 401
    assert receiver.post(body, unsigned)[0] == 401
    assert queued(receiver.queue) == []
    assert receiver.state.meeting(archive_key(SAMPLE_UUID)) is None


@pytest.mark.parametrize("minutes", [-6, 6])
def test_a_timestamp_more_than_five_minutes_off_is_refused(fresh: World, minutes: int) -> None:
    receiver = Receiver(fresh)
    body = sample("recording.completed")

    status, reply = receiver.post(body, signed(body, at=datetime.now(UTC) + timedelta(minutes=minutes)))

    assert status == 401 and "5 minutes" in reply["error"]
    assert queued(receiver.queue) == []


def test_a_replayed_request_is_refused(fresh: World) -> None:
    receiver = Receiver(fresh)
    body = sample("recording.completed")
    headers = signed(body)

    first, _ = receiver.post(body, headers)
    again, reply = receiver.post(body, headers)

    assert (first, again) == (200, 409)
    assert "replay" in reply["error"]
    assert len(queued(receiver.queue)) == 1


def test_a_signed_recording_completed_puts_the_meeting_in_the_mailboxes_through_the_local_host(
    fresh: World, tenant: Tenant, tmp_path
) -> None:
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    meeting = tenant.meeting(alice, "Webhook delivery", attendees=[(alice, 0, 30), (bob, 5, 30)])
    tenant.apply(fresh)
    event = json.loads(sample("recording.completed"))
    event["payload"]["object"].update(uuid=meeting.uuid, id=meeting.meeting_id, topic=meeting.topic)
    body = json.dumps(event, separators=(",", ":")).encode()
    # No timer run in this test: only the webhook can bring the meeting in.
    settings = fresh.app_settings(ARCHIVE_SCHEDULE="0 0 0 1 1 *", RECONCILE_SCHEDULE="0 0 0 1 1 *")

    with serving_host(settings, "local-test-key", tmp_path / "host.log") as api:
        response = requests.post(f"{api}/zoom/webhook", data=body, headers=signed(body), timeout=10)
        assert response.status_code == 200, response.text
        graph = GraphReader(fresh)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(graph.folder(p) for p in (alice, bob)):
            time.sleep(0.5)
        while time.monotonic() < deadline and not all(graph.items(p, graph.folder(p)) for p in (alice, bob)):
            time.sleep(0.5)

    for person in (alice, bob):
        items = graph.items(person, graph.folder(person))
        assert [i["subject"].split(" - ")[0] for i in items] == [meeting.topic], (tmp_path / "host.log").read_text()
    listings = [r for r in fresh.zoom.requests() if r["path"] == "/v2/users"]
    assert not listings, "the meeting must have come through the webhook, not a listing"


def test_a_transcript_zoom_finishes_after_the_meeting_was_archived_reaches_the_mailboxes_as_an_addition(
    fresh: World, tenant: Tenant, tmp_path
) -> None:
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    vtt = shared_file("samples/zoom/cloud-transcript.vtt").read_bytes()
    files = [File("MP4", os.urandom(1000)), File("TRANSCRIPT", vtt)]
    meeting = tenant.meeting(alice, "Late transcript", attendees=[(alice, 0, 30), (bob, 5, 30)], files=files)
    complete = tenant.apply_before(fresh, "TRANSCRIPT")
    settings = fresh.app_settings(ARCHIVE_SCHEDULE="0 0 0 1 1 *", RECONCILE_SCHEDULE="0 0 0 1 1 *")
    graph = GraphReader(fresh)

    def event(name: str) -> bytes:
        body = json.loads(sample(name))
        body["payload"]["object"].update(uuid=meeting.uuid, id=meeting.meeting_id, topic=meeting.topic)
        return json.dumps(body, separators=(",", ":")).encode()

    def items(count: int) -> list[list[dict[str, Any]]]:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            folders = [graph.folder(p) for p in (alice, bob)]
            found = [graph.items(p, f) if f else [] for p, f in zip((alice, bob), folders, strict=True)]
            if all(len(i) >= count for i in found):
                return found
            time.sleep(0.5)
        raise AssertionError((tmp_path / "host.log").read_text())

    def listings() -> int:
        return sum("/meetings/" in r["path"] and r["path"].endswith("/recordings") for r in fresh.zoom.requests())

    with serving_host(settings, "local-test-key", tmp_path / "host.log") as api:
        body = event("recording.completed")
        assert requests.post(f"{api}/zoom/webhook", data=body, headers=signed(body), timeout=10).status_code == 200
        items(1)
        fresh.zoom.seed(complete, tenant.folder)  # Zoom has finished the transcript
        body = event("recording.transcript_completed")
        assert requests.post(f"{api}/zoom/webhook", data=body, headers=signed(body), timeout=10).status_code == 200
        after = items(2)
        seen = listings()
        again = signed(body, at=datetime.now(UTC) - timedelta(minutes=1))  # Zoom's retry: signed anew
        assert requests.post(f"{api}/zoom/webhook", data=body, headers=again, timeout=10).status_code == 200
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and listings() == seen:
            time.sleep(0.5)
        time.sleep(3)  # time enough for anything the repeat might wrongly have started
        assert listings() > seen, "the repeated event was never captured"
        final = items(2)

    assert [len(i) for i in final] == [2, 2], "a repeat of the event must add nothing"
    for mailbox in after:
        first, addition = sorted(mailbox, key=lambda i: i["subject"].startswith("[addition] "))
        assert first["subject"].startswith(meeting.topic)
        assert addition["subject"].startswith(f"[addition] {meeting.topic}")
        assert not any(a["name"].endswith(".vtt") for a in first["attachments"])
        vtts = [a for a in addition["attachments"] if a["name"].endswith(".vtt")]
        assert [base64.b64decode(a["contentBytes"]) for a in vtts] == [vtt]
        assert not any(a["name"].endswith(".mp4") for a in addition["attachments"])
        properties = graph.get(
            f"/users/{(alice if mailbox is after[0] else bob).graph_id}/messages/{addition['id']}",
            **{"$expand": "singleValueExtendedProperties"},
        ).json()["singleValueExtendedProperties"]
        threading = {p["id"]: p["value"] for p in properties if p["id"] in (IN_REPLY_TO, REFERENCES)}
        assert threading == dict.fromkeys((IN_REPLY_TO, REFERENCES), first["internetMessageId"]), "threads"
    assert len(list(Storage(load_settings(settings).storage).container(MESSAGES_CONTAINER).list_blobs())) == 2
