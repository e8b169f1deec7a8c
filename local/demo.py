"""`make run`: archive the bundled demo tenant through the local world, print a summary, stop everything.

The demo tenant (local/demo/*.json, in Zoom's and Graph's wire shapes): 6 Zoom users, one of them inactive;
10 meetings, among them one with a 50 MB recording, two whose UUIDs need double encoding, one with external
guests and one whose internal participant has no mailbox.
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from datetime import UTC, date, datetime

from local.world import ROOT, start_world
from shared.settings import load_settings
from shared.state import State
from shared.storage import MESSAGES_CONTAINER, RECORDINGS_CONTAINER, Storage

DEMO = ROOT / "local" / "demo"


def backfill_days(zoom_seed: dict) -> int:
    """Reach back far enough to list the demo's meetings, whatever today's date."""
    starts = [
        datetime.fromisoformat(m["recording"]["start_time"].replace("Z", "+00:00")) for m in zoom_seed["meetings"]
    ]
    return max(1, (datetime.now(UTC).date() - min(starts).date()).days + 1)


def summary(env: dict[str, str]) -> list[tuple[str, int]]:
    storage = Storage(load_settings(env).storage)
    storage.ensure_created()
    totals = State(storage).totals()
    meetings, deliveries = totals["meetings"], totals["deliveries"]
    messages = sum(1 for _ in storage.container(MESSAGES_CONTAINER).list_blobs())
    stored = sum(1 for _ in storage.container(RECORDINGS_CONTAINER).list_blobs())
    return [
        ("meetings found", sum(meetings.values())),
        ("messages written", messages),
        ("recordings stored apart (too large to attach)", stored),
        ("mailbox items created", deliveries.get("imported", 0)),
        ("skipped as duplicates", deliveries.get("duplicate", 0)),
        ("participants unmapped", deliveries.get("unmapped", 0)),
        ("meetings deferred", meetings.get("deferred", 0)),
        ("failed", meetings.get("failed", 0) + deliveries.get("failed", 0)),
    ]


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, also through a pipe
    zoom_seed = DEMO / "zoom-seed.json"
    days = backfill_days(json.loads(zoom_seed.read_text()))
    with ExitStack() as stack:
        print("Starting Azurite and the Zoom and Microsoft Graph emulators (demo tenant)...")
        world = start_world(stack, ROOT / ".local" / "demo", zoom_seed, DEMO / "graph-seed.json")
        env = world.app_settings(ARCHIVE_BACKFILL_DAYS=str(days))
        print(f"Running one archive cycle through python -m local.host --once ({days} days to {date.today()})")
        code = world.run_host(env, stream=True).returncode
        rows = summary(env)
        print("\nSummary")
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            print(f"  {label:<{width}}  {value}")
        print("Stopping Azurite and the emulators.")
    return code


if __name__ == "__main__":
    sys.exit(main())
