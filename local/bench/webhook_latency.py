"""Webhook to mailbox: a burst of 200 signed `recording.completed` notifications, and how long each meeting
takes to reach the last of its mailboxes.

The demo tenant's meetings are copied out to 200 (small files, as in `zoom_calls`); the local host runs as
it does in Azure (timers on schedule, queues and blobs polled, the webhook served over HTTP); the Zoom
emulator answers each request after 150 ms and Graph after 200 ms (the Business plan's rate limits
enforced). All 200 notifications are sent at once. A meeting's latency runs, as the workbook's latency tile
measures it, from the moment the archive first knew of it (its row's `known_at`) to the last write of its
deliveries. Printed: p50, p95 and the slowest, meetings per minute, and what was left undelivered.
"""

from __future__ import annotations

import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import requests

from local.bench.zoom_calls import tenant_copies
from local.demo import DEMO
from local.world import ROOT, WEBHOOK_SECRET_TOKEN, serving_host, start_emulator, start_world
from shared.records import archive_key, parse_time
from shared.settings import load_settings
from shared.state import State
from shared.storage import Storage
from shared.webhook import signature

MEETINGS = 200
ZOOM_LATENCY = 0.15  # seconds per Zoom request
GRAPH_LATENCY = 0.2  # seconds per mailbox request
DEADLINE = 30 * 60.0  # seconds: the bench gives up waiting after this
WORKDIR = ROOT / ".bench" / "webhook_latency"


def notification(recording: dict) -> bytes:
    meeting = {key: recording[key] for key in ("uuid", "id", "host_id", "topic", "start_time") if key in recording}
    return json.dumps({"event": "recording.completed", "event_ts": int(time.time() * 1000), "payload": {
        "account_id": "demo-account", "object": meeting}}).encode()  # fmt: skip


def send(api: str, body: bytes) -> int:
    timestamp = str(int(time.time()))
    headers = {
        "x-zm-request-timestamp": timestamp,
        "x-zm-signature": signature(WEBHOOK_SECRET_TOKEN, timestamp, body),
        "content-type": "application/json",
    }
    return requests.post(f"{api}/zoom/webhook", data=body, headers=headers, timeout=30).status_code


def latencies(state: State, keys: list[str]) -> tuple[list[float], int]:
    """Seconds from known to the last delivery write, for each meeting whose import ran to its end; and how many
    have not yet."""
    done, pending = [], 0
    for key in keys:
        row = state.meeting(key) or {}
        known = parse_time(row.get("known_at"))
        if not row.get("delivery") or known is None:
            pending += 1
            continue
        writes = [parse_time(d.get("updated_at")) for d in state.deliveries(key).values()]
        last = max((w for w in writes if w), default=parse_time(row.get("updated_at")))
        done.append((last - known).total_seconds())
    return done, pending


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run() -> None:
    demo = json.loads((DEMO / "zoom-seed.json").read_text())
    copies = -(-MEETINGS // len(demo["meetings"]))
    seed = tenant_copies(demo, copies)
    seed["meetings"] = seed["meetings"][:MEETINGS]
    seed["latency"] = ZOOM_LATENCY
    graph_seed = {**json.loads((DEMO / "graph-seed.json").read_text()), "latency": GRAPH_LATENCY}
    WORKDIR.mkdir(parents=True, exist_ok=True)
    (WORKDIR / "zoom-seed.json").write_text(json.dumps(seed))
    (WORKDIR / "graph-seed.json").write_text(json.dumps(graph_seed))
    with ExitStack() as stack:
        print(
            f"starting the local world: {MEETINGS} meetings, Zoom {ZOOM_LATENCY}s, Graph {GRAPH_LATENCY}s per request"
        )
        world = start_world(stack, WORKDIR / "world", DEMO / "zoom-seed.json", WORKDIR / "graph-seed.json")
        zoom = start_emulator("zoom", WORKDIR / "zoom-seed.json", WORKDIR / "world" / "certs", "--plan", "business")
        stack.callback(zoom.stop)
        env = world.app_settings(
            ZOOM_API_URL=f"{zoom.url}/v2", ZOOM_OAUTH_URL=f"{zoom.url}/oauth/token", ZOOM_PLAN="business"
        )
        state = State(Storage(load_settings(env).storage))
        keys = [archive_key(entry["recording"]["uuid"]) for entry in seed["meetings"]]
        with serving_host(env, "bench-key", WORKDIR / "host.log") as api:
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=32) as pool:
                statuses = list(pool.map(lambda e: send(api, notification(e["recording"])), seed["meetings"]))
            print(f"{MEETINGS} notifications answered in {time.monotonic() - started:.1f}s: "
                  f"{statuses.count(200)} with 200", flush=True)  # fmt: skip
            done, pending = [], MEETINGS
            while pending and time.monotonic() - started < DEADLINE:
                time.sleep(5.0)
                done, pending = latencies(state, keys)
                print(f"  {time.monotonic() - started:6.0f}s: {len(done)} meetings in their mailboxes, "
                      f"{pending} still on their way", flush=True)  # fmt: skip
        elapsed = time.monotonic() - started
    if not done:
        raise SystemExit("no meeting reached its mailboxes")
    print(f"\nwebhook to mailbox, {len(done)} meetings ({pending} not delivered within {DEADLINE / 60:.0f} min):")
    print(f"  p50 {percentile(done, 0.5) / 60:.2f} min, p95 {percentile(done, 0.95) / 60:.2f} min, "
          f"slowest {max(done) / 60:.2f} min, mean {statistics.fmean(done) / 60:.2f} min")  # fmt: skip
    print(f"  {len(done) / elapsed * 60:.0f} meetings/min over the burst ({elapsed:.0f}s)")
