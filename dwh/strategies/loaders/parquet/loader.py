"""PARQUET: write Parquet files to a directory, all or nothing, in append, overwrite or replace_window mode.

    {"strategy": "PARQUET", "path": "s3a://bucket/stage/promos", "mode": "replace_window",
     "window_column": "load_window_start", "partition_by": ["load_window_start"]}

Spark writes the rows into a hidden sibling of the target, then `dwh.strategies.loaders.parquet.commit`
moves them in with journalled renames; a failed or killed load leaves the previous output readable
and unchanged (the next load rolls back a half-done commit and sweeps the leftovers).

  append          the new files are moved into the target (its partition directories)
  overwrite       the target directory is swapped for the new one
  replace_window  with ``partition_by`` starting with ``window_column``: the partition directories of
                  the run's ``[start_date, end_date)`` are swapped for the new ones, the others stay.
                  Otherwise: the rows outside the window are rewritten with the new rows and the
                  directory is swapped. Every new row must lie in the window (else nothing is written).

Before anything is written, append and replace_window check the existing target: its partitioning (the
``col=value`` directory levels) must equal ``partition_by``, and its columns (read from one file footer)
must equal the rows' columns; overwrite may change both. A target without rows (absent, empty, or
holding only empty files) accepts anything and is replaced whole. A load that leaves the target without
a data file (an empty, partitioned write) adds one empty Parquet file carrying the schema, so the
directory reads back as 0 rows with the right columns.

A ``table`` name maps to its directory (`dwh.strategies.tables`); the metastore is not updated.

On Spark Connect (no JVM handle) the commit runs on the driver through ``pyarrow.fs`` (`commit.ArrowFiles`):
the target must be a local path or ``file:`` URI the driver sees at the same path as the server; any other
target is refused when the config is parsed (`connect_problems`), before the job writes anything.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import unquote

from pydantic import Field

from dwh.platforms.context import RunContext
from dwh.strategies.loaders.base import Loader, LoadResult, PathOrTableTarget
from dwh.strategies.loaders.parquet.commit import (
    Files,
    TargetDir,
    commit,
    connect_path_problem,
    new_run_id,
    recover,
    session_files,
    visible,
)
from dwh.strategies.tables import ColumnName, require_path
from dwh.strategies.windows import window_column_type

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: A target before a load: no directory, a directory without rows, or one that may hold rows.
TargetState = Literal["absent", "empty", "rows"]


class ParquetLoader(PathOrTableTarget, Loader):
    """Writes a Parquet directory through a staged, journalled commit."""

    kind: ClassVar[str] = "PARQUET"
    strategy: Literal["PARQUET"] = "PARQUET"
    mode: Literal["append", "overwrite", "replace_window"] = Field(description="How rows are written.")
    window_column: ColumnName | None = Field(None, description="Date/timestamp column for mode replace_window.")
    partition_by: list[ColumnName] | None = Field(None, description="Partition columns (col=value directories).")
    compression: str = Field("snappy", description="Parquet compression codec.")

    def describe(self) -> str:
        """``PARQUET <path or table> (<mode>)``."""
        return f"PARQUET {self.target_text()} ({self.mode})"

    def connect_problems(self) -> dict[str, str]:
        """On Spark Connect the driver commits with pyarrow's local file system: a local path, or a local table."""
        if self.path:
            problem = connect_path_problem(self.path)
            return {"path": problem} if problem else {}
        if os.environ.get("DATABRICKS_RUNTIME_VERSION"):
            problem = (
                "a PARQUET table lives in cloud storage, which the driver cannot commit to on Spark Connect; "
                "give a path the driver sees locally (/Volumes/...) or use a DELTA loader"
            )
            return {"table": problem}
        return {}  # locally the table is a directory of the warehouse

    def load(self, frame: DataFrame, context: RunContext) -> LoadResult:
        """Check the rows against the target, stage them, then commit them in this loader's mode."""
        spark = frame.sparkSession
        location = self.target(context)
        target = TargetDir(require_path(location, spark).rstrip("/"))
        window = None
        if self.mode == "replace_window":
            window = self.window(context)
            window_column_type(frame, str(self.window_column), "PARQUET loader")
        files = session_files(spark, target.path)
        rolled_back = recover(files, target)
        state = self._check_target(frame, files, target)
        run_id = new_run_id()
        stage, trash = target.sibling("dwh-stage", run_id), target.sibling("dwh-trash", run_id)
        try:
            rows = self._stage(frame, stage, window, old=target.path if state == "rows" else None)
            moves = self._plan(files, target, stage, trash, window, state)
            if (stage, target.path) in moves and not files.files_under(stage):
                self._write_empty_file(frame, files, stage)
            renames = commit(files, target, moves)
        finally:
            files.delete(stage)
            files.delete(trash)
        detail: dict[str, Any] = {"renames": renames, "rolled_back_previous": rolled_back}
        return LoadResult(target=location.describe(), rows_written=rows, detail=detail)

    def _swaps_partitions(self) -> bool:
        return bool(self.window_column) and (self.partition_by or [""])[0] == self.window_column

    def _check_target(self, frame: DataFrame, files: Files, target: TargetDir) -> TargetState:
        """Whether the target exists and holds rows; for append/replace_window, fail if its layout or columns differ."""
        if not files.exists(target.path):
            return "absent"
        if self.mode == "overwrite":
            return "rows"  # not inspected: overwrite replaces it whole, with any layout and columns
        found = first_data_file(files, target.path)
        if found is None:
            return "empty"
        layout, sample = found
        problem = self._layout_problem(layout) or self._columns_problem(frame, f"{target.path}/{sample}", layout)
        if problem is None:
            return "rows"
        if frame.sparkSession.read.parquet(_literal(target.path)).isEmpty():
            return "empty"  # only empty files: the target is replaced whole, so any layout and columns fit
        raise ValueError(f"PARQUET {target.path}: {problem}")

    def _layout_problem(self, layout: list[str]) -> str | None:
        ours = list(self.partition_by or [])
        if ours == layout:
            return None
        return (
            f"partition_by {ours} differs from the target's partitioning {layout}; "
            "load with the target's partition_by, or use mode overwrite to change it (nothing written)"
        )

    def _columns_problem(self, frame: DataFrame, sample: str, layout: list[str]) -> str | None:
        """How the rows' columns differ from those of a data file of the target (its footer only), if they do."""
        theirs = _column_types(frame.sparkSession.read.parquet(_literal(sample)).schema, skip=layout)
        ours = _column_types(frame.schema, skip=layout)
        if theirs == ours:
            return None
        names = sorted({*theirs, *ours})
        diff = {name: (theirs.get(name), ours.get(name)) for name in names if theirs.get(name) != ours.get(name)}
        return (
            f"the rows' columns differ from the target's (column: (target, rows)): {diff}; "
            "use mode overwrite to change the columns (nothing written)"
        )

    def _stage(self, frame: DataFrame, stage: str, window: Any, old: str | None) -> int:
        """Write the rows (and, for a full-rewrite replace_window, the kept rows of directory `old`) into `stage`."""
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        observation = Observation(f"load_parquet_{uuid.uuid4().hex[:8]}")
        metrics = [F.count(F.lit(1)).alias("rows")]
        column = F.col(f"`{self.window_column}`")
        if window is not None:
            inside = (column >= F.lit(window[0])) & (column < F.lit(window[1]))
            metrics.append(F.sum(F.when(inside, 0).otherwise(1)).alias("outside"))
        output = frame.observe(observation, *metrics)
        if window is not None and not self._swaps_partitions() and old is not None:
            kept = frame.sparkSession.read.parquet(_literal(old))
            keep = column.isNull() | (column < F.lit(window[0])) | (column >= F.lit(window[1]))
            output = output.unionByName(kept.where(keep))
        writer = output.write.option("compression", self.compression).mode(
            "error"
        )  # errorifexists; Connect knows only "error"
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

    def _write_empty_file(self, frame: DataFrame, files: Files, stage: str) -> None:
        """Put one empty Parquet file with the rows' columns in `stage`, which has no data file.

        Spark writes no file for an empty partitioned write, and a directory without one cannot be read.
        Partition columns go last, where Spark puts them when it reads partition directories.
        """
        from pyspark.sql import functions as F

        last = list(self.partition_by or [])
        columns = [name for name in frame.columns if name not in last] + last
        scratch = f"{stage}/.empty"
        empty = frame.limit(0).select(*[F.col(f"`{name}`") for name in columns]).coalesce(1)
        empty.write.option("compression", self.compression).parquet(scratch)
        for name in files.files_under(scratch):
            files.rename(f"{scratch}/{name}", f"{stage}/{name}")
        files.delete(scratch)

    def _plan(
        self, files: Files, target: TargetDir, stage: str, trash: str, window: Any, state: TargetState
    ) -> list[tuple[str, str]]:
        """The renames that publish the stage in this mode."""
        if state == "absent":
            return [(stage, target.path)]
        swap = [(target.path, trash), (stage, target.path)]
        if self.mode == "overwrite" or state == "empty":
            return swap
        if self.mode == "append":
            return [(f"{stage}/{name}", f"{target.path}/{name}") for name in files.files_under(stage)]
        if self.mode == "replace_window" and self._swaps_partitions():
            column = str(self.window_column)
            children = files.children(target.path)
            old = [name for name, is_dir in children if is_dir and _in_window(name, column, window)]
            new = [name for name, is_dir in files.children(stage) if is_dir and name.startswith(f"{column}=")]
            if not new and all(name in old for name, _ in children if visible(name)):
                return swap  # no data file would be left: swap in the stage, which keeps the target readable
            return [(f"{target.path}/{name}", f"{trash}/{name}") for name in old] + [
                (f"{stage}/{name}", f"{target.path}/{name}") for name in new
            ]
        return swap


def _literal(path: str) -> str:
    """`path` with Hadoop's glob characters escaped: Spark's reader would expand ``[]{}*?`` in a directory name."""
    return re.sub(r"([\[\]{}*?\\])", r"\\\1", path)


def _column_types(schema: Any, skip: list[str]) -> dict[str, str]:
    """``{column: type}`` of a Spark schema, without the columns in `skip` (partition columns)."""
    return {field.name: field.dataType.simpleString() for field in schema.fields if field.name not in skip}


def first_data_file(files: Files, path: str) -> tuple[list[str], str] | None:
    """The partition columns above the first data file under `path` and the file's relative path; None if none.

    ``col=value`` directories come first: Spark's reader ignores files beside partition directories.
    """
    entries = sorted((name, is_dir) for name, is_dir in files.children(path) if visible(name))
    for name, is_dir in entries:
        if is_dir and "=" in name:
            found = first_data_file(files, f"{path}/{name}")
            if found is not None:
                return [name.split("=", 1)[0], *found[0]], f"{name}/{found[1]}"
    here = [name for name, is_dir in entries if not is_dir]
    return ([], here[0]) if here else None


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
