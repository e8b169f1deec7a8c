"""`make run` archives the demo tenant's meetings without a cloud recording, and its summary counts them."""

from __future__ import annotations

import json

import pytest

from local.demo import DEMO, archive_settings, demo_seed, summary
from local.world import World

pytestmark = pytest.mark.integration


def test_the_demo_archives_its_meetings_zoom_archived_or_only_held(fresh: World) -> None:
    seed = demo_seed()  # its recorded meetings are left out: the end-to-end tests archive recordings
    graph = json.loads((DEMO / "graph-seed.json").read_text())
    fresh.graph.seed({**graph, "tenant_id": fresh.tenant_id}, DEMO)
    env = archive_settings(fresh, {**seed, "meetings": [m for m in seed["meetings"] if "recording" not in m]})
    result = fresh.run_host(env)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = dict(summary(env))
    assert rows["messages written"] == 2
    assert rows["  of meetings Zoom archived but did not record"] == 1
    assert rows["  of meetings neither recorded nor archived"] == 1
    assert rows["  breakout rooms archived with their meeting"] == 1
    # The trade review reaches Bob, Alice, Frank, and Carol, whom only its room's member log names; the
    # check-in reaches Alice (its other participant is a guest).
    assert rows["mailbox items created"] == 5
    assert rows["failed"] == 0
