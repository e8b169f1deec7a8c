"""Records: Zoom's JSON turned into typed values once, at the edge."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.records import MeetingRef, RecordingFile, archive_key, group_participants, is_internal

DOMAINS = ("contoso.example",)


def test_the_archive_key_is_stable_and_safe_for_storage_names() -> None:
    key = archive_key("/ajXp112QmuoKj4854875==")
    assert key == archive_key("/ajXp112QmuoKj4854875==")
    assert len(key) == 32 and key.isalnum()
    assert key != archive_key("ajXp112QmuoKj4854875==")


def test_a_participant_who_rejoins_keeps_every_session() -> None:
    rows = [
        {
            "name": "Bob",
            "user_email": "bob@contoso.example",
            "join_time": "2026-01-01T10:30:00Z",
            "leave_time": "2026-01-01T10:45:00Z",
            "duration": 900,
        },
        {
            "name": "Bob",
            "user_email": "BOB@contoso.example",
            "join_time": "2026-01-01T10:00:00Z",
            "leave_time": "2026-01-01T10:20:00Z",
            "duration": 1200,
        },
        {"name": "Guest", "user_email": "", "join_time": "2026-01-01T10:05:00Z", "leave_time": "", "duration": 60},
    ]
    people = group_participants(rows, DOMAINS)
    assert [p.name for p in people] == ["Bob", "Guest"]
    bob = people[0]
    assert bob.internal
    assert [s.join_time for s in bob.sessions] == [
        datetime(2026, 1, 1, 10, 0, tzinfo=UTC),
        datetime(2026, 1, 1, 10, 30, tzinfo=UTC),
    ]
    assert bob.total_seconds == 2100
    assert not people[1].internal and people[1].sessions[0].leave_time is None


@pytest.mark.parametrize(
    ("email", "internal"),
    [
        ("a@contoso.example", True),
        ("a@EU.Contoso.Example", True),
        ("a@contoso.example.evil", False),
        ("a@notcontoso.example", False),
        ("", False),
    ],
)
def test_internal_means_a_domain_of_the_organisation(email: str, internal: bool) -> None:
    assert is_internal(email, DOMAINS) is internal


def test_files_without_an_id_get_a_stable_key_of_our_own() -> None:
    item = {
        "meeting_id": "u1",
        "recording_start": "2026-01-01T10:00:00Z",
        "file_type": "TIMELINE",
        "download_url": "https://zoom.us/rec/download/t",
    }
    first, second = RecordingFile.from_zoom(item, "u1"), RecordingFile.from_zoom(dict(item), "u1")
    assert first.key == second.key and first.key
    assert first.size is None
    cc = RecordingFile.from_zoom({**item, "file_type": "CC"}, "u1")
    assert cc.key != first.key


def test_a_file_still_processing_is_recognised() -> None:
    processing = {"id": "f", "file_type": "", "file_size": 0, "recording_end": "", "status": "processing"}
    assert RecordingFile.from_zoom(processing, "u").processing
    done = {"id": "f", "file_type": "MP4", "file_size": 10, "status": "completed"}
    assert not RecordingFile.from_zoom(done, "u").processing


def test_queue_messages_carry_only_the_uuid() -> None:
    ref = MeetingRef("abc/==", source="webhook")
    assert MeetingRef.from_json(ref.to_json()) == ref
    with pytest.raises(ValueError):
        MeetingRef.from_json(b'{"topic": "x"}')
