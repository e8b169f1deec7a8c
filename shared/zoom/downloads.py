"""Recording downloads: streamed into a sink while hashed, and checked to be the file and all of it.

A download URL redirects to another host, which must be a Zoom host (the token goes to the first host
only); Zoom can answer an HTML page with 200 instead of the file; a connection that breaks mid-file is
resumed where it stopped with a Range request, through the same redirects, by the download retry policy.
A download is whole when it has every byte its own framing announced (Content-Length, Content-Range): the size
Zoom lists for a file is not evidence (it is 0 for some chat, transcript and restored files, and can differ),
so the caller compares it and records a disagreement. (Facts: ../shared/reference/zoom-api.md §3.2.)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

import requests

from shared.retry import CONNECTION, STATUS, Failure, RetryPolicy
from shared.zoom.retries import DOWNLOAD_RETRIES, TIMEOUT
from shared.zoom.token import Tokens

MAX_REDIRECTS = 5
CHUNK = 256 * 1024  # what a broken connection can lose: a resumed download starts after the last whole one


class DownloadError(Exception):
    """A recording download failed a check (host, status, content type or size): never archive it as is."""


class _Unavailable(DownloadError):
    """The download answered 429 or a 5xx: it passes (after its Retry-After, when it names one)."""

    def __init__(self, response: requests.Response):
        super().__init__(f"download answered HTTP {response.status_code}")
        self.retry_after = response.headers.get("Retry-After", "")


@dataclass(frozen=True)
class Download:
    size: int
    sha256: str


def host_allowed(url: str, allowed: tuple[str, ...]) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and any(host == d or host.endswith("." + d) for d in allowed)


class Downloads:
    """Thread-safe: the session, the token and the retry policy are shared; each download counts its own."""

    def __init__(
        self,
        session: requests.Session,
        tokens: Tokens,
        allowed_hosts: tuple[str, ...],
        policy: RetryPolicy = DOWNLOAD_RETRIES,
    ):
        self.session = session
        self.tokens = tokens
        self.allowed_hosts = allowed_hosts
        self.policy = policy

    def download(self, url: str, sink: BinaryIO) -> Download:
        """Stream a recording file into `sink`, hashing it, and check it is the file and all of it.

        A broken connection or a 5xx is tried again, resuming after the bytes received; an HTML page, a
        foreign host or fewer bytes than the server announced is refused.
        """
        if not host_allowed(url, self.allowed_hosts):
            raise DownloadError(f"download URL host {urlsplit(url).hostname!r} is not an allowed Zoom host")
        received = _Received(sink)

        def attempt() -> Download:
            with self._open(url, received.size) as response:
                if response.status_code >= 500 or response.status_code == 429:
                    raise _Unavailable(response)
                received.take(response)
                return received.result()

        def judge(error: Exception) -> Failure | None:
            if isinstance(error, _Unavailable):
                return Failure(STATUS, error, retry_after=error.retry_after)
            if isinstance(error, requests.RequestException):
                problem = f"download broke off after {received.size} bytes: {type(error).__name__}"
                return Failure(CONNECTION, DownloadError(problem))
            return None

        return self.policy.run(
            attempt,
            judge,
            give_up=lambda failure, attempts: DownloadError(f"{failure.error} ({attempts} attempts)"),
            what="a recording download",
        )

    def _open(self, url: str, offset: int) -> requests.Response:
        """GET the file, following redirects only to allowed hosts; the token goes to the first host only."""
        origin = urlsplit(url).netloc
        for _ in range(MAX_REDIRECTS + 1):
            headers = self.tokens.authorization() if urlsplit(url).netloc == origin else {}
            if offset:
                headers["Range"] = f"bytes={offset}-"
            response = self.session.get(url, headers=headers, stream=True, allow_redirects=False, timeout=TIMEOUT)
            if not response.is_redirect:
                return response
            target = urljoin(url, response.headers.get("Location", ""))
            response.close()
            if not host_allowed(target, self.allowed_hosts):
                raise DownloadError(
                    f"download redirected to {urlsplit(target).hostname!r}, which is not an allowed Zoom host"
                )
            url = target
        raise DownloadError(f"download redirected more than {MAX_REDIRECTS} times")


class _Received:
    """What one download has written so far: it spans the responses of a resumed download."""

    def __init__(self, sink: BinaryIO):
        self.sink = sink
        self.size = 0
        self.digest = hashlib.sha256()
        self.total: int | None = None  # the whole file's size, as the server announced it

    def take(self, response: requests.Response) -> None:
        """Write the response's bytes after those already received; raises when it is not the file."""
        status = response.status_code
        if status not in (200, 206):
            raise DownloadError(f"download answered HTTP {status}")
        if response.headers.get("Content-Type", "").split(";")[0].strip().lower() == "text/html":
            raise DownloadError("download answered an HTML page instead of the file (Zoom does this with HTTP 200)")
        skip = self._skip(response)
        for chunk in response.iter_content(CHUNK):
            if skip:
                dropped = min(skip, len(chunk))
                chunk, skip = chunk[dropped:], skip - dropped
            if self.size == 0 and chunk.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
                raise DownloadError("download answered an HTML page instead of the file")
            self.digest.update(chunk)
            self.sink.write(chunk)
            self.size += len(chunk)

    def _skip(self, response: requests.Response) -> int:
        """Bytes of this response already written: all of them up to our offset when the server ignored Range."""
        length = response.headers.get("Content-Length")
        if response.status_code == 206:
            span, _, total = response.headers.get("Content-Range", "").removeprefix("bytes ").partition("/")
            first = span.partition("-")[0]
            if not first.isdigit() or int(first) != self.size:
                raise DownloadError(f"download resumed at the wrong offset ({response.headers.get('Content-Range')})")
            self.total = int(total) if total.isdigit() else self.total
            return 0
        self.total = int(length) if length and length.isdigit() else None
        return self.size

    def result(self) -> Download:
        if self.total is not None and self.size != self.total:
            raise DownloadError(f"download has {self.size} bytes but the server announced {self.total}")
        return Download(size=self.size, sha256=self.digest.hexdigest())
