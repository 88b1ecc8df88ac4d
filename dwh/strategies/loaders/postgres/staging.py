"""The driver's side of staging: the run's prefix and its lock, sweeping dead runs, the shared staging.

A run claims ``dwh_stage_<16 hex>`` by holding a session advisory lock on it (`sql`); staging
tables whose prefix's lock is free belong to runs that are gone and are dropped. The shared staging
of the swap path is one table ``<prefix>_s`` (``LIKE`` the target, or with the created types) plus
the ledger ``<prefix>_l`` the tasks record their partitions in (`copy`).
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from dwh.strategies.loaders.postgres import sql as q
from dwh.strategies.loaders.postgres.copy import ledger_table, shared_table

if TYPE_CHECKING:
    import psycopg


def create_shared_staging(
    conn: psycopg.Connection, schema: str, table: str, prefix: str, new_types: dict[str, str] | None
) -> None:
    """The one staging table (LIKE the target, or with the created types) and its partition ledger."""
    staged = shared_table(prefix)
    if new_types is not None:
        conn.execute(q.create_table(schema, staged, new_types))
    else:
        row = conn.execute(
            """
            SELECT c.relpersistence = 'u', coalesce(c.reloptions, '{}'), t.spcname FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
             WHERE n.nspname = %s AND c.relname = %s
            """,
            [schema, table],
        ).fetchone()
        unlogged, reloptions, tablespace = row if row else (False, [], None)
        like = q.qualified(schema, table)
        conn.execute(
            q.create_like(schema, staged, like, unlogged=unlogged, reloptions=reloptions, tablespace=tablespace)
        )
    conn.execute(
        q.statement(
            "CREATE TABLE {} (partition_id integer PRIMARY KEY, rows bigint NOT NULL)",
            q.qualified(schema, ledger_table(prefix)),
        )
    )


def check_ledger(conn: psycopg.Connection, schema: str, prefix: str, staged: dict[int, int]) -> None:
    """Every partition Spark reported rows for committed exactly those rows into the shared staging."""
    ledger: dict[int, int] = dict(
        conn.execute(
            q.statement("SELECT partition_id, rows FROM {}", q.qualified(schema, ledger_table(prefix)))
        ).fetchall()
    )
    expected = {partition: rows for partition, rows in staged.items() if rows}
    if ledger != expected:
        raise RuntimeError(f"POSTGRES: the staging ledger {ledger} does not match the partitions staged {expected}")


def claim_prefix(guard: psycopg.Connection) -> str:
    """A fresh staging prefix whose advisory lock `guard` now holds (marks this run's staging as live)."""
    for _ in range(8):  # a taken lock means a hash collision with a live run: another prefix avoids waiting
        prefix = f"dwh_stage_{uuid.uuid4().hex[:16]}"
        if q.hold_staging_lock(guard, prefix):
            return prefix
    raise RuntimeError("POSTGRES: could not take an advisory lock for a staging prefix (8 tries)")


def sweep_stale_staging(guard: psycopg.Connection, schema: str, own_prefix: str) -> int:
    """Drop the staging tables in `schema` of runs that are gone; returns how many runs' tables were dropped."""
    import psycopg

    dropped = 0
    for prefix in q.stale_staging_prefixes(guard, schema, own_prefix):
        try:
            dropped += q.drop_staging(guard, schema, prefix)
        except psycopg.Error as exc:  # e.g. another role's tables: leave them, the load goes on
            logging.getLogger(__name__).warning(
                "could not drop stale staging tables %s* in %s: %s", prefix, schema, type(exc).__name__
            )
        finally:
            q.release_staging_lock(guard, prefix)
    if dropped:
        logging.getLogger(__name__).info("dropped the staging tables of %d dead run(s) in %s", dropped, schema)
    return dropped


def drop_own_staging(guard: psycopg.Connection, schema: str, prefix: str) -> None:
    """Drop this run's staging tables; if that fails, the next load sweeps them (this run's lock ends with it)."""
    try:
        q.drop_staging(guard, schema, prefix)
    except Exception:  # never hide the load's own outcome behind a cleanup failure
        logging.getLogger(__name__).warning("could not drop staging tables %s* in %s", prefix, schema)
