"""Our Zoom calls against Zoom's spec: each endpoint's rate-limit category, in the client and in the emulator,
is the label the spec gives it, and every request a run sends is an operation of the spec, with query
parameters it declares, within their bounds."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import pytest

from emulators.zoom.emulator import ZoomEmulator
from local.world import World
from shared.archiver import Archiver
from shared.records import MeetingRef
from shared.settings import load_settings
from shared.zoom import ENDPOINTS
from tests.contract.zoom_spec import ZoomSpec
from tests.tenant import ArchiveFile, Tenant


def concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "a%252Fb%253D%253D", template)


@pytest.mark.parametrize(("template", "category"), sorted(ENDPOINTS.items()))
def test_the_client_counts_each_call_in_the_category_the_spec_gives_it(
    spec: ZoomSpec, template: str, category: str
) -> None:
    operation = spec.operation("GET", concrete(template))
    assert operation.path == template
    assert operation.rate_limit_label == category.upper()


def test_the_emulator_serves_each_endpoint_in_its_spec_category(spec: ZoomSpec) -> None:
    served = {}
    for declared in ZoomEmulator.routes:
        if declared.category:
            path = declared.pattern.pattern.replace("([^/]+)", "a%252Fb%253D%253D")
            served[spec.operation(declared.method, path).path] = declared.category
    assert served == ENDPOINTS  # the emulator serves exactly what the client calls
    for template, category in served.items():
        assert spec.operation("GET", concrete(template)).rate_limit_label == category.upper()


@pytest.mark.integration
def test_every_request_of_a_run_is_an_operation_of_the_spec_with_declared_parameters(
    spec: ZoomSpec, fresh: World, tenant: Tenant
) -> None:
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker", status="inactive")
    planning = tenant.meeting(
        alice,
        "Planning",
        uuid="/ajXp112QmuoKj4854875==",
        attendees=[(alice, 0, 30), (bob, 5, 25)],
        archive=[ArchiveFile("MP4", b"v"), ArchiveFile("M4A", b"a", participant=bob)],
    )
    tenant.breakout_room(planning, "Room 1", attendees=[(bob, 0, 5)], archive=[ArchiveFile("M4A", b"r")])
    tenant.meeting(bob, "Town hall", kind=9, attendees=[(bob, 0, 60), (alice, 0, 60)])
    tenant.meeting(alice, "Long ago", days_ago=45)
    tenant.meeting(alice, "Unrecorded", cloud_recording=False, attendees=[(alice, 0, 30), (bob, 5, 25)])
    tenant.apply(fresh)
    sources = {"ZOOM_SOURCES": "recordings,archiving,meetings"}
    archiver = Archiver(load_settings(fresh.app_settings(ARCHIVE_BACKFILL_DAYS="60", **sources)))
    archiver.enumerate_meetings()
    for meeting in tenant.meetings:
        if meeting.parent is None:  # a breakout room is captured with its meeting
            archiver.capture_meeting(MeetingRef(meeting.uuid))

    requests = [r for r in fresh.zoom.requests() if r["path"].startswith("/v2/")]
    templates = set()
    for request in requests:
        operation = spec.operation(request["method"], request["path"])
        templates.add(operation.path)
        for name, values in parse_qs(request["query"]).items():
            declared = operation.query_parameter(name)["schema"]
            if "maximum" in declared:
                assert all(int(v) <= declared["maximum"] for v in values), request
    assert templates == set(ENDPOINTS)  # the run reached every endpoint the client knows
