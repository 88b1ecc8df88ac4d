"""The DELTA loader's delta-rs engine and the DELTA extractor on ``s3://`` and ``s3a://`` paths on moto's S3.

Every mode on an existing table (written by an overwrite first), unpartitioned (replace_window then rewrites the
files holding the window's rows: Spark reads them back over S3A) and partitioned by the window column, on
``s3a://`` URIs; replace_window and merge also on ``s3://``. The
table is read back three ways: by delta-rs with explicit storage options (not through our code), by the DELTA
extractor (delta-rs log + Spark's Parquet reader over S3A), and as objects listed with boto3.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from dwh.strategies.extractors.delta import DeltaExtractor
from dwh.strategies.loaders.delta import DeltaLoader
from tests.engines.s3.conftest import Lake
from tests.strategies.file_cases import IN_WINDOW, OLD, SCHEMA, arrow_rows, expected, loader_block, run_context
from tests.strategies.file_cases import spark_rows as frame_rows
from tests.strategies.loaders.configs import validated

pytestmark = [pytest.mark.integration, pytest.mark.spark]

MODES = ("append", "overwrite", "replace_window", "merge")


def load(spark: Any, path: str, rows: list[tuple[Any, ...]], mode: str, partition_by: list[str] | None) -> Any:
    """Load `rows` into the Delta table at `path` in `mode` (the run window is file_cases')."""
    block = loader_block("DELTA", mode, path, partition_by)
    return validated(DeltaLoader, **block).load(spark.createDataFrame(rows, SCHEMA), run_context())


def delta_rs_rows(lake: Lake, path: str, version: int | None = None) -> list[tuple[Any, ...]]:
    """The table's rows as delta-rs reads them over S3 with explicit storage options."""
    from deltalake import DeltaTable

    uri = "s3://" + path.split("://", 1)[1]
    return arrow_rows(DeltaTable(uri, version=version, storage_options=lake.access.delta_options()).to_pyarrow_table())


def commits(lake: Lake, key: str) -> list[dict[str, Any]]:
    """The commitInfo of every commit of the table under `key`, in order, fetched with boto3."""
    import boto3

    s3 = boto3.client("s3")
    found = []
    for name in lake.keys(f"{key}/_delta_log/"):
        if name.endswith(".json"):
            body = s3.get_object(Bucket=lake.bucket, Key=name)["Body"].read().decode()
            found += [json.loads(line)["commitInfo"] for line in body.splitlines() if '"commitInfo"' in line]
    return found


CASES = [
    *((mode, partition_by, "s3a") for mode in MODES for partition_by in (None, ["day"])),
    # s3:// as EMR and Glue users write it: delta-rs takes it as is, Spark reads the rewritten files through S3A.
    ("replace_window", None, "s3"),
    ("merge", None, "s3"),
]


@pytest.mark.parametrize(
    ("mode", "partition_by", "scheme"),
    CASES,
    ids=[f"{mode}-{'partitioned' if by else 'unpartitioned'}-{scheme}" for mode, by, scheme in CASES],
)
def test_every_mode_on_s3_reads_back_on_every_reader(
    spark: Any, s3_lake: Lake, mode: str, partition_by: list[str] | None, scheme: str
) -> None:
    path = s3_lake.uri("tables/t", scheme)
    first = load(spark, path, OLD, "overwrite", partition_by)
    result = load(spark, path, IN_WINDOW, mode, partition_by)

    want = expected(mode, OLD, IN_WINDOW)
    assert delta_rs_rows(s3_lake, path) == want
    assert delta_rs_rows(s3_lake, path, version=0) == sorted(OLD)
    read = validated(DeltaExtractor, path=path).read(spark, run_context())
    assert frame_rows(read) == want
    assert frame_rows(validated(DeltaExtractor, path=path, version=0).read(spark, run_context())) == sorted(OLD)
    assert (first.detail["engine"], result.detail["engine"]) == ("delta-rs", "delta-rs")
    assert (result.rows_written, result.detail["version"]) == (len(IN_WINDOW), 1)
    info = commits(s3_lake, "tables/t")
    assert len(info) == 2 and all(str(item.get("clientVersion", "")).startswith("delta-rs") for item in info), info
    data = [key for key in s3_lake.keys("tables/t/") if key.endswith(".parquet")]
    assert data and all(("/day=" in key) == bool(partition_by) for key in data)


def test_a_refused_load_on_s3_commits_nothing(spark: Any, s3_lake: Lake) -> None:
    path = s3_lake.uri("tables/refused")
    load(spark, path, OLD, "overwrite", None)
    outside = [(9, "late", OLD[0][2], 9.0, OLD[0][4])]  # day 2025-01-01: outside the run window
    with pytest.raises(ValueError, match="1 rows have day NULL or outside the run window"):
        load(spark, path, outside, "replace_window", None)
    assert delta_rs_rows(s3_lake, path) == sorted(OLD)
    assert len(commits(s3_lake, "tables/refused")) == 1
