"""The status log over HTTP: the page an administrator opens in a browser (headless Chromium), CSV and JSON."""

from __future__ import annotations

import csv
import io
from dataclasses import fields
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from local.world import serving_host
from shared.report import Gap
from shared.status import COUNTS, FORMULA_STARTS, Failure
from tests.chromium import chromium_dom
from tests.integration.conftest import FailedRun

pytestmark = pytest.mark.integration

KEY = "status-test-key"


class Page(HTMLParser):
    """The counts of each day's table and the cells of each failure row, as the browser rendered them."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, dict[str, str]] = {}
        self.failures: list[list[str]] = []
        self.elements: list[str] = []
        self._day = self._count = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.elements.append(tag)
        if tag == "table" and attributes.get("data-day"):
            self._day = attributes["data-day"] or ""
        elif tag == "tr" and attributes.get("data-count"):
            self._count = attributes["data-count"] or ""
        elif tag == "tr" and attributes.get("class") == "failure":
            self._row = []
        elif tag == "td":
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            text = "".join(self._cell)
            if self._count:
                self.counts.setdefault(self._day, {})[self._count] = text
            if self._row is not None:
                self._row.append(text)
            self._cell = None
        elif tag == "tr":
            if self._row is not None:
                self.failures.append(self._row)
            self._row, self._count = None, ""
        elif tag == "table":
            self._day = ""


def test_the_status_page_shows_the_days_counts_and_every_failure(failed_run: FailedRun, tmp_path: Path) -> None:
    run = failed_run
    review_day, other_day = run.review.start.date().isoformat(), run.broken.start.date().isoformat()

    with serving_host(run.world.app_settings(), KEY, tmp_path / "host.log") as api:
        refused = requests.get(f"{api}/status", timeout=30)
        wrong = requests.get(f"{api}/status", params={"code": "not-the-key"}, timeout=30)
        dom = chromium_dom(f"{api}/status?code={KEY}&days=30", tmp_path / "chromium")

    assert (refused.status_code, wrong.status_code) == (401, 401)
    page = Page()
    page.feed(dom)
    assert page.counts[review_day] == {
        **{name: "0" for name in COUNTS},
        "available": "1",
        "for_import": "2",
        "imported": "1",
        "failed": "1",
        "unmapped": "1",
    }
    assert page.counts[other_day] == {
        **{name: "0" for name in COUNTS},
        "available": "2",
        "for_import": "1",
        "imported": "1",
        "failed": "1",
        "retrying": "1",  # the broken capture: the sweep drives it again
    }
    rows = {row[1]: row for row in page.failures}
    assert set(rows) == {run.review.uuid, run.broken.uuid}
    day, _, topic, participant, mailbox, stage, code, reason, attempts, last = rows[run.review.uuid]
    assert (day, topic, participant, mailbox, stage, code) == (
        review_day,
        "Review <b>Q3</b> & plans",  # shown as text: Zoom's strings are escaped
        "Bob Baker",
        run.bob.email,
        "import",
        "ErrorAccessDenied",
    )
    assert "Access is denied" in reason and attempts == "1" and last.startswith(review_day[:4])
    day, _, topic, participant, mailbox, stage, code, reason, attempts, _ = rows[run.broken.uuid]
    assert (day, topic, mailbox, stage, code, attempts) == (other_day, "Broken", "", "capture", "zoom_400_300", "5")
    assert "b" not in page.elements, "a topic must never become markup"
    assert not {"script", "link", "img", "iframe"} & set(page.elements), "the page loads nothing and runs nothing"


def unquoted(cell: str) -> str:
    """A CSV cell's value: the CSV quotes text a spreadsheet would run as a formula."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def test_the_csv_download_parses_and_matches_the_json(failed_run: FailedRun, tmp_path: Path) -> None:
    with serving_host(failed_run.world.app_settings(), KEY, tmp_path / "host.log") as api:
        headers = {"x-functions-key": KEY}
        as_json = requests.get(f"{api}/status", params={"format": "json", "days": "30"}, headers=headers, timeout=30)
        as_csv = requests.get(f"{api}/status", params={"format": "csv", "days": "30"}, headers=headers, timeout=30)
        bad = requests.get(f"{api}/status", params={"format": "pdf"}, headers=headers, timeout=30)

    assert as_json.headers["Content-Type"].startswith("application/json")
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["Content-Disposition"]
    assert bad.status_code == 400
    log = as_json.json()
    assert as_csv.content.startswith(b"\xef\xbb\xbf"), "a UTF-8 byte order mark, for Excel"
    sheet = csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig")))
    rows = [{name: unquoted(value) for name, value in row.items()} for row in sheet]
    days = []
    for row in rows:
        if row["record"] == "day":
            days.append(
                {
                    "day": row["day"],
                    "counts": {name: int(row[name]) for name in COUNTS},
                    "failures": [],
                    "report_generated_at": row["report_generated_at"],
                    "gaps": [],
                    "heavy_calls": int(row["heavy_calls"]),
                    "zoom_daily_used": int(row["zoom_daily_used"]),
                    "report_sources": row["report_sources"],
                    "report_incomplete": row["report_incomplete"],
                }
            )
        elif row["record"] == "failure":
            values = {f.name: row[f.name] for f in fields(Failure)}
            days[-1]["failures"].append({**values, "attempts": int(row["attempts"])})
        else:
            values = {f.name: row[f.name] for f in fields(Gap)}
            days[-1]["gaps"].append({**values, "urgent": row["urgent"] == "True"})
    assert days == log["days"]
    assert sum(len(d["failures"]) for d in days) == 2 and sum(len(d["gaps"]) for d in days) == 2
