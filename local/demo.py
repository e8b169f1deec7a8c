"""`make run`: archive the bundled demo tenant through the local world, print a summary, stop everything.

The demo tenant (local/demo/*.json, in Zoom's and Graph's wire shapes): 6 Zoom users, one of them inactive;
10 recorded meetings (zoom-seed.json, which the benchmarks and the kill test copy), among them one with a
50 MB recording, two whose UUIDs need double encoding, one with external guests and one whose internal
participant has no mailbox; and 2 meetings without a cloud recording (zoom-seed-unrecorded.json): one only
Zoom's archiving has, with its archived chat, one participant's own audio and a breakout room (its chat, and
a member log naming someone the meeting's participants do not), and one neither recorded nor archived, known
by its details, participants and AI summary. The run reads every source (`ZOOM_SOURCES`).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, date, datetime
from typing import Any

from local.world import ROOT, World, start_world
from shared.blobio import BlobSource
from shared.message.reader import read_record
from shared.message.record import MeetingRecord
from shared.settings import ARCHIVING, MEETINGS, RECORDINGS, SOURCES, load_settings
from shared.state import State
from shared.storage import MESSAGES_CONTAINER, RECORDINGS_CONTAINER, Storage

DEMO = ROOT / "local" / "demo"
UNRECORDED = DEMO / "zoom-seed-unrecorded.json"


def demo_seed() -> dict[str, Any]:
    """The demo's Zoom account: its recorded meetings and those without a cloud recording."""
    seed = json.loads((DEMO / "zoom-seed.json").read_text())
    return {**seed, "meetings": seed["meetings"] + json.loads(UNRECORDED.read_text())["meetings"]}


def started(entry: dict[str, Any]) -> datetime:
    """When a seeded instance started, whichever source has it."""
    facts = entry.get("recording") or entry.get("archive") or entry["details"]
    return datetime.fromisoformat(facts["start_time"].replace("Z", "+00:00"))


def backfill_days(zoom_seed: dict) -> int:
    """Reach back far enough to list the demo's meetings, whatever today's date."""
    return max(1, (datetime.now(UTC).date() - min(map(started, zoom_seed["meetings"])).date()).days + 1)


def archive_settings(world: World, seed: dict[str, Any]) -> dict[str, str]:
    """Seed the world's Zoom with the demo account `seed`; the app settings of a run that archives all of it:
    every source (`ZOOM_SOURCES`), back to its first meeting."""
    world.zoom.seed(seed, DEMO)
    return world.app_settings(ARCHIVE_BACKFILL_DAYS=str(backfill_days(seed)), ZOOM_SOURCES=",".join(SOURCES))


def known_by(record: MeetingRecord) -> str:
    """The source a meeting without a cloud recording was archived from: Zoom's archiving, else its details
    (meetings); "" for a recorded meeting."""
    if RECORDINGS in record.sources or not record.sources:
        return ""
    return ARCHIVING if ARCHIVING in record.sources else MEETINGS


def summary(env: dict[str, str]) -> list[tuple[str, int]]:
    storage = Storage(load_settings(env).storage)
    storage.ensure_created()
    totals = State(storage).totals()
    meetings, deliveries = totals["meetings"], totals["deliveries"]
    messages = storage.container(MESSAGES_CONTAINER)
    records = [read_record(BlobSource(messages.get_blob_client(blob.name))) for blob in messages.list_blobs()]
    unrecorded = Counter(map(known_by, records))
    stored = sum(1 for _ in storage.container(RECORDINGS_CONTAINER).list_blobs())
    return [
        ("meetings found", sum(meetings.values())),
        ("messages written", len(records)),
        ("  of meetings Zoom archived but did not record", unrecorded[ARCHIVING]),
        ("  of meetings neither recorded nor archived", unrecorded[MEETINGS]),
        ("  breakout rooms archived with their meeting", sum(len(r.rooms) for r in records)),
        ("recordings stored apart (too large to attach)", stored),
        ("mailbox items created", deliveries.get("imported", 0)),
        ("skipped as duplicates", deliveries.get("duplicate", 0)),
        ("participants unmapped", deliveries.get("unmapped", 0)),
        ("meetings deferred", meetings.get("deferred", 0)),
        ("failed", meetings.get("failed", 0) + deliveries.get("failed", 0)),
    ]


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, also through a pipe
    with ExitStack() as stack:
        print("Starting Azurite and the Zoom and Microsoft Graph emulators (demo tenant)...")
        world = start_world(stack, ROOT / ".local" / "demo", DEMO / "zoom-seed.json", DEMO / "graph-seed.json")
        env = archive_settings(world, demo_seed())
        days = env["ARCHIVE_BACKFILL_DAYS"]
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
