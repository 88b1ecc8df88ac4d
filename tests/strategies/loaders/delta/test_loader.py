"""DELTA loader on real local Spark, on the engine the session picks: modes, log, refusals, ``detail``.

Without Delta jars that is the streamed delta-rs engine (the default suite); with ``DWH_SPARK_DELTA=1`` (lanes 2
and 3: Spark 4 and Spark 3.5) it is Spark's own Delta, and the same tests hold: the same tables, messages and
``detail`` keys. Tables are read back by delta-rs itself, independently of our extractor; the ``_delta_log`` JSON
is checked for what Spark Delta 2.1 (Glue 4) can read: protocol reader 1 / writer 2, ``timestamp`` types.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from dwh.config import validate_model
from dwh.errors import ConfigError
from dwh.strategies.loaders.delta import DeltaLoader
from dwh.strategies.tables import warehouse_dir
from tests.strategies.file_cases import (
    IN_WINDOW,
    OLD,
    SCHEMA,
    SOURCE,
    UTC,
    delta_rows,
    expected,
    loader_block,
    run_context,
)
from tests.strategies.loaders.configs import validated

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def load(spark: Any, path: str, rows: list[tuple[Any, ...]], mode: str, schema: str = SCHEMA, **extra: Any) -> Any:
    """Load `rows` into the table at `path`."""
    block = {**loader_block("DELTA", mode, path), **extra}
    return validated(DeltaLoader, **block).load(spark.createDataFrame(rows, schema), run_context())


def log_actions(path: str) -> list[dict[str, Any]]:
    """Every action of every commit in the table's ``_delta_log``, in commit order."""
    actions = []
    for commit in sorted(Path(path, "_delta_log").glob("*.json")):
        actions += [json.loads(line) for line in commit.read_text().splitlines() if line.strip()]
    return actions


def engine(spark: Any) -> str:
    """The engine the DELTA loader takes on this session (``detail["engine"]``)."""
    from dwh.platforms.spark import spark_has_delta

    return "spark-delta" if spark_has_delta(spark) else "delta-rs"


def version(path: str) -> int:
    """The table's current version."""
    from deltalake import DeltaTable

    return int(DeltaTable(path).version())


def test_unsupported_mode_is_a_config_error_listing_the_modes() -> None:
    with pytest.raises(ConfigError) as caught:
        validated(DeltaLoader, path="/x", mode="upsert")
    assert str(caught.value) == "--test: mode: 'upsert' is not one of append, overwrite, replace_window, merge"
    with pytest.raises(ConfigError, match="mode merge needs keys"):
        validated(DeltaLoader, path="/x", mode="merge")


@pytest.mark.parametrize("partition_by", [None, ["day"]], ids=["unpartitioned", "partitioned_by_day"])
@pytest.mark.parametrize("mode", ["append", "overwrite", "replace_window", "merge"])
def test_mode_semantics_and_the_same_load_twice(spark: Any, tmp_path: Path, mode: str, partition_by: Any) -> None:
    path = str(tmp_path / "t")
    load(spark, path, OLD, "overwrite", partition_by=partition_by)
    result = load(spark, path, IN_WINDOW, mode, partition_by=partition_by)
    assert delta_rows(path) == expected(mode, OLD, IN_WINDOW)
    assert result.rows_written == len(IN_WINDOW)
    assert result.detail["engine"] == engine(spark)
    assert result.detail["version"] == 1  # one commit per load
    if mode != "append":
        load(spark, path, IN_WINDOW, mode, partition_by=partition_by)
        assert delta_rows(path) == expected(mode, OLD, IN_WINDOW)


def test_the_log_is_what_spark_delta_2_1_reads(spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    schema = "id long, at timestamp, wall timestamp_ntz, day date, tags array<string>"
    wall = dt.datetime(2025, 1, 2, 3, 4, 5, 678901)
    at = dt.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    created = load(spark, path, [(1, at, wall, dt.date(2025, 1, 2), ["x"])], "overwrite", schema=schema)
    merged = load(spark, path, [(2, at, wall, dt.date(2025, 1, 3), ["y"])], "merge", schema=schema, keys=["id"])
    actions = log_actions(path)
    protocols = [action["protocol"] for action in actions if "protocol" in action]
    assert protocols == [{"minReaderVersion": 1, "minWriterVersion": 2}]
    assert [(r.detail["min_reader_version"], r.detail["min_writer_version"]) for r in (created, merged)] == [(1, 2)] * 2
    fields = json.loads(next(a["metaData"] for a in actions if "metaData" in a)["schemaString"])["fields"]
    assert {f["name"]: f["type"] for f in fields if isinstance(f["type"], str)} == {
        "id": "long", "at": "timestamp", "wall": "timestamp", "day": "date"
    }  # fmt: skip
    assert "timestamp_ntz" not in json.dumps(actions)
    first_add = next(a["add"] for a in actions if "add" in a)
    assert json.loads(first_add["stats"])["numRecords"] == 1
    from deltalake import DeltaTable

    read = DeltaTable(path).to_pyarrow_table().sort_by("id").to_pylist()
    assert [(row["at"], row["wall"]) for row in read] == [(at, wall.replace(tzinfo=UTC))] * 2


def test_delta_rs_files_hold_utc_microseconds_and_outward_rounded_stats(spark: Any, tmp_path: Path) -> None:
    if engine(spark) != "delta-rs":
        pytest.skip(
            "delta-rs writer only: Spark Delta writes its own files (INT96 timestamps) and statistics "
            "(truncated to milliseconds, which its own data skipping allows for)"
        )
    path = str(tmp_path / "t")
    schema = "id long, at timestamp, wall timestamp_ntz"
    at = dt.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    load(spark, path, [(1, at, at.replace(tzinfo=None))], "overwrite", schema=schema)
    first_add = next(a["add"] for a in log_actions(path) if "add" in a)
    stats = json.loads(first_add["stats"])
    # Millisecond stats: min rounded down, max rounded up, so data skipping can never drop the row.
    assert (stats["minValues"]["at"], stats["maxValues"]["at"]) == (
        "2025-01-02T03:04:05.678Z",
        "2025-01-02T03:04:05.679Z",
    )
    import pyarrow.parquet as pq

    file_schema = pq.read_schema(Path(path, first_add["path"]))
    assert str(file_schema.field("at").type) == str(file_schema.field("wall").type) == "timestamp[us, tz=UTC]"


def test_replace_window_keeps_files_outside_the_window(spark: Any, tmp_path: Path) -> None:
    from deltalake import DeltaTable

    path = str(tmp_path / "t")
    for row in OLD:  # one file per day
        load(spark, path, [row], "append")
    before = {row["path"]: row for row in _files(DeltaTable(path))}
    result = load(spark, path, IN_WINDOW, "replace_window")
    after = {row["path"]: row for row in _files(DeltaTable(path))}
    outside_days = {dt.date(2025, 1, 1), dt.date(2025, 1, 4)}
    untouched = {p for p, row in before.items() if row["min"]["day"] in outside_days}
    assert len(untouched) == 2 and untouched <= set(after)
    assert result.detail["rows_kept_from_rewritten_files"] == 0  # files in the window held nothing else
    assert delta_rows(path) == expected("replace_window", OLD, IN_WINDOW)


def _files(table: Any) -> list[dict[str, Any]]:
    import pyarrow as pa

    return list(pa.table(table.get_add_actions(flatten=False)).to_pylist())


def test_replace_window_refuses_rows_outside_the_window_and_commits_nothing(spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    load(spark, path, OLD, "overwrite")
    with pytest.raises(ValueError, match=r"1 rows have day NULL or outside the run window \[2025-01-02, 2025-01-04\)"):
        load(spark, path, SOURCE, "replace_window")  # SOURCE holds id 6 on 2025-01-05
    assert version(path) == 0
    assert delta_rows(path) == sorted(OLD)


def test_replace_window_creating_the_table_refuses_rows_outside_the_window(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "new"
    with pytest.raises(ValueError, match=r"^DELTA loader: 1 rows have day NULL or outside the run window \[2025-01-02"):
        load(spark, str(path), SOURCE, "replace_window")  # Spark Delta checks replaceWhere only on an existing table
    assert not list(path.glob("_delta_log/*.json"))  # no table


def test_merge_on_a_mixed_case_key_updates_and_inserts(spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    schema = "PromoId string, Price double"
    load(spark, path, [("a", 1.0), ("b", 2.0)], "overwrite", schema=schema)
    result = load(spark, path, [("b", 20.0), ("c", 30.0)], "merge", schema=schema, keys=["PromoId"])
    from deltalake import DeltaTable

    rows = DeltaTable(path).to_pyarrow_table().sort_by("PromoId").to_pylist()
    assert [(row["PromoId"], row["Price"]) for row in rows] == [("a", 1.0), ("b", 20.0), ("c", 30.0)]
    assert (result.detail["rows_updated"], result.detail["rows_inserted"]) == (1, 1)
    assert not [p for p in tmp_path.iterdir() if "dwh-merge" in p.name]  # the staged source is gone
    load(spark, path, [("c", 300.0)], "merge", schema=schema, keys=["promoid"])  # matched ignoring case, as Spark
    rows = DeltaTable(path).to_pyarrow_table().sort_by("PromoId").to_pylist()
    assert [(row["PromoId"], row["Price"]) for row in rows] == [("a", 1.0), ("b", 20.0), ("c", 300.0)]


def test_an_empty_append_reports_no_files_and_its_own_version(spark: Any, tmp_path: Path) -> None:
    """Spark Delta records no commit for an empty append: the result must not be the previous load's commit."""
    path = str(tmp_path / "t")
    first = load(spark, path, OLD, "overwrite")
    assert first.detail["files_added"] >= 1
    result = load(spark, path, [], "append")
    assert (result.rows_written, result.detail["files_added"]) == (0, 0)
    assert result.detail["version"] == version(path)
    assert delta_rows(path) == sorted(OLD)


def test_a_merge_keeps_what_upstream_observed_of_its_source(spark: Any, tmp_path: Path) -> None:
    """An extractor counts its rows with ``observe``; the merge must not leave that count at 0 (Delta 3.3 on 3.5)."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    path = str(tmp_path / "t")
    schema = "id long, name string"
    load(spark, path, [(1, "a"), (2, "b")], "overwrite", schema=schema)
    observation = Observation("upstream_rows")
    source = spark.createDataFrame([(2, "B"), (3, "c"), (4, "d")], schema)
    observed = source.observe(observation, F.count(F.lit(1)).alias("rows"))
    block = {**loader_block("DELTA", "merge", path), "keys": ["id"]}
    result = validated(DeltaLoader, **block).load(observed, run_context())
    assert observation.get["rows"] == 3
    assert (result.rows_written, result.detail["rows_updated"], result.detail["rows_inserted"]) == (3, 1, 2)


def test_a_schema_change_is_refused_except_by_overwrite(spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    load(spark, path, [(1, "a")], "overwrite", schema="id long, name string")
    with pytest.raises(ValueError, match=r"columns differ from table .*'extra': \(None, 'double'\)"):
        load(spark, path, [(2, "b", 1.0)], "append", schema="id long, name string, extra double")
    assert version(path) == 0
    load(spark, path, [(2, "b", 1.0)], "overwrite", schema="id long, name string, extra double")
    from deltalake import DeltaTable

    assert DeltaTable(path).to_pyarrow_table().to_pylist() == [{"id": 2, "name": "b", "extra": 1.0}]


def test_an_empty_first_load_creates_the_table(spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    result = load(spark, path, [], "merge", keys=["id"])
    assert result.rows_written == 0 and result.detail["created"] is True
    assert delta_rows(path) == []


def test_table_name_writes_the_warehouse_location(spark: Any) -> None:
    validated(DeltaLoader, table="main.unity.loader_promos", mode="overwrite").load(
        spark.createDataFrame(OLD, SCHEMA), run_context()
    )
    assert delta_rows(f"{warehouse_dir(spark)}/main/unity/loader_promos") == sorted(OLD)


def test_replace_window_rewrites_files_in_escaped_partition_directories(spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    odd = ["a b", "c/d", "e%f"]
    old = [(i, odd[i % 3], dt.date(2025, 1, i), float(i), None) for i in range(1, 7)]
    load(spark, path, old, "overwrite", partition_by=["name"])
    new = [(9, "a b", dt.date(2025, 1, 3), 9.0, None)]
    result = load(spark, path, new, "replace_window")
    assert result.detail["files_removed"] >= 2  # the files holding ids 2 (e%f) and 3 (a b), by their log paths
    assert delta_rows(path) == expected("replace_window", old, new)
    # Each engine escapes directory names its own way (Spark as Hive does: "/" and "%", not " "); the log's
    # add paths name them, so every reader finds the files.
    space = "a%20b" if engine(spark) == "delta-rs" else "a b"
    assert sorted(p.name for p in Path(path).iterdir() if p.is_dir() and p.name != "_delta_log") == [
        f"name={space}", "name=c%2Fd", "name=e%25f"
    ]  # fmt: skip


@pytest.mark.parametrize("follow_up", [None, "replace_window", "merge"])
def test_an_empty_partition_value_is_stored_as_null_and_reads_back(
    spark: Any, tmp_path: Path, follow_up: str | None
) -> None:
    from dwh.strategies.extractors.delta import DeltaExtractor
    from tests.strategies.file_cases import spark_rows

    path = str(tmp_path / "t")
    old = [(i, "" if i % 2 else "x", dt.date(2025, 1, i), float(i), None) for i in range(1, 5)]
    load(spark, path, old, "overwrite", partition_by=["name"])
    new = [(3, "x", dt.date(2025, 1, 3), 30.0, None), (5, "", dt.date(2025, 1, 2), 5.0, None)]
    rows = old
    if follow_up is not None:
        load(spark, path, new, follow_up)
        rows = expected(follow_up, old, new)
    # Spark Delta's rule: "" in a partition column is NULL, so it comes back as NULL.
    want = sorted(((i, name or None, *rest) for i, name, *rest in rows), key=lambda row: row[0])
    assert delta_rows(path) == want
    extractor = validate_model(DeltaExtractor, {"strategy": "DELTA", "path": path}, argument="--test")
    assert spark_rows(extractor.extract(run_context())) == want
    assert sorted(p.name for p in Path(path).iterdir() if p.is_dir() and p.name != "_delta_log") == [
        "name=__HIVE_DEFAULT_PARTITION__", "name=x"
    ]  # fmt: skip
    assert {a["add"]["partitionValues"]["name"] for a in log_actions(path) if "add" in a} == {None, "x"}


def test_merge_keys_missing_from_the_rows_or_the_table_are_refused_before_any_work(spark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    load(spark, path, OLD, "overwrite")
    with pytest.raises(ValueError) as caught:
        load(spark, path, IN_WINDOW, "merge", keys=["id", "idd"])
    assert str(caught.value) == f"DELTA {path}: the DataFrame has no column(s) idd"
    other = str(tmp_path / "other")
    load(spark, other, [(1, "a")], "overwrite", schema="id long, name string")
    with pytest.raises(ValueError) as caught:
        load(spark, other, [(1, "a", "c")], "merge", schema="id long, name string, code string", keys=["code"])
    assert str(caught.value) == f"DELTA {other}: the table has no column(s) code"
    assert (version(path), version(other)) == (0, 0)
    assert delta_rows(path) == sorted(OLD)
    assert not [p for p in tmp_path.iterdir() if "dwh-merge" in p.name]  # nothing was staged


def test_merge_of_a_batch_holding_a_key_twice_fails_in_one_line_and_commits_nothing(spark: Any, tmp_path: Path) -> None:
    from deltalake.exceptions import DeltaError
    from pyspark.errors.exceptions.captured import CapturedException

    path = str(tmp_path / "t")
    load(spark, path, OLD, "overwrite")
    twice = [IN_WINDOW[0], (3, "again-3", *IN_WINDOW[0][2:])]
    with pytest.raises(ValueError) as caught:
        load(spark, path, twice, "merge", keys=["id"])
    assert str(caught.value) == (
        f"DELTA {path}: the batch holds the same merge key more than once; deduplicate it first"
    )
    # The engine's own error is chained: delta-rs's, or Spark Delta's DELTA_MULTIPLE_SOURCE_ROW_MATCHING_... one.
    assert isinstance(caught.value.__cause__, DeltaError if engine(spark) == "delta-rs" else CapturedException)
    assert "multiple source rows" in str(caught.value.__cause__)
    assert version(path) == 0
    assert delta_rows(path) == sorted(OLD)
    assert not [p for p in tmp_path.iterdir() if "dwh-merge" in p.name]
