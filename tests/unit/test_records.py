"""Records: Zoom's JSON turned into typed values once, at the edge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.records import (
    Meeting,
    MeetingRef,
    Person,
    RecordingFile,
    StoredIn,
    Summary,
    archive_key,
    group_participants,
    is_internal,
    poll_answers_from_zoom,
    questions_from_zoom,
)

DOMAINS = ("contoso.example",)


def test_the_archive_key_is_stable_and_safe_for_storage_names() -> None:
    key = archive_key("/ajXp112QmuoKj4854875==")
    assert key == archive_key("/ajXp112QmuoKj4854875==")
    assert len(key) == 32 and key.isalnum()
    assert key != archive_key("ajXp112QmuoKj4854875==")


def test_a_stored_file_is_named_by_its_container_url_without_any_credential_in_it() -> None:
    sas = StoredIn("st1", "recordings", "https://st1.blob.core.windows.net/recordings?sv=2024&sig=secret")
    assert sas.blob_url("ab.mp4") == "https://st1.blob.core.windows.net/recordings/ab.mp4"
    local = StoredIn("devstoreaccount1", "recordings", "http://127.0.0.1:10000/devstoreaccount1/recordings/")
    assert local.blob_url("ab.mp4") == "http://127.0.0.1:10000/devstoreaccount1/recordings/ab.mp4"


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


def test_poll_answers_keep_who_answered_what_and_when() -> None:
    body = {
        "id": 93398114182,
        "questions": [
            {
                "name": "Alice Archer",
                "email": "alice@contoso.example",
                "question_details": [
                    {"polling_id": "p1", "question": "Ship it?", "answer": "Yes", "date_time": "2026-01-01T10:05:00Z"},
                    {"polling_id": "p1", "question": "When?", "answer": "Friday;Monday", "date_time": ""},
                ],
            },
            {"name": "Anonymous Attendee", "email": "", "question_details": None},
        ],
    }
    answers = poll_answers_from_zoom(body)
    assert [(a.poll, a.name, a.question, a.answer) for a in answers] == [
        ("p1", "Alice Archer", "Ship it?", "Yes"),
        ("p1", "Alice Archer", "When?", "Friday;Monday"),
    ]
    assert answers[0].time == datetime(2026, 1, 1, 10, 5, tzinfo=UTC) and answers[1].time is None
    assert poll_answers_from_zoom(None) == poll_answers_from_zoom({"questions": []}) == ()


def test_questions_and_answers_are_kept_per_question() -> None:
    body = {
        "questions": [
            {
                "name": "Guest",
                "email": "",
                "question_details": [{"question": "Is it recorded?", "answer": "live answered"}, {"question": "Q2"}],
            }
        ]
    }
    assert [(q.name, q.question, q.answer) for q in questions_from_zoom(body)] == [
        ("Guest", "Is it recorded?", "live answered"),
        ("Guest", "Q2", ""),
    ]


@pytest.mark.parametrize("read", [poll_answers_from_zoom, questions_from_zoom])
def test_entries_that_are_not_objects_are_skipped(read: Callable[[dict[str, Any]], tuple[Any, ...]]) -> None:
    person = {"name": "Guest", "email": "", "question_details": [None, "x", 3, {"question": "Q", "answer": "A"}]}
    assert [(a.name, a.question, a.answer) for a in read({"questions": [None, [], "x", person]})] == [
        ("Guest", "Q", "A")
    ]


def test_the_ai_summary_keeps_its_sections_and_the_hosts_edit() -> None:
    body = {
        "summary_title": "Meeting summary for Planning",
        "summary_overview": "Budget agreed.",
        "summary_details": [{"label": "Budget", "summary": "Approved at 1.2M."}],
        "next_steps": ["Alice sends the plan"],
        "edited_summary": {"summary_overview": "Budget agreed (edited).", "summary_details": "Edited details"},
    }
    summary = Summary.from_zoom(body)
    assert summary is not None
    assert (summary.title, summary.overview, summary.details, summary.next_steps) == (
        "Meeting summary for Planning",
        "Budget agreed.",
        (("Budget", "Approved at 1.2M."),),
        ("Alice sends the plan",),
    )
    assert summary.edited is not None
    assert (summary.edited.overview, summary.edited.details) == ("Budget agreed (edited).", (("", "Edited details"),))
    assert Summary.from_zoom({**body, "edited_summary": None}).edited is None  # type: ignore[union-attr]
    assert Summary.from_zoom(None) is None
    assert Summary.from_zoom({"summary_title": "Meeting summary", "summary_details": []}) is None


def test_a_meeting_without_a_start_time_is_refused_rather_than_dated_now() -> None:
    recording = {"uuid": "abc==", "id": 1, "topic": "No start", "recording_files": []}
    with pytest.raises(ValueError, match="no start_time"):
        Meeting.from_zoom(recording, Person("", ""), ())
    started = Meeting.from_zoom({**recording, "start_time": "2026-03-09T15:00:00Z"}, Person("", ""), ())
    assert started.start == datetime(2026, 3, 9, 15, tzinfo=UTC)
