"""The real Zoom samples of tests/samples/zoom (SOURCES.md says where each came from and its licence), read as
the tests need them, and put together into a Zoom emulator seed so that the pipeline runs on Zoom's real shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from local.world import ZOOM_ACCOUNT_ID
from tests.conftest import SHARED, shared_file

SAMPLES = Path(__file__).resolve().parent / "samples" / "zoom"
# Real files of the corpus that the design folder already keeps (../shared/samples/zoom): read from there,
# never copied, under their names there. By corpus folder.
IN_SHARED = {"chat": ("cloud-chat-file.txt",), "transcript": ("cloud-transcript.vtt",)}


def sample(relative: str) -> Path:
    """A corpus file; one kept in ../shared skips the test, saying so, when that folder is absent."""
    folder, _, name = relative.partition("/")
    if name in IN_SHARED.get(folder, ()):
        return shared_file(f"samples/zoom/{name}")
    return SAMPLES / relative


def corpus_files(folder: str) -> list[Path]:
    """The corpus's files of one kind: the project's, and those of ../shared when it is there."""
    shared = (SHARED / "samples" / "zoom" / name for name in IN_SHARED.get(folder, ()))
    return sorted([*(SAMPLES / folder).iterdir(), *(path for path in shared if path.exists())])


def answer(relative: str) -> Any:
    """A sample Zoom answer (`api/...json`, `webhook/...json`) as JSON."""
    return json.loads(sample(relative).read_text(encoding="utf-8"))


def chat_files() -> list[Path]:
    return corpus_files("chat")


def transcript_files() -> list[Path]:
    return corpus_files("transcript")


SUMMARIES = (  # one of each form Zoom gives, spread over the meetings in turn
    "api/meeting-summary-2026-acdc173-forkcast.json",
    "api/meeting-summary-docs-zoomnet.json",
    "api/meeting-summary-docs-zoom-plugin.json",
    "api/meeting-summary-2025-devforum-title-only.json",
)
PAGES = ("api/recordings-2020-alchezoomy2.json", "api/recordings-2024-nango.json")


def corpus_seed(folder: Path) -> dict[str, Any]:
    """A Zoom emulator seed of the real recordings pages: every meeting as Zoom listed it, its host as Zoom
    answered for the 2020 page's (the 2024 page's host has no published answer: it gets the same under its own
    id), the real chat and transcript files as its CHAT and TRANSCRIPT files, a real summary, in turn. What the
    samples do not hold is not made up: no participants and no instance details (the end time then comes from
    the recordings), and a small stand-in for each video and audio file, whose size therefore disagrees with the
    listing (which the archive records)."""
    folder.mkdir(parents=True, exist_ok=True)
    media = folder / "media.bin"
    media.write_bytes(bytes(range(256)) * 16)
    host = answer("api/user-2020-alchezoomy2.json")
    texts = {"CHAT": chat_files(), "TRANSCRIPT": transcript_files()}
    users: dict[str, dict[str, Any]] = {}
    meetings = []
    for number, recording in enumerate(m for page in PAGES for m in answer(page)["meetings"]):
        users.setdefault(recording["host_id"], {**host, "id": recording["host_id"], "status": "active"})
        files = {}
        for item in recording["recording_files"]:
            if item["file_type"] in texts:
                files[item["id"]] = str(texts[item["file_type"]][number % len(texts[item["file_type"]])])
            elif item["file_type"] in ("MP4", "M4A"):
                files[item["id"]] = str(media)
        summary = answer(SUMMARIES[number % len(SUMMARIES)])
        meetings.append({"recording": recording, "participants": [], "summary": summary, "files": files})
    return {"account_id": ZOOM_ACCOUNT_ID, "users": list(users.values()), "meetings": meetings}
