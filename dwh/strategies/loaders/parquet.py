"""PARQUET: write Parquet files to a directory, all or nothing, in append, overwrite or replace_window mode.

    {"strategy": "PARQUET", "path": "s3a://bucket/stage/promos", "mode": "replace_window",
     "window_column": "load_window_start", "partition_by": ["load_window_start"]}

Spark writes the rows into a hidden sibling of the target, then `dwh.strategies.loaders.parquet_commit`
moves them in with journalled renames; a failed or killed load leaves the previous output readable
and unchanged (the next load rolls back a half-done commit and sweeps the leftovers).

  append          the new files are moved into the target (its partition directories)
  overwrite       the target directory is swapped for the new one
  replace_window  with ``partition_by`` starting with ``window_column``: the partition directories of
                  the run's ``[start_date, end_date)`` are swapped for the new ones, the others stay.
                  Otherwise: the rows outside the window are rewritten with the new rows and the
                  directory is swapped. Every new row must lie in the window (else nothing is written).

A ``table`` name maps to its directory (`dwh.strategies.tables`); the metastore is not updated.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import unquote

from pydantic import Field, model_validator

from dwh.runtime import RunContext
from dwh.strategies.loaders.base import Loader, LoadResult
from dwh.strategies.loaders.parquet_commit import HadoopFiles, TargetDir, commit, new_run_id, recover
from dwh.strategies.tables import CatalogTableName, ColumnName, Location, PathName, require_path, resolve_table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


class ParquetLoader(Loader):
    """Writes a Parquet directory through a staged, journalled commit."""

    kind: ClassVar[str] = "PARQUET"
    strategy: Literal["PARQUET"] = "PARQUET"
    mode: Literal["append", "overwrite", "replace_window"] = Field(description="How rows are written.")
    path: PathName | None = Field(None, description="Target directory or URI (s3a://, abfss://, a local path).")
    table: CatalogTableName | None = Field(None, description="A table name whose directory is written.")
    window_column: ColumnName | None = Field(None, description="Date/timestamp column for mode replace_window.")
    partition_by: list[ColumnName] | None = Field(None, description="Partition columns (col=value directories).")
    compression: str = Field("snappy", description="Parquet compression codec.")

    @model_validator(mode="after")
    def _one_target(self) -> ParquetLoader:
        if bool(self.path) == bool(self.table):
            raise ValueError("give exactly one of path or table")
        return self

    def describe(self) -> str:
        """``PARQUET <path or table> (<mode>)``."""
        return f"PARQUET {self.path or self.table} ({self.mode})"

    def load(self, frame: DataFrame, context: RunContext) -> LoadResult:
        """Stage the rows, then commit them in this loader's mode."""
        spark = frame.sparkSession
        location = Location(path=self.path) if self.path else resolve_table(str(self.table), context)
        target = TargetDir(require_path(location, spark).rstrip("/"))
        files = HadoopFiles(spark, target.path)
        rolled_back = recover(files, target)
        run_id = new_run_id()
        stage, trash = target.sibling("dwh-stage", run_id), target.sibling("dwh-trash", run_id)
        window = self.window(context) if self.mode == "replace_window" else None
        try:
            rows = self._stage(frame, files, target, stage, window)
            moves = self._plan(files, target, stage, trash, window)
            renames = commit(files, target, moves)
        finally:
            files.delete(stage)
            files.delete(trash)
        detail: dict[str, Any] = {"renames": renames, "rolled_back_previous": rolled_back}
        return LoadResult(target=location.describe(), rows_written=rows, detail=detail)

    def _swaps_partitions(self) -> bool:
        return bool(self.window_column) and (self.partition_by or [""])[0] == self.window_column

    def _stage(self, frame: DataFrame, files: HadoopFiles, target: TargetDir, stage: str, window: Any) -> int:
        """Write the rows (and, for a full-rewrite replace_window, the kept old rows) into `stage`."""
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        observation = Observation(f"load_parquet_{uuid.uuid4().hex[:8]}")
        metrics = [F.count(F.lit(1)).alias("rows")]
        column = F.col(f"`{self.window_column}`")
        if window is not None:
            inside = (column >= F.lit(window[0])) & (column < F.lit(window[1]))
            metrics.append(F.sum(F.when(inside, 0).otherwise(1)).alias("outside"))
        output = frame.observe(observation, *metrics)
        if window is not None and not self._swaps_partitions() and files.exists(target.path):
            old = frame.sparkSession.read.parquet(target.path)
            keep = column.isNull() | (column < F.lit(window[0])) | (column >= F.lit(window[1]))
            output = output.unionByName(old.where(keep))
        writer = output.write.option("compression", self.compression).mode("errorifexists")
        if self.partition_by:
            writer = writer.partitionBy(*self.partition_by)
        writer.parquet(stage)
        result = observation.get
        if window is not None and int(result.get("outside") or 0):
            raise ValueError(
                f"PARQUET loader: {result['outside']} rows have {self.window_column} NULL or outside the run window "
                f"[{window[0]}, {window[1]}); replace_window writes only rows of the window (nothing written)"
            )
        return int(result["rows"])

    def _plan(
        self, files: HadoopFiles, target: TargetDir, stage: str, trash: str, window: Any
    ) -> list[tuple[str, str]]:
        """The renames that publish the stage in this mode."""
        if not files.exists(target.path):
            return [(stage, target.path)]
        if self.mode == "append":
            return [(f"{stage}/{name}", f"{target.path}/{name}") for name in files.files_under(stage)]
        if self.mode == "replace_window" and self._swaps_partitions():
            column = str(self.window_column)
            old = [name for name, is_dir in files.children(target.path) if is_dir and _in_window(name, column, window)]
            new = [name for name, is_dir in files.children(stage) if is_dir and name.startswith(f"{column}=")]
            return [(f"{target.path}/{name}", f"{trash}/{name}") for name in old] + [
                (f"{stage}/{name}", f"{target.path}/{name}") for name in new
            ]
        return [(target.path, trash), (stage, target.path)]


def _in_window(directory: str, column: str, window: tuple[dt.date, dt.date]) -> bool:
    """True when a ``column=value`` directory's value (a date or timestamp) lies in ``[start, end)``."""
    if not directory.startswith(f"{column}="):
        return False
    text = unquote(directory.split("=", 1)[1])
    if text == "__HIVE_DEFAULT_PARTITION__":
        return False
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"PARQUET loader: partition directory {directory} does not hold a date or timestamp") from None
    start, end = (dt.datetime.combine(bound, dt.time()) for bound in window)
    return start <= value.replace(tzinfo=None) < end
