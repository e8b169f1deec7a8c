"""Outlook's throttling of one app on one mailbox (../shared/reference/microsoft-graph.md §8)."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields, replace
from typing import Any

from emulators.base import Request, Response
from emulators.graph.errors import graph_error
from emulators.graph.model import MB, WRITES, Mailbox


@dataclass(frozen=True)
class Limits:
    """Outlook's throttling per app and mailbox (../shared/reference/microsoft-graph.md §8)."""

    concurrency: int = 4
    requests: int = 10_000
    requests_window: float = 600.0  # seconds
    upload_mb: float = 150.0
    upload_window: float = 300.0  # seconds
    concurrency_retry_after: float = 0.5  # seconds a client is told to wait when over the concurrency limit

    @classmethod
    def parse(cls, base: Limits, values: dict[str, Any]) -> Limits:
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(f"unknown limits: {sorted(unknown)}")
        return replace(base, **{k: (int if known[k] == "int" else float)(v) for k, v in values.items()})


class Throttling:
    """Admits each mailbox request, or answers 429 as Outlook does; `_in_mailbox` releases its slot."""

    def _admit(self, mailbox: Mailbox, request: Request) -> Response | None:
        """Outlook's throttling of one app on one mailbox: concurrency, requests and upload volume."""
        limits, now = self.limits, time.monotonic()
        size = len(request.body) if request.method in WRITES else 0
        with self.lock:
            while mailbox.requests and mailbox.requests[0] <= now - limits.requests_window:
                mailbox.requests.popleft()
            while mailbox.uploads and mailbox.uploads[0][0] <= now - limits.upload_window:
                mailbox.uploads.popleft()
            if mailbox.inflight >= limits.concurrency:
                return throttled("MailboxConcurrency", limits.concurrency_retry_after)
            if len(mailbox.requests) >= limits.requests:
                return throttled("MailboxRequests", mailbox.requests[0] + limits.requests_window - now)
            uploaded = sum(n for _, n in mailbox.uploads)
            if size and mailbox.uploads and uploaded + size > limits.upload_mb * MB:
                return throttled("MailboxUpload", mailbox.uploads[0][0] + limits.upload_window - now)
            mailbox.requests.append(now)
            if size:
                mailbox.uploads.append((now, size))
            mailbox.inflight += 1
        return None


def throttled(limit: str, retry_after: float) -> Response:
    """Outlook's answer over a limit; Retry-After in seconds, fractional as Graph sends it."""
    message = f"Application is over its {limit} limit."
    return graph_error(429, "ApplicationThrottled", message, {"Retry-After": f"{max(0.001, retry_after):.3f}"})
