"""DELTA loader through Spark's own Delta (the Databricks / Glue 5 / EMR path): every mode, refusals, table names.

Tables are read back by delta-rs itself (`delta_rows`), independently of Spark and of our extractor, so each
test also shows that what Spark Delta wrote is a table delta-rs reads with the same rows and UTC timestamps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dwh.strategies.loaders.delta import DeltaLoader
from dwh.strategies.tables import warehouse_dir
from tests.strategies.file_cases import (
    IN_WINDOW,
    OLD,
    SCHEMA,
    SOURCE,
    delta_rows,
    expected,
    loader_block,
    run_context,
)
from tests.strategies.loaders.configs import validated

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def load(spark: Any, rows: list[tuple[Any, ...]], mode: str, path: str | None = None, **extra: Any) -> Any:
    """Load `rows` with the DELTA loader in `mode` (to `path`, or to the target `extra` names)."""
    block = {**loader_block("DELTA", mode, path or ""), **extra}
    if path is None:
        block.pop("path")
    return validated(DeltaLoader, **block).load(spark.createDataFrame(rows, SCHEMA), run_context())


def version(path: str) -> int:
    """The table's current version, as delta-rs reads it."""
    from deltalake import DeltaTable

    return int(DeltaTable(path).version())


@pytest.mark.parametrize("partition_by", [None, ["day"]], ids=["unpartitioned", "partitioned_by_day"])
@pytest.mark.parametrize("mode", ["append", "overwrite", "replace_window", "merge"])
def test_mode_semantics_and_the_same_load_twice(delta_spark: Any, tmp_path: Path, mode: str, partition_by: Any) -> None:
    path = str(tmp_path / "t")
    load(delta_spark, OLD, "overwrite", path, partition_by=partition_by)
    result = load(delta_spark, IN_WINDOW, mode, path, partition_by=partition_by)
    assert result.detail["engine"] == "spark-delta"
    assert result.rows_written == len(IN_WINDOW)  # merge: one row updated (id 3), one inserted (id 5)
    assert delta_rows(path) == expected(mode, OLD, IN_WINDOW)
    assert version(path) == 1  # one commit per load
    if mode != "append":
        load(delta_spark, IN_WINDOW, mode, path, partition_by=partition_by)
        assert delta_rows(path) == expected(mode, OLD, IN_WINDOW)


def test_merge_into_a_missing_table_creates_it(delta_spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "new")
    result = load(delta_spark, IN_WINDOW, "merge", path)
    assert (result.detail["engine"], result.rows_written) == ("spark-delta", len(IN_WINDOW))
    assert delta_rows(path) == sorted(IN_WINDOW)


def test_partitioned_table_has_hive_directories(delta_spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "t"
    load(delta_spark, OLD, "overwrite", str(path), partition_by=["day"])
    assert sorted(p.name for p in path.iterdir() if p.name.startswith("day=")) == [
        f"day=2025-01-0{i}" for i in range(1, 5)
    ]


def test_replace_window_refuses_rows_outside_the_window_and_commits_nothing(delta_spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    load(delta_spark, OLD, "overwrite", path)
    # Spark Delta's own check fails the write; the loader words it as delta-rs does, Spark's error chained.
    with pytest.raises(
        ValueError, match=r"1 rows have day NULL or outside the run window \[2025-01-02, 2025-01-04\)"
    ) as caught:
        load(delta_spark, SOURCE, "replace_window", path)  # SOURCE holds id 6 on 2025-01-05
    assert "DELTA_REPLACE_WHERE_MISMATCH" in str(caught.value.__cause__)
    assert version(path) == 0
    assert delta_rows(path) == sorted(OLD)


def test_merge_keys_missing_from_the_frame_are_refused_before_any_write(delta_spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    load(delta_spark, OLD, "overwrite", path)
    with pytest.raises(ValueError, match="promo_id"):
        load(delta_spark, IN_WINDOW, "merge", path, keys=["promo_id"])
    assert version(path) == 0


def test_a_table_name_is_the_local_warehouse_directory(delta_spark: Any) -> None:
    result = load(delta_spark, OLD, "overwrite", table="lane.sales.promos_by_name")
    directory = Path(warehouse_dir(delta_spark), "lane", "sales", "promos_by_name")
    assert result.target == str(directory)
    assert (directory / "_delta_log" / "00000000000000000000.json").is_file()
    load(delta_spark, IN_WINDOW, "merge", table="lane.sales.promos_by_name")
    assert delta_rows(str(directory)) == expected("merge", OLD, IN_WINDOW)
