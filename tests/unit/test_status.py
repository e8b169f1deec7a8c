"""The status log's query and renderings (the numbers themselves are checked against Azurite and in a browser)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from shared.report import Gap
from shared.status import BOM, COUNTS, Day, Failure, StatusLog, query, render, status_log, to_text

TODAY = date(2026, 3, 10)


def log() -> StatusLog:
    counts = dict.fromkeys(COUNTS, 0) | {"available": 1, "failed": 1}
    failure = Failure("2026-03-09", "u1", "<script>alert(1)</script>", "Bob", "bob@x", "import", "E", "r", 2, "t")
    gap = Gap("u1", "<script>alert(1)</script>", "bob@x", "import_failed", "E: r", False, "2026-09-08")
    return StatusLog("2026-03-04", "2026-03-10", [Day("2026-03-09", counts, [failure], "2026-03-10T06:00", [gap])])


class _Rows:
    """The rows of Table storage the status log reads, for one meeting on one day."""

    def __init__(self, meeting: dict, deliveries: list[dict]):
        self.meeting, self.deliveries = meeting, deliveries

    def meetings_between(self, first: date, last: date) -> list[dict]:
        return [self.meeting]

    def deliveries_between(self, first: date, last: date) -> list[dict]:
        return self.deliveries


def test_an_import_is_partial_when_its_row_or_its_meeting_counts_files_stored_apart() -> None:
    day = date(2026, 3, 9)
    meeting = {"PartitionKey": "k1", "day": day.isoformat(), "status": "captured", "delivery": "delivered"}
    imported = {"PartitionKey": "k1", "day": day.isoformat(), "status": "imported"}
    rows = [imported | {"stored_files": 1}, imported | {"stored_files": 0}, imported]

    (found,) = status_log(_Rows(meeting, rows), [], day, day).days  # type: ignore[arg-type]
    assert (found.counts["partially_imported"], found.counts["imported"]) == (1, 2)

    (found,) = status_log(_Rows(meeting | {"stored_files": 1}, rows), [], day, day).days  # type: ignore[arg-type]
    assert found.counts["partially_imported"] == 3, "capture stored a file apart: no copy has it attached"


def test_every_day_of_the_period_is_shown_and_a_day_nothing_is_known_of_says_so() -> None:
    day = date(2026, 3, 9)
    meeting = {"PartitionKey": "k1", "day": day.isoformat(), "status": "captured", "delivery": "delivered"}
    shown = status_log(_Rows(meeting, []), [], date(2026, 3, 7), TODAY)  # type: ignore[arg-type]

    assert [d.day for d in shown.days] == ["2026-03-10", "2026-03-09", "2026-03-08", "2026-03-07"]
    assert [d.empty for d in shown.days] == [True, False, True, True]
    assert to_text(shown).count("nothing recorded, no completeness report yet") == 3
    page = render(shown, "html")[0]
    assert page.count("<p class='empty'") == 3 and page.count("<table class='day'") == 1
    csv_rows = list(csv.DictReader(io.StringIO(render(shown, "csv")[0].removeprefix(BOM))))
    assert [(r["day"], r["available"]) for r in csv_rows] == [
        ("2026-03-10", "0"),
        ("2026-03-09", "1"),
        ("2026-03-08", "0"),
        ("2026-03-07", "0"),
    ]


def test_the_period_is_the_last_seven_days_unless_asked() -> None:
    assert query({}, TODAY) == (date(2026, 3, 4), TODAY, "html")
    assert query({"days": "1", "format": "csv"}, TODAY) == (TODAY, TODAY, "csv")
    assert query({"from": "2026-01-01", "to": "2026-01-31"}, TODAY) == (date(2026, 1, 1), date(2026, 1, 31), "html")
    assert query({"from": "2026-03-01"}, TODAY) == (date(2026, 3, 1), TODAY, "html")


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({"format": "pdf"}, "format must be one of html, json, csv"),
        ({"days": "many"}, "days a whole number"),
        ({"from": "yesterday"}, "must be dates"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "must run forwards"),
        ({"days": "999"}, "at most 366 days"),
        ({"days": "1000000"}, "at most 366 days"),
        ({"days": "0"}, "at most 366 days"),
    ],
)
def test_a_bad_query_is_refused_saying_why(params: dict[str, str], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        query(params, TODAY)


def test_the_page_escapes_zoom_text_and_loads_nothing() -> None:
    body, content_type, headers = render(log(), "html")

    assert content_type == "text/html"
    assert "<script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert not any(load in body for load in ("src=", "href=", "url(", "@import")), "no external asset"


def test_the_csv_has_a_row_per_day_failure_and_gap() -> None:
    body, content_type, headers = render(log(), "csv")

    assert body.startswith(BOM + "record,day,"), "Excel reads a CSV file as UTF-8 only after a byte order mark"
    rows = list(csv.DictReader(io.StringIO(body.encode().decode("utf-8-sig"))))
    assert content_type == "text/csv" and "attachment" in headers["Content-Disposition"]
    assert [r["record"] for r in rows] == ["day", "failure", "gap"]
    assert rows[0]["available"] == "1" and rows[1]["mailbox"] == "bob@x" and rows[2]["kind"] == "import_failed"


def test_the_terminal_rendering_names_failures_and_gaps() -> None:
    text = to_text(log())

    assert "FAILED import u1" in text and "GAP import_failed u1 mailbox bob@x" in text


@pytest.mark.parametrize("topic", ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_text_a_spreadsheet_would_run_as_a_formula_starts_with_a_quote(topic: str) -> None:
    counts = dict.fromkeys(COUNTS, 0)
    failure = Failure("2026-03-09", "u1", topic, "Bob", "bob@x", "capture", "E", topic, 1, "t")
    hostile = StatusLog("2026-03-09", "2026-03-09", [Day("2026-03-09", counts, [failure], "", [])])

    body, _, _ = render(hostile, "csv")

    failure_row = list(csv.DictReader(io.StringIO(body.removeprefix(BOM))))[1]
    assert failure_row["topic"] == failure_row["reason"] == "'" + topic
    assert failure_row["meeting_uuid"] == "u1" and failure_row["day"] == "2026-03-09", "other text stays as it is"


def test_the_page_links_to_the_operators_workbook_when_deployed() -> None:
    url = "https://portal.azure.com/#@tenant/resource/subscriptions/s/workbooks/w/workbook?a=1&b='2'"
    deployed = StatusLog(**{**log().__dict__, "workbook_url": url})

    body, _, _ = render(deployed, "html")
    assert body.count("href=") == 1
    assert (
        "href='https://portal.azure.com/#@tenant/resource/subscriptions/s/workbooks/w/workbook?a=1&amp;b=&#39;2&#39;'"
        in body
    )
    assert "workbook" not in render(log(), "html")[0]


def test_each_day_shows_what_the_archiver_used_of_zoom_s_daily_quota_once_it_is_known() -> None:
    day = date(2026, 3, 9)
    meeting = {"PartitionKey": "k1", "day": day.isoformat(), "status": "captured", "delivery": "delivered"}
    used = {TODAY: 1_500, day: 0, date(2026, 3, 8): 3}
    rows = _Rows(meeting, [])

    shown = status_log(rows, [], date(2026, 3, 8), TODAY, zoom_daily_used=used.__getitem__, zoom_daily_quota=30_000)  # type: ignore[arg-type]

    assert [(d.day, d.zoom_daily_used, d.empty) for d in shown.days] == [
        ("2026-03-10", 1_500, False),  # no meeting held that day, but Zoom calls made on it
        ("2026-03-09", 0, False),
        ("2026-03-08", 3, False),
    ]
    line = (
        "Zoom's daily quota of Heavy and Resource-intensive calls (UTC day): 1500 of 30000 used by the archiver (5.0 %)"
    )
    assert line in to_text(shown)
    page = render(shown, "html")[0]
    assert page.count("<p class='zoom-daily'>") == 3 and line.replace("'", "&#39;") in page
    csv_rows = list(csv.DictReader(io.StringIO(render(shown, "csv")[0].removeprefix(BOM))))
    assert [r["zoom_daily_used"] for r in csv_rows] == ["1500", "0", "3"]
    assert render(shown, "json")[0].count('"zoom_daily_used"') == 3

    unknown = status_log(rows, [], date(2026, 3, 8), TODAY)  # type: ignore[arg-type]
    assert "Zoom's daily quota" not in to_text(unknown) + render(unknown, "html")[0]
