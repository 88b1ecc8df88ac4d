"""The Spark Delta DELTA writer: every write mode as one Spark Delta commit, with the delta-rs writer's contract.

The loader takes this engine when the session has Spark's own Delta (Databricks; Glue/EMR with Delta): a
``format("delta")`` write (``replaceWhere`` for replace_window) or one ``MERGE INTO``. It keeps what the delta-rs
writer (`writer`) promises, so a job gets the same table, the same errors and the same `LoadResult` on either:

* the rows are prepared alike (`prepare_frame`: top-level ``timestamp_ntz`` written as ``timestamp``), so a new
  table needs no ``timestampNtz`` feature (locally: protocol reader 1 / writer 2) and Glue 4's Delta 2.1 reads it;
* an existing table is checked before any work as delta-rs checks it (`check_compatible`): merge keys against
  its columns, then its columns and partitioning against the rows'. Only ``overwrite`` may change them (Delta's
  ``overwriteSchema``); an overwrite without ``partition_by`` keeps the table's partitioning;
* replace_window refuses rows with the window column NULL or outside the run window, also when the load creates
  the table (Spark Delta checks ``replaceWhere`` only against an existing table), with the delta-rs message: the
  failed write is followed by one count of those rows. A merge batch holding a key twice is refused alike;
* ``detail`` has the delta-rs keys, read from this load's own commit's ``operationMetrics`` in the table history
  (the version after the one the load found, not the latest: an auto compaction may follow; an empty append
  that Delta records no commit for reports 0 files and a ``note``; Delta 3.3 on Spark 3.5 may leave
  ``MERGE INTO``'s own row count out, the history has it): ``engine``, ``files_added``, ``created``, ``version``,
  ``min_reader_version``, ``min_writer_version``; replace_window into an existing table adds ``files_removed``
  and ``rows_kept_from_rewritten_files``; a merge into an existing table reports ``rows_inserted``,
  ``rows_updated``, ``files_added`` and ``files_removed`` (no ``created``), and with an empty source commits
  nothing and says so in ``note``;
* rows counted upstream stay right: on Spark 3.5 + Delta 3.3, whose ``MERGE INTO`` would leave the source's
  ``observe`` metrics (the extractor's ``rows_read``) at 0, the source is first persisted (on disk) and counted
  (`dwh.platforms.spark_compat.delta_merge_hides_observations`).

What stays each engine's own: the data files and their statistics (Spark writes INT96 timestamps and statistics
truncated to milliseconds, which its data skipping allows for; `files` writes UTC microseconds with widened
bounds), and the exception a refusal chains (``__cause__``: Spark's here, delta-rs's there).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dwh.platforms.spark_compat import delta_merge_hides_observations, not_found
from dwh.strategies.loaders.base import LoadResult
from dwh.strategies.loaders.delta.files import WindowCheck
from dwh.strategies.loaders.delta.merge import duplicate_key_message, merge_keys, merge_predicate
from dwh.strategies.loaders.delta.writer import check_compatible, delta_schema_json, prepare_frame, schema_columns
from dwh.strategies.tables import Location

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

ENGINE = "spark-delta"
#: The text of the error a row outside the window raises in a replace_window load that creates the table.
_OUTSIDE_MARK = "dwh-replace-window: a row outside the run window"
#: Spark Delta's error classes for the two refusals the delta-rs writer words itself.
_REPLACE_WHERE_MISMATCH = "DELTA_REPLACE_WHERE_MISMATCH"
_DUPLICATE_SOURCE_ROWS = "DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE"


@dataclass(frozen=True)
class TableState:
    """An existing table as a load finds it: its version, Delta schema JSON (all nullable) and partition columns."""

    version: int
    schema: dict[str, Any]
    partition_columns: list[str]


@dataclass(frozen=True)
class Commit:
    """The table's latest commit: its version and ``operationMetrics`` (numbers as Delta reports them, text)."""

    version: int
    metrics: dict[str, str]

    def count(self, name: str) -> int:
        """The metric `name` as an int (0 when the commit does not report it)."""
        value = self.metrics.get(name)
        return 0 if value is None else int(value)


class SparkDeltaWriter:
    """Writes a DataFrame to the Delta table at `location` in one Spark Delta commit, reported like `DeltaRsWriter`."""

    def __init__(self, *, location: Location, partition_by: list[str] | None) -> None:
        self.location = location
        self.label = location.describe()
        self.reference = location.delta_reference()
        self.partition_by = list(partition_by or [])

    def write(self, frame: DataFrame, *, mode: str, keys: list[str] | None, window: WindowCheck | None) -> LoadResult:
        """Apply `mode`; a table that does not exist yet is created from the rows whatever the mode."""
        spark = frame.sparkSession
        frame = prepare_frame(frame)
        state = self.table_state(spark)
        if state is not None:
            if mode == "merge":
                assert keys
                merge_keys(keys, schema_columns(state.schema), f"DELTA {self.label}: the table")
            self.partition_by = check_compatible(
                self.label,
                table_schema=state.schema,
                table_partitions=state.partition_columns,
                schema=delta_schema_json(frame),
                partition_by=self.partition_by,
                overwrite=mode == "overwrite",
            )
            if mode == "merge":
                assert keys
                return self._merge(spark, frame, keys, state)
        rows = self._save(frame, mode=mode, window=window, new_table=state is None)
        commit = self.own_commit(spark, state)
        if commit is None:  # Delta records no commit for an empty append (or a window with nothing to replace)
            assert state is not None
            nothing = {"engine": ENGINE, "files_added": 0, "created": False, "note": "nothing to write: no commit"}
            summary = self.summary(spark, Commit(version=state.version, metrics={}))
            return LoadResult(target=self.label, rows_written=rows, detail={**nothing, **summary})
        detail: dict[str, Any] = {
            "engine": ENGINE,
            "files_added": commit.count("numFiles"),
            "created": state is None,
        }
        if window is not None and state is not None:
            detail.update(
                files_removed=commit.count("numRemovedFiles"),
                rows_kept_from_rewritten_files=commit.count("numCopiedRows"),
            )
        return LoadResult(target=self.label, rows_written=rows, detail={**detail, **self.summary(spark, commit)})

    def table_state(self, spark: SparkSession) -> TableState | None:
        """The table as it is now, or None when there is no Delta table there yet."""
        from pyspark.errors import AnalysisException

        try:
            detail = spark.sql(f"DESCRIBE DETAIL {self.reference}").collect()[0]
        except AnalysisException as error:
            if not_found(error):
                return None
            raise
        schema = delta_schema_json(spark.sql(f"SELECT * FROM {self.reference}"))
        version = self.last_commit(spark).version
        return TableState(version=version, schema=schema, partition_columns=list(detail["partitionColumns"] or []))

    def last_commit(self, spark: SparkSession) -> Commit:
        """The latest commit in the table's history."""
        row = spark.sql(f"DESCRIBE HISTORY {self.reference} LIMIT 1").collect()[0]
        return Commit(version=int(row["version"]), metrics=dict(row["operationMetrics"] or {}))

    def own_commit(self, spark: SparkSession, state: TableState | None) -> Commit | None:
        """This load's commit: the version right after the one the load found (0 for a new table), None if none.

        Not simply the latest: Databricks' auto compaction (or predictive optimization) may commit an OPTIMIZE
        right after a write. One writer per target is assumed (README, Known limits).
        """
        wanted = 0 if state is None else state.version + 1
        recent = spark.sql(f"DESCRIBE HISTORY {self.reference} LIMIT 10").collect()
        if recent and int(recent[0]["version"]) > wanted + len(recent) - 1:  # ours is older than the last ten
            recent = spark.sql(f"DESCRIBE HISTORY {self.reference}").where(f"version = {wanted}").collect()
        for row in recent:
            if int(row["version"]) == wanted:
                return Commit(version=wanted, metrics=dict(row["operationMetrics"] or {}))
        return None

    def summary(self, spark: SparkSession, commit: Commit) -> dict[str, Any]:
        """Version and protocol of the table after `commit` (the keys of `delta_rs.table_summary`)."""
        detail = spark.sql(f"DESCRIBE DETAIL {self.reference}").collect()[0]
        return {
            "version": commit.version,
            "min_reader_version": int(detail["minReaderVersion"]),
            "min_writer_version": int(detail["minWriterVersion"]),
        }

    def _save(self, frame: DataFrame, *, mode: str, window: WindowCheck | None, new_table: bool) -> int:
        """One ``format("delta")`` write of `frame` (creating the table when `new_table`); the rows it wrote."""
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        source = frame
        if window is not None and new_table:  # Spark Delta checks replaceWhere only against an existing table
            source = frame.where(F.when(window.outside(), F.raise_error(F.lit(_OUTSIDE_MARK))).otherwise(F.lit(True)))
        observation = Observation(f"load_delta_{uuid.uuid4().hex[:8]}")
        writer = source.observe(observation, F.count(F.lit(1)).alias("rows")).write.format("delta")
        if self.partition_by:
            writer = writer.partitionBy(*self.partition_by)
        if window is not None:
            writer = writer.option("replaceWhere", window.sql())
        if mode == "overwrite" and not new_table:  # an overwrite may change columns and partitioning
            writer = writer.option("overwriteSchema", "true")
        # A new table is created, never appended to: a table that appeared meanwhile fails the load
        if new_table:
            writer = writer.mode("errorifexists")
        else:
            writer = writer.mode("append" if mode in ("append", "merge") else "overwrite")
        try:
            if self.location.table:
                writer.saveAsTable(self.location.table)
            else:
                writer.save(self.location.path)
        except Exception as error:
            if window is None or not any(mark in str(error) for mark in (_OUTSIDE_MARK, _REPLACE_WHERE_MISMATCH)):
                raise
            outside = frame.where(window.outside()).count()
            if not outside:
                raise
            raise ValueError(window.refusal(outside)) from error
        return int(observation.get["rows"])

    def _merge(self, spark: SparkSession, frame: DataFrame, keys: list[str], state: TableState) -> LoadResult:
        """``MERGE INTO`` the existing table on `keys`: update every column of matching rows, insert the others."""
        from pyspark import StorageLevel

        empty = LoadResult(
            target=self.label, rows_written=0, detail={"engine": ENGINE, "note": "empty source: nothing merged"}
        )
        cached = None
        if delta_merge_hides_observations():
            # An ordinary action over the source first, so what upstream observes (the extractor's rows) is counted;
            # the merge then reads the same rows from disk (as Delta's own source materialization would).
            cached = frame = frame.persist(StorageLevel.DISK_ONLY)
        view = f"dwh_merge_source_{uuid.uuid4().hex[:12]}"
        try:
            if cached is not None and cached.count() == 0:
                return empty
            frame.createOrReplaceTempView(view)
            spark.sql(
                f"MERGE INTO {self.reference} t USING {view} s ON {merge_predicate(keys)} "
                "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
            ).collect()
        except Exception as error:
            if _DUPLICATE_SOURCE_ROWS not in str(error):
                raise
            raise ValueError(duplicate_key_message(self.label)) from error
        finally:
            spark.catalog.dropTempView(view)
            if cached is not None:
                cached.unpersist()
        commit = self.own_commit(spark, state)
        if commit is None:  # Delta commits no merge of an empty source
            return empty
        inserted = commit.count("numTargetRowsInserted")
        updated = commit.count("numTargetRowsUpdated")
        detail = {
            "engine": ENGINE,
            "rows_inserted": inserted,
            "rows_updated": updated,
            "files_added": commit.count("numTargetFilesAdded"),
            "files_removed": commit.count("numTargetFilesRemoved"),
        }
        return LoadResult(
            target=self.label, rows_written=inserted + updated, detail={**detail, **self.summary(spark, commit)}
        )
