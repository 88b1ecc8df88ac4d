"""load_promos end to end on Spark Connect: in-process and through the real generic_entry, equal to the golden dump.

Both runs use the lane's local Connect server: in-process (``main(**kwargs)`` as generic_entry calls it) on the
shared Connect client, and as the ``generic_entry`` console script, a child process that attaches to the same
server through ``SPARK_REMOTE`` (as a Databricks serverless task's Python does). On this server without Delta
jars, DELTA runs on delta-rs (``mapInArrow`` writers, driver commit), PARQUET commits through pyarrow.fs and
POSTGRES streams with ``mapInArrow``. Each run's three targets must equal the committed golden dump of the
default lane, byte for byte. A target Connect cannot commit to stops the job before anything is written (exit 2).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from dwh.jobs.load_promos.load_promos_job_factory import main
from tests.engines.dumps import assert_matches_golden, canonical_dump
from tests.jobs.load_promos.conftest import PG_TARGET, Targets, job_kwargs, write_source
from tests.jobs.load_promos.promo_cases import EXPECTED_ROWS, INPUT_ROWS, WINDOW_END, WINDOW_START

pytestmark = [pytest.mark.integration, pytest.mark.spark]

ROOT = Path(__file__).resolve().parents[3]
ENTRY = ROOT / ".venv" / "bin" / "generic_entry"
MODULE = "dwh.jobs.load_promos.load_promos_job_factory"


def generic_entry(config: dict[str, Any], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The console script with the lane's environment (SPARK_REMOTE and the server's token are inherited)."""
    assert os.environ.get("SPARK_REMOTE", "").startswith("sc://localhost:")
    env = {**os.environ, "DWH_SHUFFLE_PARTITIONS": "4"}
    env.pop("DWH_SERVICE_PROVIDER", None)
    args = ["--module_name", MODULE, "--load_promos_job", json.dumps(config), "--created_by", "tests",
            "--start_date", WINDOW_START.isoformat(), "--end_date", WINDOW_END.isoformat()]  # fmt: skip
    return subprocess.run([str(ENTRY), *args], capture_output=True, text=True, env=env, cwd=cwd, check=False)


def fresh_targets(directory: Path, postgres: LocalPostgres) -> Targets:
    import psycopg

    with psycopg.connect(postgres.conninfo, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {PG_TARGET}")
    directory.mkdir()
    return Targets(unity=directory / "unity" / "promos", stage=directory / "stage" / "promos", postgres=postgres)


def test_load_promos_in_process_on_a_connect_client_matches_the_golden(
    spark: Any, tmp_path: Path, postgres_db: LocalPostgres
) -> None:
    targets = fresh_targets(tmp_path / "run", postgres_db)
    result = main(**job_kwargs(targets.config(write_source("PARQUET", INPUT_ROWS, tmp_path, postgres_db))))
    written = len(EXPECTED_ROWS)
    assert result["rows_written"] == {"unity": written, "stage": written, "redshift": written}
    assert_matches_golden(canonical_dump(targets.unity, targets.stage, postgres_db, PG_TARGET), "Spark Connect")


def test_generic_entry_attached_to_the_connect_server_matches_the_golden(
    spark: Any, tmp_path: Path, postgres_db: LocalPostgres
) -> None:
    targets = fresh_targets(tmp_path / "run", postgres_db)
    config = targets.config(write_source("PARQUET", INPUT_ROWS, tmp_path, postgres_db))
    done = generic_entry(config, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    dump = canonical_dump(targets.unity, targets.stage, postgres_db, PG_TARGET)
    assert_matches_golden(dump, "generic_entry on Spark Connect")


def test_a_stage_target_connect_cannot_commit_is_exit_2_before_anything_is_written(
    spark: Any, tmp_path: Path, postgres_db: LocalPostgres
) -> None:
    targets = fresh_targets(tmp_path / "run", postgres_db)
    config = targets.config(write_source("PARQUET", INPUT_ROWS, tmp_path, postgres_db))
    config["stage_loader_config"]["path"] = "s3a://bucket/stage/promos"
    done = generic_entry(config, cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.strip().splitlines()[-1] == (
        "generic_entry: error: --load_promos_job: stage_loader_config.path: 's3a:' targets cannot be committed on "
        "Spark Connect (no JVM handle for Hadoop's FileSystem; the driver commits local paths and file: URIs only, "
        "seen at the same path as the server); use a DELTA loader or a classic Spark session "
        "(this run is on Spark Connect: SPARK_REMOTE is set)"
    )
    assert not targets.unity.exists()  # the DELTA target, written before the stage, was never started
    assert "LoadResult" not in done.stderr
