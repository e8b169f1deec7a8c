"""Zoom client rules that need no server: UUID encoding, the download host allow-list, when to retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.zoom import encode_uuid, host_allowed, retry_after


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


NOW = datetime(2020, 5, 30, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("2020-05-31T00:00:00Z", datetime(2020, 5, 31, tzinfo=UTC)),  # what Zoom sends with a daily limit
        ("Sun, 31 May 2020 00:00:00 GMT", datetime(2020, 5, 31, tzinfo=UTC)),
        ("30", NOW + timedelta(seconds=30)),
        ("1.5", NOW + timedelta(seconds=1.5)),
        ("", None),
        ("soon", None),
    ],
)
def test_retry_after_is_read_as_a_timestamp_a_date_or_seconds(header: str, expected: datetime | None) -> None:
    assert retry_after(header, NOW) == expected
