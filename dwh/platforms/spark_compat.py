"""The few places where pyspark 3.5 (Glue 5, EMR 7, Databricks 14-16) and pyspark 4 differ, branched once.

The rest of ``dwh`` keeps to APIs both majors have. What differs and is needed:

* `to_arrow`: ``DataFrame.toArrow()`` exists from Spark 4.0 only; on 3.5 the same table comes from the Arrow
  batches ``toPandas`` collects (``_collect_as_arrow``), cast to the schema Spark 4 gives (timestamps in UTC).
* `arrow_type`: ``pyspark.sql.pandas.types.to_arrow_type`` takes a ``timezone`` from 4.0 on; 3.5's always
  says UTC, while its ``mapInArrow`` hands tasks timestamps in the session's zone.
* `delta_merge_hides_observations`: on 3.5 with Delta 3.3, a ``MERGE INTO`` whose source it materializes (any
  source not reading only Delta tables) leaves the source's ``observe`` metrics at 0; Spark 4 + Delta 4 reports them.
* `error_class` / `not_found`: a captured exception's error class is ``getCondition()`` on 4 and
  ``getErrorClass()`` on 3.5; "no table there" is one of a few classes on both.

pyspark is imported only inside the functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame


def spark_major() -> int:
    """The installed pyspark's major version (3 or 4)."""
    import pyspark

    return int(pyspark.__version__.split(".")[0])


def to_arrow(frame: DataFrame) -> pa.Table:
    """The frame's rows as one ``pyarrow.Table`` on the driver (small results only), on Spark 3.5 and 4."""
    if hasattr(type(frame), "toArrow"):
        return frame.toArrow()
    collect = getattr(frame, "_collect_as_arrow", None)
    if collect is None:
        raise TypeError(f"cannot collect a {type(frame).__name__} as Arrow on pyspark 3.5 (classic sessions only)")
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema

    schema = to_arrow_schema(frame.schema)
    batches = collect()
    return pa.Table.from_batches(batches).cast(schema) if batches else schema.empty_table()


def arrow_type(spark_type: Any, timezone: str = "UTC") -> pa.DataType:
    """The Arrow type ``mapInArrow`` hands a task for a top-level `spark_type` column (timestamps in `timezone`)."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_type
    from pyspark.sql.types import TimestampType

    if spark_major() >= 4:
        return to_arrow_type(spark_type, timezone=timezone)
    return pa.timestamp("us", tz=timezone) if isinstance(spark_type, TimestampType) else to_arrow_type(spark_type)


def delta_merge_hides_observations() -> bool:
    """True where Spark Delta's ``MERGE INTO`` reports 0 for ``observe`` metrics of its source (pyspark 3.5, Delta 3.3).

    Delta 3.3 materializes the source first, and Spark 3.5 then takes the observed metrics from a plan node the
    rows never went through: an extractor's row count would read 0. A prior ordinary action over the source
    reports them right.
    """
    return spark_major() < 4


#: Error classes of "there is no table there" (Spark 3.5 and 4, Delta 3.3 and 4).
NOT_FOUND_CLASSES = frozenset(
    {"DELTA_MISSING_DELTA_TABLE", "DELTA_TABLE_NOT_FOUND", "TABLE_OR_VIEW_NOT_FOUND", "PATH_NOT_FOUND"}
)


def error_class(error: Exception) -> str | None:
    """The Spark error class (``getCondition`` on 4, ``getErrorClass`` on 3.5) of a captured exception, if any."""
    for name in ("getCondition", "getErrorClass"):
        method = getattr(error, name, None)
        if callable(method):
            try:
                value = method()
            except Exception:  # an exception without a JVM origin
                value = None
            if value:
                return str(value)
    return None


def not_found(error: Exception) -> bool:
    """True when Spark's `error` says there is no (Delta) table at the reference, not that it could not read it."""
    found = error_class(error)
    if found is not None:
        return found in NOT_FOUND_CLASSES
    text = str(error)
    return any(mark in text for mark in NOT_FOUND_CLASSES) or "is not a Delta table" in text
