"""Where a download may go: Zoom's hosts over HTTPS, and nowhere else."""

from __future__ import annotations

import pytest

from shared.zoom.downloads import host_allowed


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://zoom.us/rec/download/abc", True),
        ("https://ssrweb.zoom.us/file/x", True),
        ("https://eu01web.zoomgov.com/x", True),
        ("http://zoom.us/rec/download/abc", False),
        ("https://zoom.us.evil.example/x", False),
        ("https://evilzoom.us/x", False),
        ("https://169.254.169.254/latest/meta-data", False),
    ],
)
def test_downloads_go_only_to_zoom_hosts_over_https(url: str, allowed: bool) -> None:
    assert host_allowed(url, ("zoom.us", "zoomgov.com")) is allowed
