"""The admin CLI: `python -m shared.cli <command>`, the same code and settings as the function app.

Settings come from the environment, then from `local.settings.json` in the current folder (as the local
host reads them). Against Azure, export the app's settings first (for example with
`az functionapp config appsettings list`); the identity-based storage settings need an Azure login.

    backfill --from DAY --to DAY   queue the meetings recorded in that range that are not archived yet
    status [--days N | --from DAY --to DAY] [--format text|json|csv]
    replay UUID                    capture (if needed) and import one meeting again, now
    reconcile [--date DAY]         write the completeness report of DAY (default: as the daily job does)

`reconcile` exits with 1 when a report names a gap, so a script can tell.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

from shared import status, telemetry
from shared.archiver import Archiver
from shared.settings import SettingsError, load_settings, local_settings


def progress_bar(stream: TextIO, width: int = 30) -> Callable[[int, int, int], None]:
    """A one-line progress bar for backfill: users listed so far, and meetings queued."""

    def show(done: int, total: int, queued: int) -> None:
        filled = width * done // max(total, 1)
        stream.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} users, {queued} meeting(s) queued")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m shared.cli", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    root.add_argument("-v", "--verbose", action="store_true", help="show the stages' log lines")
    commands = root.add_subparsers(dest="command", required=True)
    backfill = commands.add_parser("backfill", help="queue a past range of meetings")
    backfill.add_argument("--from", dest="first", type=_day, required=True)
    backfill.add_argument("--to", dest="last", type=_day, required=True)
    show = commands.add_parser("status", help="the status log")
    show.add_argument("--days", type=int, default=status.DEFAULT_DAYS, help="days ending today (default 7)")
    show.add_argument("--from", dest="first", type=_day)
    show.add_argument("--to", dest="last", type=_day)
    show.add_argument("--format", choices=("text", "json", "csv"), default="text")
    replay = commands.add_parser("replay", help="run one meeting again; no item is duplicated")
    replay.add_argument("uuid")
    reconcile = commands.add_parser("reconcile", help="write completeness reports")
    reconcile.add_argument("--date", dest="day", type=_day, help="the day to compare (default: as the daily job)")
    return root


def main(argv: list[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=err)
    try:
        environ = {**local_settings(Path.cwd() / "local.settings.json"), **os.environ}
        archiver = Archiver(load_settings(environ))
    except SettingsError as error:
        err.write(f"{error}\n")
        return 2
    telemetry.configure(environ)
    today = datetime.now(UTC).date()
    if args.command == "backfill":
        if args.last < args.first:
            err.write("--to is before --from\n")
            return 2
        err.write(f"Listing Zoom's recordings from {args.first} to {args.last}\n")
        queued = archiver.backfill(args.first, args.last, progress_bar(err))
        out.write(f"{queued} meeting(s) queued; the function app archives them from the queue\n")
    elif args.command == "status":
        period = {
            "days": str(args.days),
            **{k: d.isoformat() for k, d in (("from", args.first), ("to", args.last)) if d},
        }
        try:
            first, last, _ = status.query(period, today)  # the HTTP function's period, with its checks
        except ValueError as error:
            err.write(f"{error}\n")
            return 2
        log = archiver.status(first, last)
        body = status.to_text(log) if args.format == "text" else status.render(log, args.format)[0]
        out.write(body if body.endswith("\n") else body + "\n")
    elif args.command == "replay":
        results = archiver.replay(args.uuid)
        for n, result in enumerate(results):
            out.write(
                f"{f'meeting {args.uuid}' if n == 0 else f'  addition {n}'}: {result.imported} item(s) imported, "
                f"{result.duplicates} already there, {result.unmapped} unmapped, {result.failed} failed\n"
            )
        return 1 if any(result.failed for result in results) else 0
    else:
        reports = archiver.reconcile([args.day] if args.day else None, today=today)
        for report in reports:
            out.write(f"{report.day}: {len(report.meetings)} meeting(s) listed by Zoom, {len(report.gaps)} gap(s)\n")
            out.writelines(f"  GAP {gap.line()}\n" for gap in report.gaps)
        return 1 if any(report.gaps for report in reports) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
