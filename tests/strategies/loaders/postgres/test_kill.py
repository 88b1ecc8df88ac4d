"""SIGKILL in the middle of a POSTGRES load: the target afterwards holds exactly the old rows.

A child process runs a real overwrite load (local Spark, 300,000 rows) into a table holding old
rows. Its source hands over batches at a steady pace, so the COPY streams for a few seconds; once
PostgreSQL reports the COPY running with rows received, the whole process group is SIGKILLed.
The killed run's staging tables stay behind until the next load into the schema sweeps them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
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
    import sys, time
    from dwh.platforms.context import RunContext
    from dwh.platforms.detect import ServiceProvider
    from dwh.platforms.spark import local_session_builder
    from dwh.strategies.loaders.postgres import PostgresLoader

    builder = local_session_builder("kill-test")
    spark = builder.config("spark.sql.execution.arrow.maxRecordsPerBatch", "2000").getOrCreate()

    def steady(batches):
        for batch in batches:
            yield batch
            time.sleep(0.05)

    frame = (spark.range(0, 300_000, numPartitions=2).selectExpr("id", "concat('new-', id) AS name")
             .mapInArrow(steady, "id long, name string"))
    loader = PostgresLoader.model_validate({"strategy": "POSTGRES", "jdbc_url": sys.argv[1],
        "properties": {"user": "postgres"}, "table": "public.items", "mode": "overwrite"})
    context = RunContext(job_name="kill", service_provider=ServiceProvider.LOCAL, run_ids={"run_id": "kill"})
    print("loading", flush=True)
    print(loader.load(frame, context), flush=True)
    """
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


@pytest.mark.spark
def test_sigkill_during_copy_leaves_exactly_the_old_rows_and_the_next_load_sweeps_staging(
    spark: Any, postgres_db: LocalPostgres, tmp_path: Path
) -> None:
    query(postgres_db, "CREATE TABLE public.items (id bigint, name text)")
    query(postgres_db, "INSERT INTO public.items SELECT i, 'old-' || i FROM generate_series(1, %s) i", OLD_ROWS)
    old = query(postgres_db, "SELECT id, name FROM public.items ORDER BY id")
    script, log = tmp_path / "child.py", tmp_path / "child.log"
    script.write_text(CHILD)
    env = {**os.environ, "DWH_SPARK_MASTER": "local[2]", "PYSPARK_PYTHON": sys.executable, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, str(script), postgres_db.jdbc_url],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        copying = """SELECT count(*) FROM pg_stat_progress_copy p JOIN pg_database d ON d.oid = p.datid
                      WHERE d.datname = %s AND p.tuples_processed > 0"""
        wait_for(
            lambda: query(postgres_db, copying, postgres_db.dbname)[0][0] > 0,
            seconds=180,
            what="the COPY streaming rows",
            child=child,
            log=log,
        )
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        others = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
        deadline = time.monotonic() + 60
        while query(postgres_db, others, postgres_db.dbname)[0][0] and time.monotonic() < deadline:
            time.sleep(0.1)  # the executors' sessions end once their sockets close
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=30)

    assert child.returncode == -signal.SIGKILL
    assert "LoadResult" not in log.read_text()
    assert query(postgres_db, "SELECT id, name FROM public.items ORDER BY id") == old
    assert query(
        postgres_db,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query ILIKE 'COPY%%'",
        postgres_db.dbname,
    ) == [(0,)]

    leftover = query(postgres_db, "SELECT relname FROM pg_class WHERE relname LIKE 'dwh_stage%%'")
    assert leftover, "the killed run should have left its staging template behind"
    from dwh.platforms.context import RunContext
    from dwh.platforms.detect import ServiceProvider
    from dwh.strategies.loaders.postgres import PostgresLoader

    block = {"strategy": "POSTGRES", "jdbc_url": postgres_db.jdbc_url, "properties": {"user": postgres_db.user}}
    next_load = PostgresLoader.model_validate({**block, "table": "public.items", "mode": "append"})
    context = RunContext(job_name="after-kill", service_provider=ServiceProvider.LOCAL, run_ids={"run_id": "next"})
    result = next_load.load(spark.createDataFrame([(OLD_ROWS + 1, "next")], "id long, name string"), context)
    assert result.detail["stale_staging_runs_dropped"] == 1
    assert query(postgres_db, "SELECT relname FROM pg_class WHERE relname LIKE 'dwh_stage%%'") == []
    assert query(postgres_db, "SELECT count(*) FROM public.items") == [(OLD_ROWS + 1,)]
