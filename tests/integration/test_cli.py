"""The admin CLI, `python -m shared.cli`, against the local world with the app's own settings."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from local.world import World
from shared import cli
from shared.records import MeetingRef
from shared.settings import load_settings
from shared.state import State
from shared.storage import MEETINGS_QUEUE, Storage
from tests.integration.conftest import FailedRun
from tests.tenant import GraphReader, Tenant

pytestmark = pytest.mark.integration


def run_cli(world: World, monkeypatch: pytest.MonkeyPatch, folder: Path, *argv: str) -> tuple[int, str, str]:
    """The CLI in this process, with the world's settings in the environment, as an administrator runs it."""
    for name, value in world.app_settings().items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(folder)  # no local.settings.json here
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_backfill_queues_a_past_range_with_progress_and_leaves_the_checkpoint(
    fresh: World, tenant: Tenant, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker", status="inactive")
    old = [tenant.meeting(alice, "Old one", days_ago=50), tenant.meeting(bob, "Old two", days_ago=45)]
    tenant.meeting(alice, "Outside the range", days_ago=70)
    tenant.apply(fresh)
    today = datetime.now(UTC).date()
    first, last = (today - timedelta(days=60)).isoformat(), (today - timedelta(days=40)).isoformat()

    code, out, err = run_cli(fresh, monkeypatch, tmp_path, "backfill", "--from", first, "--to", last)

    assert code == 0, err
    assert "2 meeting(s) queued" in out
    assert "] 2/2 users, 2 meeting(s) queued" in err, "the progress bar shows users done and meetings queued"
    storage = Storage(load_settings(fresh.app_settings()).storage)
    messages = storage.queue(MEETINGS_QUEUE).peek_messages(max_messages=32)
    assert sorted(MeetingRef.from_json(m.content).uuid for m in messages) == sorted(m.uuid for m in old)
    assert {MeetingRef.from_json(m.content).source for m in messages} == {"backfill"}
    assert State(storage).checkpoint() is None

    code, out, err = run_cli(fresh, monkeypatch, tmp_path, "backfill", "--from", first, "--to", last)
    assert "0 meeting(s) queued" in out, "meetings already queued are not queued twice"


def test_replay_fixes_the_failed_meetings_without_duplicating_items_and_reconcile_confirms_it(
    failed_run: FailedRun, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run = failed_run
    days = sorted({run.review.start.date().isoformat(), run.broken.start.date().isoformat()})
    code, out, _ = run_cli(run.world, monkeypatch, tmp_path, "status", "--days", "30")
    assert code == 0 and f"FAILED capture {run.broken.uuid}" in out and "ErrorAccessDenied" in out
    code, out, _ = run_cli(run.world, monkeypatch, tmp_path, "reconcile", "--date", days[0])
    assert code == 1 and "GAP" in out
    run.world.zoom.clear_faults()
    run.world.graph.clear_faults()  # the cause is fixed: Bob's mailbox accepts items, Zoom answers

    replays = [run_cli(run.world, monkeypatch, tmp_path, "replay", m.uuid) for m in (run.review, run.broken)]
    checks = [run_cli(run.world, monkeypatch, tmp_path, "reconcile", "--date", day) for day in days]

    assert [code for code, _, _ in replays] == [0, 0], [err for _, _, err in replays]
    assert "2 item(s) imported" in replays[0][1] and "0 failed" in replays[0][1]
    graph = GraphReader(run.world)
    alice_items = sorted(i["subject"].split(" - ")[0] for i in graph.items(run.alice, graph.folder(run.alice)))
    assert alice_items == sorted([run.review.topic, run.broken.topic, run.fine.topic]), "no item twice"
    assert [i["subject"].split(" - ")[0] for i in graph.items(run.bob, graph.folder(run.bob))] == [run.review.topic]
    assert [code for code, _, _ in checks] == [0, 0], [out for _, out, _ in checks]
    assert all("0 gap(s)" in out for _, out, _ in checks)


def test_status_takes_the_period_and_renderings_of_the_status_function(
    fresh: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    too_long = run_cli(fresh, monkeypatch, tmp_path, "status", "--days", "400")
    backwards = run_cli(fresh, monkeypatch, tmp_path, "status", "--from", "2026-03-10", "--to", "2026-03-01")
    as_json = run_cli(fresh, monkeypatch, tmp_path, "status", "--from", "2026-03-01", "--format", "json")

    assert too_long[0] == backwards[0] == 2
    assert "span at most 366 days" in too_long[2] and "run forwards" in backwards[2]
    assert as_json[0] == 0 and json.loads(as_json[1])["first"] == "2026-03-01"
