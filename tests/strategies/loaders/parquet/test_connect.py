"""PARQUET on Spark Connect, decided when the config is parsed: what the driver cannot commit to is exit 2.

No Spark here: the check reads only the environment (`dwh.platforms.spark_connect.connect_expected`), so a run
bound for Connect (``SPARK_REMOTE``, Databricks serverless, ...) stops before its session exists, with one line
naming the field. The Connect lane (tests/engines/connect) runs the loads themselves on a Connect client.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from dwh.errors import ConfigError
from dwh.platforms.spark_connect import check_connect, connect_expected
from dwh.strategies.loaders.parquet import ParquetLoader
from dwh.strategies.loaders.parquet.commit import connect_path_problem
from tests.strategies.loaders.configs import validated

ROOT = Path(__file__).resolve().parents[4]
ENTRY = ROOT / ".venv" / "bin" / "generic_entry"
CONNECT_VARS = ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED", "SPARK_API_MODE", "DWH_SPARK_CONNECT")


@pytest.mark.parametrize(
    ("environ", "reason"),
    [
        ({}, None),
        ({"SPARK_REMOTE": "sc://host:15002"}, "SPARK_REMOTE is set"),
        ({"SPARK_CONNECT_MODE_ENABLED": "1"}, "SPARK_CONNECT_MODE_ENABLED is set"),
        ({"SPARK_API_MODE": "Connect"}, "SPARK_API_MODE=connect"),
        ({"SPARK_API_MODE": "classic"}, None),
        ({"DWH_SPARK_CONNECT": "1"}, "DWH_SPARK_CONNECT=1"),
        ({"DATABRICKS_RUNTIME_VERSION": "client.4.9"}, "Databricks serverless compute"),
        ({"DATABRICKS_RUNTIME_VERSION": "16.4"}, None),  # a classic cluster
    ],
)
def test_connect_expected_reads_the_environment(environ: dict[str, str], reason: str | None) -> None:
    assert connect_expected(environ) == reason


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/data/stage/promos", True),
        ("relative/promos", True),
        ("file:/data/promos", True),
        ("file:///data/promos", True),
        ("s3a://bucket/promos", False),
        ("abfss://c@account.dfs.core.windows.net/promos", False),
        ("dbfs:/mnt/promos", False),
        ("hdfs://nn:8020/promos", False),
    ],
)
def test_connect_commits_local_paths_only(path: str, allowed: bool) -> None:
    assert (connect_path_problem(path) is None) is allowed


def test_on_connect_a_cloud_path_is_a_config_error_naming_the_field() -> None:
    config = validated(ParquetLoader, path="s3a://bucket/promos", mode="overwrite")
    with pytest.raises(ConfigError) as caught:
        check_connect(config, argument="job", environ={"SPARK_REMOTE": "sc://host:15002"})
    assert str(caught.value).startswith("--job: path: 's3a:' targets cannot be committed on Spark Connect")
    assert str(caught.value).endswith("(this run is on Spark Connect: SPARK_REMOTE is set)")
    check_connect(config, argument="job", environ={})  # a classic session commits through Hadoop: no error


def test_a_table_target_on_databricks_connect_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    config = validated(ParquetLoader, table="main.stage.promos", mode="overwrite")
    check_connect(config, argument="job", environ={"SPARK_REMOTE": "sc://host:15002"})  # locally: the warehouse
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "client.4.9")
    with pytest.raises(ConfigError, match=r"^--job: table: a PARQUET table lives in cloud storage"):
        check_connect(config, argument="job", environ={"DATABRICKS_RUNTIME_VERSION": "client.4.9"})


def test_generic_entry_bound_for_connect_exits_2_before_any_session(tmp_path: Path) -> None:
    config = {
        "extractor_config": {"strategy": "PARQUET", "source_table": str(tmp_path / "in")},
        "unity_loader_config": {"strategy": "DELTA", "path": str(tmp_path / "unity")},
        "stage_loader_config": {"strategy": "PARQUET", "path": "abfss://c@account.dfs.core.windows.net/stage"},
        "redshift_loader_config": {"strategy": "POSTGRES", "jdbc_url": "jdbc:postgresql://127.0.0.1:1/db",
                                   "properties": {"user": "u"}},
    }  # fmt: skip
    env = {key: value for key, value in os.environ.items() if key not in CONNECT_VARS}
    env["SPARK_REMOTE"] = "sc://localhost:1"  # nothing listens there: the job must stop before it connects
    args = ["--module_name", "dwh.jobs.load_promos.load_promos_job_factory", "--load_promos_job", json.dumps(config),
            "--start_date", "2025-01-01", "--end_date", "2025-01-08"]  # fmt: skip
    done = subprocess.run([str(ENTRY), *args], capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        "generic_entry: error: --load_promos_job: stage_loader_config.path: 'abfss:' targets cannot be committed"
    )
    assert not (tmp_path / "unity").exists()
