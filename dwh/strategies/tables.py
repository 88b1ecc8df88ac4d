"""Where a table lives: the one resolver from a table name to a location, and the source fields of file extractors.

A file/Delta strategy names its data either by a path (``/data/promos``, ``s3a://bucket/promos``) or
by a table name ``catalog.schema.table`` (``schema.table`` is read as ``spark_catalog.schema.table``):

* LOCAL: the name maps to the directory ``<warehouse>/<catalog>/<schema>/<table>``, the warehouse
  being the session's ``spark.sql.warehouse.dir`` (`local_session_builder` sets it from
  ``DWH_WAREHOUSE_DIR``), so a laptop run needs no metastore.
* DATABRICKS / GLUE / EMR: the name is the metastore's; Spark resolves it. Where a component needs a
  directory instead (delta-rs, the PARQUET loader), the table's ``Location`` is asked from the
  metastore (`require_path`).

``source_table`` (the existing key) holds either: a value with ``/``, ``\\`` or a scheme (``:``) is a
path; otherwise it must be a table name (write ``./promos.parquet`` for a relative file name with dots).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, Field, model_validator

from dwh.config import StrictModel
from dwh.platforms.context import RunContext
from dwh.platforms.detect import ServiceProvider

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_CATALOG = "spark_catalog"
_PART = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_catalog_table_name(value: str) -> str:
    """``catalog.schema.table`` or ``schema.table`` of plain identifiers, else a ValueError."""
    parts = value.split(".")
    if len(parts) not in (2, 3) or not all(_PART.match(part) for part in parts):
        raise ValueError(f"{value!r} is not a table name (catalog.schema.table or schema.table; letters, digits and _)")
    return value


def looks_like_path(value: str) -> bool:
    """True when `value` is a path or URI rather than a table name."""
    return any(mark in value for mark in ("/", "\\", ":"))


def check_source(value: str) -> str:
    """A path, or else a valid table name (the rule of ``source_table``)."""
    if not value.strip():
        raise ValueError("must not be empty")
    return value if looks_like_path(value) else check_catalog_table_name(value)


def check_column_name(value: str) -> str:
    """A plain column name (letters, digits and ``_``, not starting with a digit), else a ValueError."""
    if not _PART.match(value):
        raise ValueError(f"{value!r} is not a plain column name (letters, digits and _, not starting with a digit)")
    return value


#: A column name used in generated SQL or predicates (checked when the config is parsed).
ColumnName = Annotated[str, AfterValidator(check_column_name)]
#: A metastore table name (checked when the config is parsed).
CatalogTableName = Annotated[str, AfterValidator(check_catalog_table_name)]
#: A path or a table name (``source_table``).
SourceName = Annotated[str, AfterValidator(check_source)]
#: A non-empty path or URI.
PathName = Annotated[str, Field(min_length=1)]


@dataclass(frozen=True)
class Location:
    """A resolved data location: a path/URI, a metastore table name, or both."""

    path: str | None = None
    table: str | None = None

    def describe(self) -> str:
        """The table name when there is one, else the path."""
        return self.table or self.path or "?"

    def delta_reference(self) -> str:
        """How Spark SQL names it as a Delta table: the table name, or ``delta.`<path>``` (backticks doubled)."""
        return self.table or f"delta.`{str(self.path).replace('`', '``')}`"


def split_name(name: str) -> tuple[str, str, str]:
    """``(catalog, schema, table)`` of a checked table name."""
    parts = check_catalog_table_name(name).split(".")
    return (DEFAULT_CATALOG, parts[0], parts[1]) if len(parts) == 2 else (parts[0], parts[1], parts[2])


def warehouse_dir(spark: SparkSession | None) -> str:
    """The session's warehouse directory (``file:`` stripped), else ``DWH_WAREHOUSE_DIR``, else ./spark-warehouse."""
    configured = spark.conf.get("spark.sql.warehouse.dir", None) if spark is not None else None
    value = configured or os.environ.get("DWH_WAREHOUSE_DIR") or "spark-warehouse"
    if value.startswith("file:"):
        value = "/" + value[len("file:") :].lstrip("/")
    return value.rstrip("/")


def local_table_path(name: str, warehouse: str) -> str:
    """``<warehouse>/<catalog>/<schema>/<table>`` for a table name."""
    return "/".join([warehouse, *split_name(name)])


def resolve_table(name: str, context: RunContext) -> Location:
    """Map a table name to its location on the run's platform (a directory locally, the metastore name elsewhere)."""
    if context.service_provider is ServiceProvider.LOCAL:
        return Location(path=local_table_path(name, warehouse_dir(context.spark)), table=None)
    return Location(table=check_catalog_table_name(name))


def require_path(location: Location, spark: SparkSession) -> str:
    """A directory for `location`: its path, or the metastore's ``Location`` of its table."""
    if location.path:
        return location.path
    assert location.table is not None
    try:
        rows = spark.sql(f"DESCRIBE TABLE EXTENDED {location.table}").collect()
    except Exception as exc:
        raise ValueError(
            f"table {location.table} is not in the metastore ({type(exc).__name__}); "
            "create it first or give a path instead"
        ) from None
    for row in rows:
        if str(row[0]).strip() == "Location" and row[1]:
            return str(row[1])
    raise ValueError(f"the metastore has no location for table {location.table}; give a path instead")


class TableSource(StrictModel):
    """The source fields of the file extractors: exactly one of ``source_table``, ``path`` or ``table``."""

    source_table: SourceName | None = Field(None, description="The existing key: a path or a table name.")
    path: PathName | None = Field(None, description="A directory, file or URI (s3a://, abfss://, dbfs:/, ...).")
    table: CatalogTableName | None = Field(None, description="A table name: catalog.schema.table or schema.table.")
    format_options: dict[str, str] = Field(default_factory=dict, description="Options passed to Spark's reader.")

    @model_validator(mode="after")
    def _one_source(self) -> TableSource:
        given = [name for name in ("source_table", "path", "table") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("give exactly one of source_table, path or table")
        return self

    def location(self, context: RunContext) -> Location:
        """Where the source is on the run's platform."""
        value = self.source_table or self.path or self.table
        assert value is not None
        if self.path or looks_like_path(value):
            return Location(path=value)
        return resolve_table(value, context)

    def source_text(self) -> str:
        """The source as configured (for `describe`; paths and names carry no credentials)."""
        return str(self.source_table or self.path or self.table)
