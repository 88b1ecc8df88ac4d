"""Start-up: ``generic_entry --help`` and an argv error, side by side with ``python -c "import pyspark.sql"``.

The entry point must start fast on every platform (DESIGN.md: ``--help`` and config errors import no
pyspark, boto3 or pydantic model they don't use). Each round runs the three commands back to back in
alternating order (paired), ``--rounds`` times; the table gives medians and the per-round ratio
help / pyspark import (goal <= 0.5). Results: ``bench/.results/startup.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / ".results"
BIN = Path(sys.executable).parent
COMMANDS = {
    "help": [str(BIN / "generic_entry"), "--help"],
    "argv_error": [str(BIN / "generic_entry"), "--module_name", "dwh.jobs.smoke.smoke_job_factory", "stray"],
    "import_pyspark": [sys.executable, "-c", "import pyspark.sql"],
}


def _seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Run the rounds, print the table, write the JSON; 0 always (figures, not a gate)."""
    parser = argparse.ArgumentParser(prog="bench_startup")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--rows", type=int, default=None, help="ignored (the runner passes it to every bench)")
    args = parser.parse_args(argv)
    for command in COMMANDS.values():  # warm the page cache once, untimed
        _seconds(command)
    runs: dict[str, list[float]] = {name: [] for name in COMMANDS}
    ratios: list[float] = []
    for index in range(args.rounds):
        order = list(COMMANDS) if index % 2 == 0 else list(reversed(COMMANDS))
        timed = {name: _seconds(COMMANDS[name]) for name in order}
        for name, value in timed.items():
            runs[name].append(value)
        ratios.append(timed["help"] / timed["import_pyspark"])
    medians = {name: statistics.median(values) for name, values in runs.items()}
    print(f"{'command':<16}{'median s':>10}   ({args.rounds} paired rounds)")
    for name, value in medians.items():
        print(f"{name:<16}{value:>10.3f}")
    ratio = statistics.median(ratios)
    print(
        f"help / import pyspark.sql: {ratio:.2f}x (goal <= 0.5x); argv_error / import: "
        f"{medians['argv_error'] / medians['import_pyspark']:.2f}x"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "startup.json").write_text(
        json.dumps({"medians": medians, "ratios": {"help_vs_pyspark_import": ratio}}, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
