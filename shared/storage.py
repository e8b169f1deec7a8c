"""The storage account: names of the queues, containers and tables the archiver uses, and their clients.

Queue messages are base64 text, as the Functions queue trigger expects (`host.json` messageEncoding).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from functools import cached_property

from azure.core import MatchConditions
from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient, TableServiceClient
from azure.storage.blob import BlobClient, BlobServiceClient, ContainerClient
from azure.storage.queue import QueueClient, QueueServiceClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from shared.blobio import BlockBlobWriter
from shared.settings import StorageConnection

MEETINGS_QUEUE = "meetings"
IMPORTS_QUEUE = "imports"  # archived messages the sweep imports again (the blob trigger imports them first)
# Where the Functions host moves a message that failed every attempt (host.json maxDequeueCount and
# poisonBlobThreshold); the sweep reads them all.
BLOB_POISON_QUEUE = "webjobs-blobtrigger-poison"
POISON_QUEUES = (f"{MEETINGS_QUEUE}-poison", f"{IMPORTS_QUEUE}-poison", BLOB_POISON_QUEUE)
MESSAGES_CONTAINER = "messages"
RECORDINGS_CONTAINER = "recordings"
REPORTS_CONTAINER = "reports"
# Recording files on their way into a message or into "recordings": each capture empties what it staged.
# Never write-once; infra/app/storage.bicep also deletes anything a crashed capture left behind.
STAGING_CONTAINER = "staging"
CHECKPOINTS_TABLE = "checkpoints"
MEETINGS_TABLE = "meetings"
DELIVERIES_TABLE = "deliveries"
FOLDERS_TABLE = "mailboxfolders"
WEBHOOK_EVENTS_TABLE = "webhookevents"
# The Zoom account's rate-limit schedules, shared by every instance (shared/zoom/budget.py).
ZOOM_BUDGET_TABLE = "zoombudget"

QUEUES = (MEETINGS_QUEUE, IMPORTS_QUEUE)
CONTAINERS = (MESSAGES_CONTAINER, RECORDINGS_CONTAINER, REPORTS_CONTAINER)  # the archive
WORK_CONTAINERS = (STAGING_CONTAINER,)
# Storage requests ignore the environment's proxy and .netrc settings, as Zoom's and Graph's do (shared/http.py);
# with them, every request looked for ~/.netrc: 9 % of a busy host's CPU.
CLIENT_OPTIONS = {"use_env_settings": False}
COPY_PATIENCE = 600.0  # seconds a server-side copy may take (within one account it is usually done at once)
COPY_POLL = 1.0
TABLES = (
    CHECKPOINTS_TABLE,
    MEETINGS_TABLE,
    DELIVERIES_TABLE,
    FOLDERS_TABLE,
    WEBHOOK_EVENTS_TABLE,
    ZOOM_BUDGET_TABLE,
)


def store_once(container: ContainerClient, name: str, data: bytes | Iterable[bytes], content_type: str) -> None:
    """Write a blob that is never overwritten (If-None-Match: *): its name comes from its content, so an
    existing blob of that name already holds these bytes (and write-once containers refuse overwrites).

    `data` is the bytes, or chunks of them that are not read at all when the blob exists already.
    """
    blob = container.get_blob_client(name)
    if blob.exists():
        return
    writer = BlockBlobWriter(blob, content_type, once=True)
    for chunk in [data] if isinstance(data, bytes) else data:
        writer.write(chunk)
    writer.commit()  # False: a concurrent writer stored the same bytes first


def copy_once(source: BlobClient, container: ContainerClient, name: str, *, patience: float = COPY_PATIENCE) -> None:
    """Copy a committed blob of this storage account to `container/name` server-side, so that its bytes do not
    cross the app again, unless a blob of that name exists (its name comes from its content, as in
    `store_once`). Returns once the copy is complete; raises when it failed or takes longer than `patience`."""
    target = container.get_blob_client(name)
    try:
        status = target.start_copy_from_url(source.url, match_condition=MatchConditions.IfMissing)["copy_status"]
    except ResourceExistsError:
        status = target.get_blob_properties().copy.status  # None: written whole; "pending": a copy of a duplicate
    deadline = time.monotonic() + patience
    while status == "pending" and time.monotonic() < deadline:
        time.sleep(COPY_POLL)
        status = target.get_blob_properties().copy.status
    if status not in (None, "success"):
        raise CopyFailed(f"the copy of {source.blob_name} to {container.container_name}/{name} is {status}")


class CopyFailed(Exception):
    """A server-side copy did not complete: the file is not stored, and the capture fails to be tried again."""


class Storage:
    """Clients for one storage account, created lazily and shared by the stages of one process."""

    def __init__(self, connection: StorageConnection):
        self.connection = connection

    @cached_property
    def _credential(self) -> TokenCredential | None:
        """In Azure the app's managed identity (the configured client id); on an operator's workstation the
        same chain falls through to their `az login`, so the admin CLI needs no key."""
        if not self.connection.uses_identity:
            return None
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential(managed_identity_client_id=self.connection.client_id or None)

    @cached_property
    def blobs(self) -> BlobServiceClient:
        if self.connection.uses_identity:
            return BlobServiceClient(self.connection.blob_url, credential=self._credential, **CLIENT_OPTIONS)
        return BlobServiceClient.from_connection_string(self.connection.connection_string, **CLIENT_OPTIONS)

    @cached_property
    def _queues(self) -> QueueServiceClient:
        if self.connection.uses_identity:
            return QueueServiceClient(self.connection.queue_url, credential=self._credential, **CLIENT_OPTIONS)
        return QueueServiceClient.from_connection_string(self.connection.connection_string, **CLIENT_OPTIONS)

    @cached_property
    def _tables(self) -> TableServiceClient:
        if self.connection.uses_identity:
            return TableServiceClient(self.connection.table_url, credential=self._credential, **CLIENT_OPTIONS)
        return TableServiceClient.from_connection_string(self.connection.connection_string, **CLIENT_OPTIONS)

    def container(self, name: str) -> ContainerClient:
        return self.blobs.get_container_client(name)

    def queue(self, name: str) -> QueueClient:
        """A queue whose messages are base64 text (the service client does not pass its policies on)."""
        return self._queues.get_queue_client(
            name, message_encode_policy=TextBase64EncodePolicy(), message_decode_policy=TextBase64DecodePolicy()
        )

    def raw_queue(self, name: str) -> QueueClient:
        """A queue read as the text it holds, whatever its encoding (the host's own poison queues)."""
        return self._queues.get_queue_client(name)

    def table(self, name: str) -> TableClient:
        return self._tables.get_table_client(name)

    def ensure_created(self) -> None:
        """Create the queues, containers and tables if missing (Bicep creates them in Azure)."""
        for name in QUEUES:
            with contextlib.suppress(ResourceExistsError):
                self.queue(name).create_queue()
        for name in CONTAINERS + WORK_CONTAINERS:
            with contextlib.suppress(ResourceExistsError):
                self.container(name).create_container()
        for name in TABLES:
            self._tables.create_table_if_not_exists(name)
