"""Zoom client rules that need no server: UUID encoding and the download host allow-list."""

from __future__ import annotations

import pytest

from shared.zoom import encode_uuid, host_allowed


@pytest.mark.parametrize(
    ("uuid", "path_segment"),
    [
        ("4444AAAiAAAAAiAiAiiAii==", "4444AAAiAAAAAiAiAiiAii%3D%3D"),
        ("L0AGOEPVR9m5WSOOs/d+FQ==", "L0AGOEPVR9m5WSOOs%2Fd%2BFQ%3D%3D"),
        ("/ajXp112QmuoKj4854875==", "%252FajXp112QmuoKj4854875%253D%253D"),
        ("Kq8e//Zp0QmXXn3WjP7Kzw==", "Kq8e%252F%252FZp0QmXXn3WjP7Kzw%253D%253D"),
    ],
)
def test_uuids_are_encoded_twice_only_when_zoom_requires_it(uuid: str, path_segment: str) -> None:
    assert encode_uuid(uuid) == path_segment


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
