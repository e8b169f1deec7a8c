"""`make bench`: run the benchmarks and print their figures (never asserted: speed is measured, not tested).

Each module of this package with a `run() -> None` function is one benchmark; `python -m local.bench NAME...`
runs only those. Benchmarks start their own local world and print progress as they go.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time

import local.bench as package


def main(argv: list[str] | None = None) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("only", nargs="*", choices=[[], *names], help="benchmarks to run (default: all)")
    chosen = parser.parse_args(argv).only or names
    if not chosen:
        print("no benchmarks yet")
    for name in chosen:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        importlib.import_module(f"local.bench.{name}").run()
        print(f"== {name}: {time.monotonic() - started:.1f}s\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
