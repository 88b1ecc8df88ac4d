"""SIGKILL in the middle of a POSTGRES load: the target afterwards holds exactly the old rows.

A child process runs a real load (local Spark) into a table holding old rows, and the whole process
group is SIGKILLed at one of two moments:

* while staging: the source hands over batches at a steady pace, so the COPY streams for a few
  seconds; the kill comes once PostgreSQL reports the COPY running with rows received. Covered for
  the swap path's shared staging (overwrite) and the insert path's per-partition staging (append
  into rows).
* inside the final transaction: the test holds a lock the final transaction needs after it has
  started writing (a lock on the parent of the target's foreign key, which the swap re-creates
  after it dropped the old table and renamed the staged one in; or an advisory lock a statement
  trigger waits for after the INSERT of merge / replace_window wrote its rows; the rewrite of merge /
  replace_window into fewer rows than the batch waits at the same foreign key as the swap, after it
  copied the kept rows). Once PostgreSQL shows
  the loader's transaction, with an xid, waiting for that lock, the child is killed, then the lock
  released: the transaction never commits.

The killed run's staging tables stay behind until the next load into the schema sweeps them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from tests.strategies.loaders.postgres.database import query

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
OLD_ROWS = 1000
CHILD = textwrap.dedent(
    """
    import json, sys, time
    from dwh.platforms.context import RunContext
    from dwh.platforms.detect import ServiceProvider
    from dwh.platforms.spark import local_session_builder
    from dwh.strategies.loaders.postgres import PostgresLoader
    import datetime as dt

    url, config, rows, steady_pace = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
    builder = local_session_builder("kill-test")
    spark = builder.config("spark.sql.execution.arrow.maxRecordsPerBatch", "2000").getOrCreate()

    def steady(batches):
        for batch in batches:
            yield batch
            time.sleep(0.05)

    frame = spark.range(0, rows, numPartitions=2).selectExpr(
        "id + 100000 AS id", "concat('new-', id) AS name", "DATE'2025-01-01' AS day")
    if steady_pace:
        frame = frame.mapInArrow(steady, "id long, name string, day date")
    loader = PostgresLoader.model_validate({"strategy": "POSTGRES", "jdbc_url": url,
        "properties": {"user": "postgres"}, "table": "public.items", **config})
    context = RunContext(job_name="kill", service_provider=ServiceProvider.LOCAL, run_ids={"run_id": "kill"},
                         start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 1, 2))
    print("loading", flush=True)
    print(loader.load(frame, context), flush=True)
    """
)
ITEMS = "CREATE TABLE public.items (id bigint{key}, name text, day date{extra})"
OLD_INSERT = (
    "INSERT INTO public.items (id, name, day) SELECT i, 'old-' || i, DATE '2025-01-01' FROM generate_series(1, %s) i"
)
COPYING = """SELECT count(*) FROM pg_stat_progress_copy p JOIN pg_database d ON d.oid = p.datid
              WHERE d.datname = %s AND p.tuples_processed > 0"""
WAITING_IN_FINAL = """SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'
                       AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"""
TRIGGER = (
    "CREATE FUNCTION public.wait_for_test() RETURNS trigger LANGUAGE plpgsql AS "
    "$$BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NULL; END$$",
    "CREATE TRIGGER wait_after_insert AFTER INSERT ON public.items FOR EACH STATEMENT "
    "EXECUTE FUNCTION public.wait_for_test()",
)


def wait_for(condition: Any, *, seconds: float, what: str, child: subprocess.Popen[bytes], log: Path) -> None:
    """Poll `condition` until true; fail with the child's log if it exits or time runs out."""
    deadline = time.monotonic() + seconds
    while not condition():
        if child.poll() is not None:
            pytest.fail(f"the loader exited ({child.returncode}) before {what}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)


def kill_child(
    db: LocalPostgres,
    tmp_path: Path,
    config: dict[str, Any],
    rows: int,
    steady: bool,
    moment: str,
    release: Callable[[], None],
    blocker: int = 0,
) -> None:
    """Run the child load, SIGKILL its process group once `moment` (a count query) is > 0, then `release`.

    Then wait until the child's sessions are gone: every session but this query's and the `blocker`
    backend pid's (the test's own lock holder, which stays connected).
    """
    import json

    script, log = tmp_path / "child.py", tmp_path / "child.log"
    script.write_text(CHILD)
    env = {**os.environ, "DWH_SPARK_MASTER": "local[2]", "PYSPARK_PYTHON": sys.executable, "PYTHONPATH": str(ROOT)}
    arguments = [sys.executable, str(script), db.jdbc_url, json.dumps(config), str(rows), "1" if steady else "0"]
    with log.open("wb") as out:
        child = subprocess.Popen(
            arguments, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for(lambda: query(db, moment, db.dbname)[0][0] > 0, seconds=240, what=moment, child=child, log=log)
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        release()
        others = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid NOT IN (pg_backend_pid(), %s)"
        deadline = time.monotonic() + 60
        while query(db, others, db.dbname, blocker)[0][0] and time.monotonic() < deadline:
            time.sleep(0.1)  # the executors' sessions end once their sockets close
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert "LoadResult" not in log.read_text()


def next_load_sweeps_staging(spark: Any, db: LocalPostgres, old_count: int) -> None:
    """The killed run left staging behind; the next load into the schema drops it and adds its row."""
    from dwh.platforms.context import RunContext
    from dwh.platforms.detect import ServiceProvider
    from dwh.strategies.loaders.postgres import PostgresLoader

    leftover = query(db, "SELECT relname FROM pg_class WHERE relname LIKE 'dwh_stage%%' AND relkind = 'r'")
    assert leftover, "the killed run should have left its staging tables behind"
    block = {"strategy": "POSTGRES", "jdbc_url": db.jdbc_url, "properties": {"user": db.user}}
    next_load = PostgresLoader.model_validate({**block, "table": "public.items", "mode": "append"})
    context = RunContext(job_name="after-kill", service_provider=ServiceProvider.LOCAL, run_ids={"run_id": "next"})
    frame = spark.createDataFrame([(OLD_ROWS + 1, "next")], "id long, name string")
    result = next_load.load(frame, context)
    assert result.detail["stale_staging_runs_dropped"] == 1
    assert query(db, "SELECT relname FROM pg_class WHERE relname LIKE 'dwh_stage%%'") == []
    assert query(db, "SELECT count(*) FROM public.items") == [(old_count + 1,)]


def target_state(db: LocalPostgres) -> Any:
    """The rows and the definition (indexes, constraints, triggers) of public.items."""
    return (
        query(db, "SELECT id, name, day FROM public.items ORDER BY id"),
        query(db, "SELECT indexdef FROM pg_indexes WHERE tablename = 'items' ORDER BY 1"),
        query(
            db, "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'public.items'::regclass"
        ),
        query(db, "SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.items'::regclass AND NOT tgisinternal"),
    )


@pytest.mark.spark
@pytest.mark.parametrize(
    ("mode", "path"), [("overwrite", "shared staging (swap)"), ("append", "per-partition staging (insert)")]
)
def test_sigkill_during_copy_leaves_exactly_the_old_rows_and_the_next_load_sweeps_staging(
    spark: Any, postgres_db: LocalPostgres, tmp_path: Path, mode: str, path: str
) -> None:
    query(postgres_db, ITEMS.format(key="", extra=""))
    query(postgres_db, OLD_INSERT, OLD_ROWS)
    old = target_state(postgres_db)
    kill_child(postgres_db, tmp_path, {"mode": mode}, 300_000, True, COPYING, lambda: None)
    assert target_state(postgres_db) == old
    assert query(
        postgres_db,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query ILIKE 'COPY%%'",
        postgres_db.dbname,
    ) == [(0,)]
    next_load_sweeps_staging(spark, postgres_db, OLD_ROWS)


PID_PARENT = ("CREATE TABLE public.parent (pid int PRIMARY KEY)", "INSERT INTO public.parent VALUES (1)")
DAY_PARENT = ("CREATE TABLE public.parent (day date PRIMARY KEY)", "INSERT INTO public.parent VALUES ('2025-01-01')")


@pytest.mark.spark
@pytest.mark.parametrize(
    ("config", "old_rows", "parent", "extra"),
    [
        ({"mode": "overwrite"}, OLD_ROWS, PID_PARENT, ", pid int DEFAULT 1 REFERENCES public.parent"),
        ({"mode": "append"}, 0, PID_PARENT, ", pid int DEFAULT 1 REFERENCES public.parent"),
        # rewrites: the target's 1000 rows are fewer than the batch's 20 000 (see `rewrite`)
        ({"mode": "merge", "keys": ["id"]}, OLD_ROWS, DAY_PARENT, " REFERENCES public.parent"),
        ({"mode": "replace_window", "window_column": "day"}, OLD_ROWS, DAY_PARENT, " REFERENCES public.parent"),
    ],
    ids=["overwrite", "append-empty", "merge-rewrite", "replace_window-rewrite"],
)
def test_sigkill_inside_the_swap_transaction_leaves_exactly_the_old_table(
    spark: Any,
    postgres_db: LocalPostgres,
    tmp_path: Path,
    config: dict[str, Any],
    old_rows: int,
    parent: tuple[str, str],
    extra: str,
) -> None:
    import psycopg

    for statement in parent:
        query(postgres_db, statement)
    query(postgres_db, ITEMS.format(key=" PRIMARY KEY", extra=extra))
    query(postgres_db, OLD_INSERT, old_rows)
    old = target_state(postgres_db)
    with psycopg.connect(postgres_db.conninfo) as blocker:
        blocker.execute("LOCK TABLE public.parent IN ROW EXCLUSIVE MODE")  # the swap's foreign key waits for it
        kill_child(
            postgres_db, tmp_path, config, 20_000, False, WAITING_IN_FINAL, blocker.rollback, blocker.info.backend_pid
        )
    assert target_state(postgres_db) == old
    next_load_sweeps_staging(spark, postgres_db, old_rows)


@pytest.mark.spark
@pytest.mark.parametrize(
    "config", [{"mode": "merge", "keys": ["id"]}, {"mode": "replace_window", "window_column": "day"}]
)
def test_sigkill_inside_the_insert_transaction_leaves_exactly_the_old_rows(
    spark: Any, postgres_db: LocalPostgres, tmp_path: Path, config: dict[str, Any]
) -> None:
    import psycopg

    query(postgres_db, ITEMS.format(key=" PRIMARY KEY", extra=""))
    query(postgres_db, OLD_INSERT, OLD_ROWS)
    for statement in TRIGGER:
        query(postgres_db, statement)
    old = target_state(postgres_db)
    with psycopg.connect(postgres_db.conninfo, autocommit=True) as blocker:
        blocker.execute("SELECT pg_advisory_lock(4242)")  # the trigger after the INSERT waits for it
        kill_child(
            postgres_db,
            tmp_path,
            config,
            20_000,
            False,
            WAITING_IN_FINAL,
            lambda: blocker.execute("SELECT pg_advisory_unlock(4242)"),
            blocker.info.backend_pid,
        )
    assert target_state(postgres_db) == old
    query(postgres_db, "DROP TRIGGER wait_after_insert ON public.items")
    next_load_sweeps_staging(spark, postgres_db, OLD_ROWS)
