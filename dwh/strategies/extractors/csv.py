"""CSV: read delimited text with Spark, with a header, an explicit schema or schema inference.

    {"strategy": "CSV", "path": "/data/promos.csv"}                       header, inferred types
    {"strategy": "CSV", "path": "/data/promos/", "header": false,
     "schema": "promo_id STRING, regular_price DOUBLE, start_date DATE",
     "format_options": {"sep": ";", "mode": "FAILFAST"}}

``schema`` is a Spark DDL string; it fixes names and types (no inference pass over the data).
Without it, ``infer_schema`` (default true) lets Spark sample the types; ``infer_schema: false``
reads every column as a string. ``format_options`` go to Spark's CSV reader (``sep``, ``quote``,
``escape``, ``dateFormat``, ``mode`` ...). Spark's default mode PERMISSIVE turns a value that does not
fit its type into NULL; set ``"mode": "FAILFAST"`` to fail on such rows instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator

from dwh.platforms.context import RunContext
from dwh.strategies.extractors.base import Extractor
from dwh.strategies.tables import TableSource

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Options our own fields set; ``format_options`` must not contradict them behind the config's back.
_RESERVED_OPTIONS = {"header", "inferschema", "schema"}


class CsvExtractor(TableSource, Extractor):
    """Reads CSV files through Spark."""

    kind: ClassVar[str] = "CSV"
    strategy: Literal["CSV"] = "CSV"
    header: bool = Field(True, description="The first line of each file holds the column names.")
    schema_ddl: str | None = Field(
        None, alias="schema", min_length=1, description="Column names and types as a Spark DDL string."
    )
    infer_schema: bool = Field(True, description="Without a schema: infer column types (else all strings).")

    @model_validator(mode="after")
    def _options(self) -> CsvExtractor:
        reserved = sorted(key for key in self.format_options if key.lower() in _RESERVED_OPTIONS)
        if reserved:
            raise ValueError(f"format_options must not set {', '.join(reserved)}: use header, schema, infer_schema")
        return self

    def read(self, spark: SparkSession, context: RunContext) -> DataFrame:
        """The CSV data at the configured location."""
        location = self.location(context)
        if location.path is None:
            return spark.read.table(str(location.table))
        reader = spark.read.options(**self.format_options).option("header", self.header)
        if self.schema_ddl:
            return reader.schema(self.schema_ddl).csv(location.path)
        return reader.option("inferSchema", self.infer_schema).csv(location.path)

    def describe(self) -> str:
        """``CSV <path or table>``."""
        return f"CSV {self.source_text()}"
