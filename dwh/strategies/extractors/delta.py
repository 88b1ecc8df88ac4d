"""DELTA: read a Delta table by path or table name, optionally as of a version or a timestamp.

    {"strategy": "DELTA", "path": "s3a://bucket/unity/promos"}
    {"strategy": "DELTA", "table": "main.unity.promos", "version": 12}
    {"strategy": "DELTA", "source_table": "/data/promos", "timestamp": "2025-01-01T00:00:00Z"}

Engine: Spark's own Delta when the session has it (Databricks; Glue/EMR with Delta enabled);
otherwise delta-rs reads the transaction log and Spark's Parquet reader reads the current files in
parallel (`dwh.strategies.delta_rs`), so no row passes through the driver. A table name maps to
``<warehouse>/<catalog>/<schema>/<table>`` locally and to the metastore elsewhere
(`dwh.strategies.tables`). A naive ``timestamp`` is read as UTC. On either engine a ``version`` the
table does not have, or a ``timestamp`` before its first commit or after its latest, is one line naming the
table's range (`dwh.strategies.delta_rs.version_in`), and a path without a Delta table is
``no Delta table at <path>``; on Spark Delta its own refusal is re-worded so (and chained as the cause).
Each engine times a commit its own way: delta-rs by the ``commitInfo`` (or in-commit) timestamp, Spark Delta
by the commit file's modification time unless in-commit timestamps are on; the two differ by milliseconds.
Spark Delta reads tables with deletion vectors or column mapping; the delta-rs engine refuses them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, NonNegativeInt, model_validator

from dwh.platforms.context import RunContext
from dwh.platforms.spark import spark_has_delta
from dwh.strategies.extractors.base import Extractor
from dwh.strategies.tables import Location, TableSource, require_path

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class DeltaExtractor(TableSource, Extractor):
    """Reads a Delta table through Spark Delta or, without it, delta-rs + Spark's Parquet reader."""

    kind: ClassVar[str] = "DELTA"
    strategy: Literal["DELTA"] = "DELTA"
    version: NonNegativeInt | None = Field(None, description="Time travel: read this table version.")
    timestamp: dt.datetime | None = Field(None, description="Time travel: read the table as of this time (UTC).")

    @model_validator(mode="after")
    def _one_time_travel(self) -> DeltaExtractor:
        if self.version is not None and self.timestamp is not None:
            raise ValueError("give version or timestamp, not both")
        return self

    @property
    def _timestamp_utc(self) -> dt.datetime | None:
        if self.timestamp is None:
            return None
        if self.timestamp.tzinfo is None:
            return self.timestamp.replace(tzinfo=dt.timezone.utc)
        return self.timestamp.astimezone(dt.timezone.utc)

    def read(self, spark: SparkSession, context: RunContext) -> DataFrame:
        """The table's rows at the requested version (latest by default)."""
        location = self.location(context)
        if spark_has_delta(spark):
            return self._read_spark_delta(spark, location)
        from dwh.strategies import delta_rs

        path = require_path(location, spark)
        if not delta_rs.table_exists(path):
            raise ValueError(f"DELTA extractor: no Delta table at {path}")
        table = delta_rs.open_table(path, version=self.version, timestamp=self._timestamp_utc)
        delta_rs.check_plain_files(table)
        return delta_rs.read_table_files(spark, table, path)

    def _read_spark_delta(self, spark: SparkSession, location: Location) -> DataFrame:
        from pyspark.errors import AnalysisException

        try:
            frame = self._spark_delta_frame(spark, location)
            frame.schema  # noqa: B018 - resolves the plan here: Spark Connect reads lazily, classic already has
        except AnalysisException as error:
            refusal = self._spark_delta_refusal(spark, location, error)
            if refusal is None:
                raise
            raise refusal from error
        return frame

    def _spark_delta_refusal(self, spark: SparkSession, location: Location, error: Exception) -> ValueError | None:
        """The delta-rs engine's words for Spark Delta's refusal (no table there, a travel outside its history).

        Decided on Spark's own error: "not found" classes only; with time travel, a range check against the
        history; anything else (permissions, a view, a non-Delta table) stays Spark's error (None).
        """
        from pyspark.errors import AnalysisException

        from dwh.platforms.spark_compat import not_found
        from dwh.strategies import delta_rs

        label = location.path or location.table or ""
        if not_found(error):
            return ValueError(f"DELTA extractor: no Delta table at {label}")
        if self.version is None and self._timestamp_utc is None:
            return None
        try:
            history = spark.sql(f"DESCRIBE HISTORY {location.delta_reference()}")
            history = history.selectExpr("version", "unix_millis(timestamp)")
            commits = sorted((int(version), int(millis)) for version, millis in history.collect())
        except AnalysisException:
            return None
        if self.version is not None and commits and self.version > commits[-1][0]:
            return ValueError(delta_rs.missing_version(label, self.version, commits[-1][0]))
        if self._timestamp_utc is not None:
            try:
                delta_rs.version_in(commits, label, self._timestamp_utc)
            except ValueError as refusal:
                return refusal
        return None

    def _spark_delta_frame(self, spark: SparkSession, location: Location) -> DataFrame:
        # Timestamps go as ISO text with their +00:00 offset: Spark reads that instant whatever the session zone.
        travel = ""
        if self.version is not None:
            travel = f" VERSION AS OF {self.version}"
        elif self._timestamp_utc is not None:
            travel = f" TIMESTAMP AS OF '{self._timestamp_utc.isoformat()}'"
        if location.path is None:
            # The name is checked to be plain identifiers when the config is parsed.
            return spark.sql(f"SELECT * FROM {location.table}{travel}")
        reader = spark.read.format("delta").options(**self.format_options)
        if self.version is not None:
            reader = reader.option("versionAsOf", self.version)
        elif self._timestamp_utc is not None:
            reader = reader.option("timestampAsOf", self._timestamp_utc.isoformat())
        return reader.load(location.path)

    def describe(self) -> str:
        """``DELTA <path or table>[@version]``."""
        travel = f"@v{self.version}" if self.version is not None else ""
        if self.timestamp is not None:
            travel = f"@{self._timestamp_utc.isoformat() if self._timestamp_utc else ''}"
        return f"DELTA {self.source_text()}{travel}"
