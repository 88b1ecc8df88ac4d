"""merge / replace_window into a target that holds rows, committed by a rewrite and a swap.

The insert path writes every staged row a second time into the indexed target (``INSERT ... ON
CONFLICT`` for merge, ``DELETE`` + ``INSERT`` for replace_window). When the target holds no more
rows than the batch, it is cheaper to copy the rows the target keeps into the shared staging table
and swap that in (`swap`): the staged rows are written once, the kept rows once, and the indexes
are built in one pass instead of row by row. In the final transaction, under the target's ACCESS
EXCLUSIVE lock:

    held  = rows of the target, counted up to batch + 1 (a bounded scan, so a large target costs little)
    held > batch                      -> the insert path, from the same shared staging
    merge:          INSERT INTO staged SELECT <target rows whose keys are not staged>
    replace_window: INSERT INTO staged SELECT <target rows outside the run window (or null there)>
    then the swap, exactly as overwrite does it

The result is the insert path's result: merge keeps each target row whose key the batch lacks and
takes the batch's row for every other key; replace_window keeps every row outside the window. What
differs is cost (measured in ``bench_postgres_loader``: merge of 2M rows into 1M and replace_window of
2M rows into 100k) and ``detail``: ``commit`` is ``swap`` and ``rows_kept`` counts the copied rows.

A merge rewrites only when the batch has every column the target stores (a matched row takes the
batch's row whole; the insert path would keep the columns the batch lacks) and every key column is
NOT NULL (a null key never matches, on both paths, but a ``NULLS NOT DISTINCT`` unique index would
treat two nulls as one). Anything else takes the insert path, saying why in ``detail["swap_skipped"]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dwh.strategies.loaders.postgres import sql as q

if TYPE_CHECKING:
    import psycopg

MODES = frozenset({"merge", "replace_window"})


def refusal(conn: psycopg.Connection, oid: int, mode: str, columns: list[str], keys: list[str]) -> str | None:
    """Why `mode` cannot commit into this non-empty target by a rewrite (None: it can, row counts permitting)."""
    if mode not in MODES:
        return "the target holds rows"
    if mode != "merge":
        return None
    stored = stored_columns(conn, oid)
    missing = [name for name, _ in stored if name not in columns]
    if missing:
        return f"the batch has no column(s) {', '.join(missing)}, which the target's matched rows keep"
    nullable = [name for name, not_null in stored if name in keys and not not_null]
    if nullable:
        return f"merge key column(s) {', '.join(nullable)} are not NOT NULL"
    return None


def stored_columns(conn: psycopg.Connection, oid: int) -> list[tuple[str, bool]]:
    """The columns a row stores (not dropped, not generated), in order, with their NOT NULL flag."""
    return [
        (str(name), bool(not_null))
        for name, not_null in conn.execute(
            "SELECT attname, attnotnull FROM pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped "
            "AND attgenerated = '' ORDER BY attnum",
            [oid],
        ).fetchall()
    ]


def rows_up_to(conn: psycopg.Connection, schema: str, table: str, limit: int) -> int:
    """The target's row count, exact up to `limit`; `limit` + 1 means more (it reads at most that many rows)."""
    row = conn.execute(
        q.statement("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT %s) AS held", q.qualified(schema, table)),
        [limit + 1],
    ).fetchone()
    return int(row[0]) if row else 0


def copy_kept(
    conn: psycopg.Connection,
    oid: int,
    schema: str,
    table: str,
    staged: str,
    mode: str,
    keys: list[str],
    window_column: str | None,
    window: tuple[Any, Any] | None,
) -> int:
    """Copy the rows the target (`oid`) keeps into the staged table (the same shape); returns how many."""
    from psycopg import sql

    columns = [name for name, _ in stored_columns(conn, oid)]
    target, staged_name = q.qualified(schema, table), q.qualified(schema, staged)
    insert = sql.SQL("INSERT INTO {} ({cols}) SELECT {cols} FROM {} AS t WHERE ").format(
        staged_name, target, cols=q.column_list(columns)
    )
    if mode == "merge":
        matches = sql.SQL(" AND ").join(sql.SQL("s.{k} = t.{k}").format(k=sql.Identifier(key)) for key in keys)
        statement = sql.SQL("{}NOT EXISTS (SELECT 1 FROM {} AS s WHERE {})").format(insert, staged_name, matches)
        return conn.execute(statement).rowcount
    statement = sql.SQL("{}({}) IS NOT TRUE").format(insert, q.window_condition(window_column or ""))
    return conn.execute(statement, list(window or ())).rowcount
