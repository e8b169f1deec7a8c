"""Storage: the names the app uses, and queue messages in the encoding the Functions host expects."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import azure.identity
import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from local.world import World
from shared.records import MeetingRef
from shared.settings import StorageConnection, load_settings
from shared.storage import MEETINGS_QUEUE, MEETINGS_TABLE, MESSAGES_CONTAINER, Storage, copy_once, store_once

pytestmark = pytest.mark.integration


def test_queue_messages_are_base64_text_as_host_json_says(fresh: World) -> None:
    storage = Storage(load_settings(fresh.app_settings()).storage)
    storage.ensure_created()
    storage.queue(MEETINGS_QUEUE).send_message(MeetingRef("a/b==").to_json())

    raw = QueueClient.from_connection_string(fresh.azurite.connection_string, MEETINGS_QUEUE)
    (message,) = raw.peek_messages()
    assert json.loads(base64.b64decode(message.content)) == {"uuid": "a/b==", "source": "timer"}
    (decoded,) = storage.queue(MEETINGS_QUEUE).peek_messages()
    assert MeetingRef.from_json(decoded.content) == MeetingRef("a/b==")


def test_in_azure_storage_is_reached_as_the_apps_identity_or_an_operators_azure_login(monkeypatch) -> None:
    """Shared keys are off: the app signs in as its user-assigned identity, and the admin CLI on a workstation
    falls through the same credential chain to the operator's `az login`."""
    made: list[dict] = []
    real = azure.identity.DefaultAzureCredential
    monkeypatch.setattr(
        azure.identity, "DefaultAzureCredential", lambda **kwargs: made.append(kwargs) or real(**kwargs)
    )
    endpoint = "https://starchive.{}.core.windows.net"
    connection = StorageConnection(
        blob_url=endpoint.format("blob"),
        queue_url=endpoint.format("queue"),
        table_url=endpoint.format("table"),
        client_id="00000000-0000-0000-0000-00000000abcd",
    )
    storage = Storage(connection)
    clients = [storage.container(MESSAGES_CONTAINER), storage.queue(MEETINGS_QUEUE), storage.table(MEETINGS_TABLE)]
    assert all(client.credential is storage.blobs.credential for client in clients)
    assert made == [{"managed_identity_client_id": connection.client_id}]


def test_a_blob_stored_once_is_never_replaced_and_its_source_then_not_read(fresh: World) -> None:
    container = BlobServiceClient.from_connection_string(fresh.azurite.connection_string).get_container_client("once")
    container.create_container()
    read = []

    def chunks() -> Iterator[bytes]:
        read.append(True)
        yield from (b"other ", b"bytes")

    store_once(container, "a.mp4", b"first bytes", "video/mp4")
    store_once(container, "a.mp4", chunks(), "video/mp4")

    blob = container.get_blob_client("a.mp4")
    assert blob.download_blob().readall() == b"first bytes"
    assert blob.get_blob_properties().content_settings.content_type == "video/mp4"
    assert not read, "the blob exists: its bytes are not read again"
    store_once(container, "b.mp4", chunks(), "video/mp4")
    assert container.get_blob_client("b.mp4").download_blob().readall() == b"other bytes"


def test_a_blob_copied_once_is_copied_in_storage_and_never_replaced(fresh: World) -> None:
    blobs = BlobServiceClient.from_connection_string(fresh.azurite.connection_string)
    staging, archive = blobs.get_container_client("work"), blobs.get_container_client("kept")
    staging.create_container()
    archive.create_container()
    staging.upload_blob("one", b"first bytes")
    staging.upload_blob("two", b"other bytes")

    copy_once(staging.get_blob_client("one"), archive, "a.mp4")
    copy_once(staging.get_blob_client("two"), archive, "a.mp4")

    blob = archive.get_blob_client("a.mp4")
    assert blob.download_blob().readall() == b"first bytes"
    assert blob.get_blob_properties().copy.status == "success"
