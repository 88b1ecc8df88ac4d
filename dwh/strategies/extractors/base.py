"""The extractor contract: read a source into a Spark DataFrame, then the common column/filter/window steps.

Subclasses implement `read`; `extract` applies, in order, the optional date-window filter on
``window_column`` (a date or timestamp column; the run's ``[start_date, end_date)``), the SQL
``filter``, and the ``columns`` selection. Rows read are counted with a Spark `Observation`, so
counting costs no extra pass over the source: `extract_counted` hands back a `RowCounter` next to the
DataFrame, filled once the first action on it has run. The config model itself holds no run state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from dwh.config import StrictModel
from dwh.platforms.context import RunContext
from dwh.strategies.windows import window_column_type

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class RowCounter:
    """The rows an extraction produced, known after the first action on its DataFrame."""

    observation: Any

    @property
    def rows(self) -> int | None:
        """The count, or None before any action ran (or when Spark could not report it)."""
        try:
            return int(self.observation.get["rows"])
        except Exception:
            return None


class Extractor(StrictModel, ABC):
    """Base of every extractor config; the model is also the extractor."""

    kind: ClassVar[str]
    columns: list[str] | None = Field(None, description="Keep only these columns (in this order).")
    filter: str | None = Field(None, description="A Spark SQL boolean expression rows must satisfy.")
    window_column: str | None = Field(
        None, description="A date/timestamp column filtered to the run window [start_date, end_date)."
    )

    @abstractmethod
    def read(self, spark: SparkSession, context: RunContext) -> DataFrame:
        """Read the source as it is."""

    def describe(self) -> str:
        """Where the data comes from (no credentials)."""
        return self.kind

    def extract(self, context: RunContext) -> DataFrame:
        """Read, then apply window, filter and column selection."""
        return self.extract_counted(context)[0]

    def extract_counted(self, context: RunContext) -> tuple[DataFrame, RowCounter]:
        """`extract`, plus a counter of the rows it produced (filled as they stream, no extra pass)."""
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
        observation = Observation(f"extract_{self.kind.lower()}_{id(frame)}")
        return frame.observe(observation, F.count(F.lit(1)).alias("rows")), RowCounter(observation)
