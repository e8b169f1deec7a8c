"""Zoom REST API emulator: `python -m emulators.zoom --port PORT --seed FILE [--cert-dir DIR]`."""

import argparse
from pathlib import Path
from typing import Any

from emulators.base import main
from emulators.zoom.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ZoomEmulator


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="the S2S OAuth app's client id")
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET, help="the S2S OAuth app's client secret")
    parser.add_argument("--token-ttl", type=int, default=3600, help="access token lifetime in seconds")
    parser.add_argument("--cdn-host", default="", help="host name downloads redirect to (default: the API's)")


def build(seed: dict[str, Any], base_dir: Path, args: argparse.Namespace) -> ZoomEmulator:
    return ZoomEmulator(
        seed,
        base_dir,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_ttl=args.token_ttl,
        cdn_host=args.cdn_host,
    )


main(build, extra=options)
