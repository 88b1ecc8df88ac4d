"""POSTGRES: COPY from every Spark partition into staging, then one transaction applies the write mode.

    {"strategy": "POSTGRES", "jdbc_url": "jdbc:postgresql://db:5432/dwh",
     "properties": {"user": "loader", "password": "env:PG_PASSWORD", "driver": "org.postgresql.Driver"},
     "table": "public.promos", "mode": "merge", "keys": ["promo_id"]}

1. Driver: claim a staging prefix ``dwh_stage_<16 hex>`` by holding an advisory lock on it for the
   whole load, drop the staging tables of runs that died (their prefix's lock is free, see
   `sql`), read the target's columns (or plan to create it, see `types` for the
   type mapping), check that merge ``keys`` have a primary key / unique index, and create an
   UNLOGGED template ``<prefix>_t`` (in ``staging_schema``, default the target's schema).
2. Executors: each partition COPYs into its own UNLOGGED ``dwh_stage_<run>_p<n>`` (`copy`).
3. Driver, ONE transaction: create the target if missing, then
   ``append`` insert · ``overwrite`` TRUNCATE + insert · ``replace_window`` delete the run window's
   rows + insert (every staged row must lie in the window) · ``merge`` INSERT ... ON CONFLICT (keys)
   DO UPDATE (a batch with one key twice fails clearly). Columns the target has and the DataFrame
   lacks get their default on insert and keep their value on update (a partial upsert).
4. The run's staging tables are dropped, also when anything failed; a run killed before this
   leaves them for the next load into that schema to sweep.

Until step 3 commits, the target is untouched: a failed or killed run leaves the old rows. Names are
checked when the config is parsed (``schema.table``, keys, window column: plain identifiers) and
quoted with `psycopg.sql`. Connecting is retried on transient errors; the final transaction is not
re-sent once it has started, so it can never apply twice.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, PositiveInt, model_validator

from dwh.platforms.context import RunContext
from dwh.retry import RetryPolicy
from dwh.strategies.connection import (
    MAX_IDENTIFIER_BYTES,
    DatabaseConnection,
    Identifier,
    TableName,
    split_table_name,
)
from dwh.strategies.loaders.base import Loader, LoadResult
from dwh.strategies.loaders.postgres import sql as q
from dwh.strategies.loaders.postgres.copy import StagingPlan, connect, partition_table, stage_partitions
from dwh.strategies.loaders.postgres.types import column_types, copy_ready, needs_text_cast, staging_types

if TYPE_CHECKING:
    import psycopg
    from pyspark.sql import DataFrame


@dataclass(frozen=True)
class TargetPlan:
    """What the final transaction needs to know about the target."""

    create_with: dict[str, str] | None  # column types to create it with; None when it exists
    casts: dict[str, str]  # column -> target type its staged text is explicitly cast to


class PostgresLoader(DatabaseConnection, Loader):
    """Loads a DataFrame into a PostgreSQL table through COPY + one transaction."""

    kind: ClassVar[str] = "POSTGRES"
    strategy: Literal["POSTGRES"] = "POSTGRES"
    table: TableName = Field(description="Target table: table or schema.table (schema defaults to public).")
    keys: list[Identifier] | None = Field(None, description="Key columns for mode merge (need a unique index).")
    window_column: Identifier | None = Field(None, description="Date/timestamp column for mode replace_window.")
    staging_schema: Identifier | None = Field(None, description="Schema for staging tables (default: the target's).")
    retries: PositiveInt = Field(5, description="Attempts for a connection that fails transiently.")
    connect_timeout: PositiveInt = Field(30, description="Seconds to wait for a connection.")

    @model_validator(mode="after")
    def _postgres_fields(self) -> PostgresLoader:
        if self.partition_by:
            raise ValueError("partition_by is not supported by POSTGRES (partition the table in the database)")
        if self.scheme != "postgresql":
            raise ValueError(f"POSTGRES needs a jdbc:postgresql:// URL, not jdbc:{self.scheme}:")
        return self

    def required_packages(self) -> dict[str, str]:
        """psycopg, from the ``postgres`` extra."""
        return {"psycopg": "postgres"}

    def describe(self) -> str:
        """``POSTGRES(postgresql://host:port/db public.promos, merge)`` without credentials."""
        return f"POSTGRES({self.describe_database()} {self.table}, {self.mode})"

    def load(self, frame: DataFrame, context: RunContext) -> LoadResult:
        """Stage with COPY, then apply the mode in one transaction; staging is always dropped."""
        new_table_types = column_types(frame)
        staged_types = staging_types(frame)
        frame = copy_ready(frame)
        columns = self._checked_columns(frame)
        schema, table = split_table_name(self.table)
        staging_schema = self.staging_schema or schema
        retry = RetryPolicy(attempts=self.retries)
        window = self.window(context) if self.mode == "replace_window" else None
        staged: dict[int, int] = {}
        with connect(self._connect_kwargs(), retry, autocommit=True) as guard:
            prefix = _claim_prefix(guard)
            try:
                swept = _sweep_stale_staging(guard, staging_schema, prefix)
                target = self._prepare(guard, new_table_types, staged_types, schema, table, staging_schema, prefix)
                plan = StagingPlan(self._connect_kwargs(), staging_schema, f"{prefix}_t", prefix, tuple(columns), retry)
                staged = stage_partitions(frame, plan)
                with connect(self._connect_kwargs(), retry) as conn:
                    detail = self._apply(conn, columns, staged, target, staging_schema, prefix, window)
            except Exception as exc:
                clean = _clean_error(exc, self.table)
                if clean is exc:
                    raise
                raise clean from exc
            finally:
                _drop_own_staging(guard, staging_schema, prefix)
        detail.update(mode=self.mode, staging_partitions=len(staged), stale_staging_runs_dropped=swept)
        return LoadResult(target=f"{schema}.{table}", rows_written=detail.pop("rows_written"), detail=detail)

    def _connect_kwargs(self) -> dict[str, Any]:
        return {**self.psycopg_kwargs(), "connect_timeout": self.connect_timeout}

    def _checked_columns(self, frame: DataFrame) -> list[str]:
        columns = list(frame.columns)
        too_long = [name for name in columns if len(name.encode()) > MAX_IDENTIFIER_BYTES]
        if too_long:
            raise ValueError(f"POSTGRES: column names longer than {MAX_IDENTIFIER_BYTES} bytes: {', '.join(too_long)}")
        needed = [*(self.keys or []), *([self.window_column] if self.window_column else [])]
        missing = [name for name in needed if name not in columns]
        if missing:
            raise ValueError(f"POSTGRES {self.table}: the DataFrame has no column(s) {', '.join(missing)}")
        return columns

    def _prepare(
        self,
        conn: psycopg.Connection,
        new_table_types: dict[str, str],
        staged_types: dict[str, str],
        schema: str,
        table: str,
        staging_schema: str,
        prefix: str,
    ) -> TargetPlan:
        """Check the target and create the staging template; says whether to create the target and how to cast."""
        existing = q.table_columns(conn, schema, table)
        if existing is not None:
            missing = [name for name in staged_types if name not in existing]
            if missing:
                raise ValueError(f"target {schema}.{table} has no column(s) {', '.join(missing)}")
            if self.mode == "merge" and frozenset(self.keys or []) not in q.unique_key_sets(conn, schema, table):
                raise ValueError(
                    f"mode merge needs a primary key or unique index on ({', '.join(self.keys or [])}) "
                    f"of {schema}.{table}; create one first"
                )
        for needed_schema in {schema, staging_schema}:
            if not q.schema_exists(conn, needed_schema):
                conn.execute(q.statement("CREATE SCHEMA IF NOT EXISTS {}", q.identifier(needed_schema)))
        conn.execute(q.create_table(staging_schema, f"{prefix}_t", staged_types, unlogged=True))
        target_types = existing or new_table_types
        casts = {
            name: target_types[name]
            for name, staged in staged_types.items()
            if needs_text_cast(staged, target_types[name])
        }
        return TargetPlan(create_with=new_table_types if existing is None else None, casts=casts)

    def _apply(
        self,
        conn: psycopg.Connection,
        columns: list[str],
        staged: dict[int, int],
        plan: TargetPlan,
        staging_schema: str,
        prefix: str,
        window: tuple[Any, Any] | None,
    ) -> dict[str, Any]:
        """The final transaction; returns rows written and what else it did."""
        schema, table = split_table_name(self.table)
        target = q.qualified(schema, table)
        tables = [partition_table(prefix, partition) for partition, rows in sorted(staged.items()) if rows]
        staged_total = sum(staged.values())
        detail: dict[str, Any] = {"rows_staged": staged_total, "rows_deleted": 0, "rows_written": 0}
        with conn.transaction():
            if plan.create_with is not None:
                keys = self.keys if self.mode == "merge" else ()
                conn.execute(
                    q.create_table(schema, table, plan.create_with, primary_key=keys or (), if_not_exists=True)
                )
            if self.mode == "overwrite":
                conn.execute(q.statement("TRUNCATE {}", target))
            elif self.mode == "replace_window" and window is not None:
                condition = q.window_condition(self.window_column or "")
                deleted = conn.execute(q.statement("DELETE FROM {} WHERE {}", target, condition), list(window))
                detail["rows_deleted"] = deleted.rowcount
            if tables:
                source = q.staged_rows(staging_schema, tables, columns)
                insert = q.insert_rows(
                    target,
                    columns,
                    source,
                    casts=plan.casts,
                    window_column=self.window_column if self.mode == "replace_window" else None,
                    merge_keys=self.keys if self.mode == "merge" and self.keys else (),
                )
                written = conn.execute(insert, list(window) if window and self.mode == "replace_window" else None)
                detail["rows_written"] = written.rowcount
                if self.mode == "merge":  # unchanged matched rows are skipped, yet the target holds them
                    detail.update(rows_written=staged_total, rows_changed=written.rowcount)
                if self.mode == "replace_window" and written.rowcount != staged_total:
                    raise ValueError(
                        f"{staged_total - written.rowcount} row(s) have {self.window_column} outside the run window "
                        f"[{window[0] if window else ''}, {window[1] if window else ''}) or null; nothing was written"
                    )
        return detail


def _claim_prefix(guard: psycopg.Connection) -> str:
    """A fresh staging prefix whose advisory lock `guard` now holds (marks this run's staging as live)."""
    for _ in range(8):  # a taken lock means a hash collision with a live run: another prefix avoids waiting
        prefix = f"dwh_stage_{uuid.uuid4().hex[:16]}"
        if q.hold_staging_lock(guard, prefix):
            return prefix
    raise RuntimeError("POSTGRES: could not take an advisory lock for a staging prefix (8 tries)")


def _sweep_stale_staging(guard: psycopg.Connection, schema: str, own_prefix: str) -> int:
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


def _drop_own_staging(guard: psycopg.Connection, schema: str, prefix: str) -> None:
    """Drop this run's staging tables; if that fails, the next load sweeps them (this run's lock ends with it)."""
    try:
        q.drop_staging(guard, schema, prefix)
    except Exception:  # never hide the load's own outcome behind a cleanup failure
        logging.getLogger(__name__).warning("could not drop staging tables %s* in %s", prefix, schema)


def _clean_error(exc: Exception, table: str) -> Exception:
    """One line instead of a Spark task failure; a repeated merge key named as such."""
    import psycopg

    if isinstance(exc, psycopg.errors.CardinalityViolation):
        return ValueError(f"POSTGRES {table}: the batch holds the same merge key more than once; deduplicate it first")
    text = str(exc)
    if "Traceback (most recent call last)" not in text:
        return exc
    return RuntimeError(f"POSTGRES {table}: staging failed: {python_error_line(text)}")


def python_error_line(text: str) -> str:
    """``Type: message`` of the last Python traceback in a Spark task error (its first line only)."""
    tail = text.rpartition("Traceback (most recent call last):")[2]
    for line in tail.splitlines():
        if line.strip() and not line[0].isspace():
            kind, sep, message = line.partition(": ")
            return f"{kind.rpartition('.')[2]}{sep}{message}"
    return text.strip().splitlines()[0] if text.strip() else "unknown error"
