"""Records: Zoom's JSON turned into typed values once, at the edge."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.records import (
    Meeting,
    MeetingRef,
    Participant,
    Person,
    RecordingFile,
    Session,
    StoredIn,
    Summary,
    archive_key,
    group_participants,
    is_internal,
    meeting_end,
    meeting_timezone,
    poll_answers_from_zoom,
    questions_from_zoom,
)
from tests.corpus import answer

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


def test_the_current_ai_summary_is_markdown_with_a_link_to_its_zoom_doc() -> None:
    body = answer("api/meeting-summary-docs-zoomnet.json")
    summary = Summary.from_zoom(body)
    assert summary is not None and summary.content == body["summary_content"]  # the Markdown, whole
    assert summary.content.startswith("## Key takeaways\n- Mobile app") and "## Action items" in summary.content
    assert summary.doc_url == "https://docs.zoom.us/doc/1aBcDeFgHiJkLmNoPqRsTu"
    assert summary.overview == "Meeting overview" and summary.next_steps == ("step1",)  # the older fields too
    assert json.loads(summary.zoom) == body  # Zoom's answer, kept whole
    assert summary.modified == datetime(2020, 7, 15, 23, 30, 19, tzinfo=UTC)


def test_a_summary_content_given_as_an_object_becomes_markdown() -> None:
    summary = Summary.from_zoom(answer("api/meeting-summary-docs-zoom-plugin.json"))
    assert summary is not None and summary.content == (
        "## Summary\nThe team discussed Q1 roadmap priorities...\n\n"
        "## Next steps\n- John to finalize design specs by Friday\n- Sarah to schedule customer interviews\n\n"
        "## Keywords\n- roadmap\n- Q1\n- design\n- customers"
    )


def test_a_real_summary_of_the_older_form_keeps_every_detail_and_step() -> None:
    body = answer("api/meeting-summary-2026-acdc173-forkcast.json")
    summary = Summary.from_zoom(body)
    assert summary is not None and not summary.content and summary.overview == body["summary_overview"]
    assert [label for label, _ in summary.details] == [d["label"] for d in body["summary_details"]]
    assert summary.next_steps == tuple(body["next_steps"]) and len(summary.next_steps) == 5


def test_a_summary_with_a_title_and_no_text_is_kept_and_known_as_empty() -> None:
    summary = Summary.from_zoom(answer("api/meeting-summary-2025-devforum-title-only.json"))
    assert summary is not None and summary.empty and summary.title == "Meeting Summary for Introductory Chat"
    assert summary.version == "2025-05-23T17:32:34Z"  # a later edit would be another version


def test_two_guests_with_the_same_name_at_the_same_time_are_two_people() -> None:
    def iphone(user_id: str, join: str, leave: str, seconds: int) -> dict[str, Any]:
        return {
            "id": "",
            "name": "iPhone",
            "user_id": user_id,
            "user_email": "",
            "join_time": join,
            "leave_time": leave,
            "duration": seconds,
        }

    rows = [
        iphone("16778240", "2026-01-01T10:00:10Z", "2026-01-01T10:01:50Z", 100),
        iphone("16779264", "2026-01-01T10:00:20Z", "2026-01-01T10:01:19Z", 59),
    ]
    people = group_participants(rows, DOMAINS)
    assert [(p.name, p.total_seconds) for p in people] == [("iPhone", 100), ("iPhone", 59)]
    assert [s.participant_id for p in people for s in p.sessions] == ["16778240", "16779264"]


def test_a_guest_who_rejoins_under_the_same_name_keeps_both_sessions_in_one_person() -> None:
    rows = [
        {"name": "Grace", "user_id": "1", "join_time": "2026-01-01T10:00:00Z", "leave_time": "2026-01-01T10:10:00Z"},
        {"name": "Grace", "user_id": "2", "join_time": "2026-01-01T10:12:00Z", "leave_time": "2026-01-01T10:30:00Z"},
    ]
    (grace,) = group_participants(rows, DOMAINS)
    assert [s.participant_id for s in grace.sessions] == ["1", "2"]


def test_a_person_on_a_computer_and_a_phone_is_one_person_by_zoom_id() -> None:
    rows = [
        {
            "id": "zAlice",
            "name": "Alice Archer",
            "user_id": "1",
            "user_email": "alice@contoso.example",
            "join_time": "2026-01-01T10:00:00Z",
            "leave_time": "2026-01-01T11:00:00Z",
            "duration": 3600,
        },
        {
            "id": "zAlice",
            "name": "+44 20 7946 0000",
            "user_id": "2",
            "user_email": "",
            "join_time": "2026-01-01T10:01:00Z",
            "leave_time": "2026-01-01T11:00:00Z",
            "duration": 3540,
        },
        {
            "participant_user_id": "pBob",
            "name": "Bob",
            "registrant_id": "r9",
            "user_email": "",
            "join_time": "2026-01-01T10:00:00Z",
            "leave_time": "2026-01-01T10:05:00Z",
            "duration": 300,
        },
        {
            "name": "Bob (tablet)",
            "registrant_id": "r9",
            "user_email": "",
            "join_time": "2026-01-01T10:06:00Z",
            "leave_time": "2026-01-01T10:09:00Z",
            "duration": 180,
        },
    ]
    alice, bob = group_participants(rows, DOMAINS)
    assert (alice.name, alice.email, alice.internal, alice.zoom_id) == (
        "Alice Archer",
        "alice@contoso.example",
        True,
        "zAlice",
    )
    assert alice.names == ("+44 20 7946 0000",) and len(alice.sessions) == 2
    assert (bob.zoom_id, bob.registrant_id, bob.names, bob.total_seconds) == ("pBob", "r9", ("Bob (tablet)",), 480)


def test_zooms_documented_participant_row_keeps_every_id() -> None:
    (jill,) = group_participants(answer("api/past-meeting-participants-docs-zoomnet.json")["participants"], DOMAINS)
    assert (jill.zoom_id, jill.registrant_id, jill.sessions[0].participant_id) == (
        "30R7kT7bTIKSNUFEuH_Qlg",
        "_f08HhPJS82MIVLuuFaJPg",
        "27423744",
    )
    assert jill.sessions[0].join_time == datetime(2022, 3, 23, 6, 58, 9, tzinfo=UTC)


def test_a_listed_size_of_zero_is_unknown_not_zero_bytes() -> None:
    chat = {"id": "c", "file_type": "CHAT", "file_extension": "TXT", "file_size": 0, "status": "completed"}
    assert RecordingFile.from_zoom(chat, "u").size is None and not RecordingFile.from_zoom(chat, "u").processing


def test_a_meeting_ends_when_zoom_says_it_did_not_when_its_recording_does() -> None:
    page = answer("api/recordings-2020-alchezoomy2.json")
    late = next(m for m in page["meetings"] if m["start_time"] == "2020-10-23T15:16:54Z")
    meeting = Meeting.from_zoom(late, Person("", ""), ())
    assert meeting.recording_minutes == 73 and meeting.recording_span[0] == datetime(
        2020, 10, 23, 17, 4, 53, tzinfo=UTC
    )
    assert meeting_end(meeting.start, None, (), meeting.files) == (
        datetime(2020, 10, 23, 18, 18, 2, tzinfo=UTC),  # not start + 73 minutes, 108 minutes earlier
        "recordings",
    )
    details = {"start_time": "2020-10-23T15:16:54Z", "end_time": "2020-10-23T18:20:00Z", "duration": 184}
    assert meeting_end(meeting.start, details, (), meeting.files)[0] == datetime(2020, 10, 23, 18, 20, tzinfo=UTC)
    assert meeting_end(meeting.start, {"duration": 184}, (), ())[0] == datetime(2020, 10, 23, 18, 20, 54, tzinfo=UTC)
    assert meeting_end(meeting.start, None, (), ()) == (None, "")


def test_an_end_before_the_meeting_started_is_no_end() -> None:
    """Zoom's data can disagree with itself (a details' end_time, a participant's leave_time stamped by a wrong
    clock); an end before the start would read as a meeting of minus minutes, so the next source is asked."""
    start = datetime(2026, 11, 20, 9, tzinfo=UTC)
    early = {"start_time": "2026-11-20T09:00:00Z", "end_time": "2026-11-03T10:01:00Z"}
    left = Participant("Bob", "bob@contoso.example", True, (Session(start, start + timedelta(minutes=40), 2400),))
    stale = Participant("Ann", "ann@contoso.example", True, (Session(None, datetime(2026, 11, 3, 10, tzinfo=UTC), 60),))
    assert meeting_end(start, early, (left,), ()) == (start + timedelta(minutes=40), "participants")
    assert meeting_end(start, early, (stale,), ()) == (None, "")


def test_an_instant_meeting_without_a_time_zone_takes_its_hosts() -> None:
    meeting = Meeting.from_zoom(answer("api/recordings-2024-nango.json")["meetings"][0], Person("", ""), ())
    host = answer("api/user-2020-alchezoomy2.json")
    assert meeting.timezone == "" and meeting.type == 1
    assert meeting_timezone(meeting.timezone, host["timezone"]) == ("America/Los_Angeles", "host")
    assert meeting_timezone("Europe/London", host["timezone"]) == ("Europe/London", "meeting")
    assert meeting_timezone("", "") == meeting_timezone("Not/AZone", "../../etc/passwd") == ("UTC", "")


def test_a_meeting_without_a_start_time_is_refused_rather_than_dated_now() -> None:
    recording = {"uuid": "abc==", "id": 1, "topic": "No start", "recording_files": []}
    with pytest.raises(ValueError, match="no start_time"):
        Meeting.from_zoom(recording, Person("", ""), ())
    started = Meeting.from_zoom({**recording, "start_time": "2026-03-09T15:00:00Z"}, Person("", ""), ())
    assert started.start == datetime(2026, 3, 9, 15, tzinfo=UTC)
