"""The completeness report: Zoom's inventory against what reached each mailbox, naming every gap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local.world import World
from shared.archiver import Archiver
from shared.records import MeetingRef
from shared.report import LISTING_HORIZON, read_reports
from shared.settings import load_settings
from shared.state import EXCLUDED, FAILED
from shared.storage import MESSAGES_CONTAINER, REPORTS_CONTAINER
from tests.integration.conftest import FailedRun, mailbox_refuses
from tests.tenant import File, Tenant

pytestmark = pytest.mark.integration


def test_a_run_with_injected_permanent_failures_yields_a_report_naming_exactly_those_gaps(
    failed_run: FailedRun,
) -> None:
    run = failed_run
    archiver = Archiver(load_settings(run.world.app_settings()))
    days = sorted({run.review.start.date(), run.broken.start.date()})

    # The local host's run ends with the daily reconcile timer, after the archive run drained.
    reports = {r.day: r for r in read_reports(archiver.storage.container(REPORTS_CONTAINER), days)}

    assert sorted(reports) == [d.isoformat() for d in days]
    gaps = {(g.meeting_uuid, g.kind, g.mailbox): g for r in reports.values() for g in r.gaps}
    assert set(gaps) == {
        (run.review.uuid, "import_failed", run.bob.email),
        (run.broken.uuid, "capture_failed", ""),
    }
    failed_import = gaps[(run.review.uuid, "import_failed", run.bob.email)]
    assert "ErrorAccessDenied" in failed_import.detail and not failed_import.urgent
    failed_capture = gaps[(run.broken.uuid, "capture_failed", "")]
    assert failed_capture.detail.startswith("zoom_400_300")
    assert failed_capture.urgent, "Zoom deletes the recording in 3 days"
    assert failed_capture.deadline == run.broken.extra["auto_delete_date"]

    review = reports[run.review.start.date().isoformat()]
    (check,) = [m for m in review.meetings if m.meeting_uuid == run.review.uuid]
    assert check.mailboxes == {run.alice.email: "imported", run.bob.email: "failed"}
    assert [(u["email"], u["reason"]) for u in review.unmapped] == [("grace@fabrikam.example", "external")]
    other = reports[run.broken.start.date().isoformat()]
    assert {m.meeting_uuid: m.mailboxes for m in other.meetings} == {
        run.broken.uuid: {},
        run.fine.uuid: {run.alice.email: "imported"},
    }


def test_meetings_zoom_lists_but_the_archive_has_not_delivered_are_gaps(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    dan = tenant.person("Dan Diaz", status="inactive")
    captured = tenant.meeting(alice, "Captured only", attendees=[(alice, 0, 30), (bob, 0, 30)])
    unseen = tenant.meeting(dan, "Never listed by the archive")
    tenant.apply(fresh)
    archiver = Archiver(load_settings(fresh.app_settings()))
    archiver.capture_meeting(MeetingRef(captured.uuid))  # no import yet: the mailboxes come from the message
    day = captured.start.date()

    (report,) = archiver.reconcile([day], today=datetime.now(UTC).date())

    assert {(g.meeting_uuid, g.kind, g.mailbox) for g in report.gaps} == {
        (captured.uuid, "not_imported", alice.email),
        (captured.uuid, "not_imported", bob.email),
        (unseen.uuid, "not_archived", ""),
    }
    assert not any(g.urgent for g in report.gaps)
    assert report.zoom_users == 3, "inactive users are part of Zoom's inventory"


def test_meetings_the_filters_leave_out_are_not_gaps(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    carol = tenant.person("Carol Chen")
    kept = tenant.meeting(alice, "In scope", minutes=30)
    short = tenant.meeting(alice, "Too short", minutes=2, days_ago=2)
    other_host = tenant.meeting(carol, "Host not archived", days_ago=2)
    tenant.apply(fresh)
    settings = fresh.app_settings(ARCHIVE_MIN_DURATION_MINUTES="5", ZOOM_EXCLUDE_USERS=carol.email)
    assert fresh.run_host(settings).returncode == 0
    archiver = Archiver(load_settings(settings))

    (report,) = archiver.reconcile([kept.start.date()], today=datetime.now(UTC).date())

    assert report.gaps == []
    statuses = {m.meeting_uuid: m.status for m in report.meetings}
    assert statuses == {kept.uuid: "captured", short.uuid: "excluded"}
    assert other_host.uuid not in statuses, "the excluded host's meetings are out of the archive's scope"
    assert report.zoom_users == 1


def test_the_default_reconcile_rechecks_unfinished_days_zoom_still_lists_and_not_excluded_ones(fresh: World) -> None:
    archiver = Archiver(load_settings(fresh.app_settings(RECONCILE_DAYS="2")))
    archiver.storage.ensure_created()
    today = datetime.now(UTC).date()
    rows = {
        "failed-recently": (today - timedelta(days=10), FAILED),
        "excluded-recently": (today - timedelta(days=11), EXCLUDED),
        "failed-long-ago": (today - LISTING_HORIZON - timedelta(days=1), FAILED),
    }
    for key, (day, status) in rows.items():
        archiver.state.update_meeting(key, uuid=key, status=status, day=day.isoformat())

    written = archiver.reconcile(today=today)

    expected = [today - timedelta(days=10), today - timedelta(days=2), today - timedelta(days=1)]
    assert [r.day for r in written] == [d.isoformat() for d in expected]


def test_files_zoom_lists_after_the_meeting_was_archived_are_a_gap_until_their_addition_is_in_every_mailbox(
    fresh: World, tenant: Tenant
) -> None:
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    vtt = b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nAlice Archer: hello\n"
    files = [File("MP4", b"\x00" * 1000), File("TRANSCRIPT", vtt)]
    meeting = tenant.meeting(alice, "Late transcript", attendees=[(alice, 0, 30), (bob, 0, 30)], files=files)
    complete = tenant.apply_before(fresh, "TRANSCRIPT")
    archiver = Archiver(load_settings(fresh.app_settings()))
    messages = archiver.storage.container(MESSAGES_CONTAINER)
    ref, day, today = MeetingRef(meeting.uuid), meeting.start.date(), datetime.now(UTC).date()
    first = archiver.capture_meeting(ref).blob_name
    archiver.import_message(messages.download_blob(first).readall())
    fresh.zoom.seed(complete, tenant.folder)  # Zoom has finished the transcript; no event told the archive

    (late,) = archiver.reconcile([day], today=today)
    assert [(g.kind, g.mailbox) for g in late.gaps] == [("files_not_archived", "")]
    assert "TRANSCRIPT" in late.gaps[0].detail

    fresh.graph.fault(mailbox_refuses(bob))
    replayed = archiver.replay(meeting.uuid)  # the report's remedy: the transcript is archived as an addition
    assert [(r.imported, r.failed) for r in replayed] == [(2, 0), (1, 1)], "the meeting's, then its addition's"

    (refused,) = archiver.reconcile([day], today=today)
    assert [(g.kind, g.mailbox) for g in refused.gaps] == [("import_failed", bob.email)]
    assert refused.gaps[0].detail.startswith("its addition of later files: ErrorAccessDenied")
