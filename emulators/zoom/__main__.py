"""Zoom REST API emulator: `python -m emulators.zoom --port PORT --seed FILE [--cert-dir DIR] [options]`."""

import argparse
from pathlib import Path
from typing import Any

from emulators.base import main
from emulators.zoom.emulator import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    PAGE_TOKEN_TTL,
    ZoomEmulator,
)
from emulators.zoom.limits import PLANS


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="the S2S OAuth app's client id")
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET, help="the S2S OAuth app's client secret")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="a legacy JWT app's API key (the JWT's iss)")
    parser.add_argument("--api-secret", default=DEFAULT_API_SECRET, help="a legacy JWT app's API secret")
    parser.add_argument("--token-ttl", type=int, default=3600, help="access token lifetime in seconds")
    parser.add_argument("--page-token-ttl", type=int, default=PAGE_TOKEN_TTL, help="next_page_token lifetime (s)")
    parser.add_argument("--cdn-host", default="", help="host name downloads redirect to (default: the API's)")
    parser.add_argument(
        "--plan", choices=sorted(PLANS), default="", help="enforce this Zoom plan's rate limits (default: none)"
    )
    parser.add_argument(
        "--daily-limit", type=int, help="the Heavy and Resource-intensive daily quota, instead of the plan's"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds each API request and download takes")


def build(seed: dict[str, Any], base_dir: Path, args: argparse.Namespace) -> ZoomEmulator:
    return ZoomEmulator(
        seed,
        base_dir,
        client_id=args.client_id,
        client_secret=args.client_secret,
        api_key=args.api_key,
        api_secret=args.api_secret,
        token_ttl=args.token_ttl,
        page_token_ttl=args.page_token_ttl,
        cdn_host=args.cdn_host,
        plan=args.plan,
        daily_limit=args.daily_limit,
        latency=args.latency,
    )


main(build, extra=options)
