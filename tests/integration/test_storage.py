"""Storage: the names the app uses, and queue messages in the encoding the Functions host expects."""

from __future__ import annotations

import base64
import json

import pytest
from azure.storage.queue import QueueClient

from local.world import World
from shared.records import MeetingRef
from shared.settings import load_settings
from shared.storage import MEETINGS_QUEUE, Storage

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
