"""Debian's headless Chromium, as the tests drive it: a page loaded and rendered, its DOM dumped after load."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def chromium_dom(url: str, profile: Path, *options: str) -> str:
    """The page as headless Chromium loaded and rendered it (Debian's package; `make test` installs it);
    `options` are more of Chromium's switches, such as `--window-size=800,1000`."""
    browser = shutil.which("chromium")
    assert browser, "chromium is missing: `make test` installs Debian's chromium package"
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={profile}",
            *options,
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0 and "<html" in result.stdout, result.stderr[-2000:]
    return result.stdout
