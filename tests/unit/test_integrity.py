"""Integrity: the hash taken while downloading is checked against Zoom's fingerprint and against every later read."""

from __future__ import annotations

import hashlib
import io

import pytest

from shared.integrity import CHUNK, IntegrityError, check_fingerprint, verified_chunks

DATA = bytes(range(256)) * 40_000  # ~10 MB: more than two chunks
SHA = hashlib.sha256(DATA).hexdigest()


def test_a_fingerprint_that_matches_or_is_absent_passes() -> None:
    check_fingerprint("01-shared_screen.mp4", SHA, SHA)
    check_fingerprint("01-shared_screen.mp4", SHA.upper(), SHA)
    check_fingerprint("01-shared_screen.mp4", "", SHA)


def test_a_fingerprint_that_differs_fails_naming_the_file_and_both_hashes() -> None:
    other = "0" * 64
    with pytest.raises(IntegrityError) as raised:
        check_fingerprint("01-shared_screen.mp4", other, SHA)
    assert "01-shared_screen.mp4" in str(raised.value) and other in str(raised.value) and SHA in str(raised.value)


def test_verified_chunks_give_the_bytes_in_whole_base64_lines() -> None:
    chunks = list(verified_chunks("f", io.BytesIO(DATA), len(DATA), SHA))
    assert b"".join(chunks) == DATA
    assert all(len(c) == CHUNK for c in chunks[:-1]) and CHUNK % 57 == 0


@pytest.mark.parametrize(
    "stored",
    [DATA[:-1], DATA + b"x", b"y" + DATA[1:], b""],
    ids=["truncated", "longer", "changed", "empty"],
)
def test_bytes_that_are_not_the_downloaded_ones_fail_after_the_last_chunk(stored: bytes) -> None:
    with pytest.raises(IntegrityError, match="were downloaded"):
        for _ in verified_chunks("f", io.BytesIO(stored), len(DATA), SHA):
            pass
