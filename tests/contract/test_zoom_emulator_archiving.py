"""The Zoom emulator's archiving and meeting-report answers against Zoom's spec: archived instances with
completed, processing and failed files, individual recordings, breakout rooms, an archive still processing,
and meetings that were neither recorded nor archived; the errors and ranges the spec describes; and the
`recording.archive_files_completed` notification in the shape of Zoom's documented example."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import pytest

from emulators.base import Request
from emulators.zoom.emulator import ZoomEmulator
from shared.zoom import encode_uuid
from tests.conftest import shared_file
from tests.contract.test_zoom_emulator import check
from tests.contract.zoom_spec import ZoomSpec
from tests.tenant import ArchiveFile, Tenant, zoom_time
from tests.unit.test_zoom_emulator import oauth_token

Zoom = tuple[ZoomEmulator, str, Tenant]


@pytest.fixture(scope="module")
def zoom(tmp_path_factory: pytest.TempPathFactory) -> Zoom:
    tenant = Tenant(tmp_path_factory.mktemp("tenant"))
    tenant.folder.mkdir(exist_ok=True)
    alice, bob, carol = tenant.person("Alice Archer"), tenant.person("Bob Baker"), tenant.person("Carol Cho")
    board = tenant.meeting(
        alice,
        "Board",
        uuid="/bOaRd//xyz==",
        attendees=[(alice, 0, 60), (bob, 1, 60), (carol, 2, 50)],
        archive=[
            ArchiveFile("MP4", b"v" * 100),
            ArchiveFile("M4A", b"a" * 40, participant=bob),
            ArchiveFile("CHAT_MESSAGE", b'{"uuid": "x", "messages": []}'),
            ArchiveFile("CC", None, status="processing", declared_size=10),
            ArchiveFile("TRANSCRIPT", None, status="failed", declared_size=0),
        ],
        minutes=60,
    )
    tenant.breakout_room(
        board,
        "Room 1",
        attendees=[(bob, 0, 10), (carol, 0, 10)],
        archive=[ArchiveFile("SUB_GROUP_MEMBER_LOG", b"[]"), ArchiveFile("M4A", b"r" * 30)],
    )
    tenant.meeting(alice, "Standup", cloud_recording=False, attendees=[(alice, 0, 15), (bob, 0, 15)], days_ago=3)
    tenant.meeting(alice, "Alone", cloud_recording=False, attendees=[(alice, 0, 15)], days_ago=3)
    late = tenant.meeting(bob, "Late", cloud_recording=False, archive=[ArchiveFile("MP4", None, status="processing")])
    late.archive_status = "processing"
    emulator = ZoomEmulator(tenant.zoom_seed(), tenant.folder)
    return emulator, oauth_token(emulator), tenant


def window(days_back: int = 6, until: datetime | None = None) -> str:
    end = until or datetime.now(UTC) - timedelta(minutes=1)
    return f"from={zoom_time(end - timedelta(days=days_back))}&to={zoom_time(end)}"


def meeting(zoom: Zoom, topic: str) -> Any:
    (found,) = [m for m in zoom[2].meetings if m.topic == topic]
    return found


def test_the_listing_validates_with_every_file_status_rooms_and_a_processing_archive(
    spec: ZoomSpec, zoom: Zoom
) -> None:
    listed = check(spec, zoom, f"/v2/archive_files?{window()}&page_size=300")
    by_topic = {m["topic"]: m for m in listed["meetings"]}
    assert set(by_topic) == {"Board", "Room 1", "Late"}  # the unrecorded, unarchived ones are not archived
    statuses = [f["status"] for f in by_topic["Board"]["archive_files"]]
    assert statuses == ["completed", "completed", "completed", "processing", "failed"]
    room = by_topic["Room 1"]
    assert room["is_breakout_room"] and room["parent_meeting_id"] == "/bOaRd//xyz=="
    assert [f["individual"] for f in by_topic["Board"]["archive_files"]][:2] == [False, True]
    assert by_topic["Late"]["status"] == "processing" and by_topic["Late"]["complete_time"] == ""
    assert all(f["download_url"].startswith("https://127.0.0.1:1/rec/archive/download/") for f in room["archive_files"])


def test_a_range_over_seven_days_is_refused_and_a_future_to_is_answered_as_now(spec: ZoomSpec, zoom: Zoom) -> None:
    check(spec, zoom, f"/v2/archive_files?{window(days_back=8)}", 400)
    future = datetime.now(UTC) + timedelta(hours=3)
    first = check(spec, zoom, f"/v2/archive_files?{window(until=future)}&page_size=1")
    assert first["to"] < zoom_time(future) and first["next_page_token"]
    since = window(until=future).split("&")[0]
    token = f"page_size=1&next_page_token={first['next_page_token']}"
    again_future = check(spec, zoom, f"/v2/archive_files?{since}&to={zoom_time(future)}&{token}", 400)
    assert again_future["code"] == 300  # the page token holds only with the `to` Zoom answered
    second = check(spec, zoom, f"/v2/archive_files?{since}&to={quote(first['to'])}&{token}")
    assert second["meetings"] and second["meetings"][0]["uuid"] != first["meetings"][0]["uuid"]


def test_the_archive_completion_time_can_select_instead(spec: ZoomSpec, zoom: Zoom) -> None:
    listed = check(spec, zoom, f"/v2/archive_files?{window()}&query_date_type=archive_complete_time")
    assert "Late" not in {m["topic"] for m in listed["meetings"]}  # not complete: no completion time yet


def test_one_instance_s_archive_validates_and_an_unknown_one_is_404(spec: ZoomSpec, zoom: Zoom) -> None:
    board = check(spec, zoom, f"/v2/past_meetings/{encode_uuid('/bOaRd//xyz==')}/archive_files")
    assert len(board["archive_files"]) == 5
    room = meeting(zoom, "Room 1")
    assert check(spec, zoom, f"/v2/past_meetings/{encode_uuid(room.uuid)}/archive_files")["type"] == 100
    check(spec, zoom, f"/v2/past_meetings/{encode_uuid(meeting(zoom, 'Standup').uuid)}/archive_files", 404)
    check(spec, zoom, f"/v2/past_meetings/{quote('/bOaRd//xyz==', safe='')}/archive_files", 404)  # encoded once


def test_a_breakout_room_is_known_to_the_archiving_endpoints_only(spec: ZoomSpec, zoom: Zoom) -> None:
    room = encode_uuid(meeting(zoom, "Room 1").uuid)
    check(spec, zoom, f"/v2/past_meetings/{room}", 404)
    check(spec, zoom, f"/v2/past_meetings/{room}/participants", 404)


def test_meeting_reports_validate_and_hold_every_meeting_of_two_or_more(spec: ZoomSpec, zoom: Zoom) -> None:
    alice = zoom[2].people[0]
    today = datetime.now(UTC).date()
    since = (today - timedelta(days=20)).isoformat()
    report = check(spec, zoom, f"/v2/report/users/{alice.zoom_id}/meetings?from={since}&to={today}&type=past")
    by_topic = {m["topic"]: m for m in report["meetings"]}
    assert set(by_topic) == {"Board", "Standup"}  # not "Alone" (one participant), not the breakout room
    assert by_topic["Standup"]["participants_count"] == 2 and by_topic["Standup"]["has_recording"] is False
    assert by_topic["Board"]["uuid"] == "/bOaRd//xyz=="
    bob = zoom[2].people[1]
    joined = check(spec, zoom, f"/v2/report/users/{bob.zoom_id}/meetings?from={since}&to={today}&type=pastJoined")
    assert {"Board", "Standup"} <= {m["topic"] for m in joined["meetings"]}


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("from=2026-01-01", 400),  # `to` is required
        (f"from={(datetime.now(UTC) - timedelta(days=40)).date()}&to={datetime.now(UTC).date()}", 400),  # > a month
        (f"from={date.today() - timedelta(days=220)}&to={date.today() - timedelta(days=200)}", 400),
    ],
    ids=["no to", "over a month", "beyond six months"],
)
def test_meeting_reports_refuse_what_the_spec_rules_out(spec: ZoomSpec, zoom: Zoom, query: str, status: int) -> None:
    alice = zoom[2].people[0]
    assert check(spec, zoom, f"/v2/report/users/{alice.zoom_id}/meetings?{query}", status)["code"] == 300
    check(spec, zoom, "/v2/report/users/nobody/meetings?from=2026-01-01&to=2026-01-02", 404)


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        self.received.append(
            ({k.lower(): v for k, v in self.headers.items()}, self.rfile.read(int(self.headers["Content-Length"])))
        )
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_archive_files_completed_notification_has_the_shape_of_zoom_s_example(zoom: Zoom) -> None:
    example = json.loads(shared_file("samples/zoom/webhook-recording.archive_files_completed.json").read_text())
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api/zoom/webhook"
        spec = {"event": "recording.archive_files_completed", "uuid": "/bOaRd//xyz==", "url": url, "secret": "s"}
        request = Request("POST", "/_emulator/webhook", {}, {}, json.dumps(spec).encode(), "https://127.0.0.1:1")
        answer = zoom[0].control(request, Path("."))
    finally:
        server.shutdown()
    assert json.loads(answer.body) == {"status": 200, "body": "{}"}
    headers, body = _Receiver.received[-1]
    event = json.loads(body)
    assert event.keys() == example.keys() and event["payload"].keys() == example["payload"].keys()
    sent, documented = event["payload"]["object"], example["payload"]["object"]
    assert documented.keys() <= sent.keys()
    assert documented["archive_files"][0].keys() - {"participant_email"} <= sent["archive_files"][0].keys()
    assert headers["x-zm-signature"].startswith("v0=") and headers["x-zm-request-timestamp"].isdigit()
    assert isinstance(event["event_ts"], int) and event["event_ts"] > 10**12  # milliseconds
    path = sent["archive_files"][0]["download_url"].replace("https://127.0.0.1:1", "")
    authorized = {"authorization": f"Bearer {event['download_token']}"}
    download = zoom[0].dispatch(Request("GET", path, {}, authorized, b"", "https://127.0.0.1:1"))
    assert download.status == 302  # the event's download_token downloads its files


def test_an_unrecorded_meeting_has_details_and_participants_but_no_recording(spec: ZoomSpec, zoom: Zoom) -> None:
    standup = encode_uuid(meeting(zoom, "Standup").uuid)
    details = check(spec, zoom, f"/v2/past_meetings/{standup}")
    assert details["topic"] == "Standup" and details["end_time"] > details["start_time"]
    assert len(check(spec, zoom, f"/v2/past_meetings/{standup}/participants")["participants"]) == 2
    check(spec, zoom, f"/v2/meetings/{standup}/recordings", 404)
    alice = zoom[2].people[0]
    listed = check(spec, zoom, f"/v2/users/{alice.zoom_id}/recordings?from={date.today() - timedelta(days=20)}")
    assert {m["topic"] for m in listed["meetings"]} == {"Board"}  # recorded and archived; Standup is neither
