"""PARQUET: read Parquet files (a directory, a file or a glob) or a table with Spark's own reader.

    {"strategy": "PARQUET", "source_table": "s3a://bucket/promos/"}
    {"strategy": "PARQUET", "path": "/data/promos", "format_options": {"mergeSchema": "true"}}
    {"strategy": "PARQUET", "table": "main.raw.promos"}

A table name reads ``<warehouse>/<catalog>/<schema>/<table>`` locally and the metastore table on
Databricks, Glue and EMR (`dwh.strategies.tables`). Partitioned directories (``col=value``) come
back with their partition columns. ``format_options`` go to ``spark.read.options``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from dwh.platforms.context import RunContext
from dwh.strategies.extractors.base import Extractor
from dwh.strategies.tables import TableSource

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class ParquetExtractor(TableSource, Extractor):
    """Reads Parquet through Spark (distributed; nothing is collected)."""

    kind: ClassVar[str] = "PARQUET"
    strategy: Literal["PARQUET"] = "PARQUET"

    def read(self, spark: SparkSession, context: RunContext) -> DataFrame:
        """The Parquet data at the configured location."""
        location = self.location(context)
        reader = spark.read.options(**self.format_options)
        if location.path is None:
            return reader.table(str(location.table))
        return reader.parquet(location.path)

    def describe(self) -> str:
        """``PARQUET <path or table>``."""
        return f"PARQUET {self.source_text()}"
