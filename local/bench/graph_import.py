"""Mailbox import at volume: 300 meetings into 50 mailboxes, through Graph's throttling and lost answers.

The archived messages go straight into the `messages` container; the local host's blob trigger runs the
real import stage against the Graph emulator, whose per-mailbox request budget is small enough to throttle
and which also answers some creates with 503 or loses their answer. Afterwards every mailbox is listed
through Graph and compared with what each should hold: every expected item, each exactly once. Prints
Graph calls per item and items per minute. The integration test `tests/integration/test_bulk_import.py`
runs the same workload and asserts the outcome.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from local.messages import archived_message
from local.world import ORGANIZATION_DOMAIN, ROOT, ZOOM_ACCOUNT_ID, World, start_world
from shared.graph import GraphClient
from shared.http import session
from shared.message.headers import message_id
from shared.records import Person, archive_key
from shared.settings import load_settings
from shared.storage import MESSAGES_CONTAINER, Storage

MEETINGS = 300
MAILBOXES = 50
TENANT_ID = "00000000-0000-4000-8000-0000000000bb"
# Throttling the run must ride out: a small request budget per mailbox, 503s and lost answers on creates.
LIMITS = {"requests": 4, "requests_window": 1.0}
FAULTS = [
    {"method": "POST", "path": r"/mailFolders/[^/]+/messages$", "skip": 50, "times": 12, "action": "drop_after"},
    {"method": "POST", "path": r"/mailFolders/[^/]+/messages$", "skip": 20, "times": 25, "status": 503,
     "headers": {"Retry-After": "0.2"}},
]  # fmt: skip


@dataclass
class Workload:
    """Graph users, the archived messages by blob name, and the internetMessageIds each mailbox should hold."""

    users: list[dict[str, Any]]
    messages: dict[str, bytes]
    expected: dict[str, list[str]] = field(default_factory=dict)  # Graph user id -> internetMessageIds

    @property
    def items(self) -> int:
        return sum(len(ids) for ids in self.expected.values())


def workload(meetings: int = MEETINGS, mailboxes: int = MAILBOXES, seed: int = 7) -> Workload:
    """Meetings of 2 to 6 of the users, some with an external guest; the same `seed`, the same workload."""
    rng = random.Random(seed)
    users = [
        {
            "id": f"00000000-0000-4000-a000-{n:012d}",
            "displayName": f"User{n:02d} Example",
            "userPrincipalName": f"user{n:02d}@{ORGANIZATION_DOMAIN}",
            "mail": f"user{n:02d}@{ORGANIZATION_DOMAIN}",
            "proxyAddresses": [f"SMTP:user{n:02d}@{ORGANIZATION_DOMAIN}"],
        }
        for n in range(mailboxes)
    ]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    result = Workload(users, {})
    for number in range(meetings):
        chosen = rng.sample(users, rng.randint(2, 6))
        people = [Person(u["displayName"], u["mail"]) for u in chosen]
        if rng.random() < 0.2:
            people.append(Person("Guest", f"guest{number}@fabrikam.example"))
        uuid = f"bench{seed}-{number}=="
        result.messages[f"{archive_key(uuid)}.eml"] = archived_message(
            uuid=uuid,
            topic=f"Meeting {number}",
            start=start + timedelta(minutes=number),
            host=people[0],
            participants=people,
            domains=(ORGANIZATION_DOMAIN,),
            files=[("CHAT", f"00:00:01\t{people[0].name}:\tHello {number}\r\n".encode())],
        )
        for user in chosen:
            result.expected.setdefault(user["id"], []).append(message_id(archive_key(uuid)))
    return result


@dataclass
class Outcome:
    seconds: float
    graph_calls: int
    statuses: Counter[int]
    held: dict[str, list[str]]  # Graph user id -> internetMessageIds in its folder
    host_exit: int
    host_output: str


def run_import(world: World, work: Workload, progress: bool = False) -> Outcome:
    """Seed the emulators, write the messages, run the local host once, then list every mailbox."""
    world.zoom.seed({"account_id": ZOOM_ACCOUNT_ID, "users": [], "meetings": []})
    world.graph.seed({"tenant_id": world.tenant_id, "users": work.users, "limits": LIMITS})
    world.graph.fault(*FAULTS)
    env = world.app_settings()
    storage = Storage(load_settings(env).storage)
    storage.ensure_created()
    messages = storage.container(MESSAGES_CONTAINER)
    for name, data in work.messages.items():
        messages.upload_blob(name, data, overwrite=True)
    world.graph.clear_requests()
    started = time.monotonic()
    finished = threading.Event()
    if progress:
        threading.Thread(target=_report, args=(world, work, started, finished), daemon=True).start()
    result = world.run_host(env)
    seconds = time.monotonic() - started
    finished.set()
    log = [r for r in world.graph.requests() if r["path"].startswith("/v1.0/")]
    settings = load_settings(env)
    graph = GraphClient(settings, session(settings.tls_ca_file))
    held = {user["id"]: folder_contents(graph, user["id"], settings.mailbox_folder) for user in work.users}
    output = result.stdout + result.stderr
    return Outcome(seconds, len(log), Counter(r["status"] for r in log), held, result.returncode, output)


def folder_contents(graph: GraphClient, user_id: str, folder_name: str) -> list[str]:
    """The internetMessageIds in the user's Inbox/<folder>, one entry per item, read through Graph."""
    params = {"$filter": f"displayName eq '{folder_name}'", "$select": "id"}
    folders = graph.request("GET", f"/users/{user_id}/mailFolders/inbox/childFolders", params=params)["value"]
    if not folders:
        return []
    path = f"/users/{user_id}/mailFolders/{folders[0]['id']}/messages"
    page = graph.request("GET", path, params={"$select": "internetMessageId", "$top": "1000"})
    ids = [m["internetMessageId"] for m in page["value"]]
    while page.get("@odata.nextLink"):
        page = graph.request("GET", page["@odata.nextLink"])
        ids += [m["internetMessageId"] for m in page["value"]]
    return ids


def _report(world: World, work: Workload, started: float, finished: threading.Event) -> None:
    while not finished.wait(5.0):
        created = sum(1 for r in world.graph.requests() if r["method"] == "POST" and r["path"].endswith("/messages"))
        print(f"  {time.monotonic() - started:5.1f}s: {created} creates sent of {work.items} items", flush=True)


def run() -> None:
    with ExitStack() as stack:
        folder = ROOT / ".bench" / "graph_import"
        folder.mkdir(parents=True, exist_ok=True)
        zoom_seed, graph_seed = folder / "zoom-seed.json", folder / "graph-seed.json"
        zoom_seed.write_text(json.dumps({"account_id": ZOOM_ACCOUNT_ID, "users": [], "meetings": []}))
        graph_seed.write_text(json.dumps({"tenant_id": TENANT_ID, "users": []}))
        print("Starting Azurite and the emulators...", flush=True)
        world = start_world(stack, folder / "run", zoom_seed, graph_seed)
        work = workload()
        print(
            f"{len(work.messages)} meetings into {len(work.users)} mailboxes: {work.items} items expected; "
            f"Graph throttles at {LIMITS['requests']} requests per mailbox per {LIMITS['requests_window']}s and "
            "answers some creates with 503 or loses their answer",
            flush=True,
        )
        outcome = run_import(world, work, progress=True)
        held = sum(len(ids) for ids in outcome.held.values())
        exact = all(sorted(outcome.held[u]) == sorted(ids) for u, ids in work.expected.items())
        done = [line for line in outcome.host_output.splitlines() if "] done: " in line]
        print(f"  local host exit status {outcome.host_exit}; {done[-1] if done else 'no summary line'}")
        print(f"  items found by listing every mailbox: {held} (each expected item exactly once: {exact})")
        print(f"  Graph answers: {dict(sorted(outcome.statuses.items()))} (0 = answer lost on purpose)")
        print(f"  Graph calls per item: {outcome.graph_calls / work.items:.2f}")
        print(
            f"  items per minute: {work.items / outcome.seconds * 60:.0f} ({outcome.seconds:.1f}s, host start included)"
        )
