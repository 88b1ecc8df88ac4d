"""PARQUET loader on real local Spark: modes, partition swaps, and all-or-nothing commits that roll back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dwh.errors import ConfigError
from dwh.strategies.loaders.parquet import ParquetLoader
from dwh.strategies.loaders.parquet.commit import ArrowFiles, Files, TargetDir, commit, recover, session_files
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
from tests.strategies.loaders.configs import validated

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def load(spark: Any, path: str, rows: list[tuple[Any, ...]], mode: str, partition_by: list[str] | None = None) -> Any:
    """Load `rows` into the directory `path`."""
    return load_frame(spark.createDataFrame(rows, SCHEMA), path, mode, partition_by)


def load_frame(frame: Any, path: str, mode: str, partition_by: list[str] | None = None) -> Any:
    """Load a DataFrame into the directory `path` (window column ``day`` for replace_window)."""
    block = {k: v for k, v in loader_block("PARQUET", mode, path, partition_by).items() if k != "strategy"}
    return validated(ParquetLoader, **block).load(frame, run_context())


def rows(spark: Any, path: str) -> list[tuple[Any, ...]]:
    """The rows Spark reads from the directory."""
    return spark_rows(spark.read.parquet(path))


def data_files(path: Path) -> dict[str, float]:
    """Data files under `path` with their modification times."""
    return {str(p.relative_to(path)): p.stat().st_mtime for p in path.rglob("*.parquet")}


def leftovers(parent: Path) -> list[str]:
    """Hidden stage/trash/journal entries beside a target."""
    return sorted(p.name for p in parent.iterdir() if ".dwh-" in p.name)


def literal(value: Any) -> Any:
    """A literal column (pyspark imported lazily)."""
    from pyspark.sql import functions as F

    return F.lit(value)


def test_merge_is_not_a_parquet_mode() -> None:
    with pytest.raises(ConfigError) as caught:
        validated(ParquetLoader, path="/x", mode="merge", keys=["id"])
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
        validated(ParquetLoader, path=target, mode="overwrite").load(broken, run_context())
    assert rows(spark, target) == sorted(OLD)
    assert leftovers(tmp_path) == []


def commit_files(spark: Any, path: str, backend: str) -> Files:
    """The session's own commit calls (Hadoop's FileSystem; pyarrow.fs on Connect), or pyarrow.fs on any session."""
    return session_files(spark, path) if backend == "session" else ArrowFiles()


@pytest.mark.parametrize("backend", ["session", "pyarrow"])
def test_a_failed_commit_rolls_back(spark: Any, tmp_path: Path, backend: str) -> None:
    target = tmp_path / "t"
    load(spark, str(target), OLD, "overwrite")
    files, directory = commit_files(spark, str(target), backend), TargetDir(str(target))
    trash = directory.sibling("dwh-trash", "x")
    # The second rename fails (its source is missing) after the first moved the target away.
    with pytest.raises(RuntimeError, match="cannot move"):
        commit(files, directory, [(str(target), trash), (str(tmp_path / "missing"), str(target))])
    assert rows(spark, str(target)) == sorted(OLD)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("backend", ["session", "pyarrow"])
def test_the_next_load_rolls_back_a_commit_killed_half_way(spark: Any, tmp_path: Path, backend: str) -> None:
    target = tmp_path / "t"
    load(spark, str(target), OLD, "overwrite")
    directory = TargetDir(str(target))
    stage, trash = Path(directory.sibling("dwh-stage", "killed")), Path(directory.sibling("dwh-trash", "killed"))
    spark.createDataFrame(SOURCE, SCHEMA).write.parquet(str(stage))
    # What a load killed between the two renames of an overwrite leaves: journal written, target moved away.
    Path(directory.journal).write_text(json.dumps({"moves": [[str(target), str(trash)], [str(stage), str(target)]]}))
    target.rename(trash)
    assert recover(commit_files(spark, str(target), backend), directory) is True
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
    validated(ParquetLoader, **block).load(spark.createDataFrame(OLD, SCHEMA), run_context())
    assert rows(spark, f"{warehouse_dir(spark)}/main/stage/loader_promos") == sorted(OLD)


@pytest.mark.parametrize(
    ("existing", "partition_by", "mode"),
    [(["day"], None, "append"), (None, ["day"], "append"), (["day"], ["name"], "append"),
     (["day"], None, "replace_window"), (None, ["day"], "replace_window")],
)  # fmt: skip
def test_other_partitioning_than_the_targets_fails_before_writing(
    spark: Any, tmp_path: Path, existing: Any, partition_by: Any, mode: str
) -> None:
    target = tmp_path / "t"
    load(spark, str(target), OLD, "overwrite", existing)
    before = data_files(target)
    with pytest.raises(ValueError) as caught:
        load(spark, str(target), IN_WINDOW, mode, partition_by)
    assert str(caught.value) == (
        f"PARQUET {target}: partition_by {partition_by or []} differs from the target's partitioning {existing or []}; "
        "load with the target's partition_by, or use mode overwrite to change it (nothing written)"
    )
    assert data_files(target) == before
    assert rows(spark, str(target)) == sorted(OLD)
    assert leftovers(tmp_path) == []


def test_overwrite_may_change_the_partitioning(spark: Any, tmp_path: Path) -> None:
    target = tmp_path / "t"
    load(spark, str(target), OLD, "overwrite", ["day"])
    load(spark, str(target), IN_WINDOW, "overwrite")
    assert not [p for p in target.iterdir() if p.is_dir()]
    assert rows(spark, str(target)) == sorted(IN_WINDOW)


@pytest.mark.parametrize(
    ("column", "expression", "diff"),
    [("extra", "1", "{'extra': (None, 'int')}"), ("id", "CAST(id AS INT)", "{'id': ('bigint', 'int')}")],
    ids=["extra_column", "other_type"],
)
@pytest.mark.parametrize(
    ("mode", "partition_by"), [("append", None), ("replace_window", ["day"]), ("replace_window", None)]
)
def test_other_columns_than_the_targets_fail_before_writing(
    spark: Any, tmp_path: Path, mode: str, partition_by: Any, column: str, expression: str, diff: str
) -> None:
    from pyspark.sql import functions as F

    target = tmp_path / "t"
    load(spark, str(target), OLD, "overwrite", partition_by)
    before = data_files(target)
    frame = spark.createDataFrame(IN_WINDOW, SCHEMA).withColumn(column, F.expr(expression))
    with pytest.raises(ValueError) as caught:
        load_frame(frame, str(target), mode, partition_by)
    assert str(caught.value) == (
        f"PARQUET {target}: the rows' columns differ from the target's (column: (target, rows)): {diff}; "
        "use mode overwrite to change the columns (nothing written)"
    )
    assert data_files(target) == before
    assert rows(spark, str(target)) == sorted(OLD)


def test_a_target_without_rows_takes_other_columns_and_partitioning(spark: Any, tmp_path: Path) -> None:
    target = str(tmp_path / "t")
    load(spark, target, [], "overwrite")  # Spark writes one empty file with the columns of SCHEMA
    frame = spark.createDataFrame(IN_WINDOW, SCHEMA).withColumn("extra", literal(7))
    load_frame(frame, target, "append", ["day"])  # the directory is replaced: its empty file goes too
    read = spark.read.parquet(target)
    assert sorted((row["id"], row["extra"]) for row in read.collect()) == [(row[0], 7) for row in sorted(IN_WINDOW)]
    assert sorted(p.name for p in Path(target).iterdir() if not p.name.startswith((".", "_"))) == [
        "day=2025-01-02", "day=2025-01-03"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("mode", "old"),
    [("append", None), ("overwrite", None), ("replace_window", None), ("overwrite", OLD),
     ("replace_window", OLD[1:3])],
    ids=["append_new", "overwrite_new", "replace_window_new", "overwrite_existing", "replace_window_whole_target"],
)  # fmt: skip
def test_an_empty_partitioned_load_reads_back_as_zero_rows(spark: Any, tmp_path: Path, mode: str, old: Any) -> None:
    target = str(tmp_path / "t")
    if old:
        load(spark, target, old, "overwrite", ["day"])
    assert load(spark, target, [], mode, ["day"]).rows_written == 0
    read = spark.read.parquet(target)
    assert read.count() == 0
    assert [(f.name, f.dataType.simpleString()) for f in read.schema.fields] == [
        ("id", "bigint"), ("name", "string"), ("amount", "double"), ("updated_at", "timestamp"), ("day", "date")
    ]  # fmt: skip
    load(spark, target, IN_WINDOW, "append", ["day"])
    assert rows(spark, target) == sorted(IN_WINDOW)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("window_column", "message"),
    [("name", "window_column name must be a date or timestamp column, not string"),
     ("nope", "window_column nope is not a column of the rows (id, name, day, amount, updated_at)")],
)  # fmt: skip
def test_replace_window_needs_a_date_or_timestamp_window_column(
    spark: Any, tmp_path: Path, window_column: str, message: str
) -> None:
    target = tmp_path / "t"
    block = {"path": str(target), "mode": "replace_window", "window_column": window_column}
    with pytest.raises(ValueError) as caught:
        validated(ParquetLoader, **block).load(spark.createDataFrame(IN_WINDOW, SCHEMA), run_context())
    assert str(caught.value) == f"PARQUET loader: {message}"
    assert not target.exists() and leftovers(tmp_path) == []


def test_a_partition_column_named_with_an_underscore_is_appended(spark: Any, tmp_path: Path) -> None:
    target = str(tmp_path / "t")
    load_frame(spark.createDataFrame(OLD, SCHEMA).withColumn("_src", literal("a")), target, "overwrite", ["_src"])
    load_frame(spark.createDataFrame(IN_WINDOW, SCHEMA).withColumn("_src", literal("b")), target, "append", ["_src"])
    assert rows(spark, target) == expected("append", OLD, IN_WINDOW)


def test_a_directory_name_with_glob_characters_is_read_literally(spark: Any, tmp_path: Path) -> None:
    target = str(tmp_path / "t[1]{a}")
    load(spark, target, OLD, "overwrite")
    load(spark, target, IN_WINDOW, "append")
    load(spark, target, IN_WINDOW, "replace_window")  # a full rewrite: reads the kept rows back
    escaped = target.replace("[", "\\[").replace("]", "\\]").replace("{", "\\{").replace("}", "\\}")
    assert rows(spark, escaped) == expected("replace_window", OLD, IN_WINDOW)
