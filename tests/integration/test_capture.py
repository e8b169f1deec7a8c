"""Capture, from the downloads on: files stream through blob storage into the message or into `recordings`.

The real stage runs in this process against Azurite and the Zoom emulator; faults come from the emulator.
"""

from __future__ import annotations

import hashlib

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from local.world import World
from shared.archiver import Archiver
from shared.integrity import IntegrityError
from shared.message.reader import read_message
from shared.records import MeetingRef, archive_key
from shared.settings import load_settings
from shared.zoom import DownloadError
from tests.tenant import File, Tenant

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


def test_a_file_that_does_not_match_zooms_fingerprint_fails_the_meeting(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    claimed = hashlib.sha256(b"what Zoom recorded").hexdigest()
    meeting = tenant.meeting(alice, "Tampered", files=[File("CHAT", CHAT, fingerprint=claimed)])
    tenant.apply(fresh)
    archiver = Archiver(load_settings(fresh.app_settings()))

    with pytest.raises(IntegrityError):
        archiver.capture_meeting(MeetingRef(meeting.uuid))

    row = archiver.state.meeting(archive_key(meeting.uuid)) or {}
    assert row["status"] == "failed" and row["error_code"] == "IntegrityError"
    assert claimed in row["reason"] and hashlib.sha256(CHAT).hexdigest() in row["reason"]
    for name in ("messages", "recordings", "staging"):
        assert not list(container(fresh, name).list_blobs()), name


def test_a_download_that_keeps_breaking_fails_the_meeting_and_leaves_nothing_behind(
    fresh: World, tenant: Tenant
) -> None:
    alice = tenant.person("Alice Archer")
    meeting = tenant.meeting(alice, "Cut", files=[File("CHAT", CHAT), File("MP4", None, declared_size=9 * MIB)])
    tenant.apply(fresh)
    # Every response for the recording breaks off (a single break is resumed with a Range request).
    fresh.zoom.fault({"method": "GET", "path": "^/cdn/", "action": "truncate", "skip": 1, "times": -1})
    archiver = Archiver(load_settings(fresh.app_settings()))

    with pytest.raises(DownloadError):
        archiver.capture_meeting(MeetingRef(meeting.uuid))

    row = archiver.state.meeting(archive_key(meeting.uuid)) or {}
    assert row["status"] == "failed"
    for name in ("messages", "recordings", "staging"):
        assert not list(container(fresh, name).list_blobs()), name
