"""HTTP sessions for the Zoom and Graph clients: pooled for concurrent invocations, TLS always verified."""

from __future__ import annotations

import atexit
import os
import tempfile
from functools import cache
from pathlib import Path

import certifi
import requests
from requests.adapters import HTTPAdapter

POOL_SIZE = 32


@cache
def _ca_bundle(extra_ca_file: str) -> str:
    """The public CAs plus one extra CA (the local emulators' test CA), as one bundle file for requests."""
    bundle = Path(certifi.where()).read_bytes() + b"\n" + Path(extra_ca_file).read_bytes()
    handle = tempfile.NamedTemporaryFile(prefix="ca-bundle-", suffix=".pem", delete=False)
    with handle:
        handle.write(bundle)
    atexit.register(os.unlink, handle.name)  # one per process that trusts an extra CA: not left behind
    return handle.name


def session(extra_ca_file: str = "") -> requests.Session:
    """A session that verifies TLS against the public CAs, plus `extra_ca_file` when given."""
    http = requests.Session()
    # Settings decide what TLS trusts: an environment's REQUESTS_CA_BUNDLE would silently replace it, and
    # no proxy or .netrc credentials should reach Zoom or Graph unasked.
    http.trust_env = False
    adapter = HTTPAdapter(pool_connections=POOL_SIZE, pool_maxsize=POOL_SIZE)
    http.mount("https://", adapter)
    http.mount("http://", adapter)
    http.verify = _ca_bundle(extra_ca_file) if extra_ca_file else certifi.where()
    return http
