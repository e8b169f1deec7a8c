"""The local world: Azurite and the two emulators as processes on free ports, and the settings that reach them.

Used by `make run` (local/demo.py), the benchmarks and the test fixtures, so there is one way to start it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from emulators.base import free_port
from emulators.graph.emulator import DEFAULT_CLIENT_ID as GRAPH_CLIENT_ID
from emulators.graph.emulator import DEFAULT_CLIENT_SECRET as GRAPH_CLIENT_SECRET
from emulators.zoom.emulator import DEFAULT_CLIENT_ID as ZOOM_CLIENT_ID
from emulators.zoom.emulator import DEFAULT_CLIENT_SECRET as ZOOM_CLIENT_SECRET
from shared.settings import setting_specs

ROOT = Path(__file__).resolve().parent.parent
AZURITE = ROOT / "node_modules" / ".bin" / "azurite"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
ORGANIZATION_DOMAIN = "contoso.example"
ZOOM_ACCOUNT_ID = "demo-account"
WEBHOOK_SECRET_TOKEN = "demo-webhook-secret"


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} before it was ready")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not open port {port} within {timeout:.0f}s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Azurite:
    process: subprocess.Popen[bytes]
    blob_port: int
    queue_port: int
    table_port: int

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.blob_port}/devstoreaccount1;"
            f"QueueEndpoint=http://127.0.0.1:{self.queue_port}/devstoreaccount1;"
            f"TableEndpoint=http://127.0.0.1:{self.table_port}/devstoreaccount1;"
        )


def start_azurite(workdir: Path) -> Azurite:
    """Azurite in memory (nothing outlives the process); `workdir` holds its debug log when asked for."""
    if not AZURITE.exists():
        raise RuntimeError(f"{AZURITE} is missing: run `make deps` (npm ci) first")
    ports = [free_port() for _ in range(3)]
    workdir.mkdir(parents=True, exist_ok=True)
    command = [
        str(AZURITE),
        "--silent",
        "--inMemoryPersistence",
        "--disableTelemetry",
        "--skipApiVersionCheck",
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(ports[0]),
        "--queueHost",
        "127.0.0.1",
        "--queuePort",
        str(ports[1]),
        "--tableHost",
        "127.0.0.1",
        "--tablePort",
        str(ports[2]),
    ]
    process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for port in ports:
        _wait_for_port(port, process, "Azurite")
    return Azurite(process, *ports)


@dataclass
class EmulatorProcess:
    """A running emulator and its control endpoints (request log, faults, seed)."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    ca_file: Path
    http: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.http.trust_env = False  # REQUESTS_CA_BUNDLE would replace the emulators' CA
        self.http.verify = str(self.ca_file)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def requests(self) -> list[dict[str, Any]]:
        return self.http.get(f"{self.url}/_emulator/requests", timeout=10).json()

    def clear_requests(self) -> None:
        self.http.delete(f"{self.url}/_emulator/requests", timeout=10).raise_for_status()

    def fault(self, *specs: dict[str, Any]) -> None:
        self.http.post(f"{self.url}/_emulator/faults", json=list(specs), timeout=10).raise_for_status()

    def clear_faults(self) -> None:
        self.http.delete(f"{self.url}/_emulator/faults", timeout=10).raise_for_status()

    def seed(self, seed: dict[str, Any], base_dir: Path | None = None) -> None:
        params = {"base": str(base_dir)} if base_dir else None
        self.http.put(f"{self.url}/_emulator/seed", json=seed, params=params, timeout=30).raise_for_status()

    def stop(self) -> None:
        stop_process(self.process)


def start_emulator(name: str, seed_file: Path, cert_dir: Path, *options: str) -> EmulatorProcess:
    port = free_port()
    command = [sys.executable, "-m", f"emulators.{name}", "--port", str(port), "--seed", str(seed_file)]
    command += ["--cert-dir", str(cert_dir), *options]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    _wait_for_port(port, process, f"the {name} emulator")
    return EmulatorProcess(name, process, port, cert_dir / "ca.pem")


@dataclass
class World:
    azurite: Azurite
    zoom: EmulatorProcess
    graph: EmulatorProcess
    workdir: Path
    tenant_id: str

    def empty(self) -> World:
        """Empty the storage, and the emulators' faults and request logs: a run that starts from nothing."""
        connection = self.azurite.connection_string
        blobs = BlobServiceClient.from_connection_string(connection)
        for container in blobs.list_containers():
            blobs.delete_container(container.name)
        queues = QueueServiceClient.from_connection_string(connection)
        for queue in queues.list_queues():
            queues.delete_queue(queue.name)
        tables = TableServiceClient.from_connection_string(connection)
        for table in tables.list_tables():
            tables.delete_table(table.name)
        for emulator in (self.zoom, self.graph):
            emulator.clear_faults()
            emulator.clear_requests()
        return self

    def app_settings(self, **overrides: str) -> dict[str, str]:
        """App settings that point the archiver at this world (as local.settings.json would)."""
        values = {
            "AzureWebJobsStorage": self.azurite.connection_string,
            "ARCHIVE_SCHEDULE": "0 0 2 * * *",
            "ARCHIVE_BACKFILL_DAYS": "30",
            "ARCHIVE_OVERLAP_DAYS": "2",
            "ZOOM_ACCOUNT_ID": ZOOM_ACCOUNT_ID,
            "ZOOM_CLIENT_ID": ZOOM_CLIENT_ID,
            "ZOOM_CLIENT_SECRET": ZOOM_CLIENT_SECRET,
            "ZOOM_API_URL": f"{self.zoom.url}/v2",
            "ZOOM_OAUTH_URL": f"{self.zoom.url}/oauth/token",
            "ZOOM_DOWNLOAD_HOSTS": "127.0.0.1,localhost",
            "GRAPH_TENANT_ID": self.tenant_id,
            "GRAPH_CLIENT_ID": GRAPH_CLIENT_ID,
            "GRAPH_CLIENT_SECRET": GRAPH_CLIENT_SECRET,
            "GRAPH_AUTHORITY_URL": self.graph.url,
            "GRAPH_API_URL": f"{self.graph.url}/v1.0",
            "ORGANIZATION_DOMAINS": ORGANIZATION_DOMAIN,
            "MAILBOX_FOLDER": "Zoom Meetings",
            "MAX_MESSAGE_SIZE_MB": "35",
            "ZOOM_WEBHOOK_SECRET_TOKEN": WEBHOOK_SECRET_TOKEN,
            "RECONCILE_SCHEDULE": "0 0 6 * * *",
            "SWEEP_SCHEDULE": "0 */5 * * * *",
            "RECONCILE_DAYS": "7",
            "TLS_CA_FILE": str(self.graph.ca_file),
            # retries of a failed queue message come quickly in the local world
            "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": "00:00:01",
        }
        return {**values, **overrides}

    def run_host(
        self, env: dict[str, str], timeout: float = 600, stream: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """`python -m local.host --once` with these app settings; its output is shown or captured."""
        return subprocess.run(
            [sys.executable, "-m", "local.host", "--once", "--root", str(ROOT)],
            cwd=ROOT,
            env=host_environment(env),
            capture_output=not stream,
            text=True,
            timeout=timeout,
            check=False,
        )


@contextmanager
def serving_host(env: dict[str, str], function_key: str, log_file: Path) -> Iterator[str]:
    """`python -m local.host` running (timers on schedule, queues and blobs polled) with its HTTP triggers on
    a free port; yields the base URL, e.g. `http://127.0.0.1:PORT/api`, and stops the host on exit."""
    port = free_port()
    command = [sys.executable, "-m", "local.host", "--root", str(ROOT), "--port", str(port)]
    with log_file.open("w") as log:
        process = subprocess.Popen(
            [*command, "--function-key", function_key], cwd=ROOT, env=host_environment(env), stdout=log, stderr=log
        )
        try:
            _wait_for_port(port, process, "the local host")
            yield f"http://127.0.0.1:{port}/api"
        finally:
            stop_process(process)


def host_environment(env: dict[str, str]) -> dict[str, str]:
    """This process's environment without its own app settings, plus `env`: what a local host is started with."""
    app_setting_names = {name for name, _ in setting_specs()}
    return {**{k: v for k, v in os.environ.items() if k not in app_setting_names}, **env}


def start_world(stack: ExitStack, workdir: Path, zoom_seed: Path, graph_seed: Path) -> World:
    """Start Azurite and both emulators (sharing one test CA in workdir/certs); the stack stops them."""
    if workdir.exists():
        shutil.rmtree(workdir)
    cert_dir = workdir / "certs"
    azurite = start_azurite(workdir / "azurite")
    stack.callback(stop_process, azurite.process)
    graph = start_emulator("graph", graph_seed, cert_dir)
    stack.callback(stop_process, graph.process)
    zoom = start_emulator("zoom", zoom_seed, cert_dir)
    stack.callback(stop_process, zoom.process)
    return World(azurite, zoom, graph, workdir, json.loads(graph_seed.read_text())["tenant_id"])
