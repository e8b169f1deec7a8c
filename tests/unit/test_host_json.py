"""host.json: the Functions host's settings the archiver relies on."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_host_json_sends_telemetry_through_opentelemetry_with_the_stages_records_and_the_sdks_warnings() -> None:
    host = json.loads((ROOT / "host.json").read_text())

    assert host["telemetryMode"] == "OpenTelemetry"
    # Information: the stages' own records (stage_failed, archive_run_completed...) are what the alerts and
    # operators read; the Azure SDK's request-by-request lines are noise, its warnings are not.
    assert host["logging"]["logLevel"] == {"default": "Information", "Azure.Core": "Warning"}
