"""The loader contract: one set of write modes for every target, declared per loader.

Modes (the same words everywhere):
  append          add the rows
  overwrite       replace the whole target
  replace_window  replace the rows whose ``window_column`` lies in the run's [start_date, end_date)
  merge           upsert on ``keys``

`WriteMode` is declared here once; a loader that supports fewer narrows ``mode`` to a `Literal`
subset of it (mypy checks that the subset holds), so config validation rejects the rest with the
allowed list. No loader leaves a half-written target when it fails.

`PathOrTableTarget` is the target of the file and Delta loaders: a path, or a table name that maps to
its directory locally and to the metastore elsewhere (`dwh.strategies.tables`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from dwh.config import StrictModel
from dwh.platforms.context import RunContext
from dwh.strategies.tables import CatalogTableName, Location, PathName, resolve_table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

WriteMode = Literal["append", "overwrite", "replace_window", "merge"]


@dataclass
class LoadResult:
    """What a load did: the target it wrote and how many rows.

    ``rows_written`` is the same measure for every loader and mode: the rows of the batch the target
    now holds (for merge: inserted plus matched rows, whether or not a matched row's values changed).
    Loader-specific counts (rows deleted by replace_window, rows a POSTGRES merge actually changed,
    files written) go into ``detail``.
    """

    target: str
    rows_written: int
    detail: dict[str, Any] = field(default_factory=dict)


class Loader(StrictModel, ABC):
    """Base of every loader config; the model is also the loader."""

    kind: ClassVar[str]
    mode: WriteMode = Field(description="How rows are written.")
    keys: list[str] | None = Field(None, description="Key columns for mode merge.")
    window_column: str | None = Field(None, description="Date column whose run-window rows replace_window replaces.")
    partition_by: list[str] | None = Field(None, description="Partition columns, where the target has partitions.")

    @model_validator(mode="after")
    def _mode_needs(self) -> Loader:
        if self.mode == "merge" and not self.keys:
            raise ValueError("mode merge needs keys")
        if self.mode == "replace_window" and not self.window_column:
            raise ValueError("mode replace_window needs window_column")
        return self

    @abstractmethod
    def load(self, frame: DataFrame, context: RunContext) -> LoadResult:
        """Write `frame` to the target in this loader's mode; all or nothing."""

    def describe(self) -> str:
        """The target (no credentials)."""
        return self.kind

    def window(self, context: RunContext) -> tuple[Any, Any]:
        """The run window for replace_window; a clear error when the run has none."""
        if context.start_date is None or context.end_date is None:
            raise ValueError(f"{self.kind} loader: mode replace_window needs --start_date and --end_date")
        return context.start_date, context.end_date


class PathOrTableTarget(StrictModel):
    """A target named by exactly one of ``path`` or ``table`` (DELTA, PARQUET)."""

    path: PathName | None = Field(None, description="Target directory or URI (s3a://, abfss://, a local path).")
    table: CatalogTableName | None = Field(
        None, description="Table name: catalog.schema.table or schema.table (locally its warehouse directory)."
    )

    @model_validator(mode="after")
    def _one_target(self) -> PathOrTableTarget:
        if bool(self.path) == bool(self.table):
            raise ValueError("give exactly one of path or table")
        return self

    def target(self, context: RunContext) -> Location:
        """Where the target is on the run's platform."""
        return Location(path=self.path) if self.path else resolve_table(str(self.table), context)

    def target_text(self) -> str:
        """The target as configured (for `describe`; paths and names carry no credentials)."""
        return str(self.path or self.table)
