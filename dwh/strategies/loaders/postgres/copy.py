"""The executor half of the POSTGRES loader: each Spark partition streams into its own staging table.

`stage_partitions` runs `copy_partition` on the executors through ``mapInArrow`` (Spark 3.3+ and 4,
classic and Connect). A task receives its partition as Arrow record batches, encodes each batch in
PostgreSQL's binary COPY format with numpy (`binary`: no Python object per row) and streams
it into ``COPY ... FROM STDIN (FORMAT binary, FREEZE)`` through psycopg's queued writer, so encoding
and sending overlap. Binary rather than CSV: exact by construction (NULL is a length of -1, values
are their binary send forms, strings their UTF-8 bytes) and it halves the server's parsing work.

Two ways to stage, chosen by the driver (`StagingPlan.shared`):

* per partition (the insert path): each task, in one transaction, drops and re-creates its UNLOGGED
  table ``<prefix>_p<partition>`` from the run's template, then COPYs into it with FREEZE. A retried
  task replaces its partition instead of adding to it.
* shared (the swap path, see `swap`): every task COPYs into the one table ``<prefix>_s``, which has
  the target's column types, in a transaction that first inserts ``(partition_id, 0)`` into the
  ledger ``<prefix>_l`` (primary key partition_id) and sets the row count before it commits. A second
  attempt of a partition (a retry, a speculative copy) blocks on that key while the first runs; if the
  first committed it gets a unique violation, adds nothing and reports the committed count; if the
  first died it goes ahead. The driver checks that the ledger holds every partition that had rows.

A task that dies rolls back either way. Only connecting is retried here (`dwh.retry.RetryPolicy`:
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
    shared: bool = False  # one table <prefix>_s + ledger <prefix>_l instead of one table per partition
    target: str = ""  # schema.table, named in errors instead of the staging table


def shared_table(prefix: str) -> str:
    """The one staging table of a shared-staging run (it becomes the target on a swap)."""
    return f"{prefix}_s"


def ledger_table(prefix: str) -> str:
    """The table recording which partitions a shared-staging run has committed, and their rows."""
    return f"{prefix}_l"


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
    """Executor side: stream this partition's batches into its staging table; yield one count row."""
    import psycopg
    from psycopg import sql
    from psycopg.copy import QueuedLibpqWriter
    from pyspark import TaskContext

    context = TaskContext.get()
    partition_id = context.partitionId() if context is not None else 0
    pending = (batch for batch in batches if batch.num_rows)
    first = next(pending, None)
    rows = 0
    if first is not None:
        name = shared_table(plan.prefix) if plan.shared else partition_table(plan.prefix, partition_id)
        table = sql.Identifier(plan.schema, name)
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary{})").format(
            table,
            sql.SQL(", ").join(sql.Identifier(column) for column in plan.columns),
            sql.SQL("" if plan.shared else ", FREEZE true"),
        )
        with connect(plan.connect_kwargs, plan.retry) as conn:
            # the final transaction's synchronous commit flushes this WAL too; UNLOGGED tables write none
            conn.execute("SET LOCAL synchronous_commit = off")
            if plan.shared:
                committed = _claim_partition(conn, plan, partition_id)
                if committed is not None:  # another attempt of this partition committed: add nothing
                    yield _count_batch(partition_id, committed)
                    return
            else:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
                conn.execute(
                    sql.SQL("CREATE UNLOGGED TABLE {} (LIKE {})").format(
                        table, sql.Identifier(plan.schema, plan.template)
                    )
                )
            cursor = conn.cursor()
            try:
                with cursor.copy(copy_sql, writer=QueuedLibpqWriter(cursor)) as copy:
                    copy.write(HEADER)
                    for batch in _chain(first, pending):
                        copy.write(encode_batch(batch))
                        rows += batch.num_rows
                    copy.write(TRAILER)
            except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
                raise ValueError(_data_error_text(exc, name, plan.target)) from None
            if plan.shared:
                conn.execute(
                    sql.SQL("UPDATE {} SET rows = %s WHERE partition_id = %s").format(
                        sql.Identifier(plan.schema, ledger_table(plan.prefix))
                    ),
                    [rows, partition_id],
                )
            conn.commit()
    yield _count_batch(partition_id, rows)


def _claim_partition(conn: psycopg.Connection, plan: StagingPlan, partition_id: int) -> int | None:
    """Insert this partition's ledger row (waits for a running attempt); the committed count if one won."""
    import psycopg
    from psycopg import sql

    ledger = sql.Identifier(plan.schema, ledger_table(plan.prefix))
    try:
        with conn.transaction():  # a savepoint: the unique violation must not end the outer transaction
            conn.execute(sql.SQL("INSERT INTO {} (partition_id, rows) VALUES (%s, 0)").format(ledger), [partition_id])
    except psycopg.errors.UniqueViolation:
        row = conn.execute(sql.SQL("SELECT rows FROM {} WHERE partition_id = %s").format(ledger), [partition_id])
        found = row.fetchone()
        conn.rollback()
        return int(found[0]) if found else 0
    return None


def _count_batch(partition_id: int, rows: int) -> pa.RecordBatch:
    import pyarrow as pa

    return pa.RecordBatch.from_pydict(
        {"partition_id": [partition_id], "staged_rows": [rows]},
        schema=pa.schema([("partition_id", pa.int32()), ("staged_rows", pa.int64())]),
    )


def _data_error_text(exc: psycopg.Error, staging: str, target: str) -> str:
    """PostgreSQL's message plus the column its COPY context names (the target named, not the staging table)."""
    import re

    message = (exc.diag.message_primary or str(exc)).replace(f'"{staging}"', f'"{target}"')
    column = re.search(r"column (\w+)", exc.diag.context or "")
    return f"{message} (column {column.group(1)})" if column and "column" not in message else message


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest
