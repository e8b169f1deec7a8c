"""300 meetings into 50 mailboxes through the local host, with Graph throttling, 503s and lost answers:
every expected item is present, each exactly once, as listing every mailbox through Graph shows.

The workload and its run are the benchmark's (`local/bench/graph_import.py`), which prints the figures.
"""

from __future__ import annotations

import pytest

from local.bench.graph_import import run_import, workload
from local.world import World

pytestmark = pytest.mark.integration


def test_300_meetings_reach_50_mailboxes_each_item_exactly_once_through_throttling(fresh: World) -> None:
    work = workload(meetings=300, mailboxes=50)

    outcome = run_import(fresh, work)

    assert outcome.host_exit == 0, outcome.host_output[-3000:]
    for user in work.users:
        held, expected = sorted(outcome.held[user["id"]]), sorted(work.expected.get(user["id"], []))
        assert held == expected, f"{user['mail']}: {len(held)} items, {len(expected)} expected"
    assert outcome.statuses[429] and outcome.statuses[503] and outcome.statuses[0], "the run met every fault"
