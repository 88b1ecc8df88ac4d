"""The control table and its wait view: created when missing, checked when present, claimed row by row.

DDL (DESIGN.md; the names are the config's ``control_table`` / ``wait_view``)::

    CREATE TABLE public.mm_run_control (control_id TEXT PRIMARY KEY, job_id BIGINT NOT NULL,
        job_parameters JSONB, state TEXT NOT NULL, run_id BIGINT, repair_id BIGINT,
        attempts INT NOT NULL DEFAULT 0, last_error TEXT, updated_at TIMESTAMPTZ);
    CREATE VIEW public.mm_run_wait_vw AS SELECT control_id, job_id, job_parameters, run_id, repair_id
        FROM public.mm_run_control WHERE state = 'WAITING';

States: WAITING -> CLAIMED -> SCHEDULED | ERROR | WAITING (run still in progress, or calls deferred).
A claim is ``UPDATE ... SET state = 'CLAIMED', updated_at = now() WHERE state = 'WAITING'`` on the
table's rows (``FOR UPDATE SKIP LOCKED`` first, `dwh.control.claims.claim_many`): the ids come from
the view, the locks from the table, since PostgreSQL refuses FOR UPDATE on some views. The claim's
``updated_at`` is its fencing token: a manager finishes a row only ``WHERE state = 'CLAIMED' AND
updated_at = <its claim>``, so a row taken back by another manager is never overwritten by the old one.
A CLAIMED row older than ``claim_timeout_seconds`` (its manager died) is taken back by the next manager
(`reclaim_stale`), which re-runs the decision: the idempotency token and the repair adoption make that safe.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dwh.control.claims import claim, claim_many
from dwh.errors import ConfigError
from dwh.jobs.process_manager.config import QualifiedName

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import Connection

    from dwh.control.store import ControlStore

WAITING, CLAIMED, SCHEDULED, ERROR = "WAITING", "CLAIMED", "SCHEDULED", "ERROR"
TABLE_COLUMNS = (
    "control_id",
    "job_id",
    "job_parameters",
    "state",
    "run_id",
    "repair_id",
    "attempts",
    "last_error",
    "updated_at",
)
VIEW_COLUMNS = ("control_id", "job_id", "job_parameters", "run_id", "repair_id")
#: Longest last_error kept in a row.
MAX_ERROR_CHARS = 4000
# Serializes the CREATE of concurrent managers on a fresh database (transaction-level advisory lock).
_DDL_LOCK_KEY = 0x64776870  # "dwhp"


def table_ddl(table: QualifiedName) -> str:
    """The control table's CREATE statement (DESIGN.md)."""
    return (
        f"CREATE TABLE {table.sql} (control_id TEXT PRIMARY KEY, job_id BIGINT NOT NULL, job_parameters JSONB, "
        "state TEXT NOT NULL, run_id BIGINT, repair_id BIGINT, attempts INT NOT NULL DEFAULT 0, "
        "last_error TEXT, updated_at TIMESTAMPTZ)"
    )


def view_ddl(view: QualifiedName, table: QualifiedName) -> str:
    """The wait view's CREATE statement (DESIGN.md)."""
    return f"CREATE VIEW {view.sql} AS SELECT {', '.join(VIEW_COLUMNS)} FROM {table.sql} WHERE state = 'WAITING'"


@dataclass(frozen=True)
class ControlRow:
    """One claimed row of the control table; `claimed_at` is the claim's fencing token."""

    control_id: str
    job_id: int
    job_parameters: Any
    run_id: int | None
    repair_id: int | None
    attempts: int
    claimed_at: dt.datetime | None

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> ControlRow:
        """From a RETURNING / SELECT mapping of the table's columns."""
        return cls(
            control_id=str(row["control_id"]),
            job_id=int(row["job_id"]),
            job_parameters=row["job_parameters"],
            run_id=row["run_id"],
            repair_id=row["repair_id"],
            attempts=int(row["attempts"] or 0),
            claimed_at=row.get("updated_at"),
        )


class ControlTable:
    """The control table and wait view of one config, in an open PostgreSQL control store."""

    def __init__(self, store: ControlStore, table: QualifiedName, view: QualifiedName, field: str) -> None:
        from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, Table, Text
        from sqlalchemy.dialects.postgresql import JSONB

        self.store, self.name, self.view, self.field = store, table, view, field
        self.table: Table = Table(
            table.name,
            MetaData(),
            Column("control_id", Text, primary_key=True),
            Column("job_id", BigInteger, nullable=False),
            Column("job_parameters", JSONB),
            Column("state", Text, nullable=False),
            Column("run_id", BigInteger),
            Column("repair_id", BigInteger),
            Column("attempts", Integer, nullable=False),
            Column("last_error", Text),
            Column("updated_at", DateTime(timezone=True)),
            schema=table.schema,
        )

    # -- DDL -------------------------------------------------------------------------------------------
    def missing_objects(self) -> list[str]:
        """What `ensure` would create (``table ...``, ``view ...``); checks the columns of what exists."""
        with self.store.transaction() as conn:
            return self._check(conn)

    def ensure(self) -> list[str]:
        """Create the table and the view when missing (under an advisory lock); returns what was created."""
        from sqlalchemy import text

        with self.store.transaction() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DDL_LOCK_KEY})
            missing = self._check(conn)
            for what in missing:
                schema = self.name.schema if what.startswith("table") else self.view.schema
                conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                conn.exec_driver_sql(
                    table_ddl(self.name) if what.startswith("table") else view_ddl(self.view, self.name)
                )
        return missing

    def _check(self, conn: Connection) -> list[str]:
        missing = []
        for kind, name, needed in (("table", self.name, TABLE_COLUMNS), ("view", self.view, VIEW_COLUMNS)):
            columns = _columns(conn, name)
            if columns is None:
                missing.append(f"{kind} {name}")
                continue
            absent = [column for column in needed if column not in columns]
            if absent:
                which = "control_table" if kind == "table" else "wait_view"
                raise ConfigError(
                    f"{name} lacks the column{'s' if len(absent) > 1 else ''} {', '.join(absent)} "
                    f"(needs {', '.join(needed)})",
                    field=f"{self.field}: {which}",
                )
        return missing

    # -- reads -----------------------------------------------------------------------------------------
    def waiting_ids(self, *, view_exists: bool = True) -> list[str]:
        """The control ids the wait view shows (the table's WAITING rows when the view is missing)."""
        from sqlalchemy import text

        source = self.view.sql if view_exists else f"{self.name.sql} WHERE state = 'WAITING'"
        with self.store.transaction() as conn:
            return [str(row[0]) for row in conn.execute(text(f"SELECT control_id FROM {source} ORDER BY control_id"))]

    def rows(self, ids: list[str]) -> list[ControlRow]:
        """The table's rows of `ids` (no claim: for the dry run)."""
        from sqlalchemy import select

        with self.store.transaction() as conn:
            found = conn.execute(select(self.table).where(self.table.c.control_id.in_(ids))).mappings()
            by_id = {str(row["control_id"]): ControlRow.of(row) for row in found}
        return [by_id[i] for i in ids if i in by_id]

    # -- claims ----------------------------------------------------------------------------------------
    def claim(self, ids: list[str]) -> list[ControlRow]:
        """Claim those of `ids` still WAITING and not locked by another manager; the rows this caller won."""
        from sqlalchemy import func

        if not ids:
            return []
        with self.store.transaction() as conn:
            won = claim_many(
                conn,
                self.table,
                expected={"control_id": tuple(ids), "state": WAITING},
                values={"state": CLAIMED, "updated_at": func.now()},
                order_by=self.table.c.control_id,
            )
        return sorted((ControlRow.of(row) for row in won), key=lambda row: row.control_id)

    def reclaim_stale(self, older_than_seconds: float, *, take: bool = True) -> list[ControlRow]:
        """Take back the CLAIMED rows whose claim is older than `older_than_seconds` (their manager died).

        With ``take=False`` only reads them (the dry run).
        """
        from sqlalchemy import func, or_, select, update

        c = self.table.c
        stale = or_(c.updated_at.is_(None), c.updated_at < func.now() - dt.timedelta(seconds=older_than_seconds))
        with self.store.transaction() as conn:
            if not take:
                found = conn.execute(select(self.table).where(c.state == CLAIMED, stale)).mappings().all()
                return sorted((ControlRow.of(row) for row in found), key=lambda row: row.control_id)
            query = select(c.control_id).where(c.state == CLAIMED, stale).with_for_update(skip_locked=True)
            ids = [row[0] for row in conn.execute(query)]
            if not ids:
                return []
            statement = (
                update(self.table)
                .where(c.control_id.in_(ids), c.state == CLAIMED, stale)
                .values(updated_at=func.now())
                .returning(*c)
            )
            won = conn.execute(statement).mappings().all()
        return sorted((ControlRow.of(row) for row in won), key=lambda row: row.control_id)

    def finish(self, row: ControlRow, values: Mapping[str, Any]) -> bool:
        """Set `values` (a new state ...) on a row this manager still holds; False when its claim was lost."""
        return self.finish_many([(row, values)])[0]

    def finish_many(self, items: list[tuple[ControlRow, Mapping[str, Any]]]) -> list[bool]:
        """`finish` for several rows in one transaction; for each, whether it was written."""
        from sqlalchemy import func

        written = []
        with self.store.transaction() as conn:
            for row, given in items:
                values = {**given, "updated_at": func.now()}
                if values.get("last_error") is not None:
                    values["last_error"] = str(values["last_error"])[:MAX_ERROR_CHARS]
                done = claim(
                    conn,
                    self.table,
                    {"control_id": row.control_id},
                    expected={"state": CLAIMED, "updated_at": row.claimed_at},
                    values=values,
                )
                written.append(done is not None)
        return written

    def release(self, row: ControlRow) -> bool:
        """Hand a claimed row back, untouched otherwise (WAITING again)."""
        return self.finish(row, {"state": WAITING})


def _columns(conn: Connection, name: QualifiedName) -> set[str] | None:
    """The column names of a table or view, or None when it does not exist."""
    from sqlalchemy import text

    exists = conn.execute(text("SELECT to_regclass(:name)"), {"name": name.sql}).scalar()
    if exists is None:
        return None
    query = text(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = :schema AND table_name = :name"
    )
    return {str(row[0]) for row in conn.execute(query, {"schema": name.schema, "name": name.name})}


def job_parameters(value: Any) -> dict[str, str] | None:
    """The row's JSONB job_parameters as the API's ``{name: string}`` (None when absent or empty)."""
    if isinstance(value, str):
        value = json.loads(value)
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"job_parameters must be a JSON object, not {type(value).__name__}")
    return {str(key): item if isinstance(item, str) else json.dumps(item) for key, item in value.items()}
