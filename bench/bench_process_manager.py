"""Process manager: seconds to schedule 500 waiting rows against a Jobs API that takes 50 ms per call.

    python -m bench.bench_process_manager [--rows 500] [--latency 0.05]

Starts its own PostgreSQL (`dwh.devtools.local_postgres`) and the Jobs API stand-in the tests use
(`tests.stand_ins.jobs_api`, the real databricks-sdk talking to it over HTTP), seeds ``--rows`` WAITING
rows without a run (each needs one run_now) into a fresh database per contender, and runs the manager
through generic_entry:

* ``parallel``   - the default ``max_parallel_calls`` (8), in this process
* ``parallel16`` - ``max_parallel_calls`` 16
* ``sequential`` - ``max_parallel_calls`` 1: the figure a one-call-at-a-time manager would give
* ``two_managers`` - two manager processes started at the same moment (default pool each); counts the
  duplicates: rows triggered twice (a token sent twice), tokens with more than one run, rows not SCHEDULED

The stand-in's handler leaves Nagle's algorithm on, which adds ~40 ms (a delayed ACK) to every answer on
this loopback; the benchmark turns it off for its stand-in (``disable_nagle_algorithm``; the stand-in serves
from this process, the two manager processes included) so a call costs the ``--latency`` it is given.

Goal: ``parallel`` <= 5 s for 500 rows; 0 duplicates. Results: ``bench/.results/process_manager.json``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
ROOT = HERE.parent
RESULTS = HERE / ".results"
MODULE = "dwh.jobs.process_manager.process_manager_job_factory"
TOKEN_ENV = "DWH_BENCH_PM_TOKEN"
GOAL_SECONDS = 5.0


def _database(server: Any) -> Any:
    """A fresh database on `server` with DESIGN.md's table and view, and `rows` waiting rows."""
    import psycopg

    from dwh.devtools.local_postgres import LocalPostgres

    name = f"pm_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return LocalPostgres(data_dir=server.data_dir, port=server.port, dbname=name)


def _seed(db: Any, rows: int) -> None:
    import psycopg

    from dwh.jobs.process_manager.config import QualifiedName
    from dwh.jobs.process_manager.control_table import table_ddl, view_ddl

    table, view = QualifiedName.parse("public.mm_run_control"), QualifiedName.parse("public.mm_run_wait_vw")
    with psycopg.connect(db.conninfo, autocommit=True) as conn:
        conn.execute(table_ddl(table))
        conn.execute(view_ddl(view, table))
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO public.mm_run_control (control_id, job_id, job_parameters, state) "
                "VALUES (%s, %s, %s, 'WAITING')",
                [(f"row{n:05d}", 1000 + n % 13, json.dumps({"part": str(n)})) for n in range(rows)],
            )


def _argv(db: Any, api: Any, parallel: int) -> list[str]:
    config = {
        "control_database": {"jdbc_url": db.jdbc_url, "properties": {"user": db.user}},
        "databricks": {"host": api.host, "token": f"env:{TOKEN_ENV}"},
        "max_parallel_calls": parallel,
    }
    return ["--module_name", MODULE, "--process_manager_job", json.dumps(config)]


def _check(db: Any, api: Any, rows: int) -> dict[str, int]:
    """Duplicates and misses: tokens sent twice, tokens with several runs, rows not SCHEDULED."""
    import psycopg

    from tests.stand_ins.jobs_api import RUN_NOW

    sent = collections.Counter(r.body["idempotency_token"] for r in api.requests_to(RUN_NOW) if r.status == 200)
    runs = collections.Counter(run.idempotency_token for run in api.runs)
    with psycopg.connect(db.conninfo) as conn:
        scheduled = conn.execute("SELECT count(*) FROM public.mm_run_control WHERE state = 'SCHEDULED'").fetchone()
    return {
        "rows_triggered_twice": sum(1 for n in sent.values() if n > 1),
        "tokens_with_several_runs": sum(1 for n in runs.values() if n > 1),
        "rows_not_scheduled": rows - int(scheduled[0] if scheduled else 0),
        "runs": len(api.runs),
    }


def _stand_in(latency: float) -> Any:
    """The Jobs API stand-in answering after `latency` seconds (Nagle off: see the module docstring)."""
    from tests.stand_ins.jobs_api import JobsApi
    from tests.stand_ins.jobs_api_http import JobsApiHandler

    JobsApiHandler.disable_nagle_algorithm = True
    api = JobsApi().start()
    api.latency_seconds = latency
    return api


def _in_process(server: Any, rows: int, latency: float, parallel: int) -> dict[str, Any]:
    from dwh.generic_entry import main

    db = _database(server)
    _seed(db, rows)
    api = _stand_in(latency)
    try:
        os.environ[TOKEN_ENV] = api.token
        started = time.perf_counter()
        code = main(_argv(db, api, parallel))
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "exit": code, **_check(db, api, rows)}
    finally:
        api.stop()


def _two_processes(server: Any, rows: int, latency: float, parallel: int) -> dict[str, Any]:
    db = _database(server)
    _seed(db, rows)
    api = _stand_in(latency)
    env = {**os.environ, TOKEN_ENV: api.token}
    command = [sys.executable, "-m", "tests.jobs.process_manager.manager_worker", *_argv(db, api, parallel)]
    workers = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        started = time.perf_counter()
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        codes = [worker.wait(timeout=600) for worker in workers]
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "exit": max(codes), **_check(db, api, rows)}
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        api.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the contenders, print the table, write the JSON; 0 unless a run failed or duplicated a row."""
    parser = argparse.ArgumentParser(prog="bench_process_manager")
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the stand-in adds to every call")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # the stand-in lives in tests/
    os.environ["DWH_LOG_LEVEL"] = "WARNING"  # 500 INFO lines per run would time the terminal
    from dwh.devtools.local_postgres import start_local_postgres

    work = Path(tempfile.mkdtemp(prefix="bench-pm-"))
    work.chmod(0o755)
    server = start_local_postgres(work / "pg")
    try:
        results = {
            "parallel": _in_process(server, args.rows, args.latency, 8),
            "parallel16": _in_process(server, args.rows, args.latency, 16),
            "sequential": _in_process(server, args.rows, args.latency, 1),
            "two_managers": _two_processes(server, args.rows, args.latency, 8),
        }
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return _print_and_save(results, args.rows, args.latency)


def _print_and_save(results: dict[str, dict[str, Any]], rows: int, latency: float) -> int:
    print(f"{rows} waiting rows, {latency * 1000:.0f} ms per Jobs API call")
    print(f"{'contender':<14}{'seconds':>9}{'exit':>6}{'runs':>6}{'twice':>7}{'multi-run':>11}{'missed':>8}")
    for name, r in results.items():
        print(
            f"{name:<14}{r['seconds']:>9.2f}{r['exit']:>6}{r['runs']:>6}{r['rows_triggered_twice']:>7}"
            f"{r['tokens_with_several_runs']:>11}{r['rows_not_scheduled']:>8}"
        )
    parallel, sequential = results["parallel"]["seconds"], results["sequential"]["seconds"]
    duplicates = sum(r["rows_triggered_twice"] + r["tokens_with_several_runs"] for r in results.values())
    print(
        f"parallel (8 calls): {parallel:.2f} s (goal <= {GOAL_SECONDS:.0f} s); sequential: {sequential:.2f} s "
        f"({sequential / parallel:.1f}x slower); duplicates with 2 managers: "
        f"{results['two_managers']['rows_triggered_twice'] + results['two_managers']['tokens_with_several_runs']}"
    )
    RESULTS.mkdir(exist_ok=True)
    summary = {
        "parallel_seconds": parallel,
        "sequential_seconds": sequential,
        "speedup": sequential / parallel,
        "two_managers_seconds": results["two_managers"]["seconds"],
        "duplicates": duplicates,
    }
    (RESULTS / "process_manager.json").write_text(
        json.dumps({"rows": rows, "latency_seconds": latency, "results": results, "ratios": summary}, indent=2)
    )
    failed = any(r["exit"] != 0 or r["rows_not_scheduled"] for r in results.values())
    return 1 if failed or duplicates else 0


if __name__ == "__main__":
    raise SystemExit(main())
