"""How the calls name a meeting instance: UUIDs are encoded twice exactly when Zoom requires it."""

from __future__ import annotations

import pytest

from shared.zoom.endpoints import encode_uuid


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
