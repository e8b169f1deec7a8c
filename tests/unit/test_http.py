"""The shared HTTP helpers: how long to wait before a retry."""

from __future__ import annotations

from shared.http import backoff


def test_backoff_grows_is_jittered_and_bounded() -> None:
    waits = [backoff(retry, 0.25, 30.0) for retry in range(12) for _ in range(20)]
    assert max(waits) <= 30
    assert len({round(w, 6) for w in waits[:20]}) > 1
    assert min(backoff(5, 0.25, 30.0) for _ in range(50)) > max(backoff(0, 0.25, 30.0) for _ in range(50))
    assert all(15.0 <= backoff(20, 0.25, 30.0) <= 30.0 for _ in range(50)), "at the cap, jittered by half at most"
