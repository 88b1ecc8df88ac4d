"""PARQUET extractor on real local Spark: paths, table names, window/filter/columns, round trips into every mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dwh.config import validate_model
from dwh.strategies.extractors.parquet import ParquetExtractor
from dwh.strategies.tables import warehouse_dir
from tests.strategies.file_cases import (
    IN_WINDOW,
    LOADER_MODES,
    OLD,
    SCHEMA,
    SOURCE,
    build_loader,
    expected,
    loader_block,
    run_context,
    spark_rows,
    target_rows,
)

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def extractor(**block: Any) -> ParquetExtractor:
    """A validated PARQUET extractor."""
    return validate_model(ParquetExtractor, {"strategy": "PARQUET", **block}, argument="--test")


def write_source(spark: Any, path: Path, rows: list[tuple[Any, ...]] = SOURCE) -> str:
    """SOURCE as a Parquet directory written by Spark."""
    spark.createDataFrame(rows, SCHEMA).write.parquet(str(path))
    return str(path)


def test_reads_a_directory_by_source_table(spark: Any, tmp_path: Path) -> None:
    source = extractor(source_table=write_source(spark, tmp_path / "promos"))
    frame, counter = source.extract_counted(run_context())
    assert spark_rows(frame) == sorted(SOURCE)
    assert counter.rows == len(SOURCE)
    assert source.describe() == f"PARQUET {tmp_path}/promos"


def test_window_filter_and_columns_apply_in_order(spark: Any, tmp_path: Path) -> None:
    source = extractor(
        path=write_source(spark, tmp_path / "promos"), window_column="day", filter="amount > 6", columns=["name", "id"]
    )
    frame, counter = source.extract_counted(run_context())
    rows = frame.collect()
    assert [tuple(row) for row in rows] == [("new-3", 3)]  # 5 fails the filter, 6 is outside the window
    assert counter.rows == 1


def test_table_name_reads_the_warehouse_directory(spark: Any) -> None:
    write_source(spark, Path(warehouse_dir(spark)) / "main" / "raw" / "promos_parquet")
    source = extractor(table="main.raw.promos_parquet")
    assert spark_rows(source.extract(run_context())) == sorted(SOURCE)


def test_format_options_reach_the_reader(spark: Any, tmp_path: Path) -> None:
    spark.createDataFrame([(1, "a")], "id long, name string").write.parquet(str(tmp_path / "p" / "part=1"))
    spark.createDataFrame([(2, "b", 2.0)], "id long, name string, extra double").write.parquet(
        str(tmp_path / "p" / "part=2")
    )
    merged = extractor(path=str(tmp_path / "p"), format_options={"mergeSchema": "true"}).extract(run_context())
    assert sorted(merged.columns) == ["extra", "id", "name", "part"]


@pytest.mark.parametrize(("strategy", "mode"), LOADER_MODES)
def test_round_trip_into_every_loader_mode(spark: Any, tmp_path: Path, strategy: str, mode: str) -> None:
    source_path = write_source(spark, tmp_path / "source")
    target = str(tmp_path / "target")
    build_loader(loader_block(strategy, "overwrite", target)).load(spark.createDataFrame(OLD, SCHEMA), run_context())
    loader = build_loader(loader_block(strategy, mode, target))
    source = extractor(source_table=source_path, window_column="day")
    frame, counter = source.extract_counted(run_context())
    result = loader.load(frame, run_context())
    assert target_rows(spark, strategy, target) == expected(mode, OLD, IN_WINDOW)
    assert result.rows_written == len(IN_WINDOW)
    assert counter.rows == len(IN_WINDOW)
    if mode != "append":  # the same load again leaves the same table
        loader.load(extractor(source_table=source_path, window_column="day").extract(run_context()), run_context())
        assert target_rows(spark, strategy, target) == expected(mode, OLD, IN_WINDOW)
