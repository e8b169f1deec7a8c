"""The operators' workbook and its queries: every tile's KQL is a file the Bicep deploys, it is valid KQL, and it
names only events, fields and metrics the app writes (shared/telemetry.py). tests/integration/test_workbook.py
runs the same queries against the telemetry of a real run.
"""

from __future__ import annotations

import re

import duckdb_kql
import pytest

from shared import telemetry
from shared.zoom.ratelimit import DAILY_CATEGORIES, PLANS

from .bicep import INFRA, read

QUERIES = INFRA / "workbook"
# What the workbook's parameters put into the queries, as the portal does before running them.
PARAMETERS = {"{Grain}": "1h", "{DailyLimit}": "60000", "{LatencyMinutes}": "30"}
LOADED = re.compile(r"loadTextContent\('\.\./workbook/([\w.-]+\.kql)'\)")


def query(name: str) -> str:
    """A query file as the workbook runs it: comments dropped, parameters put in."""
    text = "\n".join(line for line in (QUERIES / name).read_text().splitlines() if not line.lstrip().startswith("//"))
    for parameter, value in PARAMETERS.items():
        text = text.replace(parameter, value)
    return text


def query_files() -> list[str]:
    return sorted(path.name for path in QUERIES.glob("*.kql"))


def test_every_query_file_is_deployed_and_every_deployed_query_exists() -> None:
    loaded = {
        name
        for bicep in (INFRA / "app" / "workbook.bicep", INFRA / "app" / "alerts.bicep")
        for name in LOADED.findall(bicep.read_text())
    }
    assert loaded == set(query_files())


def test_every_tile_of_the_workbook_reads_its_query_from_a_file() -> None:
    tiles = read(INFRA / "app" / "workbook.bicep").variables["tiles"]
    assert len(tiles) == len(query_files()) - 1  # all but the alert's
    for tile in tiles:
        assert f"../workbook/{tile['name']}.kql" in tile["query"].text


@pytest.mark.parametrize("name", query_files())
def test_the_query_is_kql_that_runs(name: str) -> None:
    connection = duckdb_kql.connect()
    connection.sql("CREATE TABLE traces (timestamp TIMESTAMP, message VARCHAR, customDimensions JSON)")
    connection.sql(
        "CREATE TABLE customMetrics (timestamp TIMESTAMP, name VARCHAR, value DOUBLE, valueCount BIGINT, "
        "customDimensions JSON)"
    )
    duckdb_kql.query(connection, query(name)).fetchall()  # raises on KQL it cannot translate or run


@pytest.mark.parametrize("name", query_files())
def test_the_query_names_only_what_the_app_writes(name: str) -> None:
    text = query(name)
    events = set(re.findall(r'event\)? (?:==|in \() ?"(\w+)"', text)) | {
        e for group in re.findall(r"event\)? in \(([^)]*)\)", text) for e in re.findall(r'"(\w+)"', group)
    }
    metrics = set(re.findall(r'name == "(\w+)"', text))
    fields = set(re.findall(r"customDimensions\.(\w+)", text)) - {"event"}
    assert events or metrics, "a tile reads the app's events or its metrics"
    assert events <= set(telemetry.EVENTS), f"events the app never writes: {events - set(telemetry.EVENTS)}"
    assert metrics <= set(telemetry.METRIC_ATTRIBUTES), f"unknown metrics: {metrics - set(telemetry.METRIC_ATTRIBUTES)}"
    written = {f for e in events for f in telemetry.EVENTS[e]} | {
        a for m in metrics for a in telemetry.METRIC_ATTRIBUTES[m]
    }
    written |= set(telemetry.DIMENSIONS) if events else set()
    assert fields <= written, f"fields the app never writes: {fields - written}"


def test_the_daily_quota_the_workbook_shows_is_the_plans() -> None:
    expression = read(INFRA / "main.bicep").variables["zoomDailyLimit"].text
    assert expression == f"zoomPlan == 'pro' ? {PLANS['pro'].daily} : {PLANS['business'].daily}"
    assert PLANS["enterprise"].daily == PLANS["business"].daily
    categories = ", ".join(f'"{category}"' for category in DAILY_CATEGORIES)
    assert f"in ({categories})" in query("zoom-daily-budget.kql")
