"""The completeness report's pure parts: when Zoom may delete a recording, and the stored JSON."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from shared.report import Gap, MeetingCheck, Report, deadline

START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_the_deadline_is_zooms_auto_delete_date_when_it_states_one() -> None:
    assert deadline({"auto_delete_date": "2026-04-15"}, START) == date(2026, 4, 15)


def test_otherwise_the_deadline_is_when_the_recording_leaves_zooms_six_month_listing() -> None:
    assert deadline({}, START) == date(2026, 8, 31)
    assert deadline({"auto_delete_date": ""}, START) == date(2026, 8, 31)
    assert deadline({"auto_delete_date": "soon"}, START) == date(2026, 8, 31)


def test_a_report_survives_its_blob() -> None:
    report = Report(
        day="2026-03-01",
        generated_at="2026-03-02T06:00:00+00:00",
        zoom_users=3,
        meetings=[MeetingCheck("u1", "Board <call>", START.isoformat(), "captured", {"a@contoso.example": "failed"})],
        gaps=[
            Gap("u1", "Board <call>", "a@contoso.example", "import_failed", "ErrorAccessDenied: no", True, "2026-03-05")
        ],
        unmapped=[{"meeting_uuid": "u1", "participant": "G", "email": "g@fabrikam.example", "reason": "external"}],
        not_listed_by_zoom=["u9"],
    )

    assert Report.from_json(report.to_json()) == report
    assert not report.complete
    assert report.gaps[0].line() == "URGENT import_failed u1 mailbox a@contoso.example: ErrorAccessDenied: no"


def test_a_report_counts_its_meetings_by_source_and_an_incomplete_inventory_is_not_complete() -> None:
    report = Report(
        day="2026-03-01",
        generated_at="2026-03-02T06:00:00+00:00",
        zoom_users=3,
        meetings=[
            MeetingCheck("u1", "Board", START.isoformat(), "captured", {}, ["recordings", "archiving", "meetings"]),
            MeetingCheck("u2", "Standup", START.isoformat(), "captured", {}, ["meetings"]),
            MeetingCheck("u3", "Archived", START.isoformat(), "captured", {}, ["archiving"]),
        ],
        gaps=[],
        incomplete="the past meetings could not be listed",
    )
    assert report.counts == {"recordings": 1, "archiving": 2, "meetings": 2, "unrecorded": 1}
    assert not report.complete and Report.from_json(report.to_json()) == report
    older = json.loads(report.to_json())
    for check in older["meetings"]:
        del check["sources"]
    del older["incomplete"]
    assert Report.from_json(json.dumps(older)).counts == {
        "recordings": 0,
        "archiving": 0,
        "meetings": 0,
        "unrecorded": 0,
    }
