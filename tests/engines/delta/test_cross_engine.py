"""Spark Delta and delta-rs on the same tables: each reads what the other wrote, with the same rows and types.

A job may write a table on a laptop (delta-rs) and read it on Databricks (Spark Delta), or the reverse; both
engines also take turns on one table. Rows compare with UTC-aware timestamps; types compare as each engine
reports them (Spark's ``dtypes``, Arrow's schema).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dwh.config import validate_model
from dwh.strategies.extractors.delta import DeltaExtractor
from tests.engines.delta.engine_switch import delta_rs_engine
from tests.strategies.file_cases import (
    IN_WINDOW,
    OLD,
    SCHEMA,
    SOURCE,
    build_loader,
    delta_rows,
    expected,
    loader_block,
    run_context,
    spark_rows,
)

pytestmark = [pytest.mark.integration, pytest.mark.spark]

#: The types of SCHEMA as Spark reports them, and as Arrow (delta-rs) does.
SPARK_TYPES = [("id", "bigint"), ("name", "string"), ("day", "date"), ("amount", "double"), ("updated_at", "timestamp")]
ARROW_TYPES = {
    "id": "int64",
    "name": "string",
    "day": "date32[day]",
    "amount": "double",
    "updated_at": "timestamp[us, tz=UTC]",
}


def load(spark: Any, path: str, rows: list[tuple[Any, ...]], mode: str) -> str:
    """Load `rows` with the DELTA loader; returns the engine it used."""
    result = build_loader(loader_block("DELTA", mode, path)).load(spark.createDataFrame(rows, SCHEMA), run_context())
    return str(result.detail["engine"])


def extract(path: str, **travel: Any) -> Any:
    """The DELTA extractor's frame of the table at `path`."""
    return validate_model(DeltaExtractor, {"strategy": "DELTA", "path": path, **travel}, argument="--test").extract(
        run_context()
    )


def arrow_types(path: str) -> dict[str, str]:
    """Column types of the table as delta-rs reads it."""
    from deltalake import DeltaTable

    schema = DeltaTable(path).to_pyarrow_table().schema
    return {field.name: str(field.type) for field in schema}


def test_spark_delta_reads_what_delta_rs_wrote(delta_spark: Any, tmp_path: Path) -> None:
    second_mode = "merge"
    path = str(tmp_path / "t")
    with delta_rs_engine():
        assert load(delta_spark, path, OLD, "overwrite") == "delta-rs"
        assert load(delta_spark, path, IN_WINDOW, second_mode) == "delta-rs"
    frame = extract(path)  # Spark Delta again, outside the block
    assert frame.dtypes == SPARK_TYPES
    assert spark_rows(frame) == expected(second_mode, OLD, IN_WINDOW)
    assert spark_rows(extract(path, version=0)) == sorted(OLD)


def test_delta_rs_reads_what_spark_delta_wrote(delta_spark: Any, tmp_path: Path) -> None:
    second_mode = "merge"
    path = str(tmp_path / "t")
    assert load(delta_spark, path, OLD, "overwrite") == "spark-delta"
    assert load(delta_spark, path, IN_WINDOW, second_mode) == "spark-delta"
    assert arrow_types(path) == ARROW_TYPES
    assert delta_rows(path) == expected(second_mode, OLD, IN_WINDOW)  # delta-rs itself
    with delta_rs_engine():
        frame = extract(path)  # our extractor's delta-rs path: the log by delta-rs, the files by Spark's reader
        assert frame.dtypes == SPARK_TYPES
        assert spark_rows(frame) == expected(second_mode, OLD, IN_WINDOW)
        assert spark_rows(extract(path, version=0)) == sorted(OLD)


#: Every mode on each engine, each time over a version the other engine committed (keys stay unique).
TURNS = [
    ("spark", OLD, "overwrite"),
    ("delta-rs", SOURCE, "merge"),
    ("spark", IN_WINDOW, "replace_window"),
    ("delta-rs", IN_WINDOW, "replace_window"),
    ("spark", IN_WINDOW, "merge"),
    ("delta-rs", OLD, "overwrite"),
    ("spark", [SOURCE[1]], "append"),
    ("delta-rs", [SOURCE[2]], "append"),
]


def test_the_engines_take_turns_on_one_table(delta_spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    rows: list[tuple[Any, ...]] = []
    history = []
    for step, (engine, batch, mode) in enumerate(TURNS):
        if engine == "spark":
            assert load(delta_spark, path, batch, mode) == "spark-delta"
        else:
            with delta_rs_engine():
                assert load(delta_spark, path, batch, mode) == "delta-rs"
        rows = expected(mode, rows, batch)
        history.append(rows)
        assert delta_rows(path) == rows, (step, engine, mode)  # delta-rs itself
        assert spark_rows(extract(path)) == rows, (step, engine, mode)  # Spark Delta
    assert spark_rows(extract(path, version=1)) == history[1]
    with delta_rs_engine():
        assert spark_rows(extract(path, version=5)) == history[5]
    assert arrow_types(path) == ARROW_TYPES
    assert extract(path).dtypes == SPARK_TYPES
