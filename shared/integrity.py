"""SHA-256 checks of the files we archive.

The hash is taken once, while a file streams in from Zoom; it is compared with the fingerprint Zoom states
(when it states one), and every later read of the file (to store it, or to attach it to the message) is
checked against it, so the bytes the archive keeps are the bytes the message's manifest names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import BinaryIO

# Multiple of 3 (whole base64 quanta) and of 57 (one 76-character base64 line): ~4 MiB.
CHUNK = 57 * 73584


class IntegrityError(Exception):
    """A file's bytes are not the ones its hash says: never archive them as if they were."""


def check_fingerprint(name: str, fingerprint: str, sha256: str) -> None:
    """Zoom's fingerprint (when it gives one) must be the SHA-256 we computed while downloading."""
    if fingerprint and fingerprint.lower() != sha256:
        raise IntegrityError(
            f"{name}: Zoom states the SHA-256 fingerprint {fingerprint.lower()}, but the downloaded file hashes "
            f"to {sha256}"
        )


def verified_chunks(name: str, stream: BinaryIO, size: int, sha256: str) -> Iterator[bytes]:
    """The file's bytes in chunks of CHUNK; raises IntegrityError after the last one if size or hash differ."""
    digest = hashlib.sha256()
    read = 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        read += len(chunk)
        yield chunk
    if read != size or digest.hexdigest() != sha256:
        raise IntegrityError(
            f"{name}: read {read} bytes hashing to {digest.hexdigest()}, but {size} bytes hashing to {sha256} "
            "were downloaded"
        )
