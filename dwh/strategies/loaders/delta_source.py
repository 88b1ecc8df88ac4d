"""DELTA merge through delta-rs, with the source streamed to the driver from Parquet files Spark tasks wrote.

delta-rs merges an Arrow source into the table (``DeltaTable.merge``), so the source rows have to
reach the driver process. They never arrive whole: the Spark tasks first write the source, partition
by partition, as Parquet files into a hidden sibling of the table (``.<table>.dwh-merge-<id>``, the
same executor-side writer as every other mode), and the driver hands delta-rs a
`pyarrow.RecordBatchReader` scanning those files batch by batch. Driver memory bound: pyarrow's scan
read-ahead (a few batches of a few files) plus what delta-rs's merge keeps of the source (it runs
with ``streamed_exec=True``, reading the source once; its join spills to disk beyond its memory
pool). The source is written by an ordinary Spark action, so row counts observed upstream (the
extractor's ``rows_read``) stay right — pulling partitions with ``toLocalIterator`` would lose them.

The merge commits once; a failure before leaves the table as it was. The staged files are deleted
afterwards; the next merge into the same table sweeps the leftovers of a killed one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dwh.strategies.loaders.delta_files import FileWriterSpec, WrittenFiles, write_data_files

if TYPE_CHECKING:
    import pyarrow as pa
    from deltalake import DeltaTable
    from pyspark.sql import DataFrame

    from dwh.strategies.loaders.delta_rs_writer import DeltaRsOutcome

STAGE_MARK = "dwh-merge"


def merge_predicate(keys: list[str]) -> str:
    """``t.`k1` = s.`k1` AND ...`` (backticks keep the column names' case in delta-rs's SQL parser)."""
    return " AND ".join(f"t.`{key}` = s.`{key}`" for key in keys)


def _stage_root(uri: str, run_id: str) -> tuple[str, str, str]:
    """(parent URI, prefix of this table's stage directories, this run's stage URI)."""
    parent, name = uri.rstrip("/").rsplit("/", 1)
    prefix = f".{name}.{STAGE_MARK}-"
    return parent, prefix, f"{parent}/{prefix}{run_id}"


def _sweep(parent: str, prefix: str) -> None:
    """Delete stage directories a killed merge left beside the table (one writer per table)."""
    from pyarrow import fs

    filesystem, base = fs.FileSystem.from_uri(parent)
    for info in filesystem.get_file_info(fs.FileSelector(base, allow_not_found=True)):
        if info.type == fs.FileType.Directory and info.base_name.startswith(prefix):
            filesystem.delete_dir(info.path)


def staged_reader(root: str, staged: WrittenFiles) -> pa.RecordBatchReader:
    """A reader scanning the staged files batch by batch."""
    import pyarrow.dataset as ds
    from pyarrow import fs

    filesystem, base = fs.FileSystem.from_uri(root)
    paths = [f"{base.rstrip('/')}/{item['path']}" for item in staged.files]
    return ds.dataset(paths, filesystem=filesystem, format="parquet").scanner().to_reader()


def merge_into(table: DeltaTable, frame: DataFrame, keys: list[str], *, uri: str, run_id: str) -> DeltaRsOutcome:
    """Upsert `frame` into `table` on `keys`: update every column of matching rows, insert the others."""
    from pyarrow import fs

    from dwh.strategies import delta_rs
    from dwh.strategies.loaders.delta_rs_writer import DeltaRsOutcome

    parent, prefix, stage = _stage_root(uri, run_id)
    _sweep(parent, prefix)
    detail: dict[str, Any] = {"engine": "delta-rs"}
    try:
        staged = write_data_files(frame, FileWriterSpec(root=stage))
        if staged.rows == 0:
            return DeltaRsOutcome(rows=0, detail={**detail, "note": "empty source: nothing merged"})
        merger = table.merge(
            source=staged_reader(stage, staged),
            predicate=merge_predicate(keys),
            source_alias="s",
            target_alias="t",
            streamed_exec=True,
        )
        metrics = merger.when_matched_update_all().when_not_matched_insert_all().execute()
    finally:
        filesystem, base = fs.FileSystem.from_uri(stage)
        if filesystem.get_file_info(base).type != fs.FileType.NotFound:
            filesystem.delete_dir(base)
    table.update_incremental()
    for name in (
        "num_target_rows_inserted",
        "num_target_rows_updated",
        "num_target_files_added",
        "num_target_files_removed",
    ):
        if name in metrics:
            detail[name.removeprefix("num_target_")] = metrics[name]
    return DeltaRsOutcome(rows=staged.rows, detail={**detail, **delta_rs.table_summary(table)})
