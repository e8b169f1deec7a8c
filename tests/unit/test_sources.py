"""One meeting from every source: its facts from the cloud recording first, then its details, then its
archive; every file of every source, saying where it came from and, for a breakout room's, which room."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from shared.records import RecordingFile
from shared.settings import ARCHIVING, MEETINGS, RECORDINGS
from shared.sources import Found
from tests.conftest import shared_file

RECORDING = {
    "uuid": "abc==",
    "id": 85000000001,
    "host_id": "zHost",
    "topic": "Board",
    "type": 2,
    "start_time": "2026-03-02T10:00:00Z",
    "duration": 61,
    "timezone": "Europe/London",
    "recording_files": [
        {
            "id": "r1",
            "file_type": "MP4",
            "file_size": 10,
            "recording_start": "2026-03-02T10:00:05Z",
            "status": "completed",
        }
    ],
}


def archive(uuid: str, topic: str, *files: dict, start: str = "2026-03-02T10:00:00Z", **fields: object) -> dict:
    return {
        "uuid": uuid,
        "id": 85000000001,
        "host_id": "zHost",
        "topic": topic,
        "type": 2,
        "start_time": start,
        "duration": 30,  # scheduled, not held: the archive's held duration is duration_in_second
        "duration_in_second": 3601,
        "timezone": "America/New_York",
        "status": "completed",
        "archive_files": list(files),
        **fields,
    }


def test_a_meeting_with_a_recording_and_an_archive_has_both_s_files_each_saying_where_it_came_from() -> None:
    chat = {"id": "a1", "file_type": "CHAT_MESSAGE", "file_extension": "JSON", "status": "completed"}
    found = Found("abc==", RECORDING, archive("abc==", "Board", chat))
    assert found.sources == (RECORDINGS, ARCHIVING)
    files = found.files()
    assert [(f.key, f.source, f.room) for f in files] == [("r1", RECORDINGS, ""), ("a1", ARCHIVING, "")]
    facts = found.facts()
    assert (facts["duration"], facts["timezone"], facts["topic"]) == (61, "Europe/London", "Board")


def test_without_a_recording_the_details_come_before_the_archive() -> None:
    details = {"uuid": "abc==", "topic": "Board (details)", "duration": 59, "start_time": "2026-03-02T10:00:00Z"}
    found = Found("abc==", None, archive("abc==", "Board (archive)"), details=details)
    assert found.sources == (ARCHIVING, MEETINGS)
    facts = found.facts()
    assert (facts["topic"], facts["duration"], facts["timezone"]) == ("Board (details)", 59, "America/New_York")
    archived_only = Found("abc==", None, archive("abc==", "Board")).facts()
    assert archived_only["duration"] == 61  # 3601 seconds held, not the 30 scheduled
    unrecorded = Found("abc==", None, None, details=details).facts()
    assert "timezone" not in unrecorded and unrecorded["recording_files"] == []  # the capture takes the host's


def test_breakout_rooms_bring_their_files_and_are_named_and_ordered() -> None:
    log = {"id": "l1", "file_type": "SUB_GROUP_MEMBER_LOG", "file_extension": "JSON", "status": "completed"}
    audio = {"id": "m1", "file_type": "M4A", "individual": True, "participant_email": "bob@contoso.example"}
    rooms = (
        archive("r2==", "Board", log, start="2026-03-02T10:20:00Z", is_breakout_room=True, parent_meeting_id="abc=="),
        archive("r1==", "Pricing", audio, start="2026-03-02T10:10:00Z", is_breakout_room=True),
    )
    found = Found("abc==", RECORDING, None, rooms)
    assert found.sources == (RECORDINGS, ARCHIVING)
    assert [(r.uuid, r.name) for r in found.rooms()] == [("r1==", "Pricing"), ("r2==", "Room 2")]
    assert found.rooms()[0].start == datetime(2026, 3, 2, 10, 10, tzinfo=UTC)
    files = {f.key: f for f in found.files()}
    assert (files["l1"].room, files["m1"].room) == ("r2==", "r1==")
    assert files["m1"].individual and files["m1"].participant == "bob@contoso.example"


def test_an_archive_still_processing_or_with_processing_and_failed_files() -> None:
    files = [
        {"id": "p", "file_type": "CC", "status": "processing"},
        {"id": "f", "file_type": "TRANSCRIPT", "status": "failed"},
    ]
    found = Found("abc==", None, archive("abc==", "Board", *files, status="processing"))
    assert found.still_archiving
    processing, failed = found.files()
    assert processing.processing and not processing.failed
    assert failed.failed and not failed.processing  # Zoom will not finish it: not worth waiting for


def test_zoom_s_documented_archive_files_completed_example_reads_as_archive_files() -> None:
    event = json.loads(shared_file("samples/zoom/webhook-recording.archive_files_completed.json").read_text())
    meeting = event["payload"]["object"]
    files = Found(meeting["uuid"], None, meeting).files()
    assert [(f.file_type, f.individual, f.participant, f.size) for f in files] == [
        ("M4A", True, "jchill@example.com", 1547842),
        ("MP4", True, "thill@example.com", 1780529),
    ]
    assert files[0].fingerprint == "2123150b921fb1babda81c6156d2711659d37b5d3cbe6957e22e51fbb87e7a87"
    assert files[0].start == datetime(2021, 3, 12, 2, 7, 27, tzinfo=UTC)
    assert all(isinstance(f, RecordingFile) and f.source == ARCHIVING for f in files)
