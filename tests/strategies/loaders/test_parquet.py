"""PARQUET loader on real local Spark: modes, partition swaps, and all-or-nothing commits that roll back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dwh.config import validate_model
from dwh.errors import ConfigError
from dwh.strategies.loaders.parquet import ParquetLoader
from dwh.strategies.loaders.parquet_commit import HadoopFiles, TargetDir, commit, recover
from dwh.strategies.tables import warehouse_dir
from tests.strategies.file_cases import (
    IN_WINDOW,
    OLD,
    SCHEMA,
    SOURCE,
    expected,
    loader_block,
    run_context,
    spark_rows,
)

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def loader(**block: Any) -> ParquetLoader:
    """A validated PARQUET loader."""
    return validate_model(ParquetLoader, {"strategy": "PARQUET", **block}, argument="--test")


def load(spark: Any, path: str, rows: list[tuple[Any, ...]], mode: str, partition_by: list[str] | None = None) -> Any:
    """Load `rows` into the directory `path`."""
    block = {k: v for k, v in loader_block("PARQUET", mode, path, partition_by).items() if k != "strategy"}
    return loader(**block).load(spark.createDataFrame(rows, SCHEMA), run_context())


def rows(spark: Any, path: str) -> list[tuple[Any, ...]]:
    """The rows Spark reads from the directory."""
    return spark_rows(spark.read.parquet(path))


def data_files(path: Path) -> dict[str, float]:
    """Data files under `path` with their modification times."""
    return {str(p.relative_to(path)): p.stat().st_mtime for p in path.rglob("*.parquet")}


def leftovers(parent: Path) -> list[str]:
    """Hidden stage/trash/journal entries beside a target."""
    return sorted(p.name for p in parent.iterdir() if ".dwh-" in p.name)


def test_merge_is_not_a_parquet_mode() -> None:
    with pytest.raises(ConfigError) as caught:
        loader(path="/x", mode="merge", keys=["id"])
    assert str(caught.value) == "--test: mode: 'merge' is not one of append, overwrite, replace_window"


@pytest.mark.parametrize("partition_by", [None, ["day"]], ids=["unpartitioned", "partitioned_by_day"])
@pytest.mark.parametrize("mode", ["append", "overwrite", "replace_window"])
def test_mode_semantics_and_the_same_load_twice(spark: Any, tmp_path: Path, mode: str, partition_by: Any) -> None:
    path = str(tmp_path / "t")
    load(spark, path, OLD, "overwrite", partition_by)
    result = load(spark, path, IN_WINDOW, mode, partition_by)
    assert rows(spark, path) == expected(mode, OLD, IN_WINDOW)
    assert result.rows_written == len(IN_WINDOW)
    if mode != "append":
        load(spark, path, IN_WINDOW, mode, partition_by)
        assert rows(spark, path) == expected(mode, OLD, IN_WINDOW)
    assert leftovers(tmp_path) == []


def test_replace_window_swaps_only_the_window_partitions(spark: Any, tmp_path: Path) -> None:
    target = tmp_path / "t"
    load(spark, str(target), OLD, "overwrite", ["day"])
    before = data_files(target)
    result = load(spark, str(target), IN_WINDOW, "replace_window", ["day"])
    after = data_files(target)
    outside = {name: mtime for name, mtime in before.items() if name.startswith(("day=2025-01-01/", "day=2025-01-04/"))}
    assert len(outside) == 2 and all(after.get(name) == mtime for name, mtime in outside.items())
    assert not any(name.startswith("day=2025-01-03/") and name in after for name in before)  # old window files gone
    assert result.detail["renames"] == 4  # two old window partitions out, two new ones in


def test_rows_outside_the_window_fail_and_leave_the_target_unchanged(spark: Any, tmp_path: Path) -> None:
    target = tmp_path / "t"
    load(spark, str(target), OLD, "overwrite", ["day"])
    before = data_files(target)
    with pytest.raises(ValueError, match=r"1 rows have day NULL or outside the run window"):
        load(spark, str(target), SOURCE, "replace_window", ["day"])
    assert data_files(target) == before
    assert rows(spark, str(target)) == sorted(OLD)
    assert leftovers(tmp_path) == []


def test_a_failing_spark_job_leaves_the_target_unchanged(spark: Any, tmp_path: Path) -> None:
    from pyspark.sql import functions as F

    target = str(tmp_path / "t")
    load(spark, target, OLD, "overwrite")
    broken = spark.createDataFrame(IN_WINDOW, SCHEMA).withColumn(
        "name", F.when(F.col("id") == 5, F.raise_error(F.lit("boom"))).otherwise(F.col("name"))
    )
    with pytest.raises(Exception, match="boom"):
        loader(path=target, mode="overwrite").load(broken, run_context())
    assert rows(spark, target) == sorted(OLD)
    assert leftovers(tmp_path) == []


def test_a_failed_commit_rolls_back(spark: Any, tmp_path: Path) -> None:
    target = tmp_path / "t"
    load(spark, str(target), OLD, "overwrite")
    files, directory = HadoopFiles(spark, str(target)), TargetDir(str(target))
    trash = directory.sibling("dwh-trash", "x")
    # The second rename fails (its source is missing) after the first moved the target away.
    with pytest.raises(RuntimeError, match="cannot move"):
        commit(files, directory, [(str(target), trash), (str(tmp_path / "missing"), str(target))])
    assert rows(spark, str(target)) == sorted(OLD)
    assert leftovers(tmp_path) == []


def test_the_next_load_rolls_back_a_commit_killed_half_way(spark: Any, tmp_path: Path) -> None:
    target = tmp_path / "t"
    load(spark, str(target), OLD, "overwrite")
    directory = TargetDir(str(target))
    stage, trash = Path(directory.sibling("dwh-stage", "killed")), Path(directory.sibling("dwh-trash", "killed"))
    spark.createDataFrame(SOURCE, SCHEMA).write.parquet(str(stage))
    # What a load killed between the two renames of an overwrite leaves: journal written, target moved away.
    Path(directory.journal).write_text(json.dumps({"moves": [[str(target), str(trash)], [str(stage), str(target)]]}))
    target.rename(trash)
    assert recover(HadoopFiles(spark, str(target)), directory) is True
    assert rows(spark, str(target)) == sorted(OLD)
    assert leftovers(tmp_path) == []
    result = load(spark, str(target), IN_WINDOW, "append")
    assert result.detail["rolled_back_previous"] is False
    assert rows(spark, str(target)) == expected("append", OLD, IN_WINDOW)


def test_append_adds_new_partition_directories(spark: Any, tmp_path: Path) -> None:
    target = str(tmp_path / "t")
    load(spark, target, OLD[:1], "overwrite", ["day"])
    load(spark, target, IN_WINDOW, "append", ["day"])
    assert sorted(p.name for p in Path(target).iterdir() if p.is_dir()) == [
        "day=2025-01-01", "day=2025-01-02", "day=2025-01-03"
    ]  # fmt: skip
    assert rows(spark, target) == expected("append", OLD[:1], IN_WINDOW)


def test_table_name_writes_the_warehouse_directory(spark: Any) -> None:
    block = {"table": "main.stage.loader_promos", "mode": "overwrite"}
    loader(**block).load(spark.createDataFrame(OLD, SCHEMA), run_context())
    assert rows(spark, f"{warehouse_dir(spark)}/main/stage/loader_promos") == sorted(OLD)
