"""The executor side of the delta-rs DELTA writer: each Spark task writes its rows as Parquet data files.

`write_data_files` runs one Spark job over the DataFrame with ``mapInArrow``: every task streams its
Arrow batches into pyarrow `ParquetWriter`s inside the table directory (one file per partition
value, ``col=value/`` directories for ``partition_by``) and returns one small row per file: path,
size, partition values and Delta statistics. Only those rows reach the driver, which then commits
the files in one Delta transaction (`writer`). Until that commit the files are invisible to every
Delta reader; a killed job leaves them as orphans that ``VACUUM`` removes.

Timestamps are written as ``timestamp[us, tz=UTC]`` so the table needs no ``timestampNtz``
feature (protocol reader 1 / writer 2, readable by Spark Delta 2.1 on Glue 4). File statistics come
from the Parquet footer (`stats`). Each task buffers up to ``_TaskFiles.ROW_GROUP_BYTES`` of Arrow
data per open file, so its row groups are not as small as Spark's Arrow batches.

An empty string in a partition column is written as NULL (``col=__HIVE_DEFAULT_PARTITION__``,
``partitionValues`` null), as Spark Delta writes it and as the Delta protocol reads an empty value:
a ``col=`` directory would make the table unreadable by Spark. So such a row reads back with NULL,
not "", on every engine.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from dwh.strategies.loaders.delta.stats import file_stats

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import Column, DataFrame

#: What each task returns per file it wrote.
FILE_ROWS_DDL = "path string, size long, partition_values string, stats string, rows long, outside_window long"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
#: Spark types a delta-rs-written table may be partitioned on (their partition-value text is unambiguous).
PARTITION_TYPES = {"string", "byte", "short", "integer", "long", "date", "boolean"}


@dataclass(frozen=True)
class WindowCheck:
    """Count rows whose `column` is NULL or outside ``[start, end)`` (replace_window must not write them)."""

    column: str
    start: Any
    end: Any

    def sql(self) -> str:
        """The window as a Spark SQL predicate with typed literals (Delta's ``replaceWhere``)."""
        if isinstance(self.start, dt.datetime):
            low, high = (f"TIMESTAMP'{bound.isoformat()}'" for bound in (self.start, self.end))
        else:
            low, high = (f"DATE'{bound.isoformat()}'" for bound in (self.start, self.end))
        return f"`{self.column}` >= {low} AND `{self.column}` < {high}"

    def outside(self) -> Column:
        """A Spark column: true for a row whose `column` is NULL or outside the window."""
        from pyspark.sql import functions as F

        column = F.col(f"`{self.column}`")
        return column.isNull() | (column < F.lit(self.start)) | (column >= F.lit(self.end))

    def refusal(self, rows: int) -> str:
        """The one-line error of a replace_window load holding `rows` rows outside the window (both engines)."""
        return (
            f"DELTA loader: {rows} rows have {self.column} NULL or outside the run window "
            f"[{self.start}, {self.end}); replace_window writes only rows of the window (nothing committed)"
        )


@dataclass(frozen=True)
class FileWriterSpec:
    """What every task needs (pickled to the executors): where to write, how to partition, what to check."""

    root: str
    partition_by: tuple[str, ...] = ()
    window: WindowCheck | None = None
    compression: str = "snappy"


@dataclass
class WrittenFiles:
    """The files one job wrote: their Delta add-action fields, the rows in them, rows outside the window."""

    files: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0
    outside_window: int = 0

    def add_actions(self) -> list[Any]:
        """The files as delta-rs `AddAction`s."""
        from deltalake.transaction import AddAction

        now = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
        return [
            AddAction(
                path=item["path"],
                size=item["size"],
                partition_values=json.loads(item["partition_values"]),
                modification_time=now,
                data_change=True,
                stats=item["stats"],
            )
            for item in self.files
        ]

    def __add__(self, other: WrittenFiles) -> WrittenFiles:
        return WrittenFiles(
            self.files + other.files, self.rows + other.rows, self.outside_window + other.outside_window
        )


def write_data_files(frame: DataFrame, spec: FileWriterSpec) -> WrittenFiles:
    """Write `frame` as Parquet files under ``spec.root`` in one Spark job; return the files' metadata."""
    rows = [row.asDict() for row in frame.mapInArrow(functools.partial(write_partition, spec), FILE_ROWS_DDL).collect()]
    return WrittenFiles(
        files=[row for row in rows if row["path"] is not None],
        rows=sum(int(row["rows"]) for row in rows),
        outside_window=sum(int(row["outside_window"]) for row in rows),
    )


def utc_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with every top-level timestamp column labelled UTC (the values are instants already)."""
    import pyarrow as pa

    columns, changed = [], False
    for column in batch.columns:
        if pa.types.is_timestamp(column.type) and column.type.tz != "UTC":
            column, changed = column.cast(pa.timestamp(column.type.unit, tz="UTC")), True
        columns.append(column)
    if not changed:
        return batch
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def write_partition(spec: FileWriterSpec, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The ``mapInArrow`` function: write this task's batches, yield one metadata row per file written."""
    import pyarrow as pa

    sink = _TaskFiles(spec)
    outside = 0
    try:
        for batch in batches:
            batch = utc_batch(batch)
            if spec.window is not None:
                outside += _count_outside(batch, spec.window)
            for values, part in _split(batch, spec.partition_by):
                sink.write(values, part)
    finally:
        sink.close()
    rows = sink.describe()
    if outside:
        rows.append({"path": None, "size": 0, "partition_values": None, "stats": None, "rows": 0})
    for row in rows:
        row["outside_window"] = outside if row["path"] is None else 0
    yield pa.RecordBatch.from_pylist(rows, schema=_file_rows_schema())


def _file_rows_schema() -> pa.Schema:
    import pyarrow as pa

    names = ["path", "size", "partition_values", "stats", "rows", "outside_window"]
    types = [pa.string(), pa.int64(), pa.string(), pa.string(), pa.int64(), pa.int64()]
    return pa.schema(list(zip(names, types, strict=True)))


def _count_outside(batch: pa.RecordBatch, window: WindowCheck) -> int:
    import pyarrow.compute as pc

    column = batch.column(batch.schema.get_field_index(window.column))
    inside = pc.fill_null(pc.and_(pc.greater_equal(column, window.start), pc.less(column, window.end)), False)
    inside_rows = pc.sum(inside.cast("int64")).as_py() or 0
    return batch.num_rows - int(inside_rows)


def _split(batch: pa.RecordBatch, partition_by: tuple[str, ...]) -> Iterator[tuple[tuple[Any, ...], pa.Table]]:
    """The batch's rows per partition value (without the partition columns, which live in the path)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = pa.Table.from_batches([batch])
    if not partition_by:
        yield (), table
        return
    names = list(partition_by)
    data = table.drop_columns(names)
    for key in table.select(names).group_by(names).aggregate([]).to_pylist():
        mask = None
        for name in names:
            column, value = table.column(name), key[name]
            test = pc.is_null(column) if value is None else pc.fill_null(pc.equal(column, value), False)
            mask = test if mask is None else pc.and_(mask, test)
        yield tuple(key[name] for name in names), data.filter(mask)


def partition_text(value: Any) -> str | None:
    """A partition value as Delta's ``partitionValues`` text; NULL for None and "" (Delta reads "" as NULL)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@dataclass
class _OpenFile:
    """One Parquet file being written: its writer and the rows buffered for its next row group."""

    relative: str
    values: tuple[Any, ...]
    writer: Any
    buffer: list[pa.Table] = field(default_factory=list)
    buffered_bytes: int = 0


class _TaskFiles:
    """The open Parquet files of one task, one per partition value; rows are buffered into large row groups."""

    #: Buffer this much Arrow data per file before writing it as one row group (Spark's batches are small).
    ROW_GROUP_BYTES = 64 * 1024 * 1024

    def __init__(self, spec: FileWriterSpec) -> None:
        from pyarrow import fs

        self.spec = spec
        self.filesystem, base = fs.FileSystem.from_uri(spec.root)
        self.base = base.rstrip("/")
        self.task_id = uuid.uuid4().hex
        self.files: dict[tuple[Any, ...], _OpenFile] = {}

    def write(self, values: tuple[Any, ...], part: pa.Table) -> None:
        """Buffer `part` for the file of its partition `values`, writing a row group when the buffer is full."""
        if part.num_rows == 0:
            return
        values = tuple(None if value == "" else value for value in values)  # "" and NULL: one partition
        handle = self.files.get(values) or self._open(values, part.schema)
        handle.buffer.append(part)
        handle.buffered_bytes += part.nbytes
        if handle.buffered_bytes >= self.ROW_GROUP_BYTES:
            self._flush(handle)

    def _open(self, values: tuple[Any, ...], schema: pa.Schema) -> _OpenFile:
        import pyarrow.parquet as pq

        dirs = []
        for name, value in zip(self.spec.partition_by, values, strict=True):
            text = partition_text(value)
            dirs.append(f"{name}={NULL_PARTITION if text is None else quote(text, safe='')}")
        name = f"part-{len(self.files):05d}-{self.task_id}.{self.spec.compression}.parquet"
        relative = "/".join([*dirs, name])
        self.filesystem.create_dir("/".join([self.base, *dirs]), recursive=True)
        writer = pq.ParquetWriter(
            f"{self.base}/{relative}", schema, filesystem=self.filesystem, compression=self.spec.compression
        )
        self.files[values] = _OpenFile(relative=relative, values=values, writer=writer)
        return self.files[values]

    @staticmethod
    def _flush(handle: _OpenFile) -> None:
        import pyarrow as pa

        if handle.buffer:
            table = pa.concat_tables(handle.buffer)
            handle.writer.write_table(table, row_group_size=max(table.num_rows, 1))
        handle.buffer, handle.buffered_bytes = [], 0

    def close(self) -> None:
        """Write what is buffered and close every file."""
        for handle in self.files.values():
            try:
                self._flush(handle)
            finally:
                handle.writer.close()

    def describe(self) -> list[dict[str, Any]]:
        """One metadata row per file written: relative path, size, partition values, Delta stats, rows."""
        import pyarrow.parquet as pq

        rows = []
        for handle in self.files.values():
            with self.filesystem.open_input_file(f"{self.base}/{handle.relative}") as stream:
                size = stream.size()
                metadata = pq.read_metadata(stream)
            partition_values = {
                name: partition_text(v) for name, v in zip(self.spec.partition_by, handle.values, strict=True)
            }
            rows.append(
                {
                    "path": handle.relative,
                    "size": size,
                    "partition_values": json.dumps(partition_values),
                    "stats": json.dumps(file_stats(metadata)),
                    "rows": metadata.num_rows,
                }
            )
        return rows
