"""Zoom API calls per meeting: one archive cycle of a copied-out demo tenant, counted from the emulator's log.

The demo tenant's meetings (local/demo) are copied COPIES times under new UUIDs, with their recordings cut
down to small files, so that the figures are about the API rather than the bytes. The emulator enforces
the Business plan's rate limits, as the archiver's limiter (ZOOM_PLAN=business) expects. Printed: calls
per meeting by endpoint and by rate-limit category, the listing's share, download requests, wall time
and the rate reached, and how many answers were 429s.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

from local.demo import DEMO, demo_copy
from local.world import ROOT, start_emulator, start_world
from shared.zoom import ENDPOINTS

COPIES = 12
SMALL_FILE = 64 * 1024
WORKDIR = ROOT / ".bench" / "zoom_calls"


def tenant_copies(seed: dict, copies: int) -> dict:
    """The demo's meetings `copies` times over, spread over the last days, with small files."""
    now = datetime.now(UTC)
    meetings = [
        demo_copy(entry, f"bench{number:03d}", now - timedelta(days=1 + number % 20), SMALL_FILE)
        for number in range(copies)
        for entry in seed["meetings"]
    ]
    return {**seed, "meetings": meetings}


def endpoint(path: str) -> str:
    """The template of ENDPOINTS a logged path reached."""
    for template in sorted(ENDPOINTS, key=len, reverse=True):
        pattern = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template))
        if re.fullmatch("/v2" + pattern, path):
            return template
    return path


def run() -> None:
    demo = json.loads((DEMO / "zoom-seed.json").read_text())
    seed = tenant_copies(demo, COPIES)
    meetings = len(seed["meetings"])
    WORKDIR.mkdir(parents=True, exist_ok=True)
    seed_file = WORKDIR / "zoom-seed.json"
    seed_file.write_text(json.dumps(seed))
    with ExitStack() as stack:
        print(f"starting the local world; {meetings} meetings ({COPIES} copies of the demo's)", flush=True)
        world = start_world(stack, WORKDIR / "world", DEMO / "zoom-seed.json", DEMO / "graph-seed.json")
        zoom = start_emulator("zoom", seed_file, WORKDIR / "world" / "certs", "--plan", "business")
        stack.callback(zoom.stop)
        env = world.app_settings(
            ZOOM_API_URL=f"{zoom.url}/v2",
            ZOOM_OAUTH_URL=f"{zoom.url}/oauth/token",
            ZOOM_PLAN="business",
            ARCHIVE_BACKFILL_DAYS="25",
            AzureFunctionsJobHost__extensions__queues__batchSize="16",
        )
        print("running one archive cycle (python -m local.host --once)...", flush=True)
        started = time.monotonic()
        result = world.run_host(env)
        elapsed = time.monotonic() - started
        if result.returncode != 0:
            print(result.stdout[-2000:] + result.stderr[-2000:])
            raise SystemExit(f"the archive cycle failed (exit {result.returncode})")
        log = zoom.requests()
    api = [r for r in log if r["path"].startswith("/v2/")]
    calls = Counter(endpoint(r["path"]) for r in api)
    listing = calls["/users"] + calls["/users/{userId}/recordings"]
    categories = Counter()
    for template, count in calls.items():
        categories[ENDPOINTS.get(template, "?")] += count
    downloads = sum(1 for r in log if not r["path"].startswith(("/v2/", "/oauth/")))
    print(f"\nZoom API calls for {meetings} meetings: {len(api)} ({len(api) / meetings:.2f} per meeting)")
    width = max(len(t) for t in calls)
    for template, count in sorted(calls.items(), key=lambda item: -item[1]):
        category = ENDPOINTS.get(template, "?")
        print(f"  {template:<{width}}  {category:<7} {count:>6}  {count / meetings:6.2f} per meeting")
    print("by rate-limit category, per meeting: " + ", ".join(f"{c} {n / meetings:.2f}" for c, n in categories.items()))
    print(f"listing (users, recordings windows): {listing} calls, {listing / meetings:.2f} per meeting")
    print(f"download requests (redirect and file): {downloads}, {downloads / meetings:.2f} per meeting")
    print(f"token requests: {sum(1 for r in log if r['path'] == '/oauth/token')}")
    print(f"429 answers: {sum(1 for r in log if r['status'] == 429)}")
    print(f"archive cycle: {elapsed:.1f}s, {len(api) / elapsed:.1f} API calls/s, {meetings / elapsed:.2f} meetings/s")
