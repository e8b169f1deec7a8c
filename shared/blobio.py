"""File objects over block blobs: write one block by block, read one range by range.

The capture stage streams recordings into blob storage and the archived message out to it with these, and
the import reads the message back by ranges (`BlobSource`), so memory stays at a few blocks whatever a
recording's size. Each transfers the next block in a background thread while the caller produces or
consumes the current one, so that network and work overlap.
"""

from __future__ import annotations

import base64
import contextvars
import io
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property
from typing import BinaryIO

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobBlock, BlobClient, ContentSettings

BLOCK_SIZE = 4 * 1024 * 1024
IN_FLIGHT = 2  # blocks a writer may be staging at once


class BlockBlobWriter(io.RawIOBase):
    """Stages a block each time one is full, and commits the block list in `commit`.

    Until the commit the blob does not exist (nobody can read half of it, and no blob-created event fires);
    the uncommitted blocks of a writer that never commits are dropped by the service after a week. With
    `once`, the commit is made with `If-None-Match: *`, so an existing blob is never replaced. Each writer's
    block ids are its own: two writers of one blob never commit each other's blocks.
    """

    def __init__(self, blob: BlobClient, content_type: str, *, once: bool, block_size: int = BLOCK_SIZE):
        super().__init__()
        self.blob = blob
        self.content_type = content_type
        self.once = once
        self.block_size = block_size
        self._buffer = bytearray()
        self._blocks: list[BlobBlock] = []
        self._pool = ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="stage-block")
        self._staging: deque[Future[object]] = deque()
        self._writer = uuid.uuid4().hex

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._buffer += data
        while len(self._buffer) >= self.block_size:
            self._stage(bytes(self._buffer[: self.block_size]))
            del self._buffer[: self.block_size]
        return len(data)

    def commit(self) -> bool:
        """Make the blob; False when `once` and the blob already existed (it is left as it was)."""
        if self._buffer:
            self._stage(bytes(self._buffer))
            self._buffer.clear()
        while self._staging:
            self._staging.popleft().result()
        self.close()
        conditions = {"match_condition": MatchConditions.IfMissing} if self.once else {}
        try:
            self.blob.commit_block_list(
                self._blocks, content_settings=ContentSettings(content_type=self.content_type), **conditions
            )
        except ResourceExistsError:
            if self.once:
                return False
            raise
        return True

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)
        super().close()

    def _stage(self, data: bytes) -> None:
        if len(self._staging) >= IN_FLIGHT:
            self._staging.popleft().result()  # raises the first failure, and bounds memory
        # Block ids must all have the same length within a blob; they are this writer's own, because another
        # writer of the same blob (a capture that took over a stalled one's claim) stages its blocks beside them.
        block_id = base64.b64encode(f"{self._writer}-{len(self._blocks):08d}".encode()).decode()
        # In the caller's context, so that what the SDK logs there carries the unit of work's dimensions.
        work = contextvars.copy_context().run
        self._staging.append(self._pool.submit(work, self.blob.stage_block, block_id, data, length=len(data)))
        self._blocks.append(BlobBlock(block_id))


class BlobReader(io.RawIOBase):
    """A committed blob of known size (or its bytes from `start` to `size`), read one block-sized range at a
    time, the next one fetched ahead."""

    def __init__(self, blob: BlobClient, size: int, start: int = 0):
        super().__init__()
        self.blob = blob
        self.size = size
        self._requested = start  # where the next range starts
        self._current = memoryview(b"")
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="read-ahead")
        self._next = self._fetch()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._current and self._next is not None:
            self._current = memoryview(self._next.result())
            self._next = self._fetch()
        count = min(len(buffer), len(self._current))
        buffer[:count] = self._current[:count]
        self._current = self._current[count:]
        return count

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)
        super().close()

    def _fetch(self) -> Future[bytes] | None:
        length = min(BLOCK_SIZE, self.size - self._requested)
        if length <= 0:
            return None
        offset, self._requested = self._requested, self._requested + length
        work = contextvars.copy_context().run
        return self._pool.submit(work, lambda: self.blob.download_blob(offset=offset, length=length).readall())


def open_blob(blob: BlobClient, size: int, start: int = 0) -> io.BufferedReader:
    """The blob's bytes from `start` to `size`, as a file."""
    return io.BufferedReader(BlobReader(blob, size, start), buffer_size=BLOCK_SIZE)


class BlobSource:
    """A committed blob read by ranges, as the message reader reads an archived message. Its size is asked for
    once, when first needed; its first block is read once and kept, so that the many small reads of a message's
    headers and bodies (all of a small message) cost one request."""

    def __init__(self, blob: BlobClient):
        self.blob = blob

    @cached_property
    def size(self) -> int:
        return self.blob.get_blob_properties().size

    @cached_property
    def _head(self) -> bytes:
        length = min(BLOCK_SIZE, self.size)
        return self.blob.download_blob(offset=0, length=length).readall() if length else b""

    def read(self, offset: int, length: int) -> bytes:
        length = min(length, self.size - offset)
        if length <= 0:
            return b""
        if offset + length <= len(self._head):
            return self._head[offset : offset + length]
        return self.blob.download_blob(offset=offset, length=length).readall()

    def open(self, start: int, end: int) -> BinaryIO:
        if end <= len(self._head):
            return io.BytesIO(self._head[start:end])
        return open_blob(self.blob, end, start)
