"""Delta tables without a JVM Delta: delta-rs (`deltalake`) for the log, Spark's Parquet reader for the data.

Used by the DELTA extractor and loader when the Spark session has no Delta of its own (plain local
Spark; Glue/EMR without Delta enabled). delta-rs reads the transaction log and gives the table's
current (or time-travelled) file list; Spark reads those Parquet files in parallel, so the driver
only ever holds the file list, never the rows.

Reading the files directly is exact for tables whose protocol needs no reader feature we would have
to apply (`check_plain_files`): reader version 1, or reader 3 with only ``timestampNtz``,
``v2Checkpoint`` or ``vacuumProtocolCheck``. Deletion vectors and column mapping need Spark Delta.
Partition columns come from the ``col=value`` directories (``basePath``), typed by the table schema.

Time travel follows Spark Delta: a ``version`` past the latest and a ``timestamp`` before the first
(earliest available) commit or after the latest commit are errors naming the table's range, never the
nearest snapshot. A timestamp picks the latest version committed at or before it, by the commit
times recorded in the log (``inCommitTimestamp`` or ``timestamp`` of each commit, to the millisecond).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from deltalake import DeltaTable
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
#: Reader features that do not change how the Parquet files must be read.
HARMLESS_READER_FEATURES = {"timestampNtz", "v2Checkpoint", "vacuumProtocolCheck"}


def delta_uri(path: str) -> str:
    """The URI delta-rs and pyarrow understand for a user path (``s3a://`` -> ``s3://``, ``file:`` -> local)."""
    if path.startswith(("s3a://", "s3n://")):
        return "s3://" + path.split("://", 1)[1]
    if path.startswith("file:"):
        return "/" + path[len("file:") :].lstrip("/")
    if "://" in path:
        return path
    return os.path.abspath(path)


def table_exists(path: str) -> bool:
    """True when `path` holds a Delta table (a readable ``_delta_log``)."""
    from deltalake import DeltaTable

    return bool(DeltaTable.is_deltatable(delta_uri(path)))


def open_table(path: str, *, version: int | None = None, timestamp: dt.datetime | None = None) -> DeltaTable:
    """The Delta table at `path`, at its latest version, a `version`, or as of a `timestamp` (UTC if naive).

    As Spark Delta does, a version the table does not have and a timestamp outside its commit history
    (before the first commit or after the latest) are errors rather than the nearest snapshot.
    """
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError

    uri = delta_uri(path)
    if version is not None:
        try:
            return DeltaTable(uri, version=version)
        except DeltaError:
            latest = DeltaTable(uri).version()
            if version > latest:
                raise ValueError(missing_version(path, version, latest)) from None
            raise
    table = DeltaTable(uri)
    if timestamp is not None:
        aware = timestamp.replace(tzinfo=dt.timezone.utc) if timestamp.tzinfo is None else timestamp
        found = version_at(table, path, aware.astimezone(dt.timezone.utc))
        if found is None:
            table.load_as_version(aware)
        elif found != table.version():
            table.load_as_version(found)
    return table


def version_at(table: DeltaTable, path: str, timestamp: dt.datetime) -> int | None:
    """The latest version committed at or before `timestamp`, from the commit times in the table's history.

    Raises when `timestamp` is before the earliest available commit or after the latest one (compared
    to the millisecond, as Delta records them); None when the commits record no time.
    """
    commits: list[tuple[int, int]] = []
    for entry in sorted(table.history(), key=lambda item: int(item["version"])):
        millis = entry.get("inCommitTimestamp", entry.get("timestamp"))
        if not isinstance(millis, int):
            return None
        # Commit times must grow with the version; a writer's clock running behind is corrected as Delta does.
        commits.append((int(entry["version"]), max(millis, commits[-1][1] + 1) if commits else millis))
    return version_in(commits, path, timestamp)


def version_in(commits: list[tuple[int, int]], path: str, timestamp: dt.datetime) -> int | None:
    """The latest of `commits` ((version, epoch millis), oldest first) at or before `timestamp`; raises outside them.

    Shared by both engines' time travel, so a timestamp outside the history reads the same on each.
    """
    if not commits:
        return None
    wanted = (timestamp - _EPOCH) // dt.timedelta(milliseconds=1)
    (first, first_ms), (last, last_ms) = commits[0], commits[-1]
    if wanted < first_ms:
        which = "first commit" if first == 0 else f"earliest available commit (version {first})"
        raise ValueError(
            f"DELTA {path}: timestamp {timestamp.isoformat()} is before the table's {which} ({_commit_time(first_ms)})"
        )
    if wanted > last_ms:
        raise ValueError(
            f"DELTA {path}: timestamp {timestamp.isoformat()} is after the latest commit "
            f"(version {last}, {_commit_time(last_ms)})"
        )
    return max(version for version, millis in commits if millis <= wanted)


def missing_version(path: str, version: int, latest: int) -> str:
    """The refusal of a `version` past the table's `latest` (both engines)."""
    return f"DELTA {path}: version {version} does not exist (latest is {latest})"


def _commit_time(millis: int) -> str:
    return (_EPOCH + dt.timedelta(milliseconds=millis)).isoformat(timespec="milliseconds")


def check_plain_files(table: DeltaTable) -> None:
    """Raise unless reading the table's Parquet files directly gives exactly the table's rows."""
    protocol = table.protocol()
    features = set(protocol.reader_features or [])
    if protocol.min_reader_version == 1 or (protocol.min_reader_version == 3 and features <= HARMLESS_READER_FEATURES):
        return
    extra = sorted(features - HARMLESS_READER_FEATURES)
    needs = f"reader features {', '.join(extra)}" if extra else f"reader version {protocol.min_reader_version}"
    raise ValueError(f"Delta table {table.table_uri} needs {needs}: read it on a Spark session with Delta")


def spark_schema(table: DeltaTable) -> StructType:
    """The table schema as a Spark `StructType` (Delta's schema JSON is Spark's)."""
    from pyspark.sql.types import StructType

    return StructType.fromJson(json.loads(table.schema().to_json()))


def relative_paths(table: DeltaTable) -> list[str]:
    """The table's current data files, relative to its root as they are on storage (log paths are URL-encoded)."""
    import pyarrow as pa

    actions = pa.table(table.get_add_actions(flatten=False))
    return [unquote(path) for path in actions.column("path").to_pylist()]


def read_table_files(spark: SparkSession, table: DeltaTable, root: str, paths: list[str] | None = None) -> DataFrame:
    """Read the table's files (or the given relative `paths`) with Spark's Parquet reader, in table column order."""
    schema = spark_schema(table)
    files = relative_paths(table) if paths is None else paths
    partitions = list(table.metadata().partition_columns)
    _check_hive_layout(files, partitions, table.table_uri)
    if not files:
        return spark.createDataFrame([], schema)
    base = root.rstrip("/")
    absolute = [path if "://" in path or path.startswith("/") else f"{base}/{path}" for path in files]
    frame = spark.read.schema(schema).option("basePath", base).parquet(*absolute)
    return frame.select(*[f"`{name}`" for name in schema.fieldNames()])


def _check_hive_layout(files: list[str], partitions: list[str], uri: str) -> None:
    """Partition values are read from ``col=value`` directories: make sure every file lives in them."""
    if not partitions:
        return
    for path in files:
        dirs = path.split("/")[:-1][-len(partitions) :]
        if [part.split("=", 1)[0] for part in dirs] != partitions:
            raise ValueError(
                f"Delta table {uri}: file {path} is not under {'/'.join(p + '=...' for p in partitions)}; "
                "read it on a Spark session with Delta"
            )


def table_summary(table: DeltaTable) -> dict[str, Any]:
    """Version and protocol of a table, for load/extract details."""
    protocol = table.protocol()
    return {
        "version": table.version(),
        "min_reader_version": protocol.min_reader_version,
        "min_writer_version": protocol.min_writer_version,
    }
