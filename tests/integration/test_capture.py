"""Capture, from the downloads on: files stream through blob storage into the message or into `recordings`.

The real stage runs in this process against Azurite and the Zoom emulator; faults come from the emulator.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from local.world import World
from shared.archiver import Archiver
from shared.capture import Staging
from shared.message.reader import read_message
from shared.records import MeetingRef, archive_key, parse_time
from shared.settings import load_settings
from shared.state import column_list
from tests.corpus import answer
from tests.integration.conftest import daily_limit_spent
from tests.tenant import File, Tenant
from tests.unit.message.examples import captured

pytestmark = pytest.mark.integration

MB = 1000 * 1000
MIB = 1024 * 1024
CHAT = b"00:00:05\tAlice Archer:\tThe numbers are final.\r\n"


def container(world: World, name: str) -> ContainerClient:
    return BlobServiceClient.from_connection_string(world.azurite.connection_string).get_container_client(name)


def sha256_of(blob: ContainerClient, name: str) -> str:
    digest = hashlib.sha256()
    for chunk in blob.download_blob(name).chunks():
        digest.update(chunk)
    return digest.hexdigest()


def test_a_200_mb_recording_is_stored_once_and_the_message_stays_under_35_mib(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    meeting = tenant.meeting(alice, "Board", files=[File("MP4", None, declared_size=200 * MB), File("CHAT", CHAT)])
    tenant.apply(fresh)
    archiver = Archiver(load_settings(fresh.app_settings(MAX_MESSAGE_SIZE_MB="35")))

    archiver.capture_meeting(MeetingRef(meeting.uuid))

    messages, recordings = container(fresh, "messages"), container(fresh, "recordings")
    name = f"{archive_key(meeting.uuid)}.eml"
    data = messages.download_blob(name).readall()
    assert len(data) <= 35 * MIB
    message = read_message(data)
    video, chat = message.record.files
    assert video.size == 200 * MB and video.stored_as == f"{video.sha256}.mp4"
    assert not chat.stored_as and {a.filename: a.data for a in message.attachments}[chat.filename] == CHAT
    assert f"recordings/{video.sha256}.mp4" in message.html
    (stored,) = recordings.list_blobs()
    assert stored.name == video.stored_as and stored.size == 200 * MB
    assert sha256_of(recordings, stored.name) == video.sha256
    assert stored.copy.status == "success", "copied from staging by the storage service, not through the app"
    assert stored.content_settings.content_type == "video/mp4"
    assert not list(container(fresh, "staging").list_blobs())
    row = archiver.state.meeting(archive_key(meeting.uuid)) or {}
    assert row["message_bytes"] == len(data)

    # Capturing the meeting again stores nothing twice and makes the same message, byte for byte.
    messages.delete_blob(name)
    archiver.capture_meeting(MeetingRef(meeting.uuid))
    (again,) = recordings.list_blobs()
    assert (again.name, again.etag) == (stored.name, stored.etag)
    assert messages.download_blob(name).readall() == data
    assert not list(container(fresh, "staging").list_blobs())


def test_a_file_that_does_not_match_zooms_fingerprint_is_left_out_and_the_meeting_archived_saying_so(
    fresh: World, tenant: Tenant
) -> None:
    alice = tenant.person("Alice Archer")
    claimed = hashlib.sha256(b"what Zoom recorded").hexdigest()
    video = os.urandom(3000)
    meeting = tenant.meeting(alice, "Tampered", files=[File("CHAT", CHAT, fingerprint=claimed), File("MP4", video)])
    tenant.apply(fresh)
    archiver = Archiver(load_settings(fresh.app_settings()))

    assert archiver.capture_meeting(MeetingRef(meeting.uuid)).status == "captured"

    message = read_message(container(fresh, "messages").download_blob(f"{archive_key(meeting.uuid)}.eml").readall())
    assert [f.file_type for f in message.record.files] == ["MP4"] and video in [a.data for a in message.attachments]
    (missing,) = message.record.missing
    assert (
        missing.file.file_type == "CHAT"
        and claimed in missing.reason
        and hashlib.sha256(CHAT).hexdigest() in (missing.reason)
    )
    assert "Files not archived (1)" in message.html and claimed in message.html
    downloads = [r for r in fresh.zoom.requests() if r["path"].startswith("/cdn/")]
    assert len(downloads) == 3  # the chat fetched twice (a transfer may have been damaged), then left out
    row = archiver.state.meeting(archive_key(meeting.uuid)) or {}
    assert (row["status"], row["files_missing"], row["missing_files"]) == ("captured", 1, missing.file.key)
    assert row["recheck"] and claimed in row["missing_reason"]
    assert not list(container(fresh, "recordings").list_blobs()) and not list(container(fresh, "staging").list_blobs())


def test_a_download_that_keeps_breaking_leaves_the_rest_archived_and_a_later_run_adds_it(
    fresh: World, tenant: Tenant
) -> None:
    alice = tenant.person("Alice Archer")
    meeting = tenant.meeting(alice, "Cut", files=[File("CHAT", CHAT), File("MP4", None, declared_size=9 * MIB)])
    tenant.apply(fresh)
    # Every response for the recording breaks off (a single break is resumed with a Range request).
    fresh.zoom.fault({"method": "GET", "path": "^/cdn/", "action": "truncate", "skip": 1, "times": -1})
    archiver = Archiver(load_settings(fresh.app_settings()))
    key = archive_key(meeting.uuid)

    assert archiver.capture_meeting(MeetingRef(meeting.uuid)).status == "captured"

    message = read_message(container(fresh, "messages").download_blob(f"{key}.eml").readall())
    assert [f.file_type for f in message.record.files] == ["CHAT"]
    assert [m.file.file_type for m in message.record.missing] == ["MP4"]
    assert "broke off" in message.record.missing[0].reason
    row = archiver.state.meeting(key) or {}
    assert row["files_missing"] == 1 and "MP4: download broke off" in row["missing_reason"]
    assert not list(container(fresh, "recordings").list_blobs()) and not list(container(fresh, "staging").list_blobs())
    assert [r["PartitionKey"] for r in archiver.state.meetings_to_recheck(datetime.now(UTC))] == [key]
    day = meeting.start.date()
    (report,) = archiver.reconcile([day])
    (gap,) = [g for g in report.gaps if g.kind == "files_not_archived"]
    assert "Zoom lists 1 file(s) the archive lacks (MP4)" in gap.detail and "broke off" in gap.detail
    (failure,) = archiver.status(day, day).days[0].failures
    assert (failure.stage, failure.code, failure.meeting_uuid) == ("capture", "files_missing", meeting.uuid)
    assert "archived without 1 file(s) Zoom lists: MP4: download broke off" in failure.reason

    fresh.zoom.clear_faults()  # the next run's sweep looks again
    archiver.capture_meeting(MeetingRef(meeting.uuid, source="recheck"))

    row = archiver.state.meeting(key) or {}
    (addition,) = column_list(row["additions"])
    added = read_message(container(fresh, "messages").download_blob(f"{addition}.eml").readall())
    assert [f.file_type for f in added.record.files] == ["MP4"] and added.record.addition_to == key
    assert (row["files_missing"], row["missing_files"], row["recheck"]) == (0, "", False)
    assert archiver.state.meetings_to_recheck(datetime.now(UTC)) == []
    assert archiver.status(day, day).days[0].failures == []


def test_zoom_s_quota_met_while_looking_at_an_archived_meeting_again_leaves_it_due_after_the_reset(
    fresh: World, tenant: Tenant
) -> None:
    alice = tenant.person("Alice Archer")
    meeting = tenant.meeting(alice, "Planning", files=[File("CHAT", CHAT)])
    complete = tenant.apply_before(fresh, "TRANSCRIPT")
    archiver = Archiver(load_settings(fresh.app_settings()))
    key = archive_key(meeting.uuid)
    assert archiver.capture_meeting(MeetingRef(meeting.uuid)).status == "captured"
    fresh.zoom.seed(complete, tenant.folder)
    fresh.zoom.fault(daily_limit_spent("/recordings$", "Light", **{"Retry-After": ""}))

    # recording.transcript_completed: the look at Zoom's files waits for the quota; it is not a failure
    again = archiver.capture_meeting(MeetingRef(meeting.uuid, source="webhook"))

    row = archiver.state.meeting(key) or {}
    assert again.status == "captured" and row["status"] == "captured" and "additions" not in row
    reset = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), UTC)
    assert row["recheck"] is True and parse_time(row["recheck_after"]) == reset
    assert archiver.state.meetings_to_recheck(reset) and not archiver.state.meetings_to_recheck(datetime.now(UTC))


def test_an_ai_summary_zoom_finishes_or_edits_after_the_meeting_was_archived_is_added_to_it(
    fresh: World, tenant: Tenant
) -> None:
    alice = tenant.person("Alice Archer")
    meeting = tenant.meeting(alice, "Planning", files=[File("CHAT", CHAT)])
    seed = tenant.apply_before(fresh, "no type")  # the seed as applied, to change its summary later
    archiver = Archiver(load_settings(fresh.app_settings()))
    key = archive_key(meeting.uuid)
    assert archiver.capture_meeting(MeetingRef(meeting.uuid)).status == "captured"
    assert (archiver.state.meeting(key) or {})["summary_version"] == ""

    documented = answer("api/meeting-summary-docs-zoomnet.json")
    seed["meetings"][0]["summary"] = documented  # Zoom's answer as its docs show it: Markdown, a Zoom Doc
    fresh.zoom.seed(seed, tenant.folder)
    archiver.capture_meeting(MeetingRef(meeting.uuid, source="webhook"))  # meeting.summary_completed

    row = archiver.state.meeting(key) or {}
    (first,) = column_list(row["additions"])
    added = read_message(container(fresh, "messages").download_blob(f"{first}.eml").readall())
    assert added.record.addition_to == key and added.record.files == () and added.record.summary is not None
    assert added.record.summary.content == documented["summary_content"]
    assert json.loads(added.record.summary.zoom) == {**json.loads(added.record.summary.zoom), **documented}
    assert "<h2>Key takeaways</h2>" in added.html and "https://docs.zoom.us/doc/1aBcDeFgHiJkLmNoPqRsTu" in added.html
    assert "its AI summary" in added.html and "[addition]" in added.subject
    assert row["summary_version"] == "2020-07-15T23:30:19Z"

    archiver.capture_meeting(MeetingRef(meeting.uuid, source="webhook"))  # the same event again: nothing new
    assert column_list((archiver.state.meeting(key) or {})["additions"]) == [first]

    seed["meetings"][0]["summary"] = {**documented, "summary_last_modified_time": "2020-07-16T08:00:00Z"}
    fresh.zoom.seed(seed, tenant.folder)
    archiver.capture_meeting(MeetingRef(meeting.uuid, source="webhook"))  # meeting.summary_updated: an edit
    assert len(column_list((archiver.state.meeting(key) or {})["additions"])) == 2


def test_a_size_zoom_lists_as_0_or_wrongly_does_not_hold_the_meeting_back_and_is_recorded(
    fresh: World, tenant: Tenant
) -> None:
    alice = tenant.person("Alice Archer")
    video = os.urandom(1000)
    files = [File("CHAT", CHAT, declared_size=0), File("MP4", video, declared_size=2000)]
    meeting = tenant.meeting(alice, "Listed oddly", files=files)
    tenant.apply(fresh)
    archiver = Archiver(load_settings(fresh.app_settings()))

    assert archiver.capture_meeting(MeetingRef(meeting.uuid)).status == "captured"

    message = read_message(container(fresh, "messages").download_blob(f"{archive_key(meeting.uuid)}.eml").readall())
    chat, mp4 = message.record.files
    assert (chat.size, chat.listed_size, chat.note) == (len(CHAT), None, "")  # 0 is unknown, not a disagreement
    assert (mp4.size, mp4.listed_size) == (1000, 2000)
    assert mp4.note == "Zoom lists 2000 bytes; the download has 1000, all the server announced"
    assert message.record.missing == () and mp4.note in message.html
    row = archiver.state.meeting(archive_key(meeting.uuid)) or {}
    assert (row["files"], row["files_missing"], row["size_disagreements"]) == (2, 0, 1)


def test_small_downloads_stay_in_memory_and_a_larger_one_goes_to_staging(fresh: World) -> None:
    for name in ("staging", "recordings"):
        container(fresh, name).create_container()
    area = Staging(container(fresh, "staging"), "meeting/attempt", allowance=1000)
    contents = [(1, "CHAT", os.urandom(600)), (2, "M4A", os.urandom(900)), (3, "CC", os.urandom(300))]
    files = [captured(number, file_type, data, stored=True) for number, file_type, data in contents]
    for file, (_, _, data) in zip(files, contents, strict=True):
        landing = area.writer(file.filename, file.content_type)
        for start in range(0, len(data), 256):
            landing.write(data[start : start + 256])
        landing.commit()

    assert set(area.kept) == {"01-chat.txt", "03-cc.vtt"}  # 600 + 300 bytes fit the allowance; 900 more do not
    assert [b.name for b in container(fresh, "staging").list_blobs()] == ["meeting/attempt/02-m4a.m4a"]
    for file, (_, _, data) in zip(files, contents, strict=True):
        with area.open(file) as stream:
            assert stream.read() == data
        area.store(file, container(fresh, "recordings"))
    stored = {b.name: b for b in container(fresh, "recordings").list_blobs()}
    assert stored[files[1].stored_as].copy.status == "success", "the staged one is copied in storage"
    assert stored[files[0].stored_as].copy.status is None, "the one in memory is written"
    area.empty()
    assert not list(container(fresh, "staging").list_blobs()) and not area.kept
