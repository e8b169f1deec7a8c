"""Every meeting, recorded or not, end to end through the local host: a meeting with a cloud recording and
Zoom's archive of it (breakout rooms included) lands once, holding both sources' files and saying where each
came from; a meeting neither recorded nor archived lands with its details and participants; an archive still
processing waits; a room Zoom finishes archiving later, announced by its webhook, adds its files."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from local.world import WEBHOOK_SECRET_TOKEN, World, serving_host
from shared import status
from shared.archiver import Archiver
from shared.message.record import RECORD_FILENAME, MeetingRecord
from shared.records import MeetingRef, archive_key
from shared.report import UNRECORDED, Report
from shared.settings import ARCHIVING, MEETINGS, RECORDINGS, load_settings
from shared.zoom import encode_uuid
from tests.tenant import ArchiveFile, File, GraphReader, Person, Tenant, member_log
from tests.unit.message.examples import Page

pytestmark = pytest.mark.integration

ALL_SOURCES = "recordings,archiving,meetings"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def chat_file(*messages: tuple[int, str, str, str]) -> bytes:
    """A CHAT_MESSAGE file as Zoom's Archived JSON schemas page documents it: (msg_type, e_time, sender, text)."""
    entries = [
        {
            "msg_type": kind,
            "e_time": when,
            "e_archive_time": when,
            "s_id": "",
            "s_name": b64(who),
            "s_email": "",
            "msg_id": b64(f"m{n}"),
            "msg_extended_type": "010101000100" if kind == 1 else "010101000400",
            **({"r_id": "", "r_name": b64("Alice Archer"), "r_email": ""} if kind == 2 else {}),
            "msg_content": b64(text),
        }
        for n, (kind, when, who, text) in enumerate(messages)
    ]
    return json.dumps({"uuid": "x", "messages": entries}).encode()


def run(world: World, **settings: str) -> str:
    result = world.run_host(world.app_settings(ZOOM_SOURCES=ALL_SOURCES, **settings))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def items(graph: GraphReader, person: Person) -> dict[str, dict[str, Any]]:
    folder = graph.folder(person)
    assert folder, f"{person.name} has no Inbox/Zoom Meetings"
    return {item["subject"].split(" - ")[0]: item for item in graph.items(person, folder)}


def record_of(item: dict[str, Any]) -> MeetingRecord:
    (record,) = [a for a in item["attachments"] if a["name"] == RECORD_FILENAME]
    return MeetingRecord.from_json(base64.b64decode(record["contentBytes"]))


def test_every_meeting_from_every_source_lands_once_saying_where_it_came_from(fresh: World, tenant: Tenant) -> None:
    alice, bob, carol = tenant.person("Alice Archer"), tenant.person("Bob Baker"), tenant.person("Carol Cho")
    dan = tenant.person("Dan Diaz", status="inactive")
    chat = chat_file((1, "00:01:00", "Alice Archer", "Welcome"), (2, "00:02:00", "Bob Baker", "psst"))
    log = member_log(carol.email)
    board = tenant.meeting(
        alice,
        "Board",
        attendees=[(alice, 0, 60), (bob, 0, 60)],
        minutes=60,
        files=[File("MP4", b"cloud video")],
        archive=[
            ArchiveFile("MP4", b"archived video"),
            ArchiveFile("CHAT_MESSAGE", chat),
            ArchiveFile("M4A", b"bob's own audio", participant=bob),
            ArchiveFile("TRANSCRIPT", None, status="failed", declared_size=0),
        ],
    )
    room = tenant.breakout_room(
        board, "Pricing", attendees=[(carol, 0, 10)], archive=[ArchiveFile("SUB_GROUP_MEMBER_LOG", log)]
    )
    standup = tenant.meeting(
        dan, "Standup", cloud_recording=False, attendees=[(dan, 0, 15), (alice, 1, 15)], days_ago=3
    )
    pending = tenant.meeting(
        bob, "Pending", cloud_recording=False, archive=[ArchiveFile("MP4", None, status="processing")]
    )
    pending.archive_status = "processing"
    tenant.apply(fresh)

    run(fresh)

    graph = GraphReader(fresh)
    alices, carols = items(graph, alice), items(graph, carol)
    assert sorted(alices) == ["Board", "Standup"] and sorted(items(graph, bob)) == ["Board"]
    assert list(carols) == ["Board"]  # only the member log of her breakout room names her
    assert sorted(items(graph, dan)) == ["Standup"]
    record = record_of(alices["Board"])
    assert record.sources == (RECORDINGS, ARCHIVING, MEETINGS)
    origins = sorted((f.file_type, f.source, f.room, f.participant) for f in record.files)
    assert origins == [
        ("CHAT_MESSAGE", ARCHIVING, "", ""),
        ("M4A", ARCHIVING, "", bob.email),
        ("MP4", ARCHIVING, "", ""),
        ("MP4", RECORDINGS, "", ""),
        ("SUB_GROUP_MEMBER_LOG", ARCHIVING, room.uuid, ""),
    ]
    assert [(r.uuid, r.name) for r in record.rooms] == [(room.uuid, "Pricing")]
    body = alices["Board"]["body"]["content"]
    assert "Zoom cloud recording; Zoom archiving; Zoom meeting details and participants" in body
    assert "Bob Baker" in body and "psst" in body
    assert "archiving failed to make (1)</h2>" in body  # the transcript: Zoom will not make it
    unrecorded = record_of(alices["Standup"])
    assert unrecorded.files == () and unrecorded.sources == (MEETINGS,)
    assert {p.email for p in unrecorded.participants} == {dan.email, alice.email}
    state = {r["uuid"]: r for r in _meetings(fresh)}
    assert state[pending.uuid]["status"] == "deferred" and state[standup.uuid]["files"] == 0
    assert state[board.uuid]["files_not_archived"] == 1  # the transcript Zoom's archiving failed to make
    reports = BlobServiceClient.from_connection_string(fresh.azurite.connection_string).get_container_client("reports")
    day = Report.from_json(reports.download_blob(f"{board.start.date()}.json").readall())
    checks = {m.meeting_uuid: m for m in day.meetings}
    assert checks[board.uuid].sources == [RECORDINGS, ARCHIVING, MEETINGS] and room.uuid not in checks
    assert checks[pending.uuid].sources == [ARCHIVING]
    assert day.counts == {RECORDINGS: 1, ARCHIVING: 2, MEETINGS: 1, UNRECORDED: 0}
    assert [g.kind for g in day.gaps] == ["not_captured"]  # only the meeting Zoom still archives
    standups = Report.from_json(reports.download_blob(f"{standup.start.date()}.json").readall())
    assert standups.counts[UNRECORDED] == 1 and standups.complete


def test_a_breakout_room_archived_after_its_meeting_adds_its_files_through_its_webhook(
    fresh: World, tenant: Tenant, tmp_path: Path
) -> None:
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker")
    board = tenant.meeting(alice, "Board", attendees=[(alice, 0, 30), (bob, 0, 30)], archive=[ArchiveFile("MP4", b"v")])
    room = tenant.breakout_room(board, "Room A", attendees=[(bob, 0, 5)], archive=[ArchiveFile("M4A", b"room audio")])
    tenant.folder.mkdir(parents=True, exist_ok=True)
    complete = tenant.zoom_seed()
    early = {**complete, "meetings": [m for m in complete["meetings"] if m["archive"]["uuid"] != room.uuid]}
    fresh.zoom.seed(early, tenant.folder)  # Zoom has archived the meeting, not the room yet
    fresh.graph.seed(tenant.graph_seed())
    run(fresh)
    graph = GraphReader(fresh)
    assert list(items(graph, bob)) == ["Board"]
    fresh.zoom.seed(complete, tenant.folder)
    settings = fresh.app_settings(
        ZOOM_SOURCES=ALL_SOURCES, ARCHIVE_SCHEDULE="0 0 0 1 1 *", RECONCILE_SCHEDULE="0 0 0 1 1 *"
    )

    with serving_host(settings, "local-test-key", tmp_path / "host.log") as api:
        event = {"event": "recording.archive_files_completed", "uuid": room.uuid, "url": f"{api}/zoom/webhook"}
        sent = fresh.zoom.http.post(
            f"{fresh.zoom.url}/_emulator/webhook", json={**event, "secret": WEBHOOK_SECRET_TOKEN}, timeout=60
        ).json()
        assert sent["status"] == 200 and json.loads(sent["body"]) == {"queued": board.uuid}, sent
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(graph.items(bob, graph.folder(bob))) < 2:
            time.sleep(0.5)

    boards = graph.items(bob, graph.folder(bob))
    assert sorted(i["subject"].split(" - ")[0] for i in boards) == ["Board", "[addition] Board"], (
        tmp_path / "host.log"
    ).read_text()
    (addition,) = [i for i in boards if i["subject"].startswith("[addition]")]
    assert [(f.file_type, f.room) for f in record_of(addition).files] == [("M4A", room.uuid)]


def _meetings(world: World) -> list[dict[str, Any]]:
    table = TableServiceClient.from_connection_string(world.azurite.connection_string).get_table_client("meetings")
    return [dict(row) for row in table.query_entities("RowKey eq 'meeting'")]


def test_a_report_whose_past_meetings_could_not_be_listed_within_the_share_says_so(
    fresh: World, tenant: Tenant
) -> None:
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker")
    standup = tenant.meeting(alice, "Standup", cloud_recording=False, attendees=[(alice, 0, 15), (bob, 1, 15)])
    tenant.apply(fresh)
    archiver = Archiver(load_settings(fresh.app_settings(ZOOM_SOURCES=ALL_SOURCES, ZOOM_MEETINGS_HEAVY_PERCENT="1")))
    archiver.storage.ensure_created()
    today = datetime.now(UTC).date()
    for _ in range(300):  # 1% of the pro plan's 30,000: today's share, spent by earlier listings
        archiver.state.take_heavy_call(today, 300)

    (report,) = archiver.reconcile(days=[standup.start.date()], today=today)

    assert not report.complete and report.gaps == []
    assert "used its 300 Heavy Zoom calls of today" in report.incomplete
    assert not [r for r in fresh.zoom.requests() if r["path"].endswith("/meetings")]  # no call past the share
    log = archiver.status(standup.start.date(), today)
    text, page = status.to_text(log), Page(status.to_html(log))
    assert "Heavy Zoom calls listing past meetings: 300 of the 300 a day allows" in text
    assert any("could not be listed whole" in p and "300 Heavy Zoom calls" in p for p in page.paragraphs)


def test_the_zoom_calls_of_one_meeting_s_capture_by_source(fresh: World, tenant: Tenant) -> None:
    """The calls a capture makes (README, Sources): the recordings-only capture's Light and Medium calls, one
    more Light call per other source enabled, and one per breakout room; none Heavy."""
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker")
    people = [(alice, 0, 30), (bob, 0, 30)]
    recorded = tenant.meeting(alice, "Recorded", attendees=people)
    archived = tenant.meeting(
        alice, "Archived", attendees=people, cloud_recording=False, archive=[ArchiveFile("MP4", b"v")]
    )
    tenant.breakout_room(archived, "Room", attendees=[(bob, 0, 5)], archive=[ArchiveFile("M4A", b"a")])
    unrecorded = tenant.meeting(alice, "Unrecorded", attendees=people, cloud_recording=False)
    tenant.apply(fresh)

    def calls(sources: str, meeting_uuid: str) -> list[str]:
        archiver = Archiver(load_settings(fresh.app_settings(ZOOM_SOURCES=sources)))
        archiver.storage.ensure_created()
        archiver.enumerate_meetings()  # the listing finds the breakout rooms
        archiver.zoom.user(alice.zoom_id)  # hosts are kept an hour: not a per-meeting call
        fresh.zoom.clear_requests()
        archiver.capture_meeting(MeetingRef(meeting_uuid, "test"))
        return sorted(r["path"].split("/")[-1] for r in fresh.zoom.requests() if r["path"].startswith("/v2/"))

    light_and_medium = ["meeting_summary", "participants", "polls", "qa"]
    assert calls("recordings", recorded.uuid) == sorted([*light_and_medium, "recordings", encode_uuid(recorded.uuid)])
    everything = calls(ALL_SOURCES, archived.uuid)
    assert everything.count("archive_files") == 2  # the meeting's archive and its room's
    assert len(everything) == 1 + 2 + 1 + len(light_and_medium)  # recording (404), archives, details, the rest
    assert len(calls(ALL_SOURCES, unrecorded.uuid)) == 3 + len(light_and_medium)  # 404, 404, details, the rest


def test_a_breakout_room_queued_by_itself_is_not_archived_apart_from_its_meeting(fresh: World, tenant: Tenant) -> None:
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker")
    board = tenant.meeting(alice, "Board", attendees=[(alice, 0, 30), (bob, 0, 30)], archive=[ArchiveFile("MP4", b"v")])
    room = tenant.breakout_room(board, "Room A", attendees=[(bob, 0, 5)], archive=[ArchiveFile("M4A", b"a")])
    tenant.apply(fresh)
    archiver = Archiver(load_settings(fresh.app_settings(ZOOM_SOURCES=ALL_SOURCES)))
    archiver.storage.ensure_created()

    captured = archiver.capture_meeting(MeetingRef(room.uuid, "replay"))

    assert captured.status == "excluded"
    assert "archived with its meeting" in archiver.state.meeting(archive_key(room.uuid))["reason"]
    assert archiver.state.breakout_rooms(archive_key(board.uuid)) == [room.uuid]
