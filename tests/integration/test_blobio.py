"""Block blobs as files: written block by block and whole or not at all, read back range by range."""

from __future__ import annotations

import os

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from local.world import World
from shared.blobio import BLOCK_SIZE, BlockBlobWriter, open_blob

pytestmark = pytest.mark.integration

DATA = os.urandom(2 * BLOCK_SIZE + 12345)


@pytest.fixture
def container(fresh: World) -> ContainerClient:
    client = BlobServiceClient.from_connection_string(fresh.azurite.connection_string).get_container_client("work")
    client.create_container()
    return client


def write(container: ContainerClient, name: str, data: bytes, *, once: bool) -> BlockBlobWriter:
    writer = BlockBlobWriter(container.get_blob_client(name), "video/mp4", once=once)
    for start in range(0, len(data), 1_000_000):  # in the pieces a download writes
        writer.write(data[start : start + 1_000_000])
    return writer


def test_a_blob_appears_whole_on_commit_and_not_before(container: ContainerClient) -> None:
    writer = write(container, "a.mp4", DATA, once=True)
    assert not list(container.list_blobs())  # staged blocks are not a blob: nobody reads half of one
    assert writer.commit() is True
    blob = container.get_blob_client("a.mp4")
    assert blob.download_blob().readall() == DATA
    assert blob.get_blob_properties().content_settings.content_type == "video/mp4"


def test_a_write_once_blob_is_never_replaced(container: ContainerClient) -> None:
    write(container, "a.mp4", DATA, once=True).commit()
    assert write(container, "a.mp4", b"other bytes", once=True).commit() is False
    assert container.get_blob_client("a.mp4").download_blob().readall() == DATA
    assert write(container, "a.mp4", b"other bytes", once=False).commit() is True  # staging may be rewritten
    assert container.get_blob_client("a.mp4").download_blob().readall() == b"other bytes"


def test_two_writers_of_one_blob_never_mix_their_blocks(container: ContainerClient) -> None:
    """Two captures of one meeting at once (a claim taken over from a worker that stalled): whichever commits
    first makes the blob of its own bytes, never blocks of the other's staged meanwhile under the same ids."""
    other = os.urandom(len(DATA))
    first, second = write(container, "m.eml", DATA, once=True), write(container, "m.eml", other, once=True)
    assert first.commit() is True and second.commit() is False
    assert container.get_blob_client("m.eml").download_blob().readall() == DATA


def test_an_empty_file_is_an_empty_blob(container: ContainerClient) -> None:
    assert write(container, "empty.txt", b"", once=True).commit()
    assert container.get_blob_client("empty.txt").download_blob().readall() == b""
    with open_blob(container.get_blob_client("empty.txt"), 0) as reader:
        assert reader.read() == b""


def test_a_blob_reads_back_in_any_pieces(container: ContainerClient) -> None:
    write(container, "a.mp4", DATA, once=True).commit()
    with open_blob(container.get_blob_client("a.mp4"), len(DATA)) as reader:
        pieces = [reader.read(57), reader.read(BLOCK_SIZE), reader.read(3 * BLOCK_SIZE), reader.read(10)]
    assert b"".join(pieces) == DATA and pieces[-1] == b""
