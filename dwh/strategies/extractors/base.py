"""The extractor contract: read a source into a Spark DataFrame, then the common column/filter/window steps.

Subclasses implement `read`; `extract` applies, in order, the optional date-window filter on
``window_column`` (a date or timestamp column; the run's ``[start_date, end_date)``), the SQL
``filter``, and the ``columns`` selection. Rows read are counted with a Spark `Observation`, so
counting costs no extra pass over the source: `rows_read` is filled once the first action on the
DataFrame has run.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, PrivateAttr

from dwh.config import StrictModel
from dwh.platforms.context import RunContext
from dwh.strategies.windows import window_column_type

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class Extractor(StrictModel, ABC):
    """Base of every extractor config; the model is also the extractor."""

    kind: ClassVar[str]
    columns: list[str] | None = Field(None, description="Keep only these columns (in this order).")
    filter: str | None = Field(None, description="A Spark SQL boolean expression rows must satisfy.")
    window_column: str | None = Field(
        None, description="A date/timestamp column filtered to the run window [start_date, end_date)."
    )
    _observation: Any = PrivateAttr(default=None)

    @abstractmethod
    def read(self, spark: SparkSession, context: RunContext) -> DataFrame:
        """Read the source as it is."""

    def describe(self) -> str:
        """Where the data comes from (no credentials)."""
        return self.kind

    def extract(self, context: RunContext) -> DataFrame:
        """Read, then apply window, filter and column selection; rows are counted as they stream."""
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        frame = self.read(context.spark, context)
        if self.window_column:
            if context.start_date is None or context.end_date is None:
                raise ValueError(f"{self.kind} extractor: window_column needs --start_date and --end_date")
            window_column_type(frame, self.window_column, f"{self.kind} extractor")
            column = F.col(self.window_column)
            frame = frame.where((column >= F.lit(context.start_date)) & (column < F.lit(context.end_date)))
        if self.filter:
            frame = frame.where(self.filter)
        if self.columns:
            frame = frame.select(*self.columns)
        self._observation = Observation(f"extract_{self.kind.lower()}_{id(self)}")
        return frame.observe(self._observation, F.count(F.lit(1)).alias("rows"))

    @property
    def rows_read(self) -> int | None:
        """Rows the extractor produced, known after the first action on its DataFrame (else None)."""
        if self._observation is None:
            return None
        try:
            return int(self._observation.get["rows"])
        except Exception:
            return None
