"""Throughput against Zoom's account-wide ceiling, 1 and 4 local hosts side by side, and the stages' memory.

One Azurite and one pair of emulators serve a tenant of MEETINGS meetings: the Zoom emulator enforces a
plan's rate limits and takes ZOOM_LATENCY over each request, Graph takes GRAPH_LATENCY. Each meeting is what a
recorded Zoom meeting is: a video and an audio file, often a chat and a transcript, 2 to 12 participants (some
rejoin, some are guests; one in ten is recorded alone), and now and then poll answers, Q&A or an AI summary.
Text files have real sizes; video and audio are MEDIA_SCALE of theirs (a 60-minute meeting's video is 1.2 MB,
not 240), or the mailboxes of the Graph emulator, which keeps everything in memory, would not hold the run.

For each of RUNS, a Zoom plan and 1 or 4 local hosts (`python -m local.host`, all polling the same queue and
container): the storage is emptied, the Zoom emulator restarted with the plan's limits, Graph reseeded, the
hosts started, and the meetings listed and queued once; then the run is watched until every meeting is in its
mailboxes. The Business plan's ceiling is the one the archiver must approach, but at about 0.5 CPU-seconds a
meeting (the local world's Azurite and emulators included) it takes more cores than a 2-core machine has; the
Pro plan's ceiling, a third of it, does not, so its runs show how near the ceiling the account-wide budget
lets the archiver go where the machine is not what holds it back. The archiver uses RATE_SHARE per cent of the
plan's rate (`ZOOM_RATE_SHARE`, as an account whose other apps need little of it would set it).

Printed for each run: meetings captured per minute, and the ratio to the ceiling Zoom's limits allow (the
plan's Medium rate ÷ the Medium calls per meeting measured in the emulator's log, listing included); meetings
delivered per minute; Zoom calls and 429s; duplicate captures (a meeting whose participants were asked for
more than once) and duplicate items (one meeting twice in a mailbox, listed through Graph); the hosts' peak
memory and where the CPU went. Then, in processes of their own, the peak memory of capturing a meeting whose
message is about 150 MB (besides a 1 GiB recording stored apart) and of importing it.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from local.bench.graph_import import folder_contents
from local.bench.zoom_calls import endpoint
from local.world import (
    ORGANIZATION_DOMAIN,
    ROOT,
    ZOOM_ACCOUNT_ID,
    World,
    host_environment,
    start_emulator,
    stop_process,
)
from local.world import start_world as start_local_world
from shared.graph import GraphClient
from shared.http import session
from shared.records import archive_key
from shared.settings import load_settings
from shared.storage import MESSAGES_CONTAINER, Storage
from shared.zoom import ENDPOINTS
from shared.zoom.ratelimit import MEDIUM, PLANS

MEETINGS = 1000
PEOPLE = 150  # the organisation's Zoom users, each with a mailbox but a few
HOSTING = 60  # of them host the meetings
RUNS = (("business", 1), ("business", 4), ("pro", 1), ("pro", 4))  # (Zoom plan, local hosts)
RATE_SHARE = 90  # ZOOM_RATE_SHARE: the per cent of the plan's rate the archiver uses
ZOOM_LATENCY = 0.15
GRAPH_LATENCY = 0.2
MEDIA_SCALE = 1 / 200
VIDEO_PER_MINUTE = 4 * 1024 * 1024  # a real shared-screen MP4, bytes per minute
AUDIO_PER_MINUTE = 480 * 1024  # a real M4A
STALL = 180  # seconds without progress after which a run is given up
WORKDIR = ROOT / ".bench" / "scale"
FAR = "0 0 0 1 1 *"  # timers that do not fire during the run: the bench lists the meetings itself
MIB = 1024 * 1024


@dataclass
class Figures:
    plan: str
    hosts: int
    meetings: int
    capture_seconds: float
    deliver_seconds: float
    zoom_calls: int
    medium_calls: int
    refused: int  # 429s the emulator answered
    busiest_medium_second: int  # Medium calls Zoom answered in the busiest second
    duplicate_captures: int
    duplicate_items: int
    items: int
    peak_rss_mib: list[float]
    cpu_seconds: dict[str, float]  # by process: where the 2 cores' time went
    answers: Counter[tuple[str, int]]  # (endpoint, status) -> requests

    @property
    def captured_per_minute(self) -> float:
        return self.meetings / self.capture_seconds * 60

    @property
    def medium_per_second(self) -> float:
        """The plan's Medium limit: what the ceiling is counted in."""
        rate = PLANS[self.plan].rates[MEDIUM]
        return rate.requests / rate.seconds

    @property
    def ceiling_per_minute(self) -> float:
        return self.medium_per_second * 60 / (self.medium_calls / self.meetings)


def run() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: the hosts and the world stop too
    WORKDIR.mkdir(parents=True, exist_ok=True)
    zoom_seed, graph_seed = tenant(random.Random(15), WORKDIR / "files")
    (WORKDIR / "zoom-seed.json").write_text(json.dumps(zoom_seed))
    (WORKDIR / "graph-seed.json").write_text(json.dumps(graph_seed))
    files = sum(f.get("file_size") or 0 for m in zoom_seed["meetings"] for f in m["recording"]["recording_files"])
    print(f"tenant: {MEETINGS} meetings of {HOSTING} hosts among {PEOPLE} people, {files / MIB:.0f} MiB of files")
    results = []
    with ExitStack() as stack:
        print("starting Azurite and the Graph emulator")
        world = start_world(stack)
        for plan, hosts in RUNS:
            results.append(throughput(world, plan, hosts, zoom_seed, graph_seed))
    capture_rss, import_rss = memory()
    report(results, capture_rss, import_rss)


def start_world(stack: ExitStack) -> World:
    world = start_local_world(stack, WORKDIR / "world", WORKDIR / "zoom-seed.json", WORKDIR / "graph-seed.json")
    world.graph.stop()
    world.graph = start_emulator(
        "graph", WORKDIR / "graph-seed.json", WORKDIR / "world" / "certs", "--latency", str(GRAPH_LATENCY)
    )
    stack.callback(world.graph.stop)
    stack.callback(lambda: world.zoom.stop())  # the Zoom emulator of the last plan run
    return world


def throughput(world: World, plan: str, hosts: int, zoom_seed: dict[str, Any], graph_seed: dict[str, Any]) -> Figures:
    print(f"\n-- {plan} plan, {hosts} host(s): emptying storage, a Zoom emulator with the plan's limits")
    world.empty()
    world.zoom.stop()
    options = ("--plan", plan, "--latency", str(ZOOM_LATENCY))
    world.zoom = start_emulator("zoom", WORKDIR / "zoom-seed.json", WORKDIR / "world" / "certs", *options)
    world.graph.seed(graph_seed, WORKDIR)
    env = world.app_settings(
        ZOOM_PLAN=plan,
        ZOOM_RATE_SHARE=str(RATE_SHARE),
        ARCHIVE_BACKFILL_DAYS="25",
        ARCHIVE_SCHEDULE=FAR,
        RECONCILE_SCHEDULE=FAR,
    )
    storage = Storage(load_settings(env).storage)
    storage.ensure_created()
    with running_hosts(env, hosts) as processes:
        print(f"{hosts} host(s) started; listing and queueing the meetings")
        from shared.archiver import Archiver

        others = {"Azurite": world.azurite.process.pid, "Zoom emulator": world.zoom.process.pid}
        others |= {"Graph emulator": world.graph.process.pid, "listing (the bench)": os.getpid()}
        before = {name: cpu_seconds(pid) for name, pid in others.items()}
        started = time.monotonic()
        listing = Archiver(load_settings(env)).enumerate_meetings()
        print(f"  {time.monotonic() - started:5.1f}s: {listing.queued} meetings queued")
        captured_at, delivered_at = watch(storage, started)
        peaks = [peak_rss(p.pid) for p in processes]
        cpu = {"hosts": sum(cpu_seconds(p.pid) for p in processes)}
        cpu |= {name: cpu_seconds(pid) - before[name] for name, pid in others.items()}
    log = world.zoom.requests()
    api = [r for r in log if r["path"].startswith("/v2/")]
    medium_calls = [r for r in api if ENDPOINTS.get(endpoint(r["path"])) == "Medium"]
    medium = len(medium_calls)
    participants = Counter(r["path"] for r in api if r["path"].endswith("/participants"))
    held = mailboxes(world, graph_seed)
    duplicates = sum(count - 1 for ids in held for count in Counter(ids).values() if count > 1)
    return Figures(
        plan=plan,
        hosts=hosts,
        meetings=len(zoom_seed["meetings"]),
        capture_seconds=captured_at,
        deliver_seconds=delivered_at,
        zoom_calls=len(api),
        medium_calls=medium,
        refused=sum(1 for r in log if r["status"] == 429 and not r["fault"]),
        busiest_medium_second=max(Counter(int(r["time"]) for r in medium_calls).values(), default=0),
        duplicate_captures=sum(count - 1 for count in participants.values()),
        duplicate_items=duplicates,
        items=sum(len(ids) for ids in held),
        peak_rss_mib=peaks,
        cpu_seconds=cpu,
        answers=Counter((endpoint(r["path"]), r["status"]) for r in api),
    )


def watch(storage: Storage, started: float) -> tuple[float, float]:
    """Seconds from `started` until every meeting is captured, then delivered; progress every 5 seconds."""
    messages, meetings = storage.container(MESSAGES_CONTAINER), storage.table("meetings")
    captured_at = delivered_at = 0.0
    last, progress_at = (-1, -1), time.monotonic()
    while not delivered_at:
        time.sleep(5)
        captured = sum(1 for _ in messages.list_blobs())
        delivered = sum(1 for _ in meetings.query_entities("delivery eq 'delivered'", select=["RowKey"]))
        elapsed = time.monotonic() - started
        if captured >= MEETINGS and not captured_at:
            captured_at = elapsed
        if delivered >= MEETINGS:
            delivered_at = elapsed
        rate = captured / elapsed * 60
        print(f"  {elapsed:5.0f}s: {captured} captured ({rate:.0f}/min), {delivered} delivered")
        if (captured, delivered) != last:
            last, progress_at = (captured, delivered), time.monotonic()
        elif time.monotonic() - progress_at > STALL:
            rows = [r for r in meetings.query_entities("RowKey eq 'meeting'") if r.get("delivery") != "delivered"]
            states = Counter((r.get("status"), r.get("delivery")) for r in rows)
            raise SystemExit(f"no progress for {STALL}s; not delivered, by state: {dict(states)}; see {WORKDIR}")
    return captured_at, delivered_at


@contextmanager
def running_hosts(env: dict[str, str], count: int):  # type: ignore[no-untyped-def]
    """`count` local hosts polling the same queue and container; their output goes to WORKDIR/host-N.log."""
    processes = []
    with ExitStack() as stack:
        for number in range(count):
            log = stack.enter_context((WORKDIR / f"host-{count}-{number}.log").open("w"))
            command = [sys.executable, "-m", "local.host", "--root", str(ROOT)]
            process = subprocess.Popen(command, cwd=ROOT, env=host_environment(env), stdout=log, stderr=log)
            stack.callback(stop_process, process)
            processes.append(process)
        yield processes


def cpu_seconds(pid: int) -> float:
    """CPU time a running process has used, user and system (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss(pid: int) -> float:
    """A running process's peak resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def mailboxes(world: World, graph_seed: dict[str, Any]) -> list[list[str]]:
    """The internetMessageIds in each mailbox's archive folder, listed through Graph."""
    settings = load_settings(world.app_settings())
    graph = GraphClient(settings, session(settings.tls_ca_file))
    users = [u["id"] for u in graph_seed["users"] if u.get("mailbox", True)]
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda user: folder_contents(graph, user, settings.mailbox_folder), users))


# --- the tenant ---------------------------------------------------------------------------------


def tenant(rng: random.Random, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Zoom account and the Microsoft 365 tenant, in the services' wire shapes; text files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    people = [_person(n) for n in range(PEOPLE)]
    graph_users = [_graph_user(p, mailbox=n % 30 != 29) for n, p in enumerate(people)]  # a few have no mailbox
    texts = Texts(
        chats=[_text_file(folder / f"chat-{n}.txt", _chat(rng, people, rng.randint(20, 600))) for n in range(20)],
        transcripts=[
            _text_file(folder / f"transcript-{n}.vtt", _vtt(rng, people, rng.randint(100, 1500))) for n in range(20)
        ],
    )
    meetings = [_meeting(rng, number, people, texts) for number in range(MEETINGS)]
    zoom = {"account_id": ZOOM_ACCOUNT_ID, "users": [_zoom_user(p) for p in people], "meetings": meetings}
    graph = {"tenant_id": "00000000-0000-4000-8000-0000000000cc", "users": graph_users}
    return zoom, graph


@dataclass(frozen=True)
class Texts:
    """Chat and transcript files the meetings share: (path relative to WORKDIR, size)."""

    chats: list[tuple[str, int]]
    transcripts: list[tuple[str, int]]


def _person(number: int) -> dict[str, str]:
    first, last = f"Person{number:03d}", "Example"
    return {
        "first": first,
        "last": last,
        "name": f"{first} {last}",
        "email": f"person{number:03d}@{ORGANIZATION_DOMAIN}",
        "zoom_id": f"zUser{number:05d}",
        "graph_id": f"00000000-0000-4000-b000-{number:012d}",
    }


def _zoom_user(person: dict[str, str]) -> dict[str, Any]:
    return {
        "id": person["zoom_id"],
        "first_name": person["first"],
        "last_name": person["last"],
        "display_name": person["name"],
        "email": person["email"],
        "type": 2,
        "timezone": "Europe/London",
        "status": "active",
    }


def _graph_user(person: dict[str, str], *, mailbox: bool = True, **limits: int) -> dict[str, Any]:
    return {
        "id": person["graph_id"],
        "displayName": person["name"],
        "userPrincipalName": person["email"],
        "mail": person["email"],
        "proxyAddresses": [f"SMTP:{person['email']}"],
        "mailbox": mailbox,
        **limits,
    }


def _meeting(rng: random.Random, number: int, people: list[dict[str, str]], texts: Texts) -> dict[str, Any]:
    host = people[number % HOSTING]
    kind = rng.choices([2, 8, 1, 4, 5], weights=[55, 25, 10, 8, 2])[0]  # scheduled, recurring, instant, PMI, webinar
    minutes = rng.randint(15, 90)
    start = (datetime.now(UTC) - timedelta(days=1 + number % 20, minutes=rng.randint(0, 600))).replace(microsecond=0)
    end = start + timedelta(minutes=minutes)
    alone = rng.random() < 0.1  # a recording made alone: a talk, a demo
    attendees = [host, *([] if alone else rng.sample([p for p in people if p is not host], rng.randint(1, 8)))]
    participants = []
    for person in attendees:
        joins = 2 if rng.random() < 0.15 else 1  # some leave and come back
        for join in range(joins):
            left = start + timedelta(minutes=minutes * (join + 1) // joins)
            participants.append(_participant(rng, person["name"], person["email"], person["zoom_id"], start, left))
    for guest in range(0 if alone else rng.choice([0, 0, 0, 1, 2, 3])):
        email = f"guest{guest}@fabrikam.example"
        participants.append(_participant(rng, f"Guest {number}-{guest}", email, "", start, end))
    video, audio = (int(per_minute * minutes * MEDIA_SCALE) for per_minute in (VIDEO_PER_MINUTE, AUDIO_PER_MINUTE))
    items = [
        _file(rng, "MP4", "shared_screen_with_speaker_view", video, start, end),
        _file(rng, "M4A", "audio_only", audio, start, end),
    ]
    files = {}
    for file_type, recording_type, share, choices in (
        ("CHAT", "chat_file", 0.6, texts.chats),
        ("TRANSCRIPT", "audio_transcript", 0.5, texts.transcripts),
    ):
        if rng.random() < share:
            path, size = rng.choice(choices)
            items.append(_file(rng, file_type, recording_type, size, start, end))
            files[items[-1]["id"]] = path
    recording = {
        "uuid": f"bench{number:04d}{rng.getrandbits(64):016x}==",
        "id": 80000000000 + number,
        "account_id": ZOOM_ACCOUNT_ID,
        "host_id": host["zoom_id"],
        "topic": f"Meeting {number} of {host['name']}",
        "type": kind,
        "start_time": _zoom_time(start),
        "timezone": "Europe/London",
        "duration": minutes,
        "total_size": sum(i["file_size"] for i in items),
        "recording_count": len(items),
        "recording_files": items,
    }
    voters = attendees[1:]
    return {
        "recording": recording,
        "participants": participants,
        "files": files,
        "polls": _answers(rng, voters, "Which option?") if voters and kind != 1 and rng.random() < 0.1 else [],
        "qa": _answers(rng, voters, "Is this recorded?") if voters and rng.random() < 0.05 else [],
        "summary": _summary(number) if rng.random() < 0.3 else None,
    }


def _participant(rng: random.Random, name: str, email: str, zoom_id: str, join: datetime, leave: datetime) -> dict:
    return {
        "id": zoom_id,
        "name": name,
        "user_id": str(rng.getrandbits(30)),
        "registrant_id": "",
        "user_email": email,
        "join_time": _zoom_time(join),
        "leave_time": _zoom_time(leave),
        "duration": int((leave - join).total_seconds()),
        "failover": False,
        "status": "in_meeting",
        "internal_user": bool(zoom_id),
    }


def _file(
    rng: random.Random, file_type: str, recording_type: str, size: int, start: datetime, end: datetime
) -> dict[str, Any]:
    extension = {"MP4": "MP4", "M4A": "M4A", "CHAT": "TXT", "TRANSCRIPT": "VTT"}[file_type]
    return {
        "id": f"{file_type.lower()}-{rng.getrandbits(96):024x}",
        "recording_start": _zoom_time(start),
        "recording_end": _zoom_time(end),
        "file_type": file_type,
        "file_extension": extension,
        "file_size": size,
        "status": "completed",
        "recording_type": recording_type,
    }


def _answers(rng: random.Random, voters: list[dict[str, str]], question: str) -> list[dict[str, Any]]:
    return [
        {
            "name": p["name"],
            "email": p["email"],
            "question_details": [{"question": question, "answer": rng.choice(["Yes", "No", "Later"])}],
        }
        for p in voters[: rng.randint(1, len(voters))]
    ]


def _summary(number: int) -> dict[str, Any]:
    return {
        "summary_title": f"Meeting summary for meeting {number}",
        "summary_overview": "The team reviewed the plan and agreed the next steps.",
        "summary_details": [{"label": "Plan", "summary": "Agreed as presented."}],
        "next_steps": ["Send the minutes"],
    }


def _chat(rng: random.Random, people: list[dict[str, str]], lines: int) -> str:
    return "".join(f"{_clock(n)}\t{rng.choice(people)['name']}:\tmessage {n} about the plan\r\n" for n in range(lines))


def _vtt(rng: random.Random, people: list[dict[str, str]], cues: int) -> str:
    body = [
        f"{n + 1}\n{_clock(n * 4)}.000 --> {_clock(n * 4 + 3)}.000\n{rng.choice(people)['name']}: "
        f"what was said in the meeting, sentence {n}.\n"
        for n in range(cues)
    ]
    return "WEBVTT\n\n" + "\n".join(body)


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _text_file(path: Path, text: str) -> tuple[str, int]:
    path.write_text(text, newline="")
    return str(path.relative_to(WORKDIR)), path.stat().st_size


def _zoom_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- memory of the stages -----------------------------------------------------------------------


def memory() -> tuple[float, float]:
    """Peak RSS (MiB) of capturing a meeting whose message is about 150 MB, and of importing that message."""
    print("\n-- memory: one meeting with a 1 GiB video (stored apart) and 105 MiB of audio (attached)")
    folder = WORKDIR / "memory"
    folder.mkdir(parents=True, exist_ok=True)
    alice = _person(0)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    end = start + timedelta(minutes=60)
    meeting = {
        "recording": {
            "uuid": "benchmemory000000000000==",
            "id": 81000000000,
            "host_id": alice["zoom_id"],
            "topic": "Memory",
            "type": 2,
            "start_time": _zoom_time(start),
            "duration": 60,
            "recording_files": [
                _file(random.Random(2), "MP4", "shared_screen_with_speaker_view", 1024 * MIB, start, end),
                _file(random.Random(3), "M4A", "audio_only", 105 * MIB, start, end),
            ],
        },
        "participants": [_participant(random.Random(1), alice["name"], alice["email"], alice["zoom_id"], start, end)],
    }
    zoom_seed = {"account_id": ZOOM_ACCOUNT_ID, "users": [_zoom_user(alice)], "meetings": [meeting]}
    graph_seed = {
        "tenant_id": "00000000-0000-4000-8000-0000000000cd",
        "users": [_graph_user(alice, maxMessageSizeMb=150)],
    }
    (folder / "zoom-seed.json").write_text(json.dumps(zoom_seed))
    (folder / "graph-seed.json").write_text(json.dumps(graph_seed))
    with ExitStack() as stack:
        world = start_local_world(stack, folder / "world", folder / "zoom-seed.json", folder / "graph-seed.json")
        env = {**host_environment(world.app_settings(MAX_MESSAGE_SIZE_MB="150"))}
        capture = _child(env, "capture", meeting["recording"]["uuid"])
        print(f"  capture: peak RSS {capture:.0f} MiB")
        name = f"{archive_key(meeting['recording']['uuid'])}.eml"
        size = (
            Storage(load_settings(env).storage)
            .container(MESSAGES_CONTAINER)
            .get_blob_client(name)
            .get_blob_properties()
            .size
        )
        print(f"  message of {size / MIB:.0f} MiB written; importing it")
        imported = _child(env, "import", name)
        print(f"  import: peak RSS {imported:.0f} MiB")
    return capture, imported


def _child(env: dict[str, str], stage: str, argument: str) -> float:
    """Run one stage in a process of its own, printing its memory as it goes; its peak RSS in MiB."""
    started = time.monotonic()
    command = [sys.executable, "-m", "local.bench.scale", stage, argument]
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE)
    while child.poll() is None:
        time.sleep(2)
        try:
            rss = peak_rss(child.pid)
        except OSError:
            break
        if rss:
            print(f"    {time.monotonic() - started:5.0f}s: {stage} running, peak RSS so far {rss:.0f} MiB")
    output = child.stdout.read().decode() if child.stdout else ""
    child.wait()
    if child.returncode != 0:
        raise RuntimeError(f"the {stage} failed (exit {child.returncode}): {output[-2000:]}")
    return json.loads(output.strip().splitlines()[-1])["peak_rss_kib"] / 1024


def _stage_here(stage: str, argument: str) -> None:
    """In the child: one stage for real, then this process's peak RSS."""
    from shared.archiver import Archiver
    from shared.records import MeetingRef

    archiver = Archiver(load_settings(os.environ))
    if stage == "capture":
        archiver.capture_meeting(MeetingRef(argument))
    else:
        archiver.import_message(argument)
    print(json.dumps({"peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


# --- the figures --------------------------------------------------------------------------------


def report(results: list[Figures], capture_rss: float, import_rss: float) -> None:
    print(f"\nthe archiver uses {RATE_SHARE} % of each plan's rate (ZOOM_RATE_SHARE)")
    print("\n| | " + " | ".join(f"{r.plan}, {r.hosts} host{'s' if r.hosts > 1 else ''}" for r in results) + " |")
    print("| --- |" + " --- |" * len(results))
    rows = [
        ("meetings captured per minute", lambda r: f"{r.captured_per_minute:.0f}"),
        ("Medium calls per second the plan allows", lambda r: f"{r.medium_per_second:.0f}"),
        ("ceiling (the plan's Medium rate ÷ Medium calls per meeting)", lambda r: f"{r.ceiling_per_minute:.0f}"),
        ("ratio to the ceiling", lambda r: f"{r.captured_per_minute / r.ceiling_per_minute:.0%}"),
        ("Medium calls per meeting", lambda r: f"{r.medium_calls / r.meetings:.2f}"),
        ("meetings delivered per minute", lambda r: f"{r.meetings / r.deliver_seconds * 60:.0f}"),
        ("Zoom API calls", lambda r: f"{r.zoom_calls}"),
        ("429s", lambda r: f"{r.refused} ({r.refused / r.zoom_calls:.2%})"),
        ("Medium calls in the busiest second", lambda r: f"{r.busiest_medium_second}"),
        ("duplicate captures", lambda r: f"{r.duplicate_captures}"),
        ("duplicate items", lambda r: f"{r.duplicate_items} (of {r.items})"),
        ("peak RSS per host (MiB)", lambda r: ", ".join(f"{p:.0f}" for p in r.peak_rss_mib)),
        ("CPU seconds, until all delivered", lambda r: ", ".join(f"{k} {v:.0f}" for k, v in r.cpu_seconds.items())),
        ("CPU available (2 cores × wall)", lambda r: f"{2 * r.deliver_seconds:.0f}"),
        ("CPU seconds per meeting, every process", lambda r: f"{sum(r.cpu_seconds.values()) / r.meetings:.2f}"),
        (
            "cores the ceiling would take at that cost",
            lambda r: f"{sum(r.cpu_seconds.values()) / r.meetings * r.ceiling_per_minute / 60:.1f}",
        ),
    ]
    for label, value in rows:
        print(f"| {label} | " + " | ".join(value(r) for r in results) + " |")
    first = results[0]
    run = f"{first.plan} plan, {first.hosts} host(s), {first.meetings} meetings"
    print(f"\nZoom's answers by endpoint ({run}): calls, of them 404")
    for template in sorted({t for t, _ in first.answers}, key=lambda t: -first.answers[(t, 200)]):
        calls = sum(n for (t, _), n in first.answers.items() if t == template)
        print(f"  {template:<45} {ENDPOINTS.get(template, '?'):<7} {calls:>6} {first.answers[(template, 404)]:>6}")
    print(f"\npeak RSS, capture of a meeting with a ~150 MB message and a 1 GiB video: {capture_rss:.0f} MiB")
    print(f"peak RSS, import of that message: {import_rss:.0f} MiB")


if __name__ == "__main__":
    _stage_here(sys.argv[1], sys.argv[2])
