"""`dwh.platforms.spark_compat` on Spark 3.5: what Spark 4 gives natively, from the APIs 3.5 has."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest

from dwh.platforms.spark_compat import arrow_type, spark_major, to_arrow

pytestmark = [pytest.mark.spark]
SCHEMA = "id bigint, price decimal(10,2), at timestamp, day date, name string"


def test_this_lane_is_spark_3(spark35_delta: Any) -> None:
    assert spark_major() == 3 and not hasattr(type(spark35_delta.range(1)), "toArrow")


def test_to_arrow_gives_the_rows_with_utc_timestamps(spark35_delta: Any) -> None:
    at = dt.datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc)
    frame = spark35_delta.createDataFrame(
        [(2, decimal.Decimal("1.50"), at, dt.date(2025, 1, 2), "b"), (1, None, None, None, None)], SCHEMA
    )
    table = to_arrow(frame.orderBy("id"))
    assert [str(field.type) for field in table.schema] == [
        "int64",
        "decimal128(10, 2)",
        "timestamp[us, tz=UTC]",
        "date32[day]",
        "string",
    ]
    assert table.to_pylist() == [
        {"id": 1, "price": None, "at": None, "day": None, "name": None},
        {"id": 2, "price": decimal.Decimal("1.50"), "at": at, "day": dt.date(2025, 1, 2), "name": "b"},
    ]


def test_to_arrow_of_no_rows_keeps_the_schema(spark35_delta: Any) -> None:
    table = to_arrow(spark35_delta.createDataFrame([], SCHEMA))
    assert table.num_rows == 0 and table.schema.names == ["id", "price", "at", "day", "name"]
    assert str(table.schema.field("at").type) == "timestamp[us, tz=UTC]"


def test_arrow_type_is_what_map_in_arrow_hands_a_task(spark35_delta: Any) -> None:
    from pyspark.sql import types as T

    seen: list[str] = []
    zone = spark35_delta.conf.get("spark.sql.session.timeZone")
    spark35_delta.conf.set("spark.sql.session.timeZone", "Europe/Paris")
    try:
        frame = spark35_delta.createDataFrame(
            [(dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc), 1.5)], "at timestamp, x double"
        )

        def types(batches: Any) -> Any:
            for batch in batches:
                yield batch.__class__.from_pydict({"t": [";".join(str(f.type) for f in batch.schema)]})

        seen = [row.t for row in frame.mapInArrow(types, "t string").collect()]
    finally:
        spark35_delta.conf.set("spark.sql.session.timeZone", zone)
    expected = f"{arrow_type(T.TimestampType(), timezone='Europe/Paris')};{arrow_type(T.DoubleType())}"
    assert seen == [expected] and expected == "timestamp[us, tz=Europe/Paris];double"
