"""The real Zoom samples of tests/samples/zoom (SOURCES.md says where each came from and its licence), read as
the tests need them, and put together into a Zoom emulator seed so that the pipeline runs on Zoom's real shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parent / "samples" / "zoom"


def sample(relative: str) -> Path:
    return SAMPLES / relative


def answer(relative: str) -> Any:
    """A sample Zoom answer (`api/...json`, `webhook/...json`) as JSON."""
    return json.loads(sample(relative).read_text(encoding="utf-8"))


def chat_files() -> list[Path]:
    return sorted((SAMPLES / "chat").iterdir())


def transcript_files() -> list[Path]:
    return sorted((SAMPLES / "transcript").iterdir())
