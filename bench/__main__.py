"""Run every benchmark in bench/ (``make bench``), one after another, and print a summary of the ratios.

Each ``bench/bench_*.py`` has a ``main(argv)`` that prints its own table and writes
``bench/.results/<name>.json``. ``python -m bench --only postgres --rows 200000`` runs a subset smaller.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / ".results"


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks; return non-zero if one crashed."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", action="append", default=[], help="substring of the benchmark names to run")
    parser.add_argument("--rows", type=int, default=None, help="override every benchmark's row count")
    args = parser.parse_args(argv)
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    if args.only:
        names = [n for n in names if any(part in n for part in args.only)]
    failures = 0
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        try:
            code = module.main(["--rows", str(args.rows)] if args.rows else [])
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            print(f"{name} crashed: {type(exc).__name__}: {exc}", file=sys.stderr)
            code = 1
        failures += bool(code)
        print(f"({name} took {time.perf_counter() - started:.0f} s)")
    print("\n=== summary (bench/.results) ===")
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        ratios = {k: v for k, v in data.get("ratios", data).items() if isinstance(v, (int, float))}
        print(f"{path.stem}: " + ", ".join(f"{k}={v:.2f}" for k, v in ratios.items()))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
