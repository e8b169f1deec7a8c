"""One message into one mailbox, exactly once, through the Graph emulator's faults.

Each test hands archived messages to the import stage (`Archiver.import_message`) against Azurite and the
Graph emulator, injects faults through the emulator, then reads the mailbox through ordinary Graph calls.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import replace

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from local.world import World
from shared.archiver import Archiver
from shared.delivery import RetryLater
from shared.mailbox import STORED_FILES_PROPERTY
from shared.mapping import Mailbox
from shared.message.reader import Attachment, InMemory, read_message
from shared.settings import load_settings
from shared.state import mailbox_row
from tests.tenant import GraphReader, Person, Tenant, archived

pytestmark = pytest.mark.integration

MB = 1024 * 1024
CHAT = b"00:01:02\tAlice Archer:\tHello\r\n"


def archiver(world: World) -> Archiver:
    return Archiver(load_settings(world.app_settings()))


def only_item(world: World, person: Person) -> dict:
    graph = GraphReader(world)
    items = graph.get(
        f"/users/{person.graph_id}/mailFolders/{graph.folder(person)}/messages",
        **{"$expand": "attachments($select=name,size)"},
    ).json()["value"]
    assert len(items) == 1, f"{person.name}'s folder holds {len(items)} items"
    return items[0]


def assert_holds_exactly(world: World, person: Person, message: bytes) -> None:
    """The person's folder holds one item, with each attachment of the message once, byte for byte."""
    item = only_item(world, person)
    expected = {a.filename: a.data for a in read_message(message).attachments}
    assert sorted(a["name"] for a in item["attachments"]) == sorted(expected)
    for attachment in item["attachments"]:
        path = f"/users/{person.graph_id}/messages/{item['id']}/attachments/{attachment['id']}/$value"
        assert GraphReader(world).get(path).content == expected[attachment["name"]], attachment["name"]


def creates(world: World) -> list[int]:
    """Statuses of the item creates the emulator saw (0: answer lost)."""
    return [
        r["status"]
        for r in world.graph.requests()
        if r["method"] == "POST" and r["path"].endswith("/messages") and "/mailFolders/" in r["path"]
    ]


def test_a_60_mb_recording_arrives_byte_identical_through_an_upload_session(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    tenant.mailbox(alice, maxMessageSizeMb=100)
    fresh.graph.seed(tenant.graph_seed())
    video = os.urandom(60 * MB)
    fresh.graph.fault(
        {"method": "PUT", "path": "^/upload/", "skip": 3, "action": "truncate"},  # range received, answer cut
        {"method": "PUT", "path": "^/upload/", "skip": 6, "action": "drop"},  # connection lost, nothing received
        # Sent again, that range is answered with a position behind it: the session says where to go on from.
        {"method": "PUT", "path": "^/upload/", "status": 200, "body": {"nextExpectedRanges": [str(8 * 4 * MB)]}},
    )

    # The recording joins the message after it is read: an 80 MB .eml would test the parser, not the upload.
    message = read_message(archived(alice, files=[("CHAT", CHAT)]))
    encoded = base64.encodebytes(video)
    recording = Attachment("01-recording.mp4", "video/mp4", len(video), "", InMemory(encoded), 0, len(encoded), True)
    message = replace(message, attachments=(recording, *message.attachments))
    stage = archiver(fresh)
    stage.storage.ensure_created()
    mailbox = stage.directory.find(alice.email)
    assert isinstance(mailbox, Mailbox)

    stage.importer.import_message(mailbox, message)

    item = only_item(fresh, alice)
    assert len(item["attachments"]) == 3, "the video, the chat and the meeting record"
    (attachment,) = [a for a in item["attachments"] if a["size"] == len(video)]
    path = f"/users/{alice.graph_id}/messages/{item['id']}/attachments/{attachment['id']}/$value"
    assert GraphReader(fresh).get(path).content == video
    uploads = [r for r in fresh.graph.requests() if r["path"].startswith("/upload/")]
    assert not any(r["authorization"] for r in uploads), "the upload URL is pre-authenticated"
    assert [r["status"] for r in uploads].count(416) == 2, "a range the session already has is answered with 416"
    assert len(uploads) == 15 + 4 and uploads[-1]["status"] == 201  # 60 MB in 4 MB ranges, four sent again


def test_a_lost_answer_does_not_duplicate_the_item_or_an_attachment(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    fresh.graph.seed(tenant.graph_seed())
    audio, video = os.urandom(2 * MB + MB // 2), os.urandom(2 * MB + MB // 2)  # only one fits in the create
    last_range = os.urandom(5 * MB)
    fresh.graph.fault(
        {"method": "POST", "path": r"/mailFolders/[^/]+/messages$", "action": "drop_after"},
        {"method": "POST", "path": r"/attachments$", "action": "drop_after"},
        {"method": "PUT", "path": "^/upload/", "skip": 1, "action": "drop_after"},  # the last of two ranges
    )

    message = archived(alice, files=[("M4A", audio), ("MP4", video), ("MP4", last_range)])

    archiver(fresh).import_message(message)

    assert_holds_exactly(fresh, alice, message)
    assert creates(fresh) == [0], "the lost create was found by its archive key, not sent again"


def test_an_item_whose_attachments_did_not_all_upload_is_completed(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    fresh.graph.seed(tenant.graph_seed())
    video = os.urandom(4 * MB)
    message = archived(alice, files=[("MP4", video), ("CHAT", CHAT)])
    fresh.graph.fault(
        {"method": "PUT", "path": "^/upload/", "status": 503, "headers": {"Retry-After": "0"}, "times": -1}
    )
    stage = archiver(fresh)
    with pytest.raises(RetryLater):
        stage.import_message(message)
    assert len(only_item(fresh, alice)["attachments"]) == 2, "the chat and the record, not the video"

    fresh.graph.clear_faults()
    delivery = stage.import_message(message)

    assert_holds_exactly(fresh, alice, message)
    assert creates(fresh) == [201]
    assert (delivery.imported, delivery.duplicates) == (1, 0), "completing an item is importing it"


def test_a_429_storm_and_503s_are_ridden_out(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    fresh.graph.seed(tenant.graph_seed())
    throttled = {"status": 429, "headers": {"Retry-After": "0.05"}, "times": 5}
    unavailable = {"status": 503, "headers": {"Retry-After": "0.05"}, "times": 2}
    fresh.graph.fault(
        {**throttled, "method": "GET", "path": "/childFolders$"},
        {**throttled, "method": "POST", "path": "/childFolders$"},
        {**throttled, "method": "GET", "path": r"/mailFolders/[^/]+/messages$"},
        {**throttled, "method": "POST", "path": r"/mailFolders/[^/]+/messages$"},
        {**unavailable, "method": "POST", "path": r"/mailFolders/[^/]+/messages$"},
        {**unavailable, "method": "GET", "path": "/users$"},
    )

    delivery = archiver(fresh).import_message(archived(alice, files=[("CHAT", CHAT)]))

    assert delivery.imported == 1
    only_item(fresh, alice)
    statuses = [r["status"] for r in fresh.graph.requests()]
    assert statuses.count(429) == 20 and statuses.count(503) == 4
    assert creates(fresh).count(201) == 1


def test_a_mailbox_that_refuses_the_size_gets_the_large_file_stored_and_linked(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    tenant.mailbox(alice, maxMessageSizeMb=5)
    fresh.graph.seed(tenant.graph_seed())
    video = os.urandom(6 * MB)
    message = archived(alice, files=[("MP4", video), ("CHAT", CHAT)])
    stage = archiver(fresh)

    delivery = stage.import_message(message)

    item = only_item(fresh, alice)
    (video_name,) = [a.filename for a in read_message(message).attachments if a.data == video]
    assert sorted(a["name"] for a in item["attachments"]) == sorted(
        a.filename for a in read_message(message).attachments if a.data != video
    )
    digest = hashlib.sha256(video).hexdigest()
    blob = BlobServiceClient.from_connection_string(fresh.azurite.connection_string).get_blob_client(
        "recordings", f"{digest}.mp4"
    )
    assert blob.download_blob().readall() == video
    body = GraphReader(fresh).get(f"/users/{alice.graph_id}/messages/{item['id']}").json()["body"]["content"]
    assert digest in body and blob.url in body and video_name in body
    deleted = [r for r in fresh.graph.requests() if r["path"].endswith("/permanentDelete")]
    assert len(deleted) == 1, "the item the upload could not complete was replaced, not left behind"
    assert delivery.stored_apart == 1
    tables = TableServiceClient.from_connection_string(fresh.azurite.connection_string)
    row = tables.get_table_client("deliveries").get_entity(read_message(message).archive_key, mailbox_row(alice.email))
    assert (row["status"], row["stored_files"]) == ("imported", 1)

    # The state row is lost: the linked item is found and left as it is, not made full again, and the files
    # it links are not stored again.
    tables.get_table_client("deliveries").delete_entity(row["PartitionKey"], row["RowKey"])
    blob.delete_blob()
    fresh.graph.clear_requests()
    again = stage.import_message(message)
    assert again.duplicates == 1 and again.stored_apart == 1
    assert not blob.exists(), "the found item already links its files: nothing is hashed or stored for it"
    assert not [r for r in fresh.graph.requests() if r["method"] != "GET"]
    lookups = [r["query"] for r in fresh.graph.requests() if r["path"].endswith("/messages")]
    assert lookups and all("ZoomArchiveKey" in q for q in lookups)
    assert STORED_FILES_PROPERTY.split()[-1] in lookups[0]


def test_a_folder_created_at_the_same_time_elsewhere_is_found_and_its_id_cached(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    fresh.graph.seed(tenant.graph_seed())
    graph = GraphReader(fresh)
    folders = f"{fresh.graph.url}/v1.0/users/{alice.graph_id}/mailFolders/inbox/childFolders"
    made = graph.http.post(folders, json={"displayName": "Zoom Meetings"}, headers=graph.headers, timeout=10)
    made.raise_for_status()
    fresh.graph.clear_requests()
    # The look-up before creating sees no folder: another invocation creates it in between.
    fresh.graph.fault({"method": "GET", "path": "/childFolders$", "status": 200, "body": {"value": []}})
    stage = archiver(fresh)

    stage.import_message(archived(alice, topic="First"))
    stage.import_message(archived(alice, topic="Second"))

    answers = [r["status"] for r in fresh.graph.requests() if r["path"].endswith("/childFolders")]
    assert answers == [200, 400, 200], "look, create (ErrorFolderExists), look again; then the cached id"
    assert graph.folder(alice) == made.json()["id"]
    assert len(graph.items(alice, made.json()["id"])) == 2


def test_a_folder_the_user_deleted_is_made_again(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    fresh.graph.seed(tenant.graph_seed())
    graph = GraphReader(fresh)
    stage = archiver(fresh)
    stage.import_message(archived(alice, topic="First"))
    first = graph.folder(alice)
    url = f"{fresh.graph.url}/v1.0/users/{alice.graph_id}/mailFolders/{first}"
    graph.http.delete(url, headers=graph.headers, timeout=10).raise_for_status()

    archiver(fresh).import_message(archived(alice, topic="Second"))  # another process: only the table remembers

    second = graph.folder(alice)
    assert second and second != first
    assert [i["subject"].split(" - ")[0] for i in graph.items(alice, second)] == ["Second"]
