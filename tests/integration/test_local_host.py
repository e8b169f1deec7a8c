"""The local host runs function_app.py as the Functions host would: retries, poison queues, start-up checks."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import ContainerClient
from azure.storage.queue import QueueClient, QueueServiceClient

from local.host import LocalHost
from local.world import ROOT, World
from shared.records import archive_key
from shared.zoom import encode_uuid
from tests.tenant import File, Tenant

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
