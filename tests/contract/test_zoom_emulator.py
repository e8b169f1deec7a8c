"""The Zoom emulator's answers against Zoom's spec: every response of every endpoint the archiver calls, for
a tenant with the shapes real accounts produce (../shared/specs/SOURCES.md): inactive users, CC and TIMELINE
files without ids, a file still processing, participant audio, a UUID that needs double encoding, a
webinar, polls, Q&A and an AI summary; and the error and 429 answers, where the spec lists them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from emulators.base import Request, Response
from emulators.zoom.emulator import ZoomEmulator
from emulators.zoom.limits import AccountLimits
from shared.zoom import encode_uuid
from tests.contract.zoom_spec import ZoomSpec
from tests.tenant import POLLS, QA, SUMMARY, File, Tenant
from tests.unit.test_zoom_emulator import oauth_token


@pytest.fixture(scope="module")
def zoom(tmp_path_factory: pytest.TempPathFactory) -> tuple[ZoomEmulator, str, Tenant]:
    tenant = Tenant(tmp_path_factory.mktemp("tenant"))
    tenant.folder.mkdir(exist_ok=True)
    alice = tenant.person("Alice Archer", groups=("gSales",))
    bob = tenant.person("Bob Baker")
    dan = tenant.person("Dan Diaz", status="inactive")
    planning = tenant.meeting(
        alice,
        "Planning",
        uuid="/ajXp112QmuoKj4854875==",
        attendees=[(alice, 0, 30), (bob, 2, 10), (bob, 12, 30)],
        files=[
            File("MP4", b"v" * 300),
            File("M4A", b"a" * 100),
            File("CHAT", b"00:00:01\tAlice:\thi\r\n"),
            File("TRANSCRIPT", b"WEBVTT\n"),
            File("CC", b"WEBVTT\n", with_id=False),
            File("TIMELINE", b'{"timeline": []}', with_id=False),
            File("M4A", b"p" * 50, participant_audio=True),
        ],
    )
    planning.polls, planning.qa, planning.summary = POLLS, QA, SUMMARY
    tenant.meeting(dan, "Handover", files=[File("MP4", b"x" * 10, processing=True)], days_ago=5)
    webinar = tenant.meeting(alice, "Town hall", kind=5, attendees=[(alice, 0, 60), (bob, 5, 50)])
    webinar.polls, webinar.qa = POLLS, QA
    emulator = ZoomEmulator(tenant.zoom_seed(), tenant.folder)
    return emulator, oauth_token(emulator), tenant


def get(zoom: tuple[ZoomEmulator, str, Tenant], path: str) -> tuple[int, Any]:
    emulator, token, _ = zoom
    request = Request(
        "GET", path, parse_qs(urlsplit(path).query), {"authorization": f"Bearer {token}"}, b"", "https://127.0.0.1:1"
    )
    response: Response = emulator.dispatch(request)
    assert isinstance(response.body, bytes)
    return response.status, json.loads(response.body)


def check(spec: ZoomSpec, zoom: tuple[ZoomEmulator, str, Tenant], path: str, status: int = 200) -> Any:
    answered, body = get(zoom, path)
    assert answered == status, body
    assert spec.operation("GET", path).validate_response(answered, body) == []
    return body


def meeting_paths(zoom: tuple[ZoomEmulator, str, Tenant]) -> dict[str, str]:
    meetings = {m.topic: encode_uuid(m.uuid) for m in zoom[2].meetings}
    return {"planning": meetings["Planning"], "webinar": meetings["Town hall"], "handover": meetings["Handover"]}


def test_users_validate_active_inactive_and_single(spec: ZoomSpec, zoom: tuple[ZoomEmulator, str, Tenant]) -> None:
    active = check(spec, zoom, "/v2/users?status=active&page_size=1")
    assert active["next_page_token"] and len(active["users"]) == 1
    check(spec, zoom, f"/v2/users?status=active&page_size=1&next_page_token={active['next_page_token']}")
    assert check(spec, zoom, "/v2/users?status=inactive&page_size=300")["next_page_token"] == ""
    check(spec, zoom, f"/v2/users/{zoom[2].people[0].zoom_id}")
    check(spec, zoom, "/v2/users/nobody", 404)
    assert check(spec, zoom, "/v2/users?status=active&next_page_token=expired", 400)["code"] == 300


def test_recordings_validate_with_every_file_shape(spec: ZoomSpec, zoom: tuple[ZoomEmulator, str, Tenant]) -> None:
    alice, _, dan = zoom[2].people
    listed = check(spec, zoom, f"/v2/users/{alice.zoom_id}/recordings?from=2020-01-01&page_size=300")
    files = [f for m in listed["meetings"] for f in m["recording_files"]]
    assert {"CC", "TIMELINE"} <= {f["file_type"] for f in files if "id" not in f}
    assert listed["from"] > "2020-01-01"  # a range over a month is shortened
    processing = check(spec, zoom, f"/v2/users/{dan.zoom_id}/recordings?from=2020-01-01")
    assert processing["meetings"][0]["recording_files"][0]["file_type"] == ""
    planning = check(spec, zoom, f"/v2/meetings/{meeting_paths(zoom)['planning']}/recordings")
    assert len(planning["participant_audio_files"]) == 1
    check(spec, zoom, "/v2/meetings/unknown%3D%3D/recordings", 404)


def test_a_meeting_instance_validates_everywhere(spec: ZoomSpec, zoom: tuple[ZoomEmulator, str, Tenant]) -> None:
    uuid = meeting_paths(zoom)["planning"]
    details = check(spec, zoom, f"/v2/past_meetings/{uuid}")
    assert details["end_time"] > details["start_time"]
    assert len(check(spec, zoom, f"/v2/past_meetings/{uuid}/participants")["participants"]) == 3
    assert check(spec, zoom, f"/v2/past_meetings/{uuid}/polls")["questions"] == POLLS
    assert check(spec, zoom, f"/v2/past_meetings/{uuid}/qa")["questions"] == QA
    assert check(spec, zoom, f"/v2/meetings/{uuid}/meeting_summary")["summary_overview"] == "Budget agreed."
    check(spec, zoom, f"/v2/past_meetings/{meeting_paths(zoom)['webinar']}", 404)
    check(spec, zoom, "/v2/past_meetings/unknown%3D%3D/participants", 404)


def test_a_webinar_instance_validates_everywhere(spec: ZoomSpec, zoom: tuple[ZoomEmulator, str, Tenant]) -> None:
    uuid = meeting_paths(zoom)["webinar"]
    assert check(spec, zoom, f"/v2/report/webinars/{uuid}")["type"] == 5
    assert len(check(spec, zoom, f"/v2/past_webinars/{uuid}/participants")["participants"]) == 2
    assert check(spec, zoom, f"/v2/past_webinars/{uuid}/polls")["questions"] == POLLS
    assert check(spec, zoom, f"/v2/past_webinars/{uuid}/qa")["questions"] == QA
    check(spec, zoom, f"/v2/past_webinars/{meeting_paths(zoom)['planning']}/participants", 404)
    check(spec, zoom, f"/v2/report/webinars/{meeting_paths(zoom)['planning']}", 404)


def test_rate_limit_answers_are_statuses_the_spec_lists(spec: ZoomSpec, zoom: tuple[ZoomEmulator, str, Tenant]) -> None:
    emulator = zoom[0]
    saved = emulator.limits
    emulator.limits = AccountLimits("pro", daily=0, clock=lambda: 0.0)
    try:
        for path in [f"/v2/users/{zoom[2].people[0].zoom_id}"] * 31 + ["/v2/users?status=active"] * 21:
            status, body = get(zoom, path)
        assert status == 429
        assert spec.operation("GET", path).validate_response(status, body) == []
        emulator.limits = AccountLimits("pro", daily=1, clock=lambda: 0.0)
        for _ in range(2):
            status, body = get(zoom, f"/v2/report/webinars/{meeting_paths(zoom)['webinar']}")
        assert status == 429 and "daily" in body["message"]
        assert spec.operation("GET", "/v2/report/webinars/x").validate_response(status, body) == []
    finally:
        emulator.limits = saved
