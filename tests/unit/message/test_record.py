"""Our record of the meeting (`zoom-meeting.json`): Zoom's values exactly as Zoom gave them, in a format every
later version reads, including the records already archived."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.message.compose import build_message
from shared.message.headers import message_id
from shared.message.reader import read_message
from shared.message.record import ArchivedFile, MeetingRecord
from shared.records import BreakoutRoom, MissingFile, Participant, Person, PollAnswer, Question, Session, Summary
from tests.unit.message.examples import START, attendee, captured, meeting, zoom_text

# A record as the archive writes it since it keeps the meeting's and the recordings' spans, participants' ids,
# every form of the AI summary and the files it could not fetch.
WRITTEN = {
    "uuid": "/ajXp112QmuoKj4854875==",
    "id": 123,
    "archive_key": "9f8657ea4fbeec522bc1049f48e87d66",
    "addition_to": None,
    "topic": "Planning <b>",
    "host": {"id": "zAlice", "name": "Alice Archer", "email": "alice@contoso.example"},
    "start_time": "2026-03-04T09:30:00Z",
    "end_time": "2026-03-04T10:17:00Z",
    "end_time_source": "details",
    "duration": 45,
    "recording_start": "2026-03-04T09:30:00Z",
    "recording_end": "2026-03-04T10:30:00Z",
    "recording_duration": 60,
    "timezone": "America/New_York",
    "timezone_source": "host",
    "type": 2,
    "sources": ["recordings", "archiving", "meetings"],
    "breakout_rooms": [
        {"uuid": "room1==", "name": "Pricing", "start_time": "2026-03-04T09:40:00Z", "end_time": "2026-03-04T09:55:00Z"}
    ],
    "participants": [
        {
            "name": "Bob",
            "email": "bob@contoso.example",
            "id": "zBob",
            "registrant_id": None,
            "other_names": ["Bob's phone"],
            "internal": True,
            "sessions": [
                {
                    "join_time": "2026-03-04T09:30:00Z",
                    "leave_time": "2026-03-04T09:40:00Z",
                    "duration": 600,
                    "user_id": "16778240",
                },
                {"join_time": "2026-03-04T09:50:00Z", "leave_time": None, "duration": 0, "user_id": None},
            ],
        },
        {
            "name": "iPhone",
            "email": "",
            "id": "",
            "registrant_id": "r1",
            "other_names": [],
            "internal": False,
            "sessions": [
                {
                    "join_time": "2026-03-04T09:30:00Z",
                    "leave_time": "2026-03-04T09:30:00Z",
                    "duration": 60,
                    "user_id": None,
                }
            ],
        },
    ],
    "polls": [
        {
            "poll": "p1",
            "question": "Ship it?",
            "name": "Bob",
            "email": "bob@contoso.example",
            "answer": "Yes",
            "time": "2026-03-04T09:30:00Z",
        }
    ],
    "qa": [{"name": "Guest", "email": "", "question": "Recorded?", "answer": ""}],
    "summary": {
        "title": "Plan",
        "overview": "Agreed.",
        "details": [{"label": "Budget", "summary": "Up 5%"}],
        "next_steps": ["Send notes"],
        "edited": {
            "title": "Plan",
            "overview": "Agreed more.",
            "details": [{"label": "", "summary": "Up 7%"}],
            "next_steps": [],
            "edited": None,
            "content": None,
            "doc_url": None,
            "last_modified": None,
            "zoom": None,
        },
        "content": "## Key takeaways\n- Budget up",
        "doc_url": "https://docs.zoom.us/doc/x",
        "last_modified": "2026-03-04T11:00:00Z",
        "zoom": {"summary_content": "## Key takeaways\n- Budget up", "summary_title": "Plan"},
    },
    "files": [
        {
            "key": "f1",
            "file_type": "MP4",
            "recording_type": "shared_screen_with_speaker_view",
            "recording_start": "2026-03-04T09:30:00Z",
            "recording_end": "2026-03-04T10:30:00Z",
            "filename": "01-shared_screen_with_speaker_view.mp4",
            "content_type": "video/mp4",
            "size": 5,
            "sha256": "cd" * 32,
            "zoom_fingerprint": "ab" * 32,
            "stored_as": "cd" * 32 + ".mp4",
            "listed_size": 5,
            "note": None,
            "source": "recordings",
            "breakout_room": None,
            "participant": None,
            "individual": False,
        },
        {
            "key": "f2",
            "file_type": "CHAT",
            "recording_type": "chat_file",
            "recording_start": "2026-03-04T09:30:00Z",
            "recording_end": None,
            "filename": "02-chat_file.txt",
            "content_type": "text/plain",
            "size": 3,
            "sha256": "ef" * 32,
            "zoom_fingerprint": None,
            "stored_as": None,
            "listed_size": None,
            "note": "Zoom lists 4 bytes; the download has 3, all the server announced",
            "source": "archiving",
            "breakout_room": "room1==",
            "participant": "bob@contoso.example",
            "individual": True,
        },
    ],
    "missing_files": [
        {
            "key": "f3",
            "file_type": "TRANSCRIPT",
            "file_extension": "VTT",
            "recording_type": "audio_transcript",
            "recording_start": "2026-03-04T09:30:00Z",
            "recording_end": "2026-03-04T10:30:00Z",
            "listed_size": None,
            "status": "completed",
            "zoom_fingerprint": "ef" * 32,
            "source": "archiving",
            "breakout_room": "room1==",
            "participant": None,
            "individual": False,
            "reason": "download answered HTTP 404 (1 attempts)",
        }
    ],
    "files_not_archived": [
        {
            "key": "f4",
            "file_type": "CC",
            "file_extension": "VTT",
            "recording_type": "closed_caption",
            "recording_start": "2026-03-04T09:30:00Z",
            "recording_end": "2026-03-04T10:30:00Z",
            "listed_size": 80,
            "status": "failed",
            "zoom_fingerprint": None,
            "source": "archiving",
            "breakout_room": None,
            "participant": None,
            "individual": False,
            "reason": "Zoom's archiving failed to make it (Zoom lists it as failed and will not make it)",
        },
        {
            "key": "f5",
            "file_type": "TIMELINE",
            "file_extension": "JSON",
            "recording_type": "timeline",
            "recording_start": "2026-03-04T09:30:00Z",
            "recording_end": "2026-03-04T10:30:00Z",
            "listed_size": None,
            "status": "completed",
            "zoom_fingerprint": None,
            "source": "recordings",
            "breakout_room": None,
            "participant": None,
            "individual": False,
            "reason": "its type is not among ARCHIVE_FILE_TYPES",
        },
    ],
}
NEW = ("end_time_source", "recording_start", "recording_end", "recording_duration", "timezone_source")


def _before(record: dict) -> dict:
    """The record as the archive wrote it before it kept spans, ids, summary forms and missing files."""
    old = {k: v for k, v in record.items() if k not in (*NEW, "missing_files", "files_not_archived")}
    old["participants"] = [
        {
            **{k: v for k, v in p.items() if k not in ("registrant_id", "other_names")},
            "sessions": [{k: v for k, v in s.items() if k != "user_id"} for s in p["sessions"]],
        }
        for p in record["participants"]
    ]
    summary = record["summary"]
    old["summary"] = {k: summary[k] for k in ("title", "overview", "details", "next_steps")}
    old["summary"]["edited"] = {k: summary["edited"][k] for k in ("title", "overview", "details", "next_steps")}
    old["summary"]["edited"]["edited"] = None
    old["files"] = [
        {k: v for k, v in f.items() if k not in ("listed_size", "note", "individual")} for f in record["files"]
    ]
    return old


def test_an_archived_record_reads_back_whole_and_is_written_the_same_way() -> None:
    record = MeetingRecord.from_json(json.dumps(WRITTEN))
    assert record.host == Person("Alice Archer", "alice@contoso.example") and record.host_id == "zAlice"
    assert (record.start, record.end) == (START, START + timedelta(minutes=47))
    bob = Participant(
        "Bob",
        "bob@contoso.example",
        True,
        (
            Session(START, START + timedelta(minutes=10), 600, "16778240"),
            Session(START + timedelta(minutes=20), None, 0),
        ),
        "zBob",
        names=("Bob's phone",),
    )
    assert record.participants[0] == bob and record.participants[1].zoom_id == ""
    assert record.participants[1].registrant_id == "r1"
    assert (record.end_source, record.timezone_source, record.recording_minutes) == ("details", "host", 60)
    assert [(m.file.key, m.reason) for m in record.missing] == [("f3", "download answered HTTP 404 (1 attempts)")]
    assert (record.missing[0].file.source, record.missing[0].file.room, record.missing[0].file.extension) == (
        "archiving",
        "room1==",
        "VTT",
    )
    assert [(f.key, f.failed) for f in record.not_archived] == [("f4", True), ("f5", False)]
    assert record.polls == (PollAnswer("p1", "Bob", "bob@contoso.example", "Ship it?", "Yes", START),)
    assert record.qa == (Question("Guest", "", "Recorded?", ""),)
    assert record.summary is not None and record.summary.content == "## Key takeaways\n- Budget up"
    assert record.summary.edited == Summary("Plan", "Agreed more.", (("", "Up 7%"),), ())
    assert json.loads(record.summary.zoom)["summary_content"] == "## Key takeaways\n- Budget up"
    assert record.files[0].stored_as == "cd" * 32 + ".mp4" and record.files[0].zoom_fingerprint == "ab" * 32
    assert (record.files[1].stored_as, record.files[1].zoom_fingerprint, record.files[1].recording_end) == (
        "",
        "",
        None,
    )
    assert record.sources == ("recordings", "archiving", "meetings")
    assert [(r.uuid, r.name, r.end - r.start) for r in record.rooms] == [("room1==", "Pricing", timedelta(minutes=15))]
    assert (record.files[1].source, record.files[1].room, record.files[1].participant, record.files[1].individual) == (
        "archiving",
        "room1==",
        "bob@contoso.example",
        True,
    )
    assert json.loads(record.to_json()) == WRITTEN
    assert record.to_json() == json.dumps(WRITTEN, indent=2).encode()  # the same bytes, field for field


def test_a_record_written_before_spans_ids_and_missing_files_were_kept_reads_back() -> None:
    older = MeetingRecord.from_json(json.dumps(_before(WRITTEN)))
    assert older.participants[0].sessions[0].participant_id == "" and older.missing == ()
    assert (older.end, older.duration_minutes, older.summary and older.summary.overview) == (
        START + timedelta(minutes=47),
        45,
        "Agreed.",
    )
    assert json.loads(older.to_json())["end_time_source"] is None


def test_a_record_missing_fields_or_holding_nulls_reads_them_as_empty() -> None:
    record = MeetingRecord.from_json('{"host": null, "participants": [{"name": null, "email": "b@x.example"}, 7]}')
    assert record.host == Person("", "") and record.start is None and record.summary is None
    assert record.participants == (Participant("", "b@x.example", False, ()),)
    assert (record.topic, record.meeting_id, record.polls, record.files) == ("", 0, (), ())


def test_the_message_holds_the_record_of_its_meeting_and_files() -> None:
    video, chat = b"v" * 100, b"00:00:01\tAlice:\thi\r\n"
    files = [captured(1, "MP4", video, stored=True), captured(2, "CHAT", chat)]
    summary = Summary("Plan", "Agreed <b>.", (("Budget", "Up 5% & more"),), ("Send notes",))
    polls = (PollAnswer("p1", "Bob", "", "Ship it?", "Yes & more", START),)
    built = meeting(summary=summary, polls=polls, end=START + timedelta(minutes=47))
    record = read_message(build_message(built, files, {"key-2": chat})).record
    assert record == MeetingRecord.of(built, files)
    assert record.archive_key == built.key and record.polls == polls and record.summary == summary
    assert record.files == tuple(ArchivedFile.of(c) for c in files)
    assert [f.stored_as for f in record.files] == [files[0].stored_as, ""]


times = st.one_of(st.none(), st.datetimes(timezones=st.just(START.tzinfo)).map(lambda t: t.replace(microsecond=0)))
texts = zoom_text
summaries = st.builds(
    Summary,
    texts,
    texts,
    st.lists(st.tuples(texts, texts), max_size=2).map(tuple),
    st.lists(texts, max_size=2).map(tuple),
)


@settings(max_examples=50, deadline=None)
@given(
    topic=texts,
    people=st.lists(
        st.builds(
            Participant,
            texts,
            texts,
            st.booleans(),
            st.lists(st.builds(Session, times, times, st.integers(-(2**40), 2**40)), max_size=2).map(tuple),
            texts,
        ),
        max_size=3,
    ),
    polls=st.lists(st.builds(PollAnswer, texts, texts, texts, texts, texts, times), max_size=2),
    qa=st.lists(st.builds(Question, texts, texts, texts, texts), max_size=2),
    summary=st.one_of(st.none(), summaries, st.builds(Summary, texts, texts, st.just(()), st.just(()), summaries)),
)
def test_any_meeting_comes_back_from_its_record_exactly(
    topic: str, people: list[Participant], polls: list[PollAnswer], qa: list[Question], summary: Summary | None
) -> None:
    built = meeting(topic=topic, participants=tuple(people), polls=tuple(polls), qa=tuple(qa), summary=summary)
    record = MeetingRecord.of(built, [captured(1, "CHAT", topic.encode("utf-8", "surrogatepass"))])
    assert MeetingRecord.from_json(record.to_json()) == record


def test_a_record_written_before_sources_reads_with_none() -> None:
    before = {k: v for k, v in WRITTEN.items() if k not in ("sources", "breakout_rooms", "files_not_archived")}
    before["files"] = [
        {k: v for k, v in f.items() if k not in ("source", "breakout_room", "participant", "individual")}
        for f in WRITTEN["files"]
    ]
    before["missing_files"] = [{k: v for k, v in m.items() if k in MISSING_BEFORE} for m in WRITTEN["missing_files"]]
    record = MeetingRecord.from_json(json.dumps(before))
    assert (record.sources, record.rooms, record.not_archived) == ((), (), ())
    assert [(f.source, f.room, f.participant) for f in record.files] == [("", "", ""), ("", "", "")]
    assert [(m.file.key, m.file.source, m.file.room, m.reason) for m in record.missing] == [
        ("f3", "", "", "download answered HTTP 404 (1 attempts)")
    ]


# What a record said of a file it could not fetch before it kept the file's whole listing.
MISSING_BEFORE = ("key", "file_type", "recording_type", "recording_start", "recording_end", "listed_size", "reason")


def test_a_message_reads_back_with_the_record_of_everything_it_was_built_from() -> None:
    """Every field of the typed record survives build, blob and read: names in any script, sources, rooms, a file
    of a room's individual recording, a file that could not be fetched, files left out, an addition."""
    room = BreakoutRoom("room1==", "Prix 価格", START + timedelta(minutes=5), START + timedelta(minutes=20))
    chat = "00:00:01\tJosé Müller:\t会議 ok\r\n".encode()
    video = captured(1, "MP4", b"v" * 100, stored=True, fingerprint="ab" * 32)
    room_chat = captured(2, "CHAT", chat)
    room_chat = replace(
        room_chat,
        file=replace(room_chat.file, source="archiving", room=room.uuid, participant="", individual=True),
        note="Zoom lists 4 bytes; the download has 3",
    )
    lost = replace(captured(3, "TRANSCRIPT", b"t").file, source="archiving", room=room.uuid, fingerprint="cd" * 32)
    failed = replace(captured(4, "CC", b"c").file, source="archiving", status="failed")
    left_out = replace(captured(5, "TIMELINE", b"{}").file, size=None)
    built = meeting(
        topic="Réunion 会議 \u202eevil",
        name="山田 太郎",
        participants=(attendee("José Müller", "jose@contoso.example"), attendee("iPhone", "", False)),
        files=(video.file, room_chat.file),
        end=START + timedelta(minutes=47),
        end_source="details",
        timezone_source="host",
        recording_minutes=30,
        summary=Summary("Plan", "Agreed.", (("Budget", "Up"),), ("Send",), content="## Done", doc_url="https://x"),
        missing=(MissingFile(lost, "download answered HTTP 404 (5 attempts)"),),
        not_archived=(failed, left_out),
        sources=("recordings", "archiving"),
        rooms=(room,),
    )
    for item in (built, replace(built, addition=True)):
        files = [video, room_chat]
        message = read_message(build_message(item, files, {"key-2": chat}))
        assert message.record == MeetingRecord.of(item, files)
        assert message.record.missing[0].file == replace(lost, download_url="")
        assert message.record.not_archived == tuple(replace(f, download_url="") for f in (failed, left_out))
        assert message.record.files[1].individual and message.record.files[1].room == room.uuid
    assert message.record.addition_to == built.key and message.in_reply_to == message_id(built.key)
