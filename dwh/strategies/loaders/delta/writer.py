"""The driver side of the delta-rs DELTA writer: write modes as one Delta commit over files Spark tasks wrote.

Every mode first lets the Spark tasks write their Parquet files into the table directory
(`files`), then commits ONE transaction with delta-rs:

  new table       ``create_table_with_add_actions`` (any mode)
  append          add the files
  overwrite       add the files, remove every current file (``mode="overwrite"``)
  replace_window  add the files, remove every file that may hold rows of the window; the rows of
                  those files that lie outside the window are first rewritten into new files by
                  Spark (copy-on-write), so only the window's rows go. A new row outside the
                  window fails the load before the commit, as Delta's replaceWhere does.
  merge           delta-rs ``DeltaTable.merge`` on ``keys`` (update all columns of matching rows,
                  insert the rest), the source streamed from Spark (`source`)

Nothing is visible before the commit: a failed or killed load leaves the table at its previous
version (orphan files are harmless; ``VACUUM`` removes them). Top-level ``timestamp_ntz`` columns
are cast to ``timestamp`` and every column is made nullable, so the table keeps protocol reader 1 /
writer 2 like a table Spark Delta writes.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import TYPE_CHECKING, Any

from dwh.strategies import delta_rs
from dwh.strategies.loaders.base import LoadResult
from dwh.strategies.loaders.delta.files import (
    PARTITION_TYPES,
    FileWriterSpec,
    WindowCheck,
    WrittenFiles,
    partition_text,
    write_data_files,
)
from dwh.strategies.loaders.delta.merge import merge_keys
from dwh.strategies.loaders.delta.source import merge_into

if TYPE_CHECKING:
    from deltalake import DeltaTable
    from pyspark.sql import DataFrame


def prepare_frame(frame: DataFrame) -> DataFrame:
    """Cast top-level ``timestamp_ntz`` columns to ``timestamp`` (UTC-aware in the files); nested NTZ is refused."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampNTZType

    columns = []
    for field in frame.schema.fields:
        if isinstance(field.dataType, TimestampNTZType):
            columns.append(F.col(f"`{field.name}`").cast("timestamp").alias(field.name))
        elif "timestamp_ntz" in field.dataType.json():
            raise ValueError(f"DELTA loader: column {field.name} nests timestamp_ntz; cast it to timestamp")
        else:
            columns.append(F.col(f"`{field.name}`"))
    return frame.select(*columns)


def _nullable(node: Any) -> Any:
    """Spark schema JSON with every field, array element and map value nullable, and no field metadata."""
    if isinstance(node, dict):
        out = {key: _nullable(value) for key, value in node.items()}
        if "nullable" in out:
            out["nullable"], out["metadata"] = True, {}
        if "containsNull" in out:
            out["containsNull"] = True
        if "valueContainsNull" in out:
            out["valueContainsNull"] = True
        return out
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    return node


def delta_schema_json(frame: DataFrame) -> dict[str, Any]:
    """The Delta schema (Spark's schema JSON, all nullable) for a prepared frame."""
    return dict(_nullable(json.loads(frame.schema.json())))


def schema_of(table: DeltaTable) -> dict[str, Any]:
    """The table's Delta schema JSON, all nullable (comparable with `delta_schema_json`)."""
    return dict(_nullable(json.loads(table.schema().to_json())))


def _columns(schema_json: dict[str, Any]) -> dict[str, Any]:
    return {field["name"]: field["type"] for field in schema_json["fields"]}


def schema_columns(schema_json: dict[str, Any]) -> list[str]:
    """The top-level column names of a Delta schema JSON."""
    return list(_columns(schema_json))


def check_compatible(
    table: str,
    *,
    table_schema: dict[str, Any],
    table_partitions: list[str],
    schema: dict[str, Any],
    partition_by: list[str],
    overwrite: bool,
) -> list[str]:
    """The partition columns a load into an existing table writes; refuses rows the table cannot take (both engines).

    Without ``partition_by`` the table's partitioning is kept. An overwrite may change columns and partitioning
    (Spark's ``overwriteSchema``); every other mode needs the table's partition columns and exactly its columns
    and types (nullability aside).
    """
    partition_by = list(partition_by) or list(table_partitions)
    if overwrite:
        return partition_by
    if partition_by != list(table_partitions):
        raise ValueError(f"DELTA loader: partition_by {partition_by} differs from the table's {list(table_partitions)}")
    theirs = _columns(table_schema)
    ours = _columns(schema)
    if theirs != ours:
        diff = {
            name: (theirs.get(name), ours.get(name)) for name in {*theirs, *ours} if theirs.get(name) != ours.get(name)
        }
        raise ValueError(f"DELTA loader: the rows' columns differ from table {table} (column: (table, rows)): {diff}")
    return partition_by


class DeltaRsWriter:
    """Writes a DataFrame to the Delta table at `path` in one delta-rs commit, reported as a load of `label`."""

    def __init__(self, *, path: str, partition_by: list[str] | None, label: str | None = None) -> None:
        self.path = path
        self.label = label or path
        self.uri = delta_rs.delta_uri(path)
        self.partition_by = list(partition_by or [])

    def write(self, frame: DataFrame, *, mode: str, keys: list[str] | None, window: WindowCheck | None) -> LoadResult:
        """Apply `mode`; a table that does not exist yet is created from the rows whatever the mode."""
        frame = prepare_frame(frame)
        schema = delta_schema_json(frame)
        if not delta_rs.table_exists(self.path):
            return self._create(frame, schema, window)
        table = delta_rs.open_table(self.path)
        if mode == "merge":
            assert keys
            merge_keys(keys, schema_columns(schema_of(table)), f"DELTA {self.label}: the table")
        self._check_compatible(table, schema, overwrite=mode == "overwrite")
        if mode == "merge":
            assert keys
            return merge_into(table, frame, keys, uri=self.uri, run_id=uuid.uuid4().hex[:12], label=self.label)
        if mode == "replace_window":
            assert window is not None
            return self._replace_window(table, frame, schema, window)
        written = self._write_files(frame, schema, None)
        self._commit(table, written.add_actions(), mode=mode, schema=schema)
        return self._outcome(written, table)

    def _create(self, frame: DataFrame, schema: dict[str, Any], window: WindowCheck | None) -> LoadResult:
        from deltalake import Schema
        from deltalake.transaction import create_table_with_add_actions

        written = self._write_files(frame, schema, window)
        create_table_with_add_actions(
            self.uri, Schema.from_json(json.dumps(schema)), written.add_actions(), mode="error",
            partition_by=self.partition_by or None,
        )  # fmt: skip
        return self._outcome(written, delta_rs.open_table(self.path), created=True)

    def _write_files(self, frame: DataFrame, schema: dict[str, Any], window: WindowCheck | None) -> WrittenFiles:
        types = _columns(schema)
        for name in self.partition_by:
            if types.get(name) not in PARTITION_TYPES:
                raise ValueError(
                    f"DELTA loader: partition column {name} is {types.get(name, 'missing')}; "
                    f"partition on a column of type {', '.join(sorted(PARTITION_TYPES))}"
                )
        written = write_data_files(
            frame, FileWriterSpec(root=self.uri, partition_by=tuple(self.partition_by), window=window)
        )
        if written.outside_window:
            assert window is not None
            raise ValueError(window.refusal(written.outside_window))
        return written

    def _check_compatible(self, table: DeltaTable, schema: dict[str, Any], *, overwrite: bool) -> None:
        self.partition_by = check_compatible(
            self.path,
            table_schema=schema_of(table),
            table_partitions=list(table.metadata().partition_columns),
            schema=schema,
            partition_by=self.partition_by,
            overwrite=overwrite,
        )

    def _commit(self, table: DeltaTable, actions: list[Any], *, mode: str, schema: dict[str, Any]) -> None:
        from deltalake import Schema

        table.create_write_transaction(
            actions, mode=mode, schema=Schema.from_json(json.dumps(schema)), partition_by=self.partition_by or None
        )

    def _replace_window(
        self, table: DeltaTable, frame: DataFrame, schema: dict[str, Any], window: WindowCheck
    ) -> LoadResult:
        try:
            from deltalake.transaction import RemoveAction
        except ImportError:  # added to delta-rs's Python API in 2026 (tested with deltalake 1.6.6)
            raise RuntimeError("DELTA replace_window without Spark Delta needs deltalake >= 1.6.6") from None

        drop, rewrite = window_files(table, window)
        written = self._write_files(frame, schema, window)
        kept = WrittenFiles()
        if rewrite:
            old = delta_rs.read_table_files(frame.sparkSession, table, self.path, [f["path"] for f in rewrite])
            kept = self._write_files(prepare_frame(old.where(window.outside())), schema, None)
        now = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
        removes = [
            RemoveAction(path=f["path"], data_change=True, deletion_timestamp=now, size=f["size"],
                         partition_values=f["partition_values"])
            for f in drop + rewrite
        ]  # fmt: skip
        self._commit(table, [*written.add_actions(), *kept.add_actions(), *removes], mode="append", schema=schema)
        outcome = self._outcome(written + kept, table)
        outcome.rows_written = written.rows
        outcome.detail.update(files_removed=len(removes), rows_kept_from_rewritten_files=kept.rows)
        return outcome

    def _outcome(self, written: WrittenFiles, table: DeltaTable, *, created: bool = False) -> LoadResult:
        table.update_incremental()
        detail = {"engine": "delta-rs", "files_added": len(written.files), "created": created}
        summary = {**detail, **delta_rs.table_summary(table)}
        return LoadResult(target=self.label, rows_written=written.rows, detail=summary)


def window_files(table: DeltaTable, window: WindowCheck) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Current files that may hold rows of the window: (entirely inside it: drop, partly: rewrite).

    Decided from partition values when the window column partitions the table, else from the file
    statistics; a file without statistics for the column is rewritten.
    """
    import pyarrow as pa

    partitioned = window.column in table.metadata().partition_columns
    drop: list[dict[str, Any]] = []
    rewrite: list[dict[str, Any]] = []
    for action in pa.table(table.get_add_actions(flatten=False)).to_pylist():
        from urllib.parse import unquote

        partition = action.get("partition") or {}
        item = {
            "path": unquote(action["path"]),
            "size": action["size_bytes"],
            "partition_values": {name: partition_text(value) for name, value in partition.items()},
        }
        if partitioned:
            value = partition.get(window.column)
            if value is not None and window.start <= value < window.end:
                drop.append(item)
            continue
        low = (action.get("min") or {}).get(window.column)
        high = (action.get("max") or {}).get(window.column)
        nulls = (action.get("null_count") or {}).get(window.column)
        if low is None or high is None:
            if nulls is not None and nulls == action.get("num_records"):
                continue  # every value is NULL: nothing of the window
            rewrite.append(item)
        elif high < window.start or low >= window.end:
            continue
        elif low >= window.start and high < window.end and nulls == 0:
            drop.append(item)
        else:
            rewrite.append(item)
    return drop, rewrite
