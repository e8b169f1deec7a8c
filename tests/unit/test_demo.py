"""The bundled demo tenant (local/demo/*.json) holds every case `make run` is meant to show."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from emulators.zoom.emulator import needs_double_encoding
from local.demo import DEMO, UNRECORDED, demo_copy
from local.world import ORGANIZATION_DOMAIN

MB = 1000 * 1000


@pytest.fixture(scope="module")
def zoom() -> dict[str, Any]:
    return json.loads((DEMO / "zoom-seed.json").read_text())


@pytest.fixture(scope="module")
def graph() -> dict[str, Any]:
    return json.loads((DEMO / "graph-seed.json").read_text())


def participants(zoom: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for m in zoom["meetings"] for p in m.get("participants", [])]


def test_six_zoom_users_one_of_them_inactive(zoom: dict[str, Any]) -> None:
    assert len(zoom["users"]) >= 6
    assert [u["status"] for u in zoom["users"]].count("inactive") >= 1


def test_ten_meetings_one_with_a_50_mb_recording(zoom: dict[str, Any]) -> None:
    assert len(zoom["meetings"]) == 10
    sizes = [f.get("file_size") or 0 for m in zoom["meetings"] for f in m["recording"]["recording_files"]]
    assert max(sizes) >= 50 * MB


def test_a_meeting_uuid_needs_double_encoding(zoom: dict[str, Any]) -> None:
    assert any(needs_double_encoding(m["recording"]["uuid"]) for m in zoom["meetings"])


def test_an_external_guest_takes_part(zoom: dict[str, Any]) -> None:
    emails = [p.get("user_email") or "" for p in participants(zoom)]
    assert any(e and not e.endswith("@" + ORGANIZATION_DOMAIN) for e in emails)


def test_an_internal_participant_has_no_mailbox(zoom: dict[str, Any], graph: dict[str, Any]) -> None:
    without_mailbox = {u["mail"].lower() for u in graph["users"] if u.get("mailbox") is False}
    emails = {(p.get("user_email") or "").lower() for p in participants(zoom)}
    assert {e for e in without_mailbox & emails if e.endswith("@" + ORGANIZATION_DOMAIN)}


@pytest.fixture(scope="module")
def unrecorded() -> dict[str, Any]:
    return json.loads(UNRECORDED.read_text())


def test_a_meeting_only_zoom_s_archiving_has_with_one_participant_s_audio_and_a_breakout_room(
    unrecorded: dict[str, Any],
) -> None:
    archived = {m["archive"]["uuid"]: m for m in unrecorded["meetings"] if "archive" in m}
    assert not any("recording" in m for m in unrecorded["meetings"])
    (meeting,) = [m for m in archived.values() if not m["archive"]["is_breakout_room"]]
    files = meeting["archive"]["archive_files"]
    assert {f["file_type"] for f in files} >= {"CHAT_MESSAGE"} and any(f["individual"] for f in files)
    (room,) = [m for m in archived.values() if m["archive"]["is_breakout_room"]]
    assert room["archive"]["parent_meeting_id"] == meeting["archive"]["uuid"]
    assert {f["file_type"] for f in room["archive"]["archive_files"]} == {"CHAT_MESSAGE", "SUB_GROUP_MEMBER_LOG"}


def test_a_meeting_neither_recorded_nor_archived_has_participants_and_a_summary(unrecorded: dict[str, Any]) -> None:
    (meeting,) = [m for m in unrecorded["meetings"] if "archive" not in m]
    assert meeting["details"]["uuid"] and len(meeting["participants"]) >= 2 and meeting["summary"]


def test_each_archived_file_given_states_its_size_and_sha256(unrecorded: dict[str, Any]) -> None:
    for meeting in unrecorded["meetings"]:
        for item in (meeting.get("archive") or {}).get("archive_files", []):
            if name := meeting["files"].get(item["id"]):
                content = (DEMO / name).read_bytes()
                assert item["file_size"] == len(content), name
                assert item["encryption_fingerprint"] == hashlib.sha256(content).hexdigest(), name


def test_a_copy_of_a_demo_meeting_moves_every_time_in_it_with_its_start(zoom: dict[str, Any]) -> None:
    """The benchmarks and the kill test hold copies of the demo's meetings on other days: a participant who left
    before the copy started would make a meeting of minus minutes."""
    entry = zoom["meetings"][0]
    start = datetime(2027, 1, 4, 15, tzinfo=UTC)
    moved = demo_copy(entry, "bench007", start, 1024)
    by = start - datetime.fromisoformat(entry["recording"]["start_time"].replace("Z", "+00:00"))

    def shifted(text: str) -> str:
        return (datetime.fromisoformat(text.replace("Z", "+00:00")) + by).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert moved["recording"]["start_time"] == "2027-01-04T15:00:00Z"
    assert moved["recording"]["uuid"] == f"bench007-{entry['recording']['uuid']}"
    assert [p["leave_time"] for p in moved["participants"]] == [shifted(p["leave_time"]) for p in entry["participants"]]
    original, copied = entry["recording"]["recording_files"][0], moved["recording"]["recording_files"][0]
    assert copied["recording_end"] == shifted(original["recording_end"])
    assert copied["id"] == f"{original['id']}-bench007"
    assert max(f.get("file_size", 0) for f in moved["recording"]["recording_files"]) <= 1024 and moved["files"] == {}
