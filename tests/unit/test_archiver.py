"""The archiver's view of the host: a capture's last attempt is the one host.json sends to the poison queue."""

from __future__ import annotations

import json
from pathlib import Path

from shared.archiver import MAX_ATTEMPTS

ROOT = Path(__file__).resolve().parents[2]


def test_the_final_attempt_is_host_jsons_max_dequeue_count() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["extensions"]["queues"]["maxDequeueCount"] == MAX_ATTEMPTS
