"""The capture's Zoom half against the Zoom emulator: what is fetched for a meeting instance and how it becomes
the record; meetings left for later (deferred, waiting for the daily quota) or left out (filters)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import BlobServiceClient

from local.world import EmulatorProcess, World
from shared.archiver import Archiver
from shared.capture import DEFERRAL_LIMIT
from shared.inventory import enqueue
from shared.message.reader import read_message
from shared.records import Meeting, MeetingRef, archive_key
from shared.settings import load_settings
from shared.storage import MEETINGS_QUEUE
from shared.zoom import encode_uuid
from tests.conftest import zoom_settings
from tests.tenant import POLLS, QA, SUMMARY, File, Tenant

pytestmark = pytest.mark.integration


def fetch(world: World, uuid: str, **settings: str) -> Meeting:
    meeting = Archiver(load_settings(world.app_settings(**settings))).capturer.fetch_meeting(uuid)
    assert isinstance(meeting, Meeting), meeting
    return meeting


def zoom_calls(world: World) -> list[str]:
    return [r["path"] for r in world.zoom.requests() if r["path"].startswith("/v2/")]


def test_a_meeting_instance_is_fetched_with_everything_zoom_has_about_it(fresh: World, tenant: Tenant) -> None:
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker")
    planning = tenant.meeting(
        alice,
        "Planning",
        attendees=[(alice, 0, 45), (bob, 1, 10), (bob, 12, 20), (bob, 25, 45)],
        minutes=45,
        files=[
            File("MP4", b"v" * 100),
            File("CC", b"WEBVTT\n", with_id=False),
            File("TIMELINE", b'{"timeline": []}', with_id=False),
            File("M4A", b"a" * 50, participant_audio=True),
        ],
    )
    planning.polls, planning.qa, planning.summary = POLLS, QA, SUMMARY
    tenant.apply(fresh)

    meeting = fetch(fresh, planning.uuid)

    assert meeting.end == planning.start + timedelta(minutes=45)
    (bobs,) = [p for p in meeting.participants if p.name == "Bob Baker"]
    assert len(bobs.sessions) == 3  # a person who rejoins keeps every session
    assert [f.file_type for f in meeting.files] == ["MP4", "CC", "TIMELINE", "M4A"]
    assert len({f.key for f in meeting.files}) == 4 and meeting.not_archived == ()
    assert [(a.name, a.question, a.answer) for a in meeting.polls] == [("Bob Baker", "Ship it?", "Yes")]
    assert [(q.question, q.answer) for q in meeting.qa] == [("Recorded?", "live answered")]
    assert meeting.summary is not None and meeting.summary.details == (("Budget", "Approved."),)
    calls = zoom_calls(fresh)
    assert not [c for c in calls if c.startswith("/v2/report/")], "a meeting needs no Heavy call"
    assert len(calls) == 7  # recordings, host, details, participants, polls, Q&A, summary


def test_the_calls_of_a_meeting_that_do_not_wait_for_each_other_go_out_together(
    fresh: World, tenant: Tenant, own_zoom: Callable[..., EmulatorProcess]
) -> None:
    zoom = own_zoom("--latency", "1")  # each answer takes a second: calls one after another would span four
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker")
    planning = tenant.meeting(alice, "Planning", attendees=[(alice, 0, 30), (bob, 0, 30)])
    tenant.apply(fresh, zoom)
    settings = load_settings(zoom_settings(fresh, zoom))

    Archiver(settings).capturer.fetch_meeting(planning.uuid)

    answered = {r["path"].rsplit("/", 1)[-1]: r["time"] for r in zoom.requests() if r["path"].startswith("/v2/")}
    together = [answered[name] for name in (planning.uuid_path, "polls", "qa", "meeting_summary")]  # the details...
    assert max(together) - min(together) < 2
    assert answered["participants"] > max(together) - 0.5, "asked for once the details say there were two people"


def test_the_participants_of_a_meeting_of_one_are_not_asked_for(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    recorded = tenant.meeting(alice, "Recorded alone", attendees=[(alice, 0, 30)])
    tenant.apply(fresh)

    meeting = fetch(fresh, recorded.uuid)

    assert meeting.participants == () and meeting.host.email == alice.email
    assert not [c for c in zoom_calls(fresh) if c.endswith("/participants")], "Zoom lists nobody when one attended"


def test_files_without_an_id_keep_the_same_key_on_every_capture(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    planning = tenant.meeting(alice, "Planning", files=[File("CC", b"WEBVTT\n", with_id=False)])
    tenant.apply(fresh)
    assert fetch(fresh, planning.uuid).files[0].key == fetch(fresh, planning.uuid).files[0].key


def test_a_webinar_is_fetched_from_the_webinar_endpoints(fresh: World, tenant: Tenant) -> None:
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker")
    webinar = tenant.meeting(alice, "Town hall", kind=9, attendees=[(alice, 0, 60), (bob, 5, 50)], minutes=60)
    webinar.polls, webinar.qa = POLLS, QA
    tenant.apply(fresh)

    meeting = fetch(fresh, webinar.uuid)

    assert meeting.end == webinar.start + timedelta(minutes=60)
    assert [p.name for p in meeting.participants] == ["Alice Archer", "Bob Baker"]
    assert len(meeting.polls) == 1 and len(meeting.qa) == 1 and meeting.summary is None
    calls = zoom_calls(fresh)
    assert not [c for c in calls if c.startswith("/v2/past_meetings/")]
    assert [c for c in calls if c.startswith("/v2/report/")] == [f"/v2/report/webinars/{webinar.uuid_path}"]


def test_an_instant_meeting_is_not_asked_for_polls(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    instant = tenant.meeting(alice, "Quick call", kind=1)
    tenant.apply(fresh)
    assert fetch(fresh, instant.uuid).polls == ()
    assert not [c for c in zoom_calls(fresh) if c.endswith("/polls")]


def test_file_types_left_out_are_not_downloaded_and_the_row_says_so(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    chat = b"00:00:01\tAlice Archer:\thello\r\n"
    planning = tenant.meeting(
        alice, "Planning", files=[File("MP4", os.urandom(2000)), File("CHAT", chat), File("CC", b"WEBVTT\n")]
    )
    tenant.apply(fresh)
    archiver = Archiver(load_settings(fresh.app_settings(ARCHIVE_FILE_TYPES="CHAT")))

    assert archiver.capture_meeting(MeetingRef(planning.uuid)).status == "captured"

    downloads = [r for r in fresh.zoom.requests() if r["path"].startswith("/rec/download/")]
    assert len(downloads) == 1
    row = archiver.state.meeting(archive_key(planning.uuid)) or {}
    assert (row["status"], row["files"], row["files_not_archived"], row["file_types_not_archived"]) == (
        "captured",
        1,
        2,
        "CC,MP4",
    )
    blob = BlobServiceClient.from_connection_string(fresh.azurite.connection_string).get_container_client("messages")
    message = read_message(blob.download_blob(f"{archive_key(planning.uuid)}.eml").readall())
    assert chat in [a.data for a in message.attachments]


def test_a_meeting_of_a_host_left_out_is_recorded_as_excluded_with_the_reason(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer", groups=("gLegal",))
    meeting = tenant.meeting(alice, "Privileged")
    tenant.apply(fresh)
    archiver = Archiver(load_settings(fresh.app_settings(ZOOM_EXCLUDE_GROUPS="gLegal")))

    assert archiver.capture_meeting(MeetingRef(meeting.uuid, source="webhook")).status == "excluded"

    row = archiver.state.meeting(archive_key(meeting.uuid)) or {}
    assert (row["status"], row["reason"]) == ("excluded", "the host is in a group excluded by ZOOM_EXCLUDE_GROUPS")
    assert not [r for r in fresh.zoom.requests() if r["path"].startswith("/rec/")]


def test_a_deferral_that_never_ends_fails_with_its_reason(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    meeting = tenant.meeting(alice, "Stuck", files=[File("MP4", b"x" * 10, processing=True)])
    tenant.apply(fresh)
    archiver = Archiver(load_settings(fresh.app_settings()))
    assert archiver.capture_meeting(MeetingRef(meeting.uuid)).status == "deferred"
    row = archiver.state.meeting(archive_key(meeting.uuid)) or {}
    assert row["reason"] == "Zoom is still processing 1 of the meeting's 1 file(s)"

    long_ago = datetime.now(UTC) - DEFERRAL_LIMIT - timedelta(hours=1)  # days pass, each run queues it again
    archiver.state.update_meeting(archive_key(meeting.uuid), deferred_since=long_ago.isoformat())
    enqueue(archiver.state, archiver.storage.queue(MEETINGS_QUEUE), meeting.uuid, "retry")
    assert archiver.capture_meeting(MeetingRef(meeting.uuid)).status == "failed"

    row = archiver.state.meeting(archive_key(meeting.uuid)) or {}
    assert (row["status"], row["error_code"]) == ("failed", "still_processing")
    assert "Zoom is still processing 1 of the meeting's 1 file(s) since" in row["reason"]
    assert row["final"], "no automatic retry follows: the sweep leaves it to a person"


def test_a_meeting_zoom_does_not_know_is_recorded_once_as_failed_for_good(fresh: World, tenant: Tenant) -> None:
    """A signed notification with a wrong UUID, or recordings deleted since: no retry can change Zoom's 404."""
    tenant.person("Alice Archer")
    tenant.apply(fresh)
    archiver = Archiver(load_settings(fresh.app_settings()))
    uuid = "NoSuchMeeting0000000000=="

    captured = archiver.capture_meeting(MeetingRef(uuid, source="webhook"))  # no exception: the host retries nothing

    assert captured.status == "failed"
    row = archiver.state.meeting(archive_key(uuid)) or {}
    assert (row["status"], row["error_code"], row["final"]) == ("failed", "zoom_404_3001", True)
    assert row["reason"].startswith("Zoom knows no such meeting: no cloud recording, and no details of it")
    path = encode_uuid(uuid)
    asked = [f"/v2/meetings/{path}/recordings", f"/v2/past_meetings/{path}", f"/v2/report/webinars/{path}"]
    assert zoom_calls(fresh) == asked, "each asked once"


@pytest.mark.parametrize("sources", ["recordings", "archiving", "recordings,archiving"])
def test_a_meeting_zoom_did_not_record_nor_archive_is_left_out_saying_which_setting(
    fresh: World, tenant: Tenant, sources: str
) -> None:
    """A summary webhook (meeting.summary_completed) for a meeting held without a cloud recording, when the past
    meetings are not a source: nothing failed, and nothing is retried; the row says what would archive it."""
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker")
    meeting = tenant.meeting(alice, "Summarised", cloud_recording=False, attendees=[(alice, 0, 30), (bob, 0, 30)])
    meeting.summary = SUMMARY
    tenant.apply(fresh)
    archiver = Archiver(load_settings(fresh.app_settings(ZOOM_SOURCES=sources)))

    captured = archiver.capture_meeting(MeetingRef(meeting.uuid, source="webhook"))

    assert captured.status == "excluded"
    row = archiver.state.meeting(archive_key(meeting.uuid)) or {}
    assert row["status"] == "excluded" and "final" not in row and "error_code" not in row
    assert "add meetings to ZOOM_SOURCES" in row["reason"]

    both = Archiver(load_settings(fresh.app_settings(ZOOM_SOURCES=f"{sources},meetings")))
    assert both.capture_meeting(MeetingRef(meeting.uuid, source="webhook")).status == "captured"
    (message,) = [
        b.name
        for b in BlobServiceClient.from_connection_string(fresh.azurite.connection_string)
        .get_container_client("messages")
        .list_blobs()
    ]
    record = read_message(
        BlobServiceClient.from_connection_string(fresh.azurite.connection_string)
        .get_container_client("messages")
        .download_blob(message)
        .readall()
    ).record
    assert record.summary is not None and record.summary.overview == "Budget agreed." and record.files == ()


def test_a_meeting_another_live_worker_is_capturing_is_looked_at_again_after_it(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    meeting = tenant.meeting(alice, "Queued by the listing and by a webhook")
    tenant.apply(fresh)
    archiver = Archiver(load_settings(fresh.app_settings()))
    archiver.storage.ensure_created()
    other = archiver.state.claim_capture(archive_key(meeting.uuid), "another-worker")
    assert other is not None

    with other:  # alive: its heartbeat renews the claim
        busy = archiver.capture_meeting(MeetingRef(meeting.uuid, source="webhook"))

    assert busy.status == "busy" and zoom_calls(fresh) == []
    queue = archiver.storage.queue(MEETINGS_QUEUE)
    assert queue.get_queue_properties().approximate_message_count == 1, "queued again, for after the other"
    assert not list(queue.receive_messages()), "hidden until the other capture's lease could have lapsed"
    other.release()
    assert archiver.capture_meeting(MeetingRef(meeting.uuid, source="webhook")).status == "captured"


def test_a_meeting_recorded_late_lasts_as_long_as_the_meeting_did_and_keeps_both_spans(
    fresh: World, tenant: Tenant
) -> None:
    alice = tenant.person("Alice Archer")
    late = tenant.meeting(alice, "Recorded late", minutes=181)
    late.recorded = (108, 181)  # recording began 108 minutes in: the listing's duration is 73
    tenant.apply(fresh)

    meeting = fetch(fresh, late.uuid)

    assert (meeting.end, meeting.end_source) == (late.start + timedelta(minutes=181), "details")
    assert (meeting.duration_minutes, meeting.recording_minutes) == (181, 73)
    assert meeting.recording_span == (late.start + timedelta(minutes=108), late.start + timedelta(minutes=181))


def test_without_zooms_details_a_meeting_ends_when_its_last_participant_left(fresh: World, tenant: Tenant) -> None:
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker")
    meeting = tenant.meeting(alice, "Stand-up", attendees=[(alice, 0, 20), (bob, 3, 26)], minutes=30)
    tenant.apply(fresh)
    fresh.zoom.fault(  # Zoom has no details of the instance
        {
            "method": "GET",
            "path": f"^/v2/past_meetings/{meeting.uuid_path}$",
            "status": 404,
            "body": {"code": 3001, "message": "Meeting does not exist."},
        }
    )

    fetched = fetch(fresh, meeting.uuid)

    assert (fetched.end, fetched.end_source, fetched.duration_minutes) == (
        meeting.start + timedelta(minutes=26),
        "participants",
        26,
    )


def test_an_instant_meeting_without_a_time_zone_is_shown_in_its_hosts(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer", timezone="America/Los_Angeles")
    instant = tenant.meeting(alice, "Quick call", kind=1)
    instant.timezone = ""  # as Zoom lists every instant meeting
    scheduled = tenant.meeting(alice, "Planning")
    tenant.apply(fresh)

    assert (fetch(fresh, instant.uuid).timezone, fetch(fresh, instant.uuid).timezone_source) == (
        "America/Los_Angeles",
        "host",
    )
    assert (fetch(fresh, scheduled.uuid).timezone, fetch(fresh, scheduled.uuid).timezone_source) == (
        "Europe/London",
        "meeting",
    )


def test_participants_are_told_apart_by_zooms_ids_not_their_names(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    meeting = tenant.meeting(alice, "Call", minutes=2)
    at = meeting.start.strftime("%Y-%m-%dT%H:%M")
    meeting.rows = [
        {
            "id": alice.zoom_id,
            "name": "Alice Archer",
            "user_id": "16778240",
            "user_email": alice.email,
            "join_time": f"{at}:00Z",
            "leave_time": f"{at}:59Z",
            "duration": 59,
        },
        {
            "id": alice.zoom_id,
            "name": "Alice's phone",
            "user_id": "16779264",
            "user_email": "",
            "join_time": f"{at}:05Z",
            "leave_time": f"{at}:59Z",
            "duration": 54,
        },
        {
            "id": "",
            "name": "iPhone",
            "user_id": "16780288",
            "user_email": "",
            "join_time": f"{at}:10Z",
            "leave_time": f"{at}:50Z",
            "duration": 40,
        },
        {
            "id": "",
            "name": "iPhone",
            "user_id": "16781312",
            "user_email": "",
            "join_time": f"{at}:20Z",
            "leave_time": f"{at}:40Z",
            "duration": 20,
        },
    ]
    tenant.apply(fresh)

    people = fetch(fresh, meeting.uuid).participants

    assert [(p.name, p.email, p.internal, len(p.sessions), p.total_seconds) for p in people] == [
        ("Alice Archer", alice.email, True, 2, 113),
        ("iPhone", "", False, 1, 40),
        ("iPhone", "", False, 1, 20),
    ]
    assert people[0].names == ("Alice's phone",)
