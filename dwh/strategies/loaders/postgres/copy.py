"""The executor half of the POSTGRES loader: each Spark partition streams into its own staging table.

`stage_partitions` runs `copy_partition` on the executors through ``mapInArrow`` (Spark 3.3+ and 4,
classic and Connect). A task receives its partition as Arrow record batches, encodes each batch in
PostgreSQL's binary COPY format with numpy (`binary`: no Python object per row) and streams
it into ``COPY ... FROM STDIN (FORMAT binary, FREEZE)`` through psycopg's queued writer, so encoding
and sending overlap. Binary rather than CSV: exact by construction (NULL is a length of -1, values
are their binary send forms, strings their UTF-8 bytes) and it halves the server's parsing work.

Each task, in one transaction, drops and re-creates its table ``<prefix>_p<partition>`` from the
run's template, then COPYs into it. A retried task therefore replaces its partition instead of
adding to it, and a task that dies rolls back. Only connecting is retried here (`dwh.retry.RetryPolicy`:
psycopg's ``OperationalError`` and other transient errors); a failure mid-stream fails the task and
Spark retries the task.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dwh.retry import RetryPolicy
from dwh.strategies.loaders.postgres.binary import HEADER, TRAILER, encode_batch

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa
    from pyspark.sql import DataFrame


def connect(connect_kwargs: dict[str, Any], retry: RetryPolicy, *, autocommit: bool = False) -> psycopg.Connection:
    """Open a psycopg connection (UTC session time zone), retrying transient failures."""
    import psycopg

    def attempt() -> psycopg.Connection:
        conn = psycopg.connect(**connect_kwargs, autocommit=autocommit)
        conn.execute("SET TIME ZONE 'UTC'")
        if not autocommit:
            conn.commit()
        return conn

    return retry.call(attempt, what="POSTGRES connect")


@dataclass(frozen=True)
class StagingPlan:
    """What every task needs to stage its partition (pickled to the executors)."""

    connect_kwargs: dict[str, Any]
    schema: str
    template: str
    prefix: str
    columns: tuple[str, ...]
    retry: RetryPolicy


def stage_partitions(frame: DataFrame, plan: StagingPlan) -> dict[int, int]:
    """COPY every partition of `frame` into its staging table; returns partition -> rows staged."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return copy_partition(batches, plan)

    result = frame.mapInArrow(run, "partition_id int, staged_rows long").collect()
    return {int(row["partition_id"]): int(row["staged_rows"]) for row in result}


def partition_table(prefix: str, partition_id: int) -> str:
    """The staging table of one Spark partition."""
    return f"{prefix}_p{partition_id}"


def copy_partition(batches: Iterator[pa.RecordBatch], plan: StagingPlan) -> Iterator[pa.RecordBatch]:
    """Executor side: stream this partition's batches into ``<prefix>_p<partition>``; yield one count row."""
    import psycopg
    import pyarrow as pa
    from psycopg import sql
    from psycopg.copy import QueuedLibpqWriter
    from pyspark import TaskContext

    context = TaskContext.get()
    partition_id = context.partitionId() if context is not None else 0
    pending = (batch for batch in batches if batch.num_rows)
    first = next(pending, None)
    rows = 0
    if first is not None:
        table = sql.Identifier(plan.schema, partition_table(plan.prefix, partition_id))
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary, FREEZE true)").format(
            table, sql.SQL(", ").join(sql.Identifier(column) for column in plan.columns)
        )
        with connect(plan.connect_kwargs, plan.retry) as conn:
            conn.execute("SET LOCAL synchronous_commit = off")  # staging is UNLOGGED: nothing to wait for
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
            conn.execute(
                sql.SQL("CREATE UNLOGGED TABLE {} (LIKE {})").format(table, sql.Identifier(plan.schema, plan.template))
            )
            cursor = conn.cursor()
            try:
                with cursor.copy(copy_sql, writer=QueuedLibpqWriter(cursor)) as copy:
                    copy.write(HEADER)
                    for batch in _chain(first, pending):
                        copy.write(encode_batch(batch))
                        rows += batch.num_rows
                    copy.write(TRAILER)
            except psycopg.errors.DataError as exc:
                raise ValueError(_data_error_text(exc)) from None
            conn.commit()
    yield pa.RecordBatch.from_pydict(
        {"partition_id": [partition_id], "staged_rows": [rows]},
        schema=pa.schema([("partition_id", pa.int32()), ("staged_rows", pa.int64())]),
    )


def _data_error_text(exc: psycopg.errors.DataError) -> str:
    """PostgreSQL's message plus the column its COPY context names (the staging table's name left out)."""
    import re

    message = exc.diag.message_primary or str(exc)
    column = re.search(r"column (\w+)", exc.diag.context or "")
    return f"{message} (column {column.group(1)})" if column else message


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest
