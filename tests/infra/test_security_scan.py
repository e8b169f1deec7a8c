"""The checkov security scan of the Bicep templates (framework bicep), offline.

checkov runs from its own virtualenv (.venv-checkov, made by `make test`): it pins an older Bicep parser
that conflicts with other tools. Every check must pass, or be skipped with a reason written next to the
resource (`//checkov:skip=CKV_...: reason`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from functools import cache

from .bicep import INFRA, bicep_files

CHECKOV = INFRA.parent / ".venv-checkov" / "bin" / "checkov"
# checkov stays offline: no download of external checks or guideline mappings, no update check.
OFFLINE = {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
SKIP_COMMENT = re.compile(r"//\s*checkov:skip=(CKV2?_\w+)(?::(.*))?")


@cache
def _scan() -> dict:
    assert CHECKOV.exists(), "checkov is not installed: run `make test` (it creates .venv-checkov)"
    command = [str(CHECKOV), "--directory", str(INFRA), "--framework", "bicep", "--skip-download", "--output", "json"]
    result = subprocess.run(command, env={**os.environ, **OFFLINE}, capture_output=True, text=True, timeout=300)
    assert result.stdout.strip(), f"checkov printed nothing:\n{result.stderr[-2000:]}"
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


def _checks(outcome: str) -> list[dict]:
    return _scan()["results"].get(f"{outcome}_checks", [])


def test_checkov_passes_with_only_justified_skips() -> None:
    summary = _scan()["summary"]
    assert summary["parsing_errors"] == 0, "checkov could not parse a Bicep file"
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}" for c in _checks("failed")]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    # The files with the key resources were really scanned (checkov sees nothing inside a module call).
    scanned = {c["file_path"].lstrip("/") for c in _checks("passed") + _checks("skipped")}
    assert {"app/storage.bicep", "app/function.bicep", "app/keyvault.bicep"} <= scanned
    assert summary["passed"] >= 20


def test_every_skip_says_why() -> None:
    for check in _checks("skipped"):
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason) >= 30, f"{check['check_id']} on {check['resource']} is skipped without a real reason"
    for path in bicep_files():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = SKIP_COMMENT.search(line)
            if match:
                reason = (match.group(2) or "").strip()
                assert len(reason) >= 30, f"{path.name}:{number}: {match.group(1)} is skipped without a real reason"
