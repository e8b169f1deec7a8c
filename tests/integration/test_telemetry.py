"""Telemetry of real stage runs, captured by OpenTelemetry's in-memory exporters instead of Application Insights.

Every log record of a unit of work carries its stage, meeting and archive key (and, inside a mailbox, the
mailbox); the counters move; and no record holds a secret, a token or meeting content.
"""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from local.world import AZURITE_KEY, World
from shared import telemetry
from shared.archiver import Archiver
from shared.records import MeetingRef, archive_key
from shared.settings import load_settings
from shared.storage import MESSAGES_CONTAINER
from tests.integration.conftest import FailedRun, counters, mailbox_refuses, records
from tests.tenant import File, Tenant

pytestmark = pytest.mark.integration

CHAT_MARKER = "Merger codename BLUEHERON, do not share"
TRANSCRIPT_MARKER = "the settlement figure is 41 million"


def download_signatures(world: World) -> dict[str, str]:
    """The signatures of the pre-signed URLs Zoom's downloads redirected to: credentials for the files."""
    queries = [r["query"] for r in world.zoom.requests() if r["path"].startswith("/cdn/")]
    assert queries
    return {f"pre-signed download URL {n}": q.split("signature=")[1] for n, q in enumerate(queries, 1)}


def test_a_unit_of_works_records_carry_its_dimensions_and_no_secret_or_content(
    fresh: World, tenant: Tenant, exported: tuple[InMemoryLogRecordExporter, InMemoryMetricReader]
) -> None:
    logs, reader = exported
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    carol = tenant.person("Carol Chen")
    chat = f"00:01:02\tAlice Archer:\t{CHAT_MARKER}\r\n".encode()
    transcript = f"WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nBob Baker: {TRANSCRIPT_MARKER}\n".encode()
    meeting = tenant.meeting(
        alice,
        "Board call",
        attendees=[(alice, 0, 30), (bob, 0, 30), (carol, 0, 30)],
        files=[File("MP4", b"\x00" * 2000), File("CHAT", chat), File("TRANSCRIPT", transcript)],
    )
    tenant.apply(fresh)
    fresh.graph.fault(mailbox_refuses(carol))
    settings = fresh.app_settings()
    archiver = Archiver(load_settings(settings))
    key = archive_key(meeting.uuid)
    before = counters(reader)
    records(logs)

    archiver.capture_meeting(MeetingRef(meeting.uuid))
    captured = records(logs)
    data = archiver.storage.container(MESSAGES_CONTAINER).download_blob(f"{key}.eml").readall()
    records(logs)
    archiver.import_message(data)
    imported = records(logs)
    archiver.capture_meeting(MeetingRef(meeting.uuid))  # a duplicate queue message finds the message written
    records(logs)

    assert captured and imported
    for stage, found in (("capture", captured), ("import", imported)):
        for record in found:
            assert (record.get("stage"), record.get("meeting_uuid"), record.get("archive_key")) == (
                stage,
                meeting.uuid,
                key,
            ), record["body"]
    mailboxes = {record.get("mailbox") for record in imported}
    assert {alice.email, bob.email, carol.email} <= mailboxes
    (failed,) = [r for r in imported if r.get("event") == "stage_failed"]
    assert (failed["mailbox"], failed["code"], failed["final"]) == (carol.email, "ErrorAccessDenied", True)

    after = counters(reader)

    def moved(name: str, **attributes: str) -> int:
        point = (name, tuple(sorted(attributes.items())))
        return after.get(point, 0) - before.get(point, 0)

    assert moved("meetings_archived") == 1, "the duplicate archived nothing"
    assert moved("items_imported") == 2
    assert moved("archived_bytes") == len(data)
    assert moved("stage_failures", stage="import", code="ErrorAccessDenied") == 1

    archiver.import_message(data)  # the blob event again: Carol's refusal was counted when it happened, only then
    assert not [r for r in records(logs) if r.get("event") == "stage_failed"]
    after = counters(reader)
    assert moved("stage_failures", stage="import", code="ErrorAccessDenied") == 1
    assert (moved("items_imported"), moved("archived_bytes")) == (2, len(data)), "nothing new was imported"

    secrets = {
        "Zoom client secret": settings["ZOOM_CLIENT_SECRET"],
        "Graph client secret": settings["GRAPH_CLIENT_SECRET"],
        "webhook secret token": settings["ZOOM_WEBHOOK_SECRET_TOKEN"],
        "storage account key": AZURITE_KEY,
        "Zoom access token": archiver.zoom.tokens.token(),
        "Graph access token": archiver.graph.token(),
        **download_signatures(fresh),
        "chat content": CHAT_MARKER,
        "transcript content": TRANSCRIPT_MARKER,
    }
    archiver.enumerate_meetings()  # the no-run alert waits for this record of every completed run
    (completed,) = [r for r in records(logs) if r.get("event") == "archive_run_completed"]
    assert (completed["stage"], completed["found"], completed["queued"]) == ("enumerate", 1, 0)

    everything = json.dumps(captured + imported, default=str)
    leaked = [name for name, value in secrets.items() if value in everything]
    assert not leaked, f"found in telemetry: {leaked}"


def test_telemetry_is_off_without_a_connection_string() -> None:
    factory = logging.getLogRecordFactory()

    assert telemetry.configure({}) is False
    assert logging.getLogRecordFactory() is factory, "nothing is installed when nothing is exported"


def test_a_failure_the_host_or_the_sweep_retries_is_never_final(failed_run: FailedRun) -> None:
    failures = [line for line in failed_run.output.splitlines() if line.startswith("stage failed: zoom_400_300")]

    # The host's 5 attempts, then the sweep (the last timer of the run) drove the meeting again: 5 more.
    assert failures == ["stage failed: zoom_400_300"] * 10
    assert "capture driven again (1 of 6, in 0 s): poisoned" in failed_run.output
