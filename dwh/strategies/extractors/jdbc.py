"""JDBC: read a database table or query through Spark's JDBC source.

    {"strategy": "JDBC", "jdbc_url": "jdbc:postgresql://db:5432/dwh",
     "properties": {"user": "reader", "password": "env:PG_PASSWORD", "driver": "org.postgresql.Driver"},
     "table": "public.promos",
     "partition_column": "id", "lower_bound": 1, "upper_bound": 1000000, "num_partitions": 8}

``table`` (or the legacy ``source_table``) names a table as ``table`` or ``schema.table`` (quoted,
so case-sensitive, on PostgreSQL and Redshift, as the loaders create it); ``query`` takes any SELECT
instead. A partitioned read splits the range ``[lower_bound, upper_bound]`` of ``partition_column``
(a number, date or timestamp column) into ``num_partitions`` parallel queries; the bounds only decide
the split, every row is still read. The connection is either ``jdbc_url`` + ``properties`` or
``host``/``port``/``dbname``/``user``/``password`` (`dwh.strategies.connection`); the password may be
a secret reference. ``format_options`` passes further options to Spark's JDBC
source (``sessionInitStatement``, ``pushDownPredicate``, ...).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, PositiveInt, model_validator

from dwh.platforms.context import RunContext
from dwh.strategies.connection import DatabaseConnection, Identifier, TableName
from dwh.strategies.extractors.base import Extractor

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Options our own fields set; ``format_options`` must not override them behind the config's back.
_RESERVED_OPTIONS = {"url", "user", "password", "dbtable", "query", "partitioncolumn", "lowerbound", "upperbound"}
Bound = int | dt.date | dt.datetime
#: Databases whose loaders quote table names: the extractor quotes them the same way.
_QUOTED_SCHEMES = frozenset({"postgresql", "redshift"})


class JdbcExtractor(DatabaseConnection, Extractor):
    """Reads a table or a query over JDBC, optionally in parallel ranges of one column."""

    kind: ClassVar[str] = "JDBC"
    strategy: Literal["JDBC"] = "JDBC"
    table: TableName | None = Field(None, description="Table to read: table or schema.table.")
    source_table: TableName | None = Field(None, description="Legacy name of table.")
    query: str | None = Field(None, description="A SELECT to read instead of a table.")
    partition_column: Identifier | None = Field(None, description="Numeric/date/timestamp column to split reads on.")
    lower_bound: Bound | None = Field(None, description="Low end of the split range (not a filter).")
    upper_bound: Bound | None = Field(None, description="High end of the split range (not a filter).")
    num_partitions: PositiveInt | None = Field(None, description="Parallel reads (and the max JDBC connections).")
    fetchsize: PositiveInt = Field(10_000, description="Rows fetched per round trip.")
    format_options: dict[str, str] = Field(default_factory=dict, description="Further Spark JDBC options.")

    @model_validator(mode="after")
    def _source_and_partitions(self) -> JdbcExtractor:
        given = [name for name in ("table", "source_table", "query") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("give exactly one of table, source_table or query")
        split = {name: getattr(self, name) for name in ("partition_column", "lower_bound", "upper_bound")}
        if any(value is not None for value in split.values()):
            missing = [name for name, value in split.items() if value is None]
            if missing or self.num_partitions is None:
                raise ValueError(
                    "a partitioned read needs partition_column, lower_bound, upper_bound and num_partitions"
                )
            if type(self.lower_bound) is not type(self.upper_bound):
                raise ValueError("lower_bound and upper_bound must be of the same kind (number, date or timestamp)")
            if self.lower_bound >= self.upper_bound:  # type: ignore[operator]
                raise ValueError("lower_bound must be below upper_bound")
        reserved = sorted(key for key in self.format_options if key.lower() in _RESERVED_OPTIONS)
        if reserved:
            raise ValueError(f"format_options must not set {', '.join(reserved)}: use the strategy's own fields")
        return self

    @property
    def relation(self) -> str:
        """What Spark's ``dbtable`` option gets: the table name or the query as a subquery.

        On PostgreSQL and Redshift the name is double-quoted part by part, exactly as the POSTGRES and
        REDSHIFT loaders write it, so ``public.Items`` reads the table a loader created under that name.
        Other databases get the name as written (their own case rules apply).
        """
        name = self.table or self.source_table
        if name and self.scheme in _QUOTED_SCHEMES:
            return ".".join(f'"{part}"' for part in name.split("."))  # plain identifiers: no quote inside
        if name:
            return name
        return f"({(self.query or '').strip().rstrip(';')}) dwh_jdbc_query"

    def describe(self) -> str:
        """``JDBC(scheme://host:port/db table)`` without credentials or the query text."""
        return f"JDBC({self.describe_database()} {self.table or self.source_table or 'query'})"

    def read(self, spark: SparkSession, context: RunContext) -> DataFrame:
        """Read through Spark's JDBC source (partitioned when the split fields are set)."""
        options = self.spark_jdbc_options()
        options.update(self.format_options)
        options["dbtable"] = self.relation
        options["fetchsize"] = str(self.fetchsize)
        if self.num_partitions is not None:
            options["numPartitions"] = str(self.num_partitions)
        if self.partition_column is not None:
            options["partitionColumn"] = self.partition_column
            options["lowerBound"] = _bound_text(self.lower_bound)
            options["upperBound"] = _bound_text(self.upper_bound)
        return spark.read.format("jdbc").options(**options).load()


def _bound_text(value: Bound | None) -> str:
    """Spark takes the bounds as strings: numbers as is, dates and timestamps in ISO form."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
