"""`PromoTransformer`: the load_promos business rules as Spark column expressions (rules 1-5 of the job).

Every step is a public method so tests can check each rule on its own; `transform` chains them:
conform -> normalise -> in_window -> latest_per_promo -> derive -> audit. All expressions are
ANSI-safe (Spark 4 and Databricks run ANSI): casts use ``try_cast``, the one division by a column
uses ``try_divide``, so bad data becomes NULL (and is then caught by the expectations) instead of
failing the whole run.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from dwh.jobs.load_promos.schema import KEY_COLUMN, OUTPUT_COLUMNS, SOURCE_COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

#: The columns that break a tie on ``updated_at`` (ascending, nulls last): the first row in this order wins.
TIE_BREAK_COLUMNS: tuple[str, ...] = (
    "retailer",
    "store_id",
    "sku",
    "promo_type",
    "regular_price",
    "discount_value",
    "start_date",
    "end_date",
)
#: What "trim" removes from both ends of every string: spaces, tabs, carriage returns, newlines.
TRIMMED_CHARACTERS = " \t\r\n"
#: Columns upper-cased after trimming.
UPPER_CASE_COLUMNS: tuple[str, ...] = ("retailer", "promo_type")


class PromoTransformer:
    """Applies the business rules for one run window; holds the observation of rows in the window."""

    def __init__(self, *, window_start: dt.date, window_end: dt.date, created_by: str, loaded_at: dt.datetime) -> None:
        if loaded_at.tzinfo is None:
            raise ValueError("loaded_at must be timezone-aware (UTC)")
        self.window_start = window_start
        self.window_end = window_end
        self.created_by = created_by
        self.loaded_at = loaded_at.astimezone(dt.timezone.utc)
        self._window_observation: Any = None

    def transform(self, frame: DataFrame) -> DataFrame:
        """All rules in order; the result has exactly `OUTPUT_COLUMNS`. Lazy: nothing runs yet."""
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        windowed = self.in_window(self.normalise(self.conform(frame)))
        self._window_observation = Observation()
        windowed = windowed.observe(self._window_observation, F.count(F.lit(1)).alias("rows"))
        return self.audit(self.derive(self.latest_per_promo(windowed)))

    @property
    def rows_in_window(self) -> int | None:
        """Rows inside the window before dedupe; known once an action ran on `transform`'s result."""
        if self._window_observation is None:
            return None
        try:
            return int(self._window_observation.get["rows"])
        except Exception:
            return None

    def conform(self, frame: DataFrame) -> DataFrame:
        """Keep the source columns, cast to their types with try_cast (a bad value becomes NULL)."""
        from pyspark.sql import functions as F

        present = {field.name: field.dataType.simpleString() for field in frame.schema.fields}
        missing = [name for name in SOURCE_COLUMNS if name not in present]
        if missing:
            raise ValueError(f"the source has no column(s) {', '.join(missing)} (found: {', '.join(present)})")
        columns = []
        for name, kind in SOURCE_COLUMNS.items():
            if present[name] == kind:
                columns.append(F.col(name))
            else:
                columns.append(F.expr(f"try_cast(`{name}` AS {kind})").alias(name))
        return frame.select(*columns)

    def normalise(self, frame: DataFrame) -> DataFrame:
        """Rule 3: trim every string (spaces, tabs, CR, LF); upper-case retailer and promo_type."""
        from pyspark.sql import functions as F

        changes: dict[str, Column] = {}
        for name, kind in SOURCE_COLUMNS.items():
            if kind == "string":
                trimmed = F.btrim(F.col(name), F.lit(TRIMMED_CHARACTERS))
                changes[name] = F.upper(trimmed) if name in UPPER_CASE_COLUMNS else trimmed
        return frame.withColumns(changes)

    def in_window(self, frame: DataFrame) -> DataFrame:
        """Rule 1: ``start_date < window_end AND end_date >= window_start`` (NULL dates are outside)."""
        from pyspark.sql import functions as F

        return frame.where(
            (F.col("start_date") < F.lit(self.window_end)) & (F.col("end_date") >= F.lit(self.window_start))
        )

    def latest_per_promo(self, frame: DataFrame) -> DataFrame:
        """Rule 2: one row per promo_id, the latest ``updated_at``; ties go to `TIE_BREAK_COLUMNS` order.

        Rows with a NULL promo_id are kept as they are (the ``promo_id`` expectation reports each one).
        """
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        order = [F.col("updated_at").desc_nulls_last(), *(F.col(name).asc_nulls_last() for name in TIE_BREAK_COLUMNS)]
        rank = F.row_number().over(Window.partitionBy(KEY_COLUMN).orderBy(*order))
        ranked = frame.withColumn("__promo_rank", rank)
        return ranked.where((F.col("__promo_rank") == 1) | F.col(KEY_COLUMN).isNull()).drop("__promo_rank")

    def derive(self, frame: DataFrame) -> DataFrame:
        """Rule 4: promo_price, discount_pct (2 decimals, ANSI-safe) and promo_days."""
        from pyspark.sql import functions as F

        price, value, kind = F.col("regular_price"), F.col("discount_value"), F.col("promo_type")
        promo_price = (
            F.when(kind == "PCT_OFF", price * (F.lit(1.0) - value / F.lit(100.0)))
            .when(kind == "AMOUNT_OFF", price - value)
            .when(kind == "BOGO", price / F.lit(2.0))
        )
        frame = frame.withColumn("promo_price", F.round(promo_price, 2))
        ratio = F.try_divide(F.col("promo_price"), price)
        return frame.withColumns(
            {
                "discount_pct": F.round(F.lit(100.0) * (F.lit(1.0) - ratio), 2),
                "promo_days": (F.datediff(F.col("end_date"), F.col("start_date")) + F.lit(1)).cast("int"),
            }
        )

    def audit(self, frame: DataFrame) -> DataFrame:
        """Rule 5: load_window_start, created_by, loaded_at (UTC); then the output column order."""
        from pyspark.sql import functions as F

        frame = frame.withColumns(
            {
                "load_window_start": F.lit(self.window_start),
                "created_by": F.lit(self.created_by),
                "loaded_at": F.lit(self.loaded_at).cast("timestamp"),
            }
        )
        return frame.select(*(F.col(name).cast(kind).alias(name) for name, kind in OUTPUT_COLUMNS.items()))
