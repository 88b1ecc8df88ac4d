"""``python -m dwh.demo`` (what ``make demo`` runs): load_promos on generated data, fully offline.

1. generate the deterministic sample promotions into ``.demo/input/`` (see `dwh.demo.generate`);
2. start a throwaway PostgreSQL in ``.demo/pg`` when the server binaries exist (else skip that loader);
3. write the job config to ``.demo/load_promos_job.json`` and run load_promos through the real
   ``generic_entry`` console script in a subprocess, exactly as Airflow would;
4. print the run report (parsed from the job's ``run_report {json}`` log line) as a table;
5. run the Freeport flow (`dwh.demo.freeport`): three modules built concurrently, one release each
   through the LOCAL launcher and the LAKEHOUSE client, SQLite tracking, the monitor's completion
   notice and the tracking table (skip it with ``--no-freeport``).

The job's full log goes to ``.demo/run.log``. Running it again gives the same tables: the Delta
and PostgreSQL targets are merged on promo_id and the Parquet stage replaces the window.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from dwh.demo.freeport import run_freeport
from dwh.demo.generate import generate
from dwh.demo.report_table import Output, find_run_report, format_report
from dwh.devtools.local_postgres import LocalPostgres, PostgresUnavailable, start_local_postgres

MODULE = "dwh.jobs.load_promos.load_promos_job_factory"
PG_TABLE = "public.promos"


def entry_command() -> list[str]:
    """The ``generic_entry`` console script next to this interpreter (as installed), else on PATH."""
    beside = Path(sys.executable).with_name("generic_entry")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("generic_entry")
    return [found] if found else [sys.executable, "-m", "dwh.generic_entry"]


def build_config(base: Path, postgres: LocalPostgres | None) -> dict[str, Any]:
    """The demo's ``--load_promos_job``: Parquet in; local Delta, Parquet stage and (maybe) PostgreSQL out."""
    config: dict[str, Any] = {
        "job_failed_notifications": {"notification_service": "NOOP"},
        "job_success_notifications": {"notification_service": "NOOP"},
        "data_quality_notifications": {"notification_service": "NOOP"},
        "extractor_config": {"strategy": "PARQUET", "source_table": str(base / "input")},
        "unity_loader_config": {"strategy": "DELTA", "path": str(base / "unity" / "promos")},
        "stage_loader_config": {"strategy": "PARQUET", "path": str(base / "stage" / "promos")},
    }
    if postgres is not None:
        config["redshift_loader_config"] = {
            "strategy": "POSTGRES",
            "jdbc_url": postgres.jdbc_url,
            "properties": {"user": postgres.user, "driver": "org.postgresql.Driver"},
            "table": PG_TABLE,
        }
    return config


def run_job(base: Path, config: dict[str, Any], start: dt.date, end: dt.date) -> tuple[int, str]:
    """Run load_promos through generic_entry; returns (exit code, the job's stderr). Logs to run.log."""
    config_file = base / "load_promos_job.json"
    config_file.write_text(json.dumps(config, indent=2) + "\n")
    command = [
        *entry_command(),
        "--module_name",
        MODULE,
        "--load_promos_job",
        f"@{config_file}",
        "--start_date",
        start.isoformat(),
        "--end_date",
        end.isoformat(),
        "--created_by",
        "demo",
    ]
    env = {**os.environ, "DWH_WAREHOUSE_DIR": str(base / "warehouse"), "DWH_LOG_LEVEL": "INFO"}
    print("$ " + " ".join(c if c.startswith(("-", "/", "@")) or " " not in c else repr(c) for c in command), flush=True)
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=base, check=False)
    (base / "run.log").write_text(result.stdout + result.stderr)
    return result.returncode, result.stderr


def describe_outputs(base: Path, postgres: LocalPostgres | None, *, keep_postgres: bool) -> list[Output]:
    """Where each target lives and how many rows it holds now (read back with delta-rs, pyarrow, psycopg)."""
    outputs = [
        Output("unity", "DELTA merge on promo_id", str(base / "unity" / "promos"), _delta_rows(base)),
        Output(
            "stage",
            "PARQUET replace_window, by load_window_start",
            str(base / "stage" / "promos"),
            _parquet_rows(base / "stage" / "promos"),
        ),
    ]
    if postgres is not None:
        where = f"table {PG_TABLE} in {postgres.jdbc_url.removeprefix('jdbc:')} (server in {postgres.data_dir})"
        if keep_postgres:
            where = f"psql -h {postgres.host} -p {postgres.port} -U {postgres.user} -c 'table {PG_TABLE}'"
        outputs.append(Output("redshift", "POSTGRES merge on promo_id", where, _postgres_rows(postgres)))
    return outputs


def _delta_rows(base: Path) -> int | None:
    try:
        from deltalake import DeltaTable

        return int(DeltaTable(str(base / "unity" / "promos")).to_pyarrow_dataset().count_rows())
    except Exception:
        return None


def _parquet_rows(path: Path) -> int | None:
    try:
        import pyarrow.dataset as ds

        return int(ds.dataset(str(path), format="parquet", partitioning="hive").count_rows())
    except Exception:
        return None


def _postgres_rows(postgres: LocalPostgres) -> int | None:
    try:
        import psycopg

        with psycopg.connect(postgres.conninfo) as conn:
            row = conn.execute(f"SELECT count(*) FROM {PG_TABLE}").fetchone()
        return int(row[0]) if row else None
    except Exception:
        return None


def start_postgres(base: Path) -> LocalPostgres | None:
    """A PostgreSQL server in ``base/pg`` (reused if running), or None when the binaries are missing."""
    try:
        return start_local_postgres(base / "pg")
    except PostgresUnavailable as exc:
        print(f"PostgreSQL: {exc} -> skipping the redshift_loader_config (POSTGRES) target")
        return None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The demo's options."""
    parser = argparse.ArgumentParser(prog="python -m dwh.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="sample rows to generate (default 20000)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument("--dir", type=Path, default=Path(".demo"), help="working directory (default .demo)")
    parser.add_argument("--start_date", type=dt.date.fromisoformat, default=dt.date(2025, 1, 1))
    parser.add_argument("--end_date", type=dt.date.fromisoformat, default=dt.date(2025, 1, 8))
    parser.add_argument("--no-postgres", action="store_true", help="do not start PostgreSQL (skip that target)")
    parser.add_argument("--keep-postgres", action="store_true", help="leave the demo PostgreSQL running")
    parser.add_argument("--no-freeport", action="store_true", help="skip the Freeport part (modules + releases)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Generate, start PostgreSQL, run the job, print the table; returns the job's exit code."""
    args = parse_args(argv)
    base = args.dir.absolute()
    base.mkdir(parents=True, exist_ok=True)
    dataset = generate(rows=args.rows, seed=args.seed, out=base / "input", window_start=args.start_date)
    print(f"generated {dataset.rows:,} promotions (seed {dataset.seed}) into {dataset.path}: {dataset.kinds}")
    postgres = None if args.no_postgres else start_postgres(base)
    if args.no_postgres:
        print("PostgreSQL: --no-postgres -> skipping the redshift_loader_config (POSTGRES) target")
    try:
        config = build_config(base, postgres)
        code, stderr = run_job(base, config, args.start_date, args.end_date)
        report = find_run_report(stderr)
        print()
        if report is None:
            print(f"the job exited with {code} before writing a run report; last lines of {base / 'run.log'}:")
            print("\n".join(stderr.splitlines()[-15:]))
            return code or 1
        print(format_report(report, describe_outputs(base, postgres, keep_postgres=args.keep_postgres)))
        print(f"\nexit code {code}; full log: {base / 'run.log'}; config: {base / 'load_promos_job.json'}")
        if args.no_freeport:
            return code
        print("\n=== Freeport: modules in parallel, one asynchronous release each ===")
        batch = f"demo-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}"
        return code or run_freeport(base, entry_command(), batch)
    finally:
        if postgres is not None and not args.keep_postgres:
            postgres.stop()
