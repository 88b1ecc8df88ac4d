"""load_promos through ``generic_entry`` vs the same job hand-written in plain PySpark (goal: <= 1.03x).

    python -m bench.bench_load_promos --rows 5000000 --runs 5

Both contenders run as fresh processes on ``local[2]`` with the same Spark settings, read the same
generated Parquet input (`dwh.demo.generate`, seed 7) and write the same three targets from empty:
a Delta table (delta-rs), a Parquet stage partitioned by load_window_start and, when the PostgreSQL
binaries exist, a PostgreSQL table (COPY + upsert). Runs alternate (dwh, hand, hand, dwh, ...) so
machine noise hits both alike; the ratio is median(dwh) / median(hand-written) of the wall-clock
time, Spark start-up included; the median of the per-round ratios (run i of each, back to back,
which cancels drift over the benchmark) and the job-only time (the run report's seconds vs the script's own
timer) are printed as further ratios. Every run's targets are counted and must match.
Results: ``bench/.results/load_promos.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dwh.demo.generate import generate
from dwh.demo.report_table import find_run_report
from dwh.devtools.local_postgres import LocalPostgres, PostgresUnavailable, start_local_postgres

HERE = Path(__file__).resolve().parent
RESULTS = HERE / ".results"
HANDWRITTEN = HERE / "load_promos_handwritten.py"
MODULE = "dwh.jobs.load_promos.load_promos_job_factory"
WINDOW = ("2025-01-01", "2025-01-08")
GOAL = 1.03


def _targets(work: Path) -> dict[str, Path]:
    return {"delta": work / "out" / "unity_promos", "stage": work / "out" / "stage_promos"}


def _reset(work: Path, postgres: LocalPostgres | None) -> None:
    shutil.rmtree(work / "out", ignore_errors=True)
    (work / "out").mkdir(parents=True)
    if postgres is not None:
        import psycopg

        with psycopg.connect(postgres.conninfo, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS public.promos")


def _env(work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DWH_SPARK_MASTER": "local[2]",
        "DWH_SHUFFLE_PARTITIONS": os.environ.get("DWH_SHUFFLE_PARTITIONS", "8"),
        "DWH_WAREHOUSE_DIR": str(work / "warehouse"),
        "DWH_LOG_LEVEL": "INFO",
        "PYSPARK_PYTHON": sys.executable,
    }


def dwh_command(work: Path, postgres: LocalPostgres | None) -> list[str]:
    """generic_entry with a config equivalent to the hand-written script."""
    targets = _targets(work)
    config: dict[str, Any] = {
        "extractor_config": {"strategy": "PARQUET", "source_table": str(work / "input")},
        "unity_loader_config": {"strategy": "DELTA", "path": str(targets["delta"])},
        "stage_loader_config": {"strategy": "PARQUET", "path": str(targets["stage"])},
    }
    if postgres is not None:
        config["redshift_loader_config"] = {
            "strategy": "POSTGRES",
            "jdbc_url": postgres.jdbc_url,
            "properties": {"user": postgres.user},
            "table": "public.promos",
        }
    entry = Path(sys.executable).with_name("generic_entry")
    return [
        *([str(entry)] if entry.exists() else [sys.executable, "-m", "dwh.generic_entry"]),
        "--module_name", MODULE, "--load_promos_job", json.dumps(config),
        "--start_date", WINDOW[0], "--end_date", WINDOW[1], "--created_by", "bench",
    ]  # fmt: skip


def handwritten_command(work: Path, postgres: LocalPostgres | None) -> list[str]:
    """The plain PySpark script with the same inputs and outputs."""
    targets = _targets(work)
    command = [
        sys.executable, str(HANDWRITTEN), "--input", str(work / "input"),
        "--delta", str(targets["delta"]), "--stage", str(targets["stage"]),
        "--start_date", WINDOW[0], "--end_date", WINDOW[1],
    ]  # fmt: skip
    if postgres is not None:
        command += ["--pg-conninfo", postgres.conninfo]
    return command


def run_once(name: str, work: Path, postgres: LocalPostgres | None, index: int) -> dict[str, Any]:
    """One run from empty targets: wall seconds, job seconds, rows in each target."""
    _reset(work, postgres)
    command = dwh_command(work, postgres) if name == "dwh" else handwritten_command(work, postgres)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=_env(work), check=False)
    wall = time.perf_counter() - started
    log = work / f"{name}-{index}.log"
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{name} exited {done.returncode}; see {log}")
    if name == "dwh":
        # the steps' seconds: the job's own work, Spark start-up excluded as in the hand-written timer
        report = find_run_report(done.stderr) or {}
        job_seconds = sum(float(step["seconds"]) for step in report.get("steps", []))
    else:
        job_seconds = float(done.stdout.rsplit("seconds ", 1)[1].split()[0])
    return {"wall": round(wall, 2), "job": round(job_seconds, 2), "rows": count_targets(work, postgres)}


def count_targets(work: Path, postgres: LocalPostgres | None) -> dict[str, int]:
    """Rows in each target, read back with delta-rs, pyarrow and psycopg."""
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

    targets = _targets(work)
    counts = {
        "delta": DeltaTable(str(targets["delta"])).to_pyarrow_dataset().count_rows(),
        "stage": ds.dataset(str(targets["stage"]), format="parquet", partitioning="hive").count_rows(),
    }
    if postgres is not None:
        import psycopg

        with psycopg.connect(postgres.conninfo) as conn:
            row = conn.execute("SELECT count(*) FROM public.promos").fetchone()
        counts["postgres"] = int(row[0]) if row else -1
    return counts


def prepare(work: Path, rows: int, use_postgres: bool) -> LocalPostgres | None:
    """Generate the input (reused when rows and seed match) and start PostgreSQL when wanted and possible."""
    manifest = work / "input" / "_generator.json"
    if not (manifest.exists() and json.loads(manifest.read_text()).get("rows") == rows):
        print(f"generating {rows:,} rows ...", flush=True)
        generate(rows=rows, seed=7, out=work / "input")
    if not use_postgres:
        return None
    try:
        return start_local_postgres(work / "pg")
    except PostgresUnavailable as exc:
        print(f"{exc}: benchmarking without the PostgreSQL target")
        return None


def main(argv: list[str] | None = None) -> int:
    """Alternate the contenders, print medians and the ratio, write the results JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_load_promos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=5, help="runs per contender (>= 3 for a median)")
    parser.add_argument("--no-postgres", action="store_true", help="leave out the PostgreSQL target")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "dwh-bench-load_promos")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    postgres = prepare(args.work, args.rows, not args.no_postgres)
    runs: dict[str, list[dict[str, Any]]] = {"dwh": [], "handwritten": []}
    try:
        for index in range(args.runs):
            order = ["dwh", "handwritten"] if index % 2 == 0 else ["handwritten", "dwh"]
            for name in order:
                result = run_once(name, args.work, postgres, index + 1)
                runs[name].append(result)
                print(f"run {index + 1} {name:<11} wall {result['wall']:7.2f} s  job {result['job']:7.2f} s  "
                      f"rows {result['rows']}", flush=True)  # fmt: skip
    finally:
        if postgres is not None:
            postgres.stop()
    return report(args, runs, postgres is not None)


def report(args: argparse.Namespace, runs: dict[str, list[dict[str, Any]]], with_postgres: bool) -> int:
    """Print and save medians and ratios; non-zero when the contenders' outputs differ."""
    medians = {name: {key: statistics.median(r[key] for r in results) for key in ("wall", "job")}
               for name, results in runs.items()}  # fmt: skip
    best = {name: min(r["wall"] for r in results) for name, results in runs.items()}
    ratio = medians["dwh"]["wall"] / medians["handwritten"]["wall"]
    job_ratio = medians["dwh"]["job"] / medians["handwritten"]["job"]
    # run i of each contender ran back to back: their ratio cancels drift over the whole benchmark
    paired = statistics.median(d["wall"] / h["wall"] for d, h in zip(runs["dwh"], runs["handwritten"], strict=True))
    same_rows = len({json.dumps(r["rows"], sort_keys=True) for results in runs.values() for r in results}) == 1
    print(f"\nload_promos, {args.rows:,} rows, local[2], {args.runs} alternating runs each, targets: Delta + Parquet"
          + (" + PostgreSQL" if with_postgres else ""))  # fmt: skip
    for name, median in medians.items():
        print(f"  {name:<11} median wall {median['wall']:7.2f} s   median job {median['job']:7.2f} s")
    print(f"  ratio dwh / hand-written: wall {ratio:.3f}x (goal <= {GOAL}x), paired runs {paired:.3f}x, "
          f"job only {job_ratio:.3f}x, best wall {best['dwh'] / best['handwritten']:.3f}x")  # fmt: skip
    print(f"  outputs identical in row counts: {same_rows} {runs['dwh'][0]['rows']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {
        "rows": args.rows,
        "runs": args.runs,
        "master": "local[2]",
        "postgres": with_postgres,
        "seconds": {name: [r["wall"] for r in results] for name, results in runs.items()},
        "job_seconds": {name: [r["job"] for r in results] for name, results in runs.items()},
        "medians": medians,
        "best_wall": best,
        "row_counts": runs["dwh"][0]["rows"],
        "ratios": {
            "dwh_vs_handwritten": round(ratio, 3),
            "dwh_vs_handwritten_paired": round(paired, 3),
            "dwh_vs_handwritten_job_only": round(job_ratio, 3),
            "dwh_vs_handwritten_best": round(best["dwh"] / best["handwritten"], 3),
        },
        "goal": GOAL,
    }
    (RESULTS / "load_promos.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0 if same_rows else 1


if __name__ == "__main__":
    raise SystemExit(main())
