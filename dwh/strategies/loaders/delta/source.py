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

delta-rs's merge writes the partition directories itself and would write an empty string as a
``col=`` directory Spark cannot read: "" in a partition column is staged as NULL, as every other
mode writes it (`files`). A batch holding a key twice that matches a
table row fails in one line (``deduplicate it first``), as Spark Delta's merge fails.

The merge commits once; a failure before leaves the table as it was. The staged files are deleted
afterwards; the next merge into the same table sweeps the leftovers of a killed one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dwh.strategies import delta_rs
from dwh.strategies.loaders.base import LoadResult
from dwh.strategies.loaders.delta.files import FileWriterSpec, WrittenFiles, write_data_files
from dwh.strategies.loaders.delta.merge import duplicate_key_message, merge_predicate

if TYPE_CHECKING:
    import pyarrow as pa
    from deltalake import DeltaTable
    from pyspark.sql import DataFrame

STAGE_MARK = "dwh-merge"


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


def blank_partitions_as_null(frame: DataFrame, partition_columns: list[str]) -> DataFrame:
    """The frame with "" in its string partition columns replaced by NULL (what Delta stores for "")."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    blanks = {f.name for f in frame.schema.fields if isinstance(f.dataType, StringType) and f.name in partition_columns}
    if not blanks:
        return frame
    columns = []
    for name in frame.columns:
        column = F.col(f"`{name}`")
        columns.append(F.when(column == "", F.lit(None)).otherwise(column).alias(name) if name in blanks else column)
    return frame.select(*columns)


def _execute(merger: Any, label: str) -> dict[str, Any]:
    """Run the merge; a key repeated in the batch becomes one line naming the target."""
    from deltalake.exceptions import DeltaError

    try:
        return dict(merger.when_matched_update_all().when_not_matched_insert_all().execute())
    except DeltaError as error:
        if "multiple source rows" not in str(error):
            raise
        raise ValueError(duplicate_key_message(label)) from error


def merge_into(
    table: DeltaTable, frame: DataFrame, keys: list[str], *, uri: str, run_id: str, label: str
) -> LoadResult:
    """Upsert `frame` into `table` on `keys`: update every column of matching rows, insert the others."""
    from pyarrow import fs

    parent, prefix, stage = _stage_root(uri, run_id)
    _sweep(parent, prefix)
    detail: dict[str, Any] = {"engine": "delta-rs"}
    try:
        source = blank_partitions_as_null(frame, list(table.metadata().partition_columns))
        staged = write_data_files(source, FileWriterSpec(root=stage))
        if staged.rows == 0:
            return LoadResult(target=label, rows_written=0, detail={**detail, "note": "empty source: nothing merged"})
        merger = table.merge(
            source=staged_reader(stage, staged),
            predicate=merge_predicate(keys),
            source_alias="s",
            target_alias="t",
            streamed_exec=True,
        )
        metrics = _execute(merger, label)
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
    return LoadResult(target=label, rows_written=staged.rows, detail={**detail, **delta_rs.table_summary(table)})
