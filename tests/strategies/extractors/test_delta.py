"""DELTA extractor on the engine the session picks: time travel, refusals and round trips.

Without Delta jars (the default suite) that is delta-rs's log + Spark's Parquet reader; with ``DWH_SPARK_DELTA=1``
(lane 3, Spark 3.5 + Delta 3.3) Spark's own Delta, with the same rows and the same refusals. Commit times are
each engine's own (`commit_millis`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from dwh.config import validate_model
from dwh.errors import ConfigError
from dwh.strategies.extractors.delta import DeltaExtractor
from dwh.strategies.tables import warehouse_dir
from tests.strategies.file_cases import (
    COLUMNS,
    IN_WINDOW,
    LOADER_MODES,
    OLD,
    SCHEMA,
    SOURCE,
    UTC,
    build_loader,
    expected,
    loader_block,
    run_context,
    spark_rows,
    target_rows,
)

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def extractor(**block: Any) -> DeltaExtractor:
    """A validated DELTA extractor."""
    return validate_model(DeltaExtractor, {"strategy": "DELTA", **block}, argument="--test")


def spark_delta(spark: Any) -> bool:
    """True when the session reads and writes Delta through Spark's own Delta."""
    from dwh.platforms.spark import spark_has_delta

    return bool(spark_has_delta(spark))


def commit_millis(spark: Any, path: str) -> dict[int, int]:
    """version -> commit time (epoch ms) as the engine the extractor takes times a commit."""
    if spark_delta(spark):
        history = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").selectExpr("version", "unix_millis(timestamp)")
        return {int(version): int(millis) for version, millis in history.collect()}
    from deltalake import DeltaTable

    return {entry["version"]: entry["timestamp"] for entry in DeltaTable(path).history()}


def write_delta(spark: Any, path: str, rows: list[tuple[Any, ...]], mode: str = "overwrite", **extra: Any) -> None:
    """Write `rows` with our own DELTA loader (on the session's engine)."""
    build_loader({"strategy": "DELTA", "path": path, "mode": mode, **extra}).load(
        spark.createDataFrame(rows, SCHEMA), run_context()
    )


def test_reads_what_the_delta_rs_writer_wrote(spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "promos")
    write_delta(spark, path, SOURCE)
    source = extractor(source_table=path)
    frame, counter = source.extract_counted(run_context())
    assert frame.columns == COLUMNS
    assert dict(frame.dtypes)["updated_at"] == "timestamp"  # not timestamp_ntz
    assert spark_rows(frame) == sorted(SOURCE)
    assert counter.rows == len(SOURCE)


def test_partition_values_come_back_typed_and_unescaped(spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "partitioned")
    rows = [(1, "a b", "x"), (2, "c/d", "y"), (3, "e%f=g", "z"), (4, None, "w")]
    build_loader({"strategy": "DELTA", "path": path, "mode": "overwrite", "partition_by": ["part", "day"]}).load(
        spark.createDataFrame(
            [(i, p, v, dt.date(2025, 1, i)) for i, p, v in rows], "id long, part string, v string, day date"
        ),
        run_context(),
    )
    frame = extractor(path=path).extract(run_context())
    assert frame.columns == ["id", "part", "v", "day"]
    got = sorted(tuple(row) for row in frame.collect())
    assert got == [(i, p, v, dt.date(2025, 1, i)) for i, p, v in rows]


def test_time_travel_by_version_and_timestamp(spark: Any, tmp_path: Path) -> None:
    from deltalake import DeltaTable

    path = str(tmp_path / "travel")
    write_delta(spark, path, OLD)
    write_delta(spark, path, SOURCE, mode="merge", keys=["id"])
    assert DeltaTable(path).version() == 1
    as_of = dt.datetime.fromtimestamp(commit_millis(spark, path)[0] / 1000, tz=UTC)
    assert spark_rows(extractor(path=path, version=0).extract(run_context())) == sorted(OLD)
    assert spark_rows(extractor(path=path, timestamp=as_of.isoformat()).extract(run_context())) == sorted(OLD)
    assert spark_rows(extractor(path=path).extract(run_context())) == expected("merge", OLD, SOURCE)


def test_window_filter_and_columns(spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "promos")
    write_delta(spark, path, SOURCE, partition_by=["day"])
    source = extractor(path=path, window_column="day", filter="amount < 10", columns=["id"])
    frame, counter = source.extract_counted(run_context())
    assert [row["id"] for row in frame.collect()] == [5]
    assert counter.rows == 1


def test_table_name_reads_the_warehouse_table(spark: Any) -> None:
    write_delta(spark, f"{warehouse_dir(spark)}/main/unity/promos_delta", SOURCE)
    assert spark_rows(extractor(table="main.unity.promos_delta").extract(run_context())) == sorted(SOURCE)


def test_deletion_vectors_are_refused_by_delta_rs_and_applied_by_spark_delta(spark: Any, tmp_path: Path) -> None:
    import pyarrow as pa
    from deltalake import write_deltalake

    path = str(tmp_path / "dv")
    if spark_delta(spark):  # Spark Delta applies deletion vectors itself: a deleted row stays deleted
        spark.sql(
            f"CREATE TABLE delta.`{path}` (id long) USING delta TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')"
        )
        spark.sql(f"INSERT INTO delta.`{path}` VALUES (1), (2), (3)")
        spark.sql(f"DELETE FROM delta.`{path}` WHERE id = 2")
        assert "deletionVector" in "".join(p.read_text() for p in Path(path, "_delta_log").glob("*.json"))
        assert sorted(row["id"] for row in extractor(path=path).extract(run_context()).collect()) == [1, 3]
        return
    write_deltalake(path, pa.table({"id": [1]}), configuration={"delta.enableDeletionVectors": "true"})
    with pytest.raises(
        ValueError, match=r"needs reader features deletionVectors.*: read it on a Spark session with Delta"
    ):
        extractor(path=path).extract(run_context())


def test_a_missing_table_and_contradicting_travel(spark: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=f"no Delta table at {tmp_path}/nothing"):
        extractor(path=str(tmp_path / "nothing")).extract(run_context())
    with pytest.raises(ConfigError, match="give version or timestamp, not both"):
        extractor(path="/x", version=1, timestamp="2025-01-01T00:00:00")


@pytest.mark.parametrize(("strategy", "mode"), LOADER_MODES)
def test_round_trip_into_every_loader_mode(spark: Any, tmp_path: Path, strategy: str, mode: str) -> None:
    source_path = str(tmp_path / "source")
    write_delta(spark, source_path, SOURCE)
    target = str(tmp_path / "target")
    build_loader(loader_block(strategy, "overwrite", target)).load(spark.createDataFrame(OLD, SCHEMA), run_context())
    loader = build_loader(loader_block(strategy, mode, target))
    source = extractor(source_table=source_path, window_column="day")
    frame, counter = source.extract_counted(run_context())
    result = loader.load(frame, run_context())
    assert target_rows(spark, strategy, target) == expected(mode, OLD, IN_WINDOW)
    assert (result.rows_written, counter.rows) == (len(IN_WINDOW), len(IN_WINDOW))
    if mode != "append":  # the same load again leaves the same table
        loader.load(extractor(source_table=source_path, window_column="day").extract(run_context()), run_context())
        assert target_rows(spark, strategy, target) == expected(mode, OLD, IN_WINDOW)


def test_time_travel_outside_the_history_is_an_error_naming_the_range(spark: Any, tmp_path: Path) -> None:
    from deltalake import DeltaTable

    path = str(tmp_path / "travel")
    write_delta(spark, path, OLD)
    write_delta(spark, path, SOURCE, mode="merge", keys=["id"])
    commits = commit_millis(spark, path)
    assert DeltaTable(path).version() == 1
    epoch = dt.datetime(1970, 1, 1, tzinfo=UTC)
    first, last = (epoch + dt.timedelta(milliseconds=commits[v]) for v in (0, 1))

    def read(**travel: Any) -> list[tuple[Any, ...]]:
        return spark_rows(extractor(path=path, **travel).extract(run_context()))

    with pytest.raises(ValueError) as caught:
        read(version=99)
    assert str(caught.value) == f"DELTA {path}: version 99 does not exist (latest is 1)"
    with pytest.raises(ValueError) as caught:
        read(timestamp="2000-01-01T00:00:00Z")
    assert str(caught.value) == (
        f"DELTA {path}: timestamp 2000-01-01T00:00:00+00:00 is before the table's first commit "
        f"({first.isoformat(timespec='milliseconds')})"
    )
    with pytest.raises(ValueError) as caught:
        read(timestamp="2100-01-01T00:00:00+02:00")
    assert str(caught.value) == (
        f"DELTA {path}: timestamp 2099-12-31T22:00:00+00:00 is after the latest commit "
        f"(version 1, {last.isoformat(timespec='milliseconds')})"
    )
    # The edges of the history are inside it: the latest commit's time reads it, a millisecond earlier the one before.
    assert read(timestamp=last.isoformat()) == expected("merge", OLD, SOURCE)
    assert read(timestamp=(last - dt.timedelta(milliseconds=1)).isoformat()) == sorted(OLD)
    assert read(version=1) == expected("merge", OLD, SOURCE)
