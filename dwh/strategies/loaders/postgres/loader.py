"""POSTGRES: COPY from every Spark partition into staging, then one transaction applies the write mode.

    {"strategy": "POSTGRES", "jdbc_url": "jdbc:postgresql://db:5432/dwh",
     "properties": {"user": "loader", "password": "env:PG_PASSWORD", "driver": "org.postgresql.Driver"},
     "table": "public.promos", "mode": "merge", "keys": ["promo_id"]}

1. Driver: claim a staging prefix ``dwh_stage_<16 hex>`` by holding an advisory lock on it for the
   whole load, drop the staging tables of runs that died (their prefix's lock is free, see
   `sql`), read the target's columns (or plan to create it, see `types` for the type mapping),
   check that merge ``keys`` have a primary key / unique index, and choose how to stage:
   * shared (the swap path) when every column can be COPYed in binary straight into the target's
     type (`types.binary_ready`) and the mode can swap: ``overwrite`` always, ``append`` /
     ``replace_window`` / ``merge`` when the target is missing or empty, and ``replace_window`` /
     ``merge`` into rows too (`rewrite`: the final step copies the kept rows in and swaps when the
     target holds no more rows than the batch, else inserts from this table). One table
     ``<prefix>_s`` ``LIKE`` the target (or with the created types) and a ledger ``<prefix>_l``.
   * per partition otherwise: an UNLOGGED template ``<prefix>_t`` in the staging types.
   Staging tables live in ``staging_schema`` (default the target's schema; the swap needs them
   there, so a shared staging always uses the target's schema).
2. Executors: each partition COPYs into the shared table or its own ``<prefix>_p<n>`` (`copy`).
3. Driver, ONE transaction (`commit`): swap the staged table in (`swap`: indexes, constraints,
   grants, owner, comments, sequences ... carried; after copying the target's kept rows in for a
   `rewrite`), or insert the staged rows (TRUNCATE / DELETE window / ON CONFLICT per mode).
   ``detail["commit"]`` says which, ``detail["swap_skipped"]`` why an insert was taken.
4. The run's staging tables are dropped, also when anything failed; a run killed before this
   leaves them for the next load into that schema to sweep.

``on_swap_blocked``: when an ``overwrite`` cannot swap because of something the swap cannot carry
(a dependent view, an incoming foreign key, triggers ... see `swap`), ``fail`` (the default) stops
with one line naming the blocker and changes nothing, before staging when it is already there,
else in the final transaction; ``insert`` overwrites with TRUNCATE + INSERT instead, as before the
swap existed (slower: the rows are written twice). Failing is the default because it is the choice
that cannot surprise: the load does what it says or tells you why not. Other modes never fail for
this; they insert.

Until step 3 commits, the target is untouched: a failed or killed run leaves the old rows. Names are
checked when the config is parsed (``schema.table``, keys, window column: plain identifiers) and
quoted with `psycopg.sql`. Connecting is retried on transient errors; the final transaction is not
re-sent once it has started, so it can never apply twice.
"""

from __future__ import annotations

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
from dwh.strategies.loaders.postgres import carry, rewrite, staging
from dwh.strategies.loaders.postgres import sql as q
from dwh.strategies.loaders.postgres.commit import FinalStep, SwapBlocked, apply, blocked_message
from dwh.strategies.loaders.postgres.copy import StagingPlan, connect, stage_partitions
from dwh.strategies.loaders.postgres.types import binary_ready, column_types, copy_ready, needs_text_cast, staging_types

if TYPE_CHECKING:
    import psycopg
    from pyspark.sql import DataFrame


@dataclass(frozen=True)
class TargetPlan:
    """What the final transaction needs to know about the target."""

    create_with: dict[str, str] | None  # column types to create it with; None when it exists
    casts: dict[str, str]  # column -> target type its staged text is explicitly cast to
    shared: bool = False  # staged into one table with the target's types (the swap path)
    swap_skipped: str | None = None  # why the rows are staged for the insert path


class PostgresLoader(DatabaseConnection, Loader):
    """Loads a DataFrame into a PostgreSQL table through COPY + one transaction."""

    kind: ClassVar[str] = "POSTGRES"
    strategy: Literal["POSTGRES"] = "POSTGRES"
    table: TableName = Field(description="Target table: table or schema.table (schema defaults to public).")
    keys: list[Identifier] | None = Field(None, description="Key columns for mode merge (need a unique index).")
    window_column: Identifier | None = Field(None, description="Date/timestamp column for mode replace_window.")
    staging_schema: Identifier | None = Field(None, description="Schema for staging tables (default: the target's).")
    on_swap_blocked: Literal["fail", "insert"] = Field(
        "fail",
        description="overwrite whose swap is blocked (dependent view, incoming FK, ...): fail, or TRUNCATE + INSERT.",
    )
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
        schemas = sorted({schema, staging_schema})
        retry = RetryPolicy(attempts=self.retries)
        window = self.window(context) if self.mode == "replace_window" else None
        staged: dict[int, int] = {}
        with connect(self._connect_kwargs(), retry, autocommit=True) as guard:
            prefix = staging.claim_prefix(guard)
            try:
                swept = sum(staging.sweep_stale_staging(guard, name, prefix) for name in schemas)
                target = self._prepare(guard, new_table_types, staged_types, schema, table, staging_schema, prefix)
                where = schema if target.shared else staging_schema
                plan = StagingPlan(
                    self._connect_kwargs(),
                    where,
                    f"{prefix}_t",
                    prefix,
                    tuple(columns),
                    retry,
                    shared=target.shared,
                    target=f"{schema}.{table}",
                )
                staged = stage_partitions(frame, plan)
                if target.shared:
                    staging.check_ledger(guard, where, prefix, staged)
                step = FinalStep(
                    schema=schema,
                    table=table,
                    mode=self.mode,
                    columns=columns,
                    keys=list(self.keys or []),
                    window_column=self.window_column,
                    window=window,
                    staging_schema=where,
                    prefix=prefix,
                    staged=staged,
                    shared=target.shared,
                    create_with=target.create_with,
                    casts=target.casts,
                    on_swap_blocked=self.on_swap_blocked,
                )
                with connect(self._connect_kwargs(), retry) as conn:
                    detail = apply(conn, step)
            except Exception as exc:
                clean = _clean_error(exc, self.table)
                if clean is exc:
                    raise
                raise clean from exc
            finally:
                for name in schemas:
                    staging.drop_own_staging(guard, name, prefix)
        if target.swap_skipped and detail["commit"] == "insert":
            detail.setdefault("swap_skipped", target.swap_skipped)
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
        """Check the target and create the staging tables; says how to stage, whether to create the target, casts."""
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
        target_types = existing or new_table_types
        skipped = self._swap_skipped(conn, staged_types, target_types, schema, table, existing is not None)
        if skipped is None:
            staging.create_shared_staging(conn, schema, table, prefix, None if existing else new_table_types)
            return TargetPlan(create_with=None, casts={}, shared=True)
        conn.execute(q.create_table(staging_schema, f"{prefix}_t", staged_types, unlogged=True))
        casts = {
            name: target_types[name]
            for name, staged in staged_types.items()
            if needs_text_cast(staged, target_types[name])
        }
        return TargetPlan(create_with=new_table_types if existing is None else None, casts=casts, swap_skipped=skipped)

    def _swap_skipped(
        self,
        conn: psycopg.Connection,
        staged_types: dict[str, str],
        target_types: dict[str, str],
        schema: str,
        table: str,
        exists: bool,
    ) -> str | None:
        """Why this load stages for the insert path (None: stage for a swap); an overwrite may refuse here."""
        inexact = [name for name, staged in staged_types.items() if not binary_ready(staged, target_types[name])]
        if inexact:
            return f"column types differ from the staged ones: {', '.join(inexact)}"
        if not exists:
            return None
        oid = carry.table_oid(conn, schema, table)
        if oid is None:
            return "the target is not a table"
        if self.mode != "overwrite" and not carry.is_empty(conn, schema, table):
            why = rewrite.refusal(conn, oid, self.mode, list(staged_types), list(self.keys or []))
            if why:
                return why
        reasons = carry.blockers(conn, oid)
        if reasons and self.mode == "overwrite" and self.on_swap_blocked == "fail":
            raise SwapBlocked(blocked_message(schema, table, reasons))
        return "; ".join(reasons) or None


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
