"""DELTA loader engines benchmark: Spark's own Delta vs the streamed delta-rs engine, on the same rows and session.

Which engine should a job prefer off Databricks (Glue, EMR, a plain Spark), where both are available? One
child process (``DWH_SPARK_DELTA=1``: a Python process holds one JVM, and ``python -m bench`` runs the other
benchmarks in a session without Delta) builds a local session with the cached Delta jars and caches one
DataFrame (``--rows``, default 2M rows of id/string/double/date/timestamp, `bench_delta_writer.source_frame`).
Each engine has its own table, created once before the rounds. Then ``--rounds`` rounds (default 5), the two
engines alternating which goes first, each timing on its own table:

  overwrite  the cached rows replace the table (``mode: overwrite``)
  merge      upsert on ``id`` of as many rows, half of them matching (ids shifted by rows / 2), half new
  append     the cached rows appended (``mode: append``)

The delta-rs turns run the same `DeltaLoader` with the strategies switched to delta-rs as the Spark Delta
lane's tests do (`tests.engines.delta.engine_switch`). Every load's rows written are checked, and both tables
must hold the same number of rows at the end. Printed: medians per mode and engine, and the ratio Spark Delta
seconds / delta-rs seconds (> 1: delta-rs is faster). The machine's load average is recorded with the figures.

``python -m bench.bench_delta_engines --rows 2000000`` writes ``bench/.results/delta_engines.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / ".results"
ENGINES = ("spark_delta", "delta_rs")
MODES = ("overwrite", "merge", "append")
LABELS = {"spark_delta": "Spark Delta", "delta_rs": "delta-rs (streamed)"}


def engine(name: str) -> AbstractContextManager[None]:
    """The block in which the DELTA loader uses engine `name` (the session has Spark Delta)."""
    if name == "spark_delta":
        return nullcontext()
    from tests.engines.delta.engine_switch import delta_rs_engine

    return delta_rs_engine()


def load(spark: Any, frame: Any, path: str, mode: str) -> Any:
    """One DELTA load of `frame` into the table at `path`; the loader's result."""
    from dwh.platforms.context import RunContext
    from dwh.platforms.detect import ServiceProvider
    from dwh.strategies.loaders.delta import DeltaLoader

    context = RunContext(job_name="bench", service_provider=ServiceProvider.LOCAL, run_ids={"run_id": "bench"})
    keys = ["id"] if mode == "merge" else None
    return DeltaLoader(strategy="DELTA", path=path, mode=mode, keys=keys).load(frame, context)


def table_rows(path: str) -> int:
    """Rows of the Delta table at `path`, from its log's file statistics (read by delta-rs)."""
    import pyarrow as pa
    from deltalake import DeltaTable

    return int(sum(pa.table(DeltaTable(path).get_add_actions(flatten=True)).column("num_records").to_pylist()))


def child(rows: int, rounds: int, modes: list[str]) -> dict[str, Any]:
    """In the child process: the timed rounds; the seconds of every load per mode and engine."""
    from bench.bench_delta_writer import source_frame
    from dwh.platforms.spark import local_session_builder, spark_has_delta

    spark = local_session_builder("bench-delta-engines").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    assert spark_has_delta(spark), "the child needs Spark Delta: DWH_SPARK_DELTA=1 and make jvm-artifacts"
    frame = source_frame(spark, rows).cache()
    upserts = frame.selectExpr(f"id + {rows // 2} AS id", "promo_id", "price + 1 AS price", "day", "updated_at")
    upserts = upserts.cache()
    assert frame.count() == upserts.count() == rows
    scratch = Path(tempfile.mkdtemp(prefix="bench-delta-engines-"))
    tables = {name: str(scratch / name) for name in ENGINES}
    seconds: dict[str, dict[str, list[float]]] = {mode: {name: [] for name in ENGINES} for mode in modes}
    try:
        for name in ENGINES:  # the tables exist before the rounds, and each engine's Python workers are warm
            with engine(name):
                load(spark, frame, tables[name], "overwrite")
        for round_number in range(rounds):
            order = ENGINES if round_number % 2 == 0 else ENGINES[::-1]
            for mode in modes:
                for name in order:
                    source = upserts if mode == "merge" else frame
                    with engine(name):
                        started = time.perf_counter()
                        result = load(spark, source, tables[name], mode)
                        seconds[mode][name].append(time.perf_counter() - started)
                    expected_engine = "spark-delta" if name == "spark_delta" else "delta-rs"
                    assert result.detail["engine"] == expected_engine, result.detail
                    assert result.rows_written == rows, (name, mode, result.rows_written)
            line = ", ".join(
                f"{mode} " + " / ".join(f"{seconds[mode][name][-1]:.2f}" for name in ENGINES) for mode in modes
            )
            print(f"  round {round_number + 1} (spark delta / delta-rs s): {line}", flush=True)
        final = {name: table_rows(tables[name]) for name in ENGINES}
        assert final["spark_delta"] == final["delta_rs"], final
    finally:
        frame.unpersist()
        upserts.unpersist()
        shutil.rmtree(scratch, ignore_errors=True)
    return {"seconds": seconds, "final_table_rows": final["delta_rs"]}


def run_child(rows: int, rounds: int, modes: list[str]) -> dict[str, Any]:
    """Run `child` in a fresh process with Spark Delta on its session; its result."""
    root = str(Path(__file__).resolve().parents[1])
    env = {
        **os.environ,
        "DWH_SPARK_DELTA": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "bench.bench_delta_engines", "--rows", str(rows), "--rounds", str(rounds),
               "--modes", ",".join(modes), "--child"]  # fmt: skip
    with subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("  round"):
                print(line, end="", flush=True)
    if process.returncode != 0:
        raise RuntimeError(f"the benchmark child exited {process.returncode}")
    return dict(json.loads(lines[-1]))


def report(rows: int, rounds: int, measured: dict[str, Any], load_before: tuple[float, ...]) -> dict[str, Any]:
    """Print the table; return the JSON document."""
    seconds = measured["seconds"]
    medians = {mode: {name: statistics.median(values) for name, values in by.items()} for mode, by in seconds.items()}
    ratios = {f"spark_delta_over_delta_rs_{mode}": medians[mode]["spark_delta"] / medians[mode]["delta_rs"]
              for mode in medians}  # fmt: skip
    load_after = os.getloadavg()
    print(f"\nDELTA loader by engine, {rows:,} rows, median of {rounds} alternating rounds (one local session)")
    print(f"  {'mode':<11}" + "".join(f"{LABELS[name]:>22}" for name in ENGINES) + f"{'Spark Delta / delta-rs':>26}")
    for mode, by in medians.items():
        cells = "".join(f"{by[name]:>20.2f} s" for name in ENGINES)
        print(f"  {mode:<11}{cells}{ratios[f'spark_delta_over_delta_rs_{mode}']:>25.2f}x")
    print("  (ratio > 1: delta-rs is faster; < 1: Spark Delta is faster)")
    print(f"  load average 1/5/15 min: before {_loads(load_before)}, after {_loads(load_after)}, cpus {os.cpu_count()}")
    return {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "rows": rows,
        "rounds": rounds,
        "seconds": seconds,
        "median_seconds": medians,
        "final_table_rows": measured["final_table_rows"],
        "ratios": ratios,
    }


def _loads(values: tuple[float, ...]) -> str:
    return " / ".join(f"{value:.2f}" for value in values)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_delta_engines", description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows per load")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (>= 3)")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        parser.error(f"--modes: {', '.join(unknown)} is not one of {', '.join(MODES)}")
    rounds = max(args.rounds, 3)
    if args.child:
        print(json.dumps(child(args.rows, rounds, modes)))
        return 0
    load_before = os.getloadavg()
    print(f"DELTA engines: {args.rows:,} rows, {rounds} alternating rounds of {', '.join(modes)}")
    document = report(args.rows, rounds, run_child(args.rows, rounds, modes), load_before)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "delta_engines.json").write_text(json.dumps(document, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
