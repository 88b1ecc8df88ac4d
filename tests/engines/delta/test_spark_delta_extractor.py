"""DELTA extractor through Spark's own Delta: latest rows, time travel by version and timestamp, its errors, names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from dwh.config import validate_model
from dwh.strategies.extractors.delta import DeltaExtractor
from dwh.strategies.tables import warehouse_dir
from tests.strategies.file_cases import (
    COLUMNS,
    OLD,
    SCHEMA,
    SOURCE,
    UTC,
    build_loader,
    expected,
    run_context,
    spark_rows,
)

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def extractor(**block: Any) -> DeltaExtractor:
    """A validated DELTA extractor."""
    return validate_model(DeltaExtractor, {"strategy": "DELTA", **block}, argument="--test")


def write(spark: Any, path: str, rows: list[tuple[Any, ...]], mode: str = "overwrite", **extra: Any) -> None:
    """Write `rows` with the DELTA loader (Spark Delta on this session)."""
    result = build_loader({"strategy": "DELTA", "path": path, "mode": mode, **extra}).load(
        spark.createDataFrame(rows, SCHEMA), run_context()
    )
    assert result.detail["engine"] == "spark-delta"


def commit_times(path: str) -> dict[int, dt.datetime]:
    """Each version's commit time (UTC) as Spark Delta's time travel counts it: its log file's modification time.

    (The ``commitInfo.timestamp`` that delta-rs's ``history()`` shows can be some milliseconds earlier.)
    """
    times = {}
    for commit in Path(path, "_delta_log").glob("*.json"):
        millis = commit.stat().st_mtime_ns // 1_000_000
        times[int(commit.stem)] = dt.datetime.fromtimestamp(millis / 1000, tz=UTC)
    return times


def test_reads_the_latest_rows_with_utc_timestamps(delta_spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "promos")
    write(delta_spark, path, SOURCE)
    frame, counter = extractor(source_table=path).extract_counted(run_context())
    assert frame.columns == COLUMNS
    assert dict(frame.dtypes)["updated_at"] == "timestamp"
    assert spark_rows(frame) == sorted(SOURCE)
    assert counter.rows == len(SOURCE)


def test_time_travel_by_version_and_timestamp(delta_spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "travel")
    write(delta_spark, path, OLD)
    write(delta_spark, path, SOURCE, mode="merge", keys=["id"])
    times = commit_times(path)
    assert sorted(times) == [0, 1]

    def read(**travel: Any) -> list[tuple[Any, ...]]:
        return spark_rows(extractor(path=path, **travel).extract(run_context()))

    assert read(version=0) == sorted(OLD)
    assert read(version=1) == read() == expected("merge", OLD, SOURCE)
    assert read(timestamp=times[0].isoformat()) == sorted(OLD)
    assert read(timestamp=times[1].isoformat()) == expected("merge", OLD, SOURCE)
    assert read(timestamp=(times[1] - dt.timedelta(milliseconds=1)).isoformat()) == sorted(OLD)
    # A naive timestamp is UTC whatever the machine's zone: the same instant as its +00:00 spelling.
    naive = times[0].astimezone(UTC).replace(tzinfo=None).isoformat()
    assert read(timestamp=naive) == sorted(OLD)


def test_time_travel_outside_the_history_is_refused_as_on_delta_rs(delta_spark: Any, tmp_path: Path) -> None:
    """Spark Delta's refusal, re-worded as the delta-rs engine's one line (Spark's error chained as the cause)."""
    path = str(tmp_path / "travel")
    write(delta_spark, path, OLD)
    with pytest.raises(ValueError) as caught:
        extractor(path=path, version=99).extract(run_context()).collect()
    assert str(caught.value) == f"DELTA {path}: version 99 does not exist (latest is 0)"
    assert caught.value.__cause__ is not None
    before = rf"^DELTA {path}: timestamp 2000-01-01T00:00:00\+00:00 is before the table's first commit \(20"
    with pytest.raises(ValueError, match=before):
        extractor(path=path, timestamp="2000-01-01T00:00:00Z").extract(run_context()).collect()
    with pytest.raises(ValueError, match=f"^DELTA extractor: no Delta table at {tmp_path}/nothing$"):
        extractor(path=str(tmp_path / "nothing")).extract(run_context())


def test_window_filter_and_columns(delta_spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "promos")
    write(delta_spark, path, SOURCE, partition_by=["day"])
    frame, counter = extractor(path=path, window_column="day", filter="amount < 10", columns=["id"]).extract_counted(
        run_context()
    )
    assert [row["id"] for row in frame.collect()] == [5]
    assert counter.rows == 1


def test_a_table_name_reads_the_warehouse_table(delta_spark: Any) -> None:
    write(delta_spark, f"{warehouse_dir(delta_spark)}/lane/unity/promos_read", SOURCE)
    assert spark_rows(extractor(table="lane.unity.promos_read").extract(run_context())) == sorted(SOURCE)


def test_a_table_with_deletion_vectors_reads_here(delta_spark: Any, tmp_path: Path) -> None:
    """The delta-rs engine refuses it and says to read it on a Spark session with Delta: this is that session."""
    from dwh.platforms.spark_compat import spark_major

    if spark_major() < 4:
        pytest.skip("Delta 3.3 cannot read a delta-rs 1.6 table with table features (README, Known limits)")
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    path = str(tmp_path / "dv")
    write_deltalake(path, pa.table({"id": [1, 2, 3]}), configuration={"delta.enableDeletionVectors": "true"})
    delta_spark.sql(f"DELETE FROM delta.`{path}` WHERE id = 2")  # Spark Delta writes a deletion vector
    assert "deletionVectors" in (DeltaTable(path).protocol().reader_features or [])
    assert sorted(row["id"] for row in extractor(path=path).extract(run_context()).collect()) == [1, 3]
