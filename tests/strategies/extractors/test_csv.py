"""CSV extractor on real local Spark: header, DDL schema, inference, options, round trips into every loader mode."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from dwh.config import validate_model
from dwh.errors import ConfigError
from dwh.strategies.extractors.csv import CsvExtractor
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

HEADER = "id,name,day,amount,updated_at"


def extractor(**block: Any) -> CsvExtractor:
    """A validated CSV extractor."""
    return validate_model(CsvExtractor, {"strategy": "CSV", **block}, argument="--test")


def csv_line(row: tuple[Any, ...], sep: str = ",") -> str:
    """One row as CSV text (timestamps in ISO form with their UTC offset)."""
    return sep.join(value.isoformat() if isinstance(value, dt.date) else str(value) for value in row)


def write_csv(path: Path, rows: list[tuple[Any, ...]] = SOURCE, *, header: bool = True, sep: str = ",") -> str:
    """A CSV file with `rows`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ([HEADER.replace(",", sep)] if header else []) + [csv_line(row, sep) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_header_with_an_explicit_schema(spark: Any, tmp_path: Path) -> None:
    source = extractor(path=write_csv(tmp_path / "promos.csv"), schema=SCHEMA)
    frame, counter = source.extract_counted(run_context())
    assert spark_rows(frame) == sorted(SOURCE)
    assert counter.rows == len(SOURCE)


def test_inference_types_the_columns(spark: Any, tmp_path: Path) -> None:
    frame = extractor(source_table=write_csv(tmp_path / "promos.csv")).extract(run_context())
    types = dict(frame.dtypes)
    assert (types["id"], types["amount"], types["day"], types["name"]) == ("int", "double", "date", "string")


def test_no_inference_reads_strings(spark: Any, tmp_path: Path) -> None:
    frame = extractor(path=write_csv(tmp_path / "promos.csv"), infer_schema=False).extract(run_context())
    assert {kind for _, kind in frame.dtypes} == {"string"}
    assert frame.where("id = '3'").first()["name"] == "new-3"


def test_no_header_and_a_separator_option(spark: Any, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "promos.txt", header=False, sep=";")
    source = extractor(path=path, header=False, schema=SCHEMA, format_options={"sep": ";"}, window_column="day")
    assert spark_rows(source.extract(run_context())) == sorted(IN_WINDOW)


def test_a_window_column_that_is_not_a_date_is_named_before_reading(spark: Any, tmp_path: Path) -> None:
    source = extractor(path=write_csv(tmp_path / "promos.csv"), infer_schema=False, window_column="day")
    with pytest.raises(ValueError) as caught:
        source.extract(run_context())
    assert str(caught.value) == "CSV extractor: window_column day must be a date or timestamp column, not string"


def test_options_our_fields_own_are_refused() -> None:
    with pytest.raises(ConfigError, match="format_options must not set header: use header, schema, infer_schema"):
        extractor(path="/x.csv", format_options={"header": "false"})


@pytest.mark.parametrize(("strategy", "mode"), LOADER_MODES)
def test_round_trip_into_every_loader_mode(spark: Any, tmp_path: Path, strategy: str, mode: str) -> None:
    source_path = write_csv(tmp_path / "source" / "promos.csv")
    target = str(tmp_path / "target")
    build_loader(loader_block(strategy, "overwrite", target)).load(spark.createDataFrame(OLD, SCHEMA), run_context())
    loader = build_loader(loader_block(strategy, mode, target))
    source = extractor(path=source_path, schema=SCHEMA, window_column="day")
    frame, counter = source.extract_counted(run_context())
    result = loader.load(frame, run_context())
    assert target_rows(spark, strategy, target) == expected(mode, OLD, IN_WINDOW)
    assert (result.rows_written, counter.rows) == (len(IN_WINDOW), len(IN_WINDOW))
    if mode != "append":  # the same load again leaves the same table
        loader.load(
            extractor(path=source_path, schema=SCHEMA, window_column="day").extract(run_context()), run_context()
        )
        assert target_rows(spark, strategy, target) == expected(mode, OLD, IN_WINDOW)
