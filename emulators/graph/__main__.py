"""Microsoft Graph emulator: `python -m emulators.graph --port PORT --seed FILE --cert-dir DIR`.

Serves TLS with a certificate from a test CA and writes that CA's certificate to DIR/ca.pem, which
clients must trust (the archiver's TLS_CA_FILE setting).
"""

import argparse
from pathlib import Path
from typing import Any

from emulators.base import main
from emulators.graph.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, GraphEmulator, Limits
from emulators.graph.schema import CSDL_PATH, GraphSchema


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="the Entra app's client id")
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET, help="the Entra app's client secret")
    parser.add_argument("--max-message-size-mb", type=int, default=35, help="mailbox message size limit")
    parser.add_argument("--folder-exists-status", type=int, default=400, choices=(400, 409))
    parser.add_argument(
        "--mailbox-concurrency", type=int, default=Limits.concurrency, help="concurrent requests per mailbox"
    )
    parser.add_argument("--mailbox-requests", type=int, default=Limits.requests, help="requests per mailbox per window")
    parser.add_argument(
        "--requests-window", type=float, default=Limits.requests_window, help="seconds of the request window"
    )
    parser.add_argument("--upload-mb", type=float, default=Limits.upload_mb, help="MB uploaded per mailbox per window")
    parser.add_argument(
        "--upload-window", type=float, default=Limits.upload_window, help="seconds of the upload window"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds each mailbox request takes")
    parser.add_argument("--schema", type=Path, default=CSDL_PATH, help="Graph's CSDL, to refuse bodies Graph refuses")


def build(seed: dict[str, Any], base_dir: Path, args: argparse.Namespace) -> GraphEmulator:
    if not args.cert_dir:
        raise SystemExit("the Graph emulator needs --cert-dir: MSAL accepts only https authorities")
    schema = None
    if args.schema.exists():
        schema = GraphSchema.load(args.schema)
    else:
        print(f"note: {args.schema} not found: request bodies are not checked against Graph's schema", flush=True)
    return GraphEmulator(
        seed,
        base_dir,
        client_id=args.client_id,
        client_secret=args.client_secret,
        max_message_size_mb=args.max_message_size_mb,
        folder_exists_status=args.folder_exists_status,
        limits=Limits(
            concurrency=args.mailbox_concurrency,
            requests=args.mailbox_requests,
            requests_window=args.requests_window,
            upload_mb=args.upload_mb,
            upload_window=args.upload_window,
        ),
        latency=args.latency,
        schema=schema,
    )


main(build, extra=options)
