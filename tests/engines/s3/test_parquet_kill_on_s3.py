"""SIGKILL in the middle of a PARQUET load writing to ``s3a://`` on moto: the old output stays readable, unchanged.

The same child as the local-path test (``tests/strategies/loaders/parquet/test_kill.py``, `file_cases.run_and_kill`:
200,000 rows streamed slowly by 8 Spark tasks replacing one window partition), here with hadoop-aws on its class
path (``DWH_SPARK_S3A=1``) and its S3A pointed at the moto process through ``PYSPARK_SUBMIT_ARGS``. As soon as a
data object appears under the hidden stage prefix beside the target, the child's process group is SIGKILLed.
The target is then read by pyarrow over S3 (not through Spark) and by this session's Spark: exactly the old rows.
The next load succeeds, and leaves no stage, journal or trash object behind.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.engines.s3.conftest import Lake, s3a_settings
from tests.stand_ins.moto_process import MotoProcess
from tests.strategies.file_cases import KILL_SCHEMA, build_loader, run_and_kill, run_context

pytestmark = [pytest.mark.integration, pytest.mark.spark]

OLD = [(i, f"old-{i}", dt.date(2025, 1, 1 + i % 3)) for i in range(1, 101)]


def pyarrow_rows(lake: Lake, key: str) -> list[tuple[Any, ...]]:
    """(id, name, day) of every row pyarrow reads from the hive-partitioned directory `key` over S3."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    partitioning = ds.partitioning(pa.schema([("day", pa.date32())]), flavor="hive")
    dataset = ds.dataset(
        f"{lake.bucket}/{key}", format="parquet", partitioning=partitioning, filesystem=lake.access.filesystem()
    )
    return sorted((row["id"], row["name"], row["day"]) for row in dataset.to_table().to_pylist())


def spark_rows(spark: Any, path: str) -> list[tuple[Any, ...]]:
    """(id, name, day) of every row Spark reads from `path`."""
    return sorted((row["id"], row["name"], row["day"]) for row in spark.read.parquet(path).collect())


def test_sigkill_during_a_parquet_write_to_s3a_leaves_exactly_the_old_rows(
    spark: Any, s3_lake: Lake, moto_s3: MotoProcess, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = s3_lake.uri("stage/promos")
    block = {
        "strategy": "PARQUET", "path": target, "mode": "replace_window",
        "window_column": "day", "partition_by": ["day"],
    }  # fmt: skip
    build_loader({**block, "mode": "overwrite"}).load(spark.createDataFrame(OLD, KILL_SCHEMA), run_context())
    assert pyarrow_rows(s3_lake, "stage/promos") == sorted(OLD)

    confs = " ".join(f"--conf spark.hadoop.{key}={value}" for key, value in s3a_settings(moto_s3.endpoint).items())
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", f"{confs} pyspark-shell")  # the child's session, with S3A on moto
    monkeypatch.setenv("DWH_SPARK_S3A", "1")

    def staged() -> list[str]:
        return [key for key in s3_lake.keys("stage/.promos.dwh-stage-") if key.endswith(".parquet")]

    run_and_kill(tmp_path, block, started=lambda: bool(staged()))

    assert staged()  # the kill hit the write: Spark's first objects were on S3
    assert pyarrow_rows(s3_lake, "stage/promos") == sorted(OLD)
    assert spark_rows(spark, target) == sorted(OLD)

    new = [(7, "after", dt.date(2025, 1, 2))]
    build_loader(block).load(spark.createDataFrame(new, KILL_SCHEMA), run_context())
    assert [key for key in s3_lake.keys("stage/") if key.startswith("stage/.promos.dwh-")] == []  # swept
    expected = sorted([row for row in OLD if row[2] == dt.date(2025, 1, 1)] + new)  # window [01-02, 01-04)
    assert pyarrow_rows(s3_lake, "stage/promos") == expected
    assert spark_rows(spark, target) == expected
