"""DELTA: write a Delta table by path or ``catalog.schema.table`` in any of the four write modes.

    {"strategy": "DELTA", "path": "s3a://bucket/unity/promos", "mode": "merge", "keys": ["promo_id"]}
    {"strategy": "DELTA", "table": "main.unity.promos", "mode": "replace_window",
     "window_column": "load_window_start", "partition_by": ["load_window_start"]}

Engine: Spark's own Delta when the session has it (`dwh.platforms.spark.spark_has_delta`: Databricks;
Glue/EMR with Delta enabled) — ``format("delta")``, ``replaceWhere``, ``MERGE INTO`` (`spark_delta`). Otherwise
delta-rs, streamed: Spark tasks write the Parquet files and the driver commits them in one Delta
transaction (`writer`); the rows never gather on the driver (merge streams them one partition at a
time, see `source`). Both engines leave the same table and refuse the same loads with the same messages, and
report the same ``detail`` keys (``engine`` says which ran).

Modes: ``append``; ``overwrite``; ``replace_window`` replaces the rows whose ``window_column`` lies in
the run's ``[start_date, end_date)`` (the rows written must all lie in it); ``merge`` upserts on
``keys`` (keys should not be NULL: NULL never matches, as in SQL; a batch must not hold a key twice).
Keys missing from the DataFrame or the table are refused before any work (matched as Spark does,
case-insensitively when no column has the exact name). A table that does not exist yet
is created by the first load, whatever the mode. Into an existing table the rows must have the table's
columns and types, and ``partition_by`` (when given) its partitioning, except for ``overwrite``, which may
change both (without ``partition_by`` it keeps the table's). Top-level ``timestamp_ntz`` columns are written
as ``timestamp``: the table needs no ``timestampNtz`` feature (Glue 4's Delta 2.1 reads it). Either engine
commits once: a failed or killed load leaves the table at its previous version. A timestamp window column
is bounded at midnight UTC. An empty string in a ``partition_by`` column is stored as NULL, as Spark Delta
does: it reads back as NULL.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from dwh.platforms.context import RunContext
from dwh.platforms.spark import spark_has_delta
from dwh.strategies.loaders.base import Loader, LoadResult, PathOrTableTarget
from dwh.strategies.loaders.delta.files import WindowCheck
from dwh.strategies.loaders.delta.merge import merge_keys
from dwh.strategies.loaders.delta.spark_delta import SparkDeltaWriter
from dwh.strategies.loaders.delta.writer import DeltaRsWriter
from dwh.strategies.tables import ColumnName, require_path
from dwh.strategies.windows import window_column_type

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


class DeltaLoader(PathOrTableTarget, Loader):
    """Writes a Delta table through Spark Delta or, without it, streamed delta-rs commits."""

    kind: ClassVar[str] = "DELTA"
    strategy: Literal["DELTA"] = "DELTA"
    keys: list[ColumnName] | None = Field(None, description="Key columns for mode merge.")
    window_column: ColumnName | None = Field(None, description="Date/timestamp column for mode replace_window.")
    partition_by: list[ColumnName] | None = Field(None, description="Partition columns of a new table.")

    def describe(self) -> str:
        """``DELTA <path or table> (<mode>)``."""
        return f"DELTA {self.target_text()} ({self.mode})"

    def load(self, frame: DataFrame, context: RunContext) -> LoadResult:
        """Write `frame` in this loader's mode, committed once."""
        spark = frame.sparkSession
        location = self.target(context)
        keys = None
        if self.mode == "merge":
            keys = merge_keys(self.keys or [], frame.columns, f"DELTA {location.describe()}: the DataFrame")
        window = (
            window_check(frame, str(self.window_column), self.window(context))
            if self.mode == "replace_window"
            else None
        )
        if spark_has_delta(spark):
            spark_writer = SparkDeltaWriter(location=location, partition_by=self.partition_by)
            return spark_writer.write(frame, mode=self.mode, keys=keys, window=window)
        path = require_path(location, spark)
        writer = DeltaRsWriter(path=path, partition_by=self.partition_by, label=location.describe())
        return writer.write(frame, mode=self.mode, keys=keys, window=window)


def window_check(frame: DataFrame, column: str, window: tuple[dt.date, dt.date]) -> WindowCheck:
    """The run window as bounds of the column's type: dates, or midnight UTC for timestamps."""
    from pyspark.sql.types import DateType

    start, end = window
    if isinstance(window_column_type(frame, column, "DELTA loader"), DateType):
        return WindowCheck(column=column, start=start, end=end)
    utc = dt.timezone.utc
    return WindowCheck(
        column=column,
        start=dt.datetime.combine(start, dt.time(), tzinfo=utc),
        end=dt.datetime.combine(end, dt.time(), tzinfo=utc),
    )
