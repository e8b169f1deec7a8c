"""Storage: the names the app uses, and queue messages in the encoding the Functions host expects."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from local.world import World
from shared.records import MeetingRef
from shared.settings import load_settings
from shared.storage import MEETINGS_QUEUE, Storage, store_once

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
