"""The table resolver: names map to warehouse directories locally and stay metastore names on the platforms."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from dwh.config import validate_model
from dwh.errors import ConfigError
from dwh.platforms.context import RunContext
from dwh.platforms.detect import ServiceProvider
from dwh.strategies.extractors.parquet import ParquetExtractor
from dwh.strategies.loaders.delta import DeltaLoader
from dwh.strategies.tables import (
    Location,
    local_table_path,
    looks_like_path,
    require_path,
    resolve_table,
    warehouse_dir,
)


def context(provider: ServiceProvider = ServiceProvider.LOCAL) -> RunContext:
    """A run context on `provider`."""
    return RunContext(job_name="t", service_provider=provider, run_ids={"run_id": "r"}, start_date=dt.date(2025, 1, 1))


@pytest.mark.parametrize(
    ("value", "is_path"),
    [
        ("s3a://bucket/promos/", True),
        ("/data/promos", True),
        ("./promos.parquet", True),
        ("dbfs:/mnt/promos", True),
        ("main.raw.promos", False),
        ("raw.promos", False),
    ],
)
def test_source_table_is_a_path_or_a_table_name(value: str, is_path: bool) -> None:
    assert looks_like_path(value) is is_path


def test_local_name_maps_to_catalog_schema_table_under_the_warehouse() -> None:
    assert local_table_path("main.raw.promos", "/wh") == "/wh/main/raw/promos"
    assert local_table_path("raw.promos", "/wh") == "/wh/spark_catalog/raw/promos"


@pytest.mark.spark
def test_warehouse_comes_from_the_session(spark: Any) -> None:
    # tests/conftest.py points DWH_WAREHOUSE_DIR at a temp dir; local_session_builder hands it to Spark.
    assert warehouse_dir(spark) == str(Path(os.environ["DWH_WAREHOUSE_DIR"]).absolute())
    location = resolve_table("main.unity.promos", context())
    assert location == Location(path=f"{warehouse_dir(spark)}/main/unity/promos")


@pytest.mark.parametrize("provider", [ServiceProvider.DATABRICKS, ServiceProvider.GLUE, ServiceProvider.EMR])
def test_platforms_keep_the_metastore_name(provider: ServiceProvider) -> None:
    # No Spark session is touched: on the platforms the metastore resolves the name.
    assert resolve_table("main.unity.promos", context(provider)) == Location(table="main.unity.promos")


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            {"strategy": "DELTA", "table": "main.unity.promos; DROP", "mode": "append"},
            "--t: table: 'main.unity.promos; DROP' is not a table name",
        ),
        ({"strategy": "DELTA", "table": "promos", "mode": "append"}, "is not a table name"),
        ({"strategy": "DELTA", "mode": "append"}, "give exactly one of path or table"),
        (
            {"strategy": "DELTA", "path": "/x", "mode": "merge", "keys": ["id-1"]},
            "keys[0]: 'id-1' is not a plain column name",
        ),
    ],
)
def test_bad_names_are_config_errors_naming_the_field(block: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_model(DeltaLoader, block, argument="--t")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_extractor_needs_exactly_one_source() -> None:
    with pytest.raises(ConfigError, match="give exactly one of source_table, path or table"):
        validate_model(ParquetExtractor, {"strategy": "PARQUET", "path": "/a", "table": "a.b"}, argument="--t")
    with pytest.raises(ConfigError, match="source_table: 'promos' is not a table name"):
        validate_model(ParquetExtractor, {"strategy": "PARQUET", "source_table": "promos"}, argument="--t")


@pytest.mark.spark
def test_require_path_asks_the_metastore_for_a_table_location(spark: Any, tmp_path: Path) -> None:
    spark.sql("CREATE DATABASE IF NOT EXISTS dwh_tables_test")
    spark.sql(f"CREATE TABLE dwh_tables_test.located (id INT) USING parquet LOCATION '{tmp_path}/located'")
    try:
        found = require_path(Location(table="dwh_tables_test.located"), spark)
        assert found.rstrip("/").endswith(f"{tmp_path}/located")
        with pytest.raises(ValueError, match=r"dwh_tables_test\.missing is not in the metastore"):
            require_path(Location(table="dwh_tables_test.missing"), spark)
    finally:
        spark.sql("DROP TABLE IF EXISTS dwh_tables_test.located")
