"""The size policy: files that fit are attached, the rest stored apart, and the message is never over the limit."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.capture import place_files
from shared.message.compose import compose
from shared.records import CapturedFile, recording_blob_name
from shared.transcript import Transcript, Utterance
from tests.unit.message.examples import captured, meeting

MIB = 1024 * 1024


def sized(number: int, file_type: str, size: int) -> CapturedFile:
    """A downloaded file of `size` bytes: the policy needs its size and hash, not its bytes."""
    file = captured(number, file_type, b"")
    digest = hashlib.sha256(f"{number}:{size}".encode()).hexdigest()
    return replace(file, size=size, sha256=digest, file=replace(file.file, size=size))


def test_a_200_mb_recording_is_stored_and_the_chat_attached_under_35_mib() -> None:
    files = [sized(1, "MP4", 200 * 1000 * 1000), sized(2, "CHAT", 30_000), sized(3, "M4A", 20 * MIB)]
    placed, composition = place_files(meeting(), files, {}, 35 * MIB)
    assert [c.attached for c in placed] == [False, True, True]
    assert placed[0].stored_as == recording_blob_name(files[0].sha256, files[0].filename)
    assert composition.size <= 35 * MIB
    assert composition.size > 20 * MIB * 4 // 3  # the audio's base64 is counted, not its raw size


def test_text_records_go_first_then_the_smallest_media() -> None:
    files = [sized(1, "MP4", 6 * MIB), sized(2, "M4A", 5 * MIB), sized(3, "TRANSCRIPT", 2 * MIB)]
    placed, _ = place_files(meeting(), files, {}, 10 * MIB)
    assert [c.attached for c in placed] == [False, True, True]


def test_the_budget_is_the_exact_message_size() -> None:
    files = [sized(1, "MP4", 3 * MIB)]
    attached_size = compose(meeting(), files, {}).size
    placed, composition = place_files(meeting(), files, {}, attached_size + 4096)
    assert placed[0].attached and composition.size == attached_size
    placed, composition = place_files(meeting(), files, {}, attached_size - 1)
    assert not placed[0].attached and composition.size < attached_size - 1


def test_nothing_is_dropped_when_nothing_fits() -> None:
    files = [sized(n, "MP4", 2 * MIB) for n in range(1, 4)]
    placed, composition = place_files(meeting(), files, {}, 1 * MIB)
    assert [c.filename for c in placed] == [c.filename for c in files]
    assert all(not c.attached for c in placed) and composition.size <= 1 * MIB


def test_a_transcript_too_long_for_a_small_limit_is_shown_in_part() -> None:
    transcript = sized(1, "TRANSCRIPT", 3 * MIB)
    said = {
        transcript.file.key: Transcript(
            tuple(Utterance(timedelta(seconds=n), "Alice", f"sentence number {n} " * 6) for n in range(20_000))
        )
    }
    placed, composition = place_files(meeting(), [transcript], said, 1 * MIB)
    assert composition.size <= 1 * MIB and not placed[0].attached
    assert compose(meeting(), placed, said).size > 1 * MIB  # the whole of it would not have fitted


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(
        st.tuples(st.sampled_from(["MP4", "M4A", "CHAT", "TIMELINE"]), st.integers(0, 60 * MIB)), max_size=6
    ),
    limit_mib=st.integers(1, 150),
)
def test_any_files_and_limit_give_a_message_under_the_limit_with_every_file(
    sizes: list[tuple[str, int]], limit_mib: int
) -> None:
    files = [sized(n, kind, size) for n, (kind, size) in enumerate(sizes, 1)]
    placed, composition = place_files(meeting(), files, {}, limit_mib * MIB)
    assert composition.size <= limit_mib * MIB
    assert [(c.filename, c.sha256, c.size) for c in placed] == [(c.filename, c.sha256, c.size) for c in files]
    assert all(c.attached or c.stored_as == recording_blob_name(c.sha256, c.filename) for c in placed)
    assert composition.attached == tuple(c for c in placed if c.attached)
