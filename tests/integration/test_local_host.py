"""The local host runs function_app.py as the Functions host would: retries, poison queues, start-up checks."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.queue import QueueClient, QueueServiceClient

from local.host import LocalHost, Trigger
from local.world import ROOT, World, host_environment
from shared.records import archive_key
from shared.zoom import encode_uuid
from tests.tenant import ArchiveFile, File, GraphReader, Tenant, member_log

pytestmark = pytest.mark.integration


def test_a_meeting_that_keeps_failing_ends_in_the_poison_queue_with_its_reason(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    broken = tenant.meeting(alice, "Broken")
    fine = tenant.meeting(alice, "Fine")
    tenant.apply(fresh)
    fresh.zoom.fault(
        {
            "method": "GET",
            "path": f"^/v2/past_meetings/{encode_uuid(broken.uuid)}/",
            "status": 400,
            "body": {"code": 300, "message": "Cannot access meeting information."},
            "times": -1,
        }
    )

    result = fresh.run_host(fresh.app_settings(AzureFunctionsJobHost__extensions__queues__visibilityTimeout="00:00:00"))

    assert result.returncode == 1, result.stdout + result.stderr
    assert "moved to meetings-poison" in result.stdout
    poison = QueueServiceClient.from_connection_string(fresh.azurite.connection_string).get_queue_client(
        "meetings-poison"
    )
    assert poison.get_queue_properties().approximate_message_count == 1
    tables = TableServiceClient.from_connection_string(fresh.azurite.connection_string)
    row = tables.get_table_client("meetings").get_entity(archive_key(broken.uuid), "meeting")
    assert row["status"] == "failed"
    assert row["attempts"] == 5
    assert row["error_code"] == "zoom_400_300"
    assert "Cannot access meeting information" in row["reason"]
    assert tables.get_table_client("meetings").get_entity(archive_key(fine.uuid), "meeting")["status"] == "captured"


def test_files_still_processing_defer_the_meeting_until_a_later_run(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    meeting = tenant.meeting(alice, "Later", files=[File("MP4", b"x" * 100, processing=True)])
    tenant.apply(fresh)

    assert fresh.run_host(fresh.app_settings()).returncode == 0
    tables = TableServiceClient.from_connection_string(fresh.azurite.connection_string)
    assert tables.get_table_client("meetings").get_entity(archive_key(meeting.uuid), "meeting")["status"] == "deferred"
    assert not [r for r in fresh.graph.requests() if r["method"] == "POST"]

    meeting.files[0].processing = False
    tenant.apply(fresh)
    assert fresh.run_host(fresh.app_settings()).returncode == 0
    assert tables.get_table_client("meetings").get_entity(archive_key(meeting.uuid), "meeting")["status"] == "captured"


def test_bad_settings_stop_the_app_at_start_naming_each_one(fresh: World) -> None:
    settings = fresh.app_settings(
        ZOOM_CLIENT_SECRET="@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/zoom/)",
        MAX_MESSAGE_SIZE_MB="900",
        ORGANIZATION_DOMAINS="",
        GRAPH_CLIENT_SECRET="do-not-print-me",
    )
    del settings["GRAPH_TENANT_ID"]

    result = fresh.run_host(settings)

    assert result.returncode == 2
    for name in ("ZOOM_CLIENT_SECRET", "MAX_MESSAGE_SIZE_MB", "ORGANIZATION_DOMAINS", "GRAPH_TENANT_ID"):
        assert name in result.stderr
    assert "do-not-print-me" not in result.stdout + result.stderr
    assert "GRAPH_CLIENT_SECRET" not in result.stderr
    assert not fresh.zoom.requests() and not fresh.graph.requests()


# A function app with one queue trigger and one blob trigger, to run the host in this process.
SMALL_APP = """
import azure.functions as func

app = func.FunctionApp()


@app.queue_trigger(arg_name="msg", queue_name="work", connection="AzureWebJobsStorage")
def work(msg: func.QueueMessage) -> None:
    pass


@app.blob_trigger(arg_name="blob", path="inbox/{name}", connection="AzureWebJobsStorage")
def inbox(blob: func.InputStream) -> None:
    pass
"""


def test_polling_creates_each_queue_and_the_receipts_container_once(
    fresh: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "function_app.py").write_text(SMALL_APP)
    (tmp_path / "host.json").write_text((ROOT / "host.json").read_text())
    monkeypatch.setenv("AzureWebJobsStorage", fresh.azurite.connection_string)
    monkeypatch.delitem(sys.modules, "function_app", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    created: list[str] = []
    create_queue, create_container = QueueClient.create_queue, ContainerClient.create_container
    monkeypatch.setattr(QueueClient, "create_queue", lambda q, **kw: created.append(q.queue_name) or create_queue(q))
    monkeypatch.setattr(
        ContainerClient, "create_container", lambda c, **kw: created.append(c.container_name) or create_container(c)
    )
    host = LocalHost(tmp_path)
    monkeypatch.delitem(sys.modules, "function_app")

    with ThreadPoolExecutor(max_workers=1) as pool:
        for _ in range(3):
            assert host._poll_all(pool) == 0
            assert host._outstanding() == 0

    assert sorted(created) == ["azure-webjobs-hosts", "work"]


# A function app whose functions write down each run, to run two hosts in this process.
RECORDING_APP = """
import os
import time

import azure.functions as func

app = func.FunctionApp()


def ran(what):
    with open(os.environ["RUNS_FILE"], "a") as runs:
        runs.write(what + "\\n")


@app.queue_trigger(arg_name="msg", queue_name="work", connection="AzureWebJobsStorage")
def work(msg: func.QueueMessage) -> None:
    ran("work " + msg.get_body().decode())


@app.blob_trigger(arg_name="blob", path="inbox/{name}", connection="AzureWebJobsStorage")
def inbox(blob: func.InputStream) -> None:
    ran(blob.name)
    time.sleep(1)
"""


@pytest.fixture
def recording_app(fresh: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The recording app's folder, and the file its runs are written to."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "function_app.py").write_text(RECORDING_APP)
    (app / "host.json").write_text((ROOT / "host.json").read_text())
    monkeypatch.setenv("AzureWebJobsStorage", fresh.azurite.connection_string)
    monkeypatch.setenv("RUNS_FILE", str(tmp_path / "runs.txt"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    return app, tmp_path / "runs.txt"


def load_host(app: Path) -> LocalHost:
    sys.modules.pop("function_app", None)  # each host imports the app afresh, as its own process would
    try:
        return LocalHost(app)
    finally:
        sys.modules.pop("function_app", None)


def test_two_hosts_polling_one_container_run_each_blob_once(fresh: World, recording_app: tuple[Path, Path]) -> None:
    """In Azure one Event Grid event makes one message of the blob trigger's queue: one host runs it."""
    app, runs = recording_app
    hosts = [load_host(app), load_host(app)]
    inbox = BlobServiceClient.from_connection_string(fresh.azurite.connection_string).get_container_client("inbox")
    inbox.create_container()
    inbox.upload_blob("a.eml", b"x")

    def poll_twice(host: LocalHost) -> None:
        with ThreadPoolExecutor(max_workers=2) as pool:
            host._poll_all(pool)
            host._poll_all(pool)

    with ThreadPoolExecutor(max_workers=2) as hosts_running:
        list(hosts_running.map(poll_twice, hosts))

    assert runs.read_text().splitlines() == ["inbox/a.eml"]


def test_a_message_whose_hosts_keep_dying_goes_to_the_poison_queue_unrun(
    fresh: World, recording_app: tuple[Path, Path]
) -> None:
    """Received more often than maxDequeueCount, and never finished: the host moves it to <queue>-poison, as
    Azure's does, where the sweep finds it."""
    app, runs = recording_app
    host = load_host(app)
    queue = QueueServiceClient.from_connection_string(fresh.azurite.connection_string).get_queue_client("work")
    queue.create_queue()
    queue.send_message(base64.b64encode(b"doomed").decode())
    for _ in range(host.max_dequeue):  # five hosts took it and were killed before finishing
        assert list(queue.receive_messages(visibility_timeout=1))
        time.sleep(1.1)

    with ThreadPoolExecutor(max_workers=1) as pool:
        host._poll_all(pool)

    assert not runs.exists()
    poison = QueueServiceClient.from_connection_string(fresh.azurite.connection_string).get_queue_client("work-poison")
    (moved,) = poison.peek_messages()
    assert base64.b64decode(moved.content) == b"doomed"


# A function app whose queue function outlives its hold on the message: another host took the message over and
# finished it (here: the queue is emptied under it), so the pop receipt this host holds is worth nothing.
OVERTAKEN_APP = """
import os

import azure.functions as func
from azure.storage.queue import QueueClient

app = func.FunctionApp()


@app.queue_trigger(arg_name="msg", queue_name="work", connection="AzureWebJobsStorage")
def work(msg: func.QueueMessage) -> None:
    QueueClient.from_connection_string(os.environ["AzureWebJobsStorage"], "work").clear_messages()
    if msg.get_body() == b"fails":
        raise RuntimeError("failed after losing the message")
"""


@pytest.mark.parametrize("body", [b"succeeds", b"fails"])
def test_a_message_taken_over_by_another_host_does_not_stop_this_one(
    fresh: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: bytes
) -> None:
    """Deleting (or releasing) a message whose hold lapsed meanwhile fails at the storage service; the Functions
    host shrugs that off (the message is another host's now), and so must this one, not stop every trigger."""
    (tmp_path / "function_app.py").write_text(OVERTAKEN_APP)
    (tmp_path / "host.json").write_text((ROOT / "host.json").read_text())
    monkeypatch.setenv("AzureWebJobsStorage", fresh.azurite.connection_string)
    monkeypatch.setattr(sys, "path", list(sys.path))
    host = load_host(tmp_path)
    queue = QueueServiceClient.from_connection_string(fresh.azurite.connection_string).get_queue_client("work")
    queue.create_queue()
    queue.send_message(base64.b64encode(body).decode())

    with ThreadPoolExecutor(max_workers=1) as pool:
        assert host._poll_all(pool) == 1
    assert not host._busy(), "the host goes on"
    assert (host.completed, host.failed) == ((1, 0) if body == b"succeeds" else (0, 1))


def test_two_hosts_at_once_queue_capture_and_import_each_meeting_once(fresh: World, tenant: Tenant) -> None:
    """Two instances run every timer, poll the same queues and containers, and reach Zoom and Graph at once:
    each meeting is queued once and captured once (whichever source lists it, its breakout room too), each
    mailbox gets each item once, and no invocation fails because the other instance holds a claim."""
    alice, bob, carol = tenant.person("Alice Archer"), tenant.person("Bob Baker"), tenant.person("Carol Cho")
    board = tenant.meeting(
        alice, "Board", attendees=[(alice, 0, 30), (bob, 0, 30)], archive=[ArchiveFile("MP4", b"archived video")]
    )
    room = [ArchiveFile("M4A", b"room audio"), ArchiveFile("SUB_GROUP_MEMBER_LOG", member_log(carol.email))]
    tenant.breakout_room(board, "Pricing", attendees=[(carol, 0, 10)], archive=room)
    tenant.meeting(bob, "Standup", cloud_recording=False, attendees=[(bob, 0, 15), (carol, 1, 15)], days_ago=3)
    for n in range(4):
        tenant.meeting(carol, f"Review {n}", attendees=[(carol, 0, 30), (alice, 0, 30), (bob, 2, 30)])
    tenant.apply(fresh)
    fresh.graph.seed({**tenant.graph_seed(), "latency": 0.1})
    env = host_environment(fresh.app_settings(ZOOM_SOURCES="recordings,archiving,meetings"))
    command = [sys.executable, "-m", "local.host", "--once", "--root", str(ROOT)]

    hosts = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [host.communicate(timeout=300)[0] for host in hosts]

    assert [host.returncode for host in hosts] == [0, 0], "\n".join(outputs)
    runs = Counter(m[1] for out in outputs for m in re.finditer(r"\] (\w+) .*: started$", out, re.MULTILINE))
    assert runs["capture_meeting"] == 6, f"each meeting captured once, by one host: {runs}"
    assert runs["import_message"] == 6 and not runs["retry_import"], f"each message imported once: {runs}"
    assert not [line for out in outputs for line in out.splitlines() if ": failed: " in line]
    details = Counter(r["path"] for r in fresh.zoom.requests() if re.fullmatch(r"/v2/past_meetings/[^/]+", r["path"]))
    assert len(details) == 6 and set(details.values()) == {1}, f"Zoom asked once per meeting: {details}"
    graph = GraphReader(fresh)
    held = {
        p.name: sorted(i["subject"].split(" - ")[0] for i in graph.items(p, graph.folder(p) or ""))
        for p in (alice, bob, carol)
    }
    reviews = [f"Review {n}" for n in range(4)]
    assert held == {
        "Alice Archer": sorted(["Board", *reviews]),
        "Bob Baker": sorted(["Board", "Standup", *reviews]),
        "Carol Cho": sorted(["Board", "Standup", *reviews]),
    }


def test_each_line_the_host_prints_is_whole_however_many_invocations_run_at_once(
    fresh: World, recording_app: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    """Its output is read line by line (the kill test tells from it which stages were running when it struck)."""
    app, _ = recording_app
    host = load_host(app)
    (work,) = [t for t in host.triggers if t.name == "work"]
    capfd.readouterr()

    def invoke(n: int) -> None:
        for attempt in range(100):
            host._invoke(Trigger("work", work.binding, lambda _: None), None, f"message {n} (attempt {attempt})")

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(invoke, range(16)))

    lines = capfd.readouterr().out.splitlines()
    assert len(lines) == 2 * 16 * 100
    assert all(
        re.fullmatch(r"\[[\d:]+\] work message \d+ \(attempt \d+\): (started|ok \(0\.0s\))", line) for line in lines
    )
