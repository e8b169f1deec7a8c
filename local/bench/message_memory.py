"""Memory and speed of archiving one meeting with a 1 GiB recording, and of writing a message.

The capture stage runs for real (`Archiver.capture_meeting`) in a child process against the local world:
the Zoom emulator serves a generated 1 GiB MP4 plus the demo's chat and transcript, Azurite holds the blobs.
While it runs, the child's resident memory and the bytes it has received are printed from /proc; at the end
the child reports its peak RSS (`ru_maxrss`). The goal is a peak under 200 MiB whatever the recording size.
A second figure is the message build alone: composing and writing a message with 150 MiB attached.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from local.demo import DEMO
from local.world import ROOT, start_world
from shared.message.compose import compose
from shared.records import CapturedFile, Meeting, MeetingRef, Person, RecordingFile
from shared.storage import MESSAGES_CONTAINER, RECORDINGS_CONTAINER, STAGING_CONTAINER

MIB = 1024 * 1024
RECORDING = 1024 * MIB
BUILD_ATTACHED = 150 * MIB
GOAL_MIB = 200


def run() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    capture()
    build()


def capture() -> None:
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-message-") as folder:
        seed, uuid = _seed(Path(folder))
        print("starting Azurite and the emulators")
        world = start_world(stack, Path(folder) / "world", seed, DEMO / "graph-seed.json")
        env = {**os.environ, **world.app_settings()}
        print(f"capturing one meeting with a {RECORDING // MIB} MiB recording, the demo chat and transcript")
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "local.bench.message_memory", uuid], cwd=ROOT, env=env, stdout=subprocess.PIPE
        )
        blobs = BlobServiceClient.from_connection_string(world.azurite.connection_string)
        while child.poll() is None:
            time.sleep(2)
            print(f"  {time.monotonic() - started:5.0f} s: {_progress(child.pid)}, {_stage(blobs)}")
        elapsed = time.monotonic() - started
        output = child.stdout.read().decode() if child.stdout else ""
        if child.returncode != 0:
            raise RuntimeError(f"the capture failed (exit {child.returncode}): {output}")
        peak = json.loads(output.strip().splitlines()[-1])["peak_rss_kib"] / 1024
        print(f"captured in {elapsed:.1f} s: {RECORDING / MIB / elapsed:.1f} MiB/s of recording end to end")
        verdict = "under" if peak < GOAL_MIB else "OVER"
        print(f"peak RSS of the capture: {peak:.0f} MiB ({verdict} the {GOAL_MIB} MiB goal)")
        for name in (MESSAGES_CONTAINER, RECORDINGS_CONTAINER, STAGING_CONTAINER):
            found = [f"{b.name} ({b.size / MIB:.1f} MiB)" for b in blobs.get_container_client(name).list_blobs()]
            print(f"  {name}: {', '.join(found) or 'empty'}")


def build() -> None:
    """Message assembly alone: base64, hashing and writing, from memory to nowhere."""
    block = hashlib.sha256(b"bench").digest() * (MIB // 32)
    digest = hashlib.sha256()
    for _ in range(BUILD_ATTACHED // MIB):
        digest.update(block)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    file = RecordingFile("k", "MP4", "MP4", "active_speaker", BUILD_ATTACHED, "", start, None, "completed")
    attached = CapturedFile(file, "01-active_speaker.mp4", "video/mp4", BUILD_ATTACHED, digest.hexdigest())
    meeting = Meeting("u", 1, "Bench", Person("A", "a@contoso.example"), "h", start, 60, "UTC", 2, (), (file,))
    started = time.monotonic()
    composition = compose(meeting, [attached], {})
    sink = _Counter()
    composition.write(sink, lambda _: _Repeat(block, BUILD_ATTACHED))
    elapsed = time.monotonic() - started
    assert sink.size == composition.size
    speed = BUILD_ATTACHED / MIB / elapsed
    print(f"message build: {BUILD_ATTACHED // MIB} MiB attached in {elapsed:.2f} s = {speed:.0f} MiB/s")


def _seed(folder: Path) -> tuple[Path, str]:
    """The demo's first meeting (chat, transcript, ...) with its video declared as 1 GiB and left to the emulator."""
    seed = json.loads((DEMO / "zoom-seed.json").read_text())
    meeting = seed["meetings"][0]
    meeting["files"] = {kind: str(DEMO / path) for kind, path in meeting["files"].items()}
    for item in meeting["recording"]["recording_files"]:
        if item["file_type"] == "MP4":
            item["file_size"] = RECORDING
    seed["meetings"] = [meeting]
    path = folder / "zoom-seed.json"
    path.write_text(json.dumps(seed))
    return path, meeting["recording"]["uuid"]


def _progress(pid: int) -> str:
    """What the capture process has received so far (its socket reads) and its resident memory."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        received = next(line for line in Path(f"/proc/{pid}/io").read_text().splitlines() if line.startswith("rchar"))
    except (OSError, StopIteration):
        return "finishing"
    rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return f"{int(received.split()[1]) / MIB:6.0f} MiB read, RSS {rss / 1024:4.0f} MiB"


def _stage(blobs: BlobServiceClient) -> str:
    """How far the capture is, from what it has committed to blob storage."""
    try:
        return _committed(blobs)
    except ResourceNotFoundError:
        return "starting"  # the containers are not there yet


def _committed(blobs: BlobServiceClient) -> str:
    if any(blobs.get_container_client(MESSAGES_CONTAINER).list_blobs()):
        return "message written"
    if any(blobs.get_container_client(RECORDINGS_CONTAINER).list_blobs()):
        return "recording stored, writing the message"
    staged = list(blobs.get_container_client(STAGING_CONTAINER).list_blobs())
    if any(b.size >= RECORDING for b in staged):
        return "recording downloaded, storing it by its SHA-256"
    return f"downloading ({len(staged)} file(s) staged)"


class _Counter(io.RawIOBase):
    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.size += len(data)
        return len(data)


class _Repeat(io.RawIOBase):
    """`size` bytes of a block repeated, read like a file."""

    def __init__(self, block: bytes, size: int):
        super().__init__()
        self.block = block
        self.size = size
        self.position = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        size = min(self.size - self.position, len(self.block) if size < 0 else size)
        start = self.position % len(self.block)
        self.position += size
        return (self.block[start:] + self.block * (size // len(self.block) + 1))[:size]


def _capture_here(uuid: str) -> None:
    """In the child: the real capture stage, then this process's peak RSS."""
    from shared.archiver import Archiver
    from shared.settings import load_settings

    Archiver(load_settings(os.environ)).capture_meeting(MeetingRef(uuid))
    print(json.dumps({"peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


if __name__ == "__main__":
    _capture_here(sys.argv[1])
