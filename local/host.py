"""A local Functions host: runs `function_app.py` against Azurite without Azure Functions Core Tools.

`python -m local.host --once` loads the app through the `azure-functions` library's own metadata
(`app.get_functions()`), fires each timer once, each followed by the queue and blob triggers until nothing is left,
and exits non-zero when anything ended in a poison queue. Without `--once` it keeps running like
`func start`: timers on their NCRONTAB schedules, queues and blob containers polled.

What it honours, as the real host does: `local.settings.json` values (the environment wins),
`%SETTING%` expressions in trigger arguments, `host.json` queue settings (`messageEncoding`, `batchSize`
and `newBatchThreshold`: a new batch is fetched as soon as the messages still running are down to the
threshold, not once the whole batch is done; `maxDequeueCount` then `<queue>-poison`, `visibilityTimeout`
between retries) and blob settings (`maxDegreeOfParallelism` blobs at a time, started as others finish;
`poisonBlobThreshold` then `webjobs-blobtrigger-poison`, receipts in `azure-webjobs-hosts` so a blob is
processed once per version, by one of the hosts polling the same storage: the one that leases its receipt),
and `AzureFunctionsJobHost__*` overrides. Queue and blob triggers run side by
side, each on its own workers.
The blob trigger uses Event Grid in Azure; here it is polled. A blob trigger whose parameter is an SDK type
(`azurefunctions.extensions.bindings.blob.BlobClient`...) gets what the host gives it, the blob's client, built
by the extension from the binding's connection, container and blob name; otherwise it gets the blob's bytes
(`func.InputStream`). With `--port` it also serves the HTTP
triggers at `http://127.0.0.1:PORT/api/<route>`, honouring their auth level as Azure does: `anonymous`
needs nothing, `function` and `admin` need the key given with `--function-key` (one key stands for the
function and master keys here), sent as the `code` query parameter or the `x-functions-key` header. It is
a development and test tool; it does not claim parity with the real host.
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import importlib
import json
import os
import re
import secrets
import sys
import threading
import time
import traceback
import typing
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.functions import HttpRequest, HttpResponse
from azure.functions.blob import InputStream
from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import (
    BinaryBase64DecodePolicy,
    BinaryBase64EncodePolicy,
    QueueClient,
    QueueServiceClient,
)
from azurefunctions.extensions.base import Datum
from azurefunctions.extensions.bindings.blob import BlobClientConverter

from shared.ncrontab import Schedule
from shared.settings import local_settings

HOST_ID = "local"
RECEIPTS_CONTAINER = "azure-webjobs-hosts"
BLOB_POISON_QUEUE = "webjobs-blobtrigger-poison"
IDLE_SLEEP = 0.2
# Seconds a message or blob being run is hidden from other hosts, renewed every third of it while it runs.
# Azure's listener holds 10 minutes; here a killed host's work comes back within this.
LEASE = 30.0
BUSY_SLEEP = 0.05  # between two polls while invocations are running
BLOB_POLL = 1.0  # seconds between two listings of a blob container while busy
_OUTPUT = threading.Lock()


def _duration(text: str) -> timedelta:
    hours, minutes, seconds = (float(p) for p in text.split(":"))
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def load_local_settings(root: Path) -> None:
    """Like `func start`: local.settings.json Values become environment variables unless already set."""
    for name, value in local_settings(root / "local.settings.json").items():
        os.environ.setdefault(name, value)


def host_settings(root: Path) -> dict[str, Any]:
    """host.json, with `AzureFunctionsJobHost__a__b` environment overrides applied."""
    settings = json.loads((root / "host.json").read_text())
    for name, value in os.environ.items():
        if name.startswith("AzureFunctionsJobHost__"):
            *path, leaf = name.split("__")[1:]
            node = settings
            for key in path:
                node = node.setdefault(key, {})
            node[leaf] = value
    return settings


def expand(value: str) -> str:
    """Binding expressions `%NAME%` resolve from app settings."""
    return re.sub(r"%([^%]+)%", lambda m: os.environ[m.group(1)], value)


@dataclass
class Trigger:
    name: str
    binding: dict[str, Any]
    call: Any  # the user function

    @property
    def kind(self) -> str:
        return self.binding["type"]


class LocalHost:
    def __init__(self, root: Path):
        self.root = root
        load_local_settings(root)
        self.settings = host_settings(root)
        sys.path.insert(0, str(root))
        module = importlib.import_module("function_app")
        self.triggers = []
        for function in module.app.get_functions():  # once: a second call raises on duplicate names
            metadata = json.loads(function.get_function_json())
            trigger = next(b for b in metadata["bindings"] if b["type"].endswith("Trigger"))
            self.triggers.append(Trigger(function.get_function_name(), trigger, function.get_user_function()))
        queues = self.settings.get("extensions", {}).get("queues", {})
        blobs = self.settings.get("extensions", {}).get("blobs", {})
        self.batch_size = int(queues.get("batchSize", 16))
        self.new_batch_threshold = int(queues.get("newBatchThreshold", self.batch_size // 2))
        self.max_dequeue = int(queues.get("maxDequeueCount", 5))
        self.retry_delay = _duration(str(queues.get("visibilityTimeout", "00:00:00")))
        self.base64 = str(queues.get("messageEncoding", "base64")).lower() == "base64"
        self.blob_parallelism = int(blobs.get("maxDegreeOfParallelism", 8))
        self.blob_poison_threshold = int(blobs.get("poisonBlobThreshold", 5))
        self.lock = threading.Lock()
        self.storage_lock = threading.Lock()
        self.queues: dict[tuple[str, str], QueueClient] = {}
        self.blob_services: dict[str, BlobServiceClient] = {}
        self.poisoned = 0
        self.completed = 0
        self.failed = 0
        self.running: dict[str, set[str]] = {t.name: set() for t in self.triggers}  # messages or receipts
        self.host_errors: list[BaseException] = []
        self.backlog: dict[str, list[tuple[str, Any]]] = {t.name: [] for t in self.triggers}  # blobs listed, to start
        self.listed: dict[str, float] = dict.fromkeys(self.running, 0.0)  # when each container was last listed

    # --- storage ----------------------------------------------------------------------------------

    def _connection(self, binding: dict[str, Any]) -> str:
        name = binding.get("connection") or "AzureWebJobsStorage"
        return os.environ[name]

    def _queue(self, binding: dict[str, Any], name: str) -> QueueClient:
        """The queue's client, made (and the queue created) on first use only: the loops ask for it every poll."""
        key = (self._connection(binding), name)
        with self.storage_lock:
            if key not in self.queues:
                codec = (
                    {
                        "message_encode_policy": BinaryBase64EncodePolicy(),
                        "message_decode_policy": BinaryBase64DecodePolicy(),
                    }
                    if self.base64
                    else {}
                )
                queue = QueueServiceClient.from_connection_string(key[0]).get_queue_client(name, **codec)
                try:
                    queue.create_queue()
                except ResourceExistsError:
                    pass
                self.queues[key] = queue
            return self.queues[key]

    def _blob_service(self, binding: dict[str, Any]) -> BlobServiceClient:
        """The storage account's blob client, made (and the receipts container created) on first use only."""
        connection = self._connection(binding)
        with self.storage_lock:
            if connection not in self.blob_services:
                service = BlobServiceClient.from_connection_string(connection)
                try:
                    service.get_container_client(RECEIPTS_CONTAINER).create_container()
                except ResourceExistsError:
                    pass
                self.blob_services[connection] = service
            return self.blob_services[connection]

    # --- invocations ------------------------------------------------------------------------------

    def _invoke(self, trigger: Trigger, argument: Any, label: str, result: Any = None) -> bool:
        started = time.monotonic()
        _say(f"{trigger.name} {label}: started")
        try:
            returned = trigger.call(argument)
            if result is not None:
                result(returned)
        except Exception as error:
            with self.lock:
                self.failed += 1
            detail = "".join(traceback.format_exception_only(error)).strip().splitlines()[-1]
            _say(f"{trigger.name} {label}: failed: {detail}")
            return False
        with self.lock:
            self.completed += 1
        _say(f"{trigger.name} {label}: ok ({time.monotonic() - started:.1f}s)")
        return True

    def fire_timer(self, trigger: Trigger) -> bool:
        return self._invoke(trigger, TimerRequest(past_due=False), "timer")

    def poll_queue(self, trigger: Trigger, pool: ThreadPoolExecutor) -> int:
        """Start the function on a batch of visible messages once those still running are down to
        `newBatchThreshold`, as the Functions host does; returns how many it started."""
        if len(self.running[trigger.name]) > self.new_batch_threshold:
            return 0
        queue_name = expand(trigger.binding["queueName"])
        queue = self._queue(trigger.binding, queue_name)
        received = list(queue.receive_messages(max_messages=min(32, self.batch_size), visibility_timeout=LEASE))
        for message in received:
            self._start(pool, trigger, message.id, self._run_message, trigger, queue, queue_name, message)
        return len(received)

    def _start(self, pool: ThreadPoolExecutor, trigger: Trigger, key: str, work: Any, *args: Any) -> None:
        """Run `work` on the pool, counted among the trigger's running invocations until it returns."""
        with self.lock:
            self.running[trigger.name].add(key)

        def done(future: Future[None]) -> None:
            with self.lock:
                self.running[trigger.name].discard(key)
                if future.exception() is not None:  # an error of the host itself, not of the function
                    self.host_errors.append(future.exception())

        pool.submit(work, *args).add_done_callback(done)

    def _run_message(self, trigger: Trigger, queue: QueueClient, queue_name: str, message: Any) -> None:
        body = message.content if isinstance(message.content, bytes) else str(message.content).encode()
        if message.dequeue_count > self.max_dequeue:  # received that often and never finished: its workers died
            with self._settling(trigger, message):
                self._poison_message(trigger, queue, queue_name, message, body)
            return
        argument = QueueMessage(
            id=message.id,
            body=body,
            dequeue_count=message.dequeue_count,
            pop_receipt=message.pop_receipt,
            insertion_time=message.inserted_on,
            expiration_time=message.expires_on,
            time_next_visible=message.next_visible_on,
        )
        with _Renewed(lambda: _hide(queue, message, LEASE)):
            ok = self._invoke(trigger, argument, f"message {message.id[:8]} (attempt {message.dequeue_count})")
        with self._settling(trigger, message):
            if ok:
                queue.delete_message(message)
            elif message.dequeue_count >= self.max_dequeue:
                self._poison_message(trigger, queue, queue_name, message, body)
            else:
                queue.update_message(message, visibility_timeout=int(self.retry_delay.total_seconds()))

    @contextlib.contextmanager
    def _settling(self, trigger: Trigger, message: Any) -> Any:
        """Deleting, releasing or poisoning a message fails when its hold lapsed and another host took it over
        (the pop receipt is stale), or when storage fails for a moment: as the Functions host does, this one
        says so and goes on; the message is the other host's now, or comes back when its hold lapses."""
        try:
            yield
        except AzureError as error:
            _say(f"{trigger.name} message {message.id[:8]}: left as it is ({type(error).__name__})")

    def _poison_message(self, trigger: Trigger, queue: QueueClient, name: str, message: Any, body: bytes) -> None:
        self._queue(trigger.binding, f"{name}-poison").send_message(body)
        queue.delete_message(message)
        with self.lock:
            self.poisoned += 1
        _say(f"{trigger.name}: message {message.id[:8]} moved to {name}-poison")

    def poll_blobs(self, trigger: Trigger, pool: ThreadPoolExecutor, *, relist: bool = True) -> int:
        """Start the function on the blob versions that have no receipt yet and are not running, up to
        `maxDegreeOfParallelism` at a time; returns how many it started. The container is listed when asked
        (`relist`), or once what the last listing found has all been started and BLOB_POLL seconds have passed:
        a container of thousands of blobs is listed once for all of them, not at every poll."""
        container_name, _, prefix = expand(trigger.binding["path"]).partition("/")
        service = self._blob_service(trigger.binding)
        container = service.get_container_client(container_name)
        receipts = service.get_container_client(RECEIPTS_CONTAINER)
        backlog = self.backlog[trigger.name]
        if relist or (not backlog and time.monotonic() >= self.listed[trigger.name] + BLOB_POLL):
            self.listed[trigger.name] = time.monotonic()
            try:
                backlog[:] = self._unprocessed(trigger, container, receipts, prefix.split("{", 1)[0])
            except ResourceNotFoundError:
                return 0
        with self.lock:
            running = set(self.running[trigger.name])
        started = 0
        while backlog and started < self.blob_parallelism - len(running):
            name, blob = backlog.pop(0)
            if name not in running:
                receipt = receipts.get_blob_client(name)
                self._start(pool, trigger, name, self._run_blob, trigger, container, container_name, blob, receipt)
                started += 1
        return started

    def _unprocessed(self, trigger: Trigger, container: Any, receipts: Any, prefix: str) -> list[tuple[str, Any]]:
        """The container's blob versions that have no receipt saying they are done, by receipt name."""
        blobs = list(container.list_blobs(name_starts_with=prefix or None))
        done = {
            r.name
            for r in receipts.list_blobs(name_starts_with=self._receipt_prefix(trigger), include=["metadata"])
            if (r.metadata or {}).get("done") == "true"
        }
        named = ((self._receipt_name(trigger, container.container_name, blob), blob) for blob in blobs)
        return [(name, blob) for name, blob in named if name not in done]

    def _receipt_prefix(self, trigger: Trigger) -> str:
        return f"blobreceipts/{HOST_ID}/Host.Functions.{trigger.name}/"

    def _receipt_name(self, trigger: Trigger, container: str, blob: Any) -> str:
        etag = str(blob.etag).strip('"')
        return f"{self._receipt_prefix(trigger)}{etag}/{container}/{blob.name}"

    def _blob_argument(self, trigger: Trigger, container: Any, container_name: str, name: str) -> Any:
        """What the function's blob parameter takes: an SDK type made from the blob's reference (the bytes stay
        in storage), or the blob's bytes."""
        parameter = typing.get_type_hints(trigger.call).get(trigger.binding["name"])
        if isinstance(parameter, type) and BlobClientConverter.check_input_type_annotation(parameter):
            reference = {
                "Connection": trigger.binding.get("connection") or "AzureWebJobsStorage",
                "ContainerName": container_name,
                "BlobName": name,
            }
            data = _ModelBindingData("1.0", "AzureStorageBlobs", "application/json", json.dumps(reference))
            return BlobClientConverter.decode(Datum(data, "model_binding_data"), trigger_metadata={}, pytype=parameter)
        data = container.download_blob(name).readall()
        return InputStream(data=data, name=f"{container_name}/{name}", length=len(data), uri=container.url)

    def _run_blob(self, trigger: Trigger, container: Any, container_name: str, blob: Any, receipt: Any) -> None:
        """Run the function on one blob version, unless another host is running it: its receipt is leased while
        it runs, and counts the attempts started, so a blob whose workers keep dying is poisoned too (in Azure
        the trigger's internal queue message counts them). A storage hiccup leaves the blob to the next listing."""
        try:
            self._run_leased_blob(trigger, container, container_name, blob, receipt)
        except AzureError as error:
            _say(f"{trigger.name} {blob.name}: left for later ({type(error).__name__})")

    def _run_leased_blob(self, trigger: Trigger, container: Any, container_name: str, blob: Any, receipt: Any) -> None:
        with contextlib.suppress(ResourceExistsError):
            receipt.upload_blob(b"", overwrite=False)
        try:
            lease = receipt.acquire_lease(lease_duration=int(LEASE))
        except HttpResponseError:
            return  # another host holds it: that one runs it
        try:
            with _Renewed(lease.renew):
                metadata = dict(receipt.get_blob_properties().metadata or {})
                if metadata.get("done") == "true":
                    return  # finished by another host since the listing
                attempts = int(metadata.get("attempts", "0"))
                if attempts < self.blob_poison_threshold:
                    receipt.set_blob_metadata({"attempts": str(attempts + 1)}, lease=lease)
                    argument = self._blob_argument(trigger, container, container_name, blob.name)
                    if self._invoke(trigger, argument, blob.name):
                        receipt.set_blob_metadata({"done": "true"}, lease=lease)
                        return
                    attempts += 1
                if attempts >= self.blob_poison_threshold:
                    self._poison_blob(trigger, container_name, blob)
                    receipt.set_blob_metadata({"done": "true", "attempts": str(attempts)}, lease=lease)
        finally:
            with contextlib.suppress(HttpResponseError):
                lease.release()

    def _poison_blob(self, trigger: Trigger, container_name: str, blob: Any) -> None:
        message = {
            "FunctionId": f"Host.Functions.{trigger.name}",
            "BlobType": "BlockBlob",
            "ContainerName": container_name,
            "BlobName": blob.name,
            "ETag": str(blob.etag),
        }
        self._queue(trigger.binding, BLOB_POISON_QUEUE).send_message(json.dumps(message).encode())
        with self.lock:
            self.poisoned += 1
        _say(f"{trigger.name}: {blob.name} moved to {BLOB_POISON_QUEUE}")

    # --- HTTP -------------------------------------------------------------------------------------

    def serve_http(self, port: int, key: str) -> ThreadingHTTPServer:
        """Serve the HTTP triggers on 127.0.0.1:port, in background threads, until the process ends."""
        routes = {
            "/api/" + t.binding.get("route", t.name).strip("/"): t for t in self.triggers if t.kind == "httpTrigger"
        }
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host._http(self, routes, key)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass  # one line per invocation is printed instead, without the query (it may hold the key)

        server = _HttpServer(("127.0.0.1", port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def _http(self, handler: BaseHTTPRequestHandler, routes: dict[str, Trigger], key: str) -> None:
        parts = urlsplit(handler.path)
        params = dict(parse_qsl(parts.query))
        trigger = routes.get(parts.path.rstrip("/"))
        if trigger is None:
            return _reply(handler, HttpResponse("Not Found", status_code=404))
        methods = [m.upper() for m in trigger.binding.get("methods") or []]
        if methods and handler.command not in methods:
            return _reply(handler, HttpResponse("Method Not Allowed", status_code=405))
        level = str(trigger.binding.get("authLevel", "function")).lower()
        code = params.pop("code", "")
        given = handler.headers.get("x-functions-key") or code
        if level != "anonymous" and not hmac.compare_digest(given.encode(), key.encode()):
            return _reply(handler, HttpResponse("Unauthorized", status_code=401))
        length = int(handler.headers.get("Content-Length") or 0)
        request = HttpRequest(
            method=handler.command,
            url=f"http://{handler.headers.get('Host', '127.0.0.1')}{handler.path}",
            headers=dict(handler.headers.items()),
            params=params,
            route_params={},
            body=handler.rfile.read(length) if length else b"",
        )
        response: list[HttpResponse] = []
        if not self._invoke(trigger, request, f"{handler.command} {parts.path}", response.append):
            return _reply(handler, HttpResponse("Internal Server Error", status_code=500))
        _reply(handler, response[0])

    # --- loops ------------------------------------------------------------------------------------

    def _outstanding(self) -> int:
        """Messages still in the trigger queues, visible or waiting for a retry."""
        total = 0
        for trigger in self.triggers:
            if trigger.kind == "queueTrigger":
                queue = self._queue(trigger.binding, expand(trigger.binding["queueName"]))
                total += queue.get_queue_properties().approximate_message_count
        return total

    def _workers(self) -> int:
        """Threads enough for every queue and blob invocation the settings allow at once."""
        queues = sum(t.kind == "queueTrigger" for t in self.triggers)
        blobs = sum(t.kind == "blobTrigger" for t in self.triggers)
        return max(1, queues * (self.batch_size + self.new_batch_threshold) + blobs * self.blob_parallelism)

    def run_once(self) -> int:
        """Each timer once, in the order function_app.py declares them, each followed by draining the queues
        and blobs, so a later timer (the completeness report) sees the work of an earlier one done."""
        timers_ok = True
        with ThreadPoolExecutor(max_workers=self._workers()) as pool:
            for trigger in self.triggers:
                if trigger.kind == "timerTrigger":
                    timers_ok = self.fire_timer(trigger) and timers_ok
                    self._drain(pool)
            self._drain(pool)
        return self._report() or (0 if timers_ok else 1)

    def _drain(self, pool: ThreadPoolExecutor) -> None:
        while True:
            started = self._poll_all(pool, every_blob=False)
            if not started and not self._busy() and self._outstanding() == 0 and not self._poll_all(pool):
                return
            time.sleep(BUSY_SLEEP if started or self._busy() else IDLE_SLEEP)

    def _busy(self) -> bool:
        """Whether an invocation is running; an error of the host itself is raised here, loudly."""
        with self.lock:
            if self.host_errors:
                raise self.host_errors[0]
            return any(self.running.values())

    def run_forever(self) -> None:
        schedules = {t.name: Schedule(expand(t.binding["schedule"])) for t in self.triggers if t.kind == "timerTrigger"}
        due = {name: schedule.next_after(datetime.now(UTC)) for name, schedule in schedules.items()}
        _say(f"local host running; next timers: {', '.join(f'{n} {d:%H:%M:%S}' for n, d in due.items())}")
        with ThreadPoolExecutor(max_workers=self._workers()) as pool:
            while True:
                now = datetime.now(UTC)
                for trigger in self.triggers:
                    if trigger.kind == "timerTrigger" and due[trigger.name] <= now:
                        self.fire_timer(trigger)
                        due[trigger.name] = schedules[trigger.name].next_after(datetime.now(UTC))
                if not self._poll_all(pool, every_blob=False):
                    time.sleep(BUSY_SLEEP if self._busy() else 1.0)

    def _poll_all(self, pool: ThreadPoolExecutor, *, every_blob: bool = True) -> int:
        """Poll each queue and each blob container; `every_blob` lists each container again, else blobs the last
        listing found are started first (listing thousands of blobs is what a busy host would spend its time on)."""
        worked = 0
        for trigger in self.triggers:
            if trigger.kind == "queueTrigger":
                worked += self.poll_queue(trigger, pool)
            elif trigger.kind == "blobTrigger":
                worked += self.poll_blobs(trigger, pool, relist=every_blob)
        return worked

    def _report(self) -> int:
        _say(
            f"done: {self.completed} invocation(s) succeeded, {self.failed} failed, "
            f"{self.poisoned} moved to a poison queue"
        )
        return 1 if self.poisoned else 0


class _Renewed:
    """Calls `renew` every third of LEASE while the block runs (a lease on the work, kept while it is done)."""

    def __init__(self, renew: Any):
        self.renew = renew
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> None:
        self.thread.start()

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.stopped.wait(LEASE / 3):
            with contextlib.suppress(AzureError):
                self.renew()


def _hide(queue: QueueClient, message: Any, seconds: float) -> None:
    """Keep a message being run invisible for `seconds` more; its new pop receipt is kept on it."""
    updated = queue.update_message(message, visibility_timeout=int(seconds))
    message.pop_receipt, message.next_visible_on = updated.pop_receipt, updated.next_visible_on


@dataclass(frozen=True)
class _ModelBindingData:
    """The reference to a blob the host gives an SDK-type binding instead of its bytes."""

    version: str
    source: str
    content_type: str
    content: str


class _HttpServer(ThreadingHTTPServer):
    """A burst of webhooks (Zoom sends one per recording as they finish) waits in the backlog, not refused."""

    daemon_threads = True
    request_queue_size = 128


def _reply(handler: BaseHTTPRequestHandler, response: HttpResponse) -> None:
    body = response.get_body()
    handler.send_response(response.status_code)
    headers = dict(response.headers)
    if response.mimetype and not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = response.mimetype + (f"; charset={response.charset}" if response.charset else "")
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _say(line: str) -> None:
    """One line of the host's output, timed, written whole: invocations on many threads print at once, and what
    reads the output (the kill test) reads it line by line."""
    with _OUTPUT:
        sys.stdout.write(f"[{_clock()}] {line}\n")
        sys.stdout.flush()


def _clock() -> str:
    return datetime.now().strftime("%H:%M:%S")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--once", action="store_true", help="fire timers once, drain queues and blobs, then exit")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="folder holding function_app.py")
    parser.add_argument("--port", type=int, default=0, help="serve the HTTP triggers on 127.0.0.1:PORT")
    parser.add_argument("--function-key", default="", help="the key HTTP triggers ask for (default: a random one)")
    args = parser.parse_args(argv)
    try:
        host = LocalHost(args.root.resolve())
    except Exception as error:  # the app refused to start (e.g. bad settings): say why, like the real host
        print(f"The function app failed to start:\n{error}", file=sys.stderr)
        return 2
    if args.port:
        key = args.function_key or secrets.token_urlsafe(24)
        host.serve_http(args.port, key)
        shown = "given with --function-key" if args.function_key else key
        _say(f"HTTP triggers on http://127.0.0.1:{args.port}/api/ (function key: {shown})")
    if args.once:
        return host.run_once()
    host.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
