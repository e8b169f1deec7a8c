"""Zoom's webhook signature and timestamp, from Zoom's documented formula."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from shared import webhook
from shared.webhook import MAX_BODY_BYTES, request_time, signature


def test_the_signature_is_zoom_v0_hmac_sha256_of_timestamp_and_raw_body() -> None:
    body = b'{"event":"recording.completed","payload":{}}'
    expected = hmac.new(b"secret", b"v0:1700000000:" + body, hashlib.sha256).hexdigest()

    assert signature("secret", "1700000000", body) == f"v0={expected}"


def test_the_timestamp_is_seconds_or_milliseconds() -> None:
    moment = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert request_time("1700000000") == moment
    assert request_time("1700000000000") == moment
    assert request_time("") is None and request_time("-1") is None and request_time("12:00") is None


def test_a_body_larger_than_any_zoom_event_is_refused_before_it_is_hashed(monkeypatch: pytest.MonkeyPatch) -> None:
    hashed: list[bytes] = []
    monkeypatch.setattr(webhook, "signature", lambda secret, timestamp, body: hashed.append(body) or "v0=x")
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"

    reply = webhook.receive(body, {}, secret="s", state=None, queue=None)  # type: ignore[arg-type]

    assert (reply.status, hashed) == (413, [])
    assert str(MAX_BODY_BYTES) in reply.body["error"]
