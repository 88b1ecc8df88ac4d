"""The Freeport tracking tables: one row per released module, one per batch, and the one completion notice.

``freeport_job_tracking`` (DESIGN.md; the seed's columns first): demo_name, module_name, table_name,
run_id, status, triggered_at, completed_at, error_message, batch_id, launcher, run_url,
materialization_id; primary key (batch_id, module_name). ``freeport_batch``: batch_id, demo_name,
modules_expected (a JSON list), triggering_done_at, notified_at.

A module's row goes pending -> running -> completed | failed, each step a claim (`dwh.control.claims`),
so two processes can't both move it and a terminal row never moves again. `claim_notice` sets the
batch's notified_at where it is null: however many monitors run, exactly one gets True and sends the
notice; `release_notice` hands the claim back when sending failed. Timestamps are aware UTC.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dwh.control.claims import claim, insert_once
from dwh.control.columns import utc_now, utc_timestamp
from dwh.platforms.launchers.base import LaunchedRun
from dwh.secrets import SCRUBBER

if TYPE_CHECKING:
    from sqlalchemy import MetaData

    from dwh.control.store import ControlStore

JOB_TRACKING_TABLE = "freeport_job_tracking"
BATCH_TABLE = "freeport_batch"
PENDING = "pending"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
STATUSES = (PENDING, RUNNING, COMPLETED, FAILED)
TERMINAL_STATUSES = (COMPLETED, FAILED)
#: Longest error text kept in a row (the platform's message, scrubbed).
MAX_ERROR_CHARS = 4000


@dataclass(frozen=True)
class TrackingRow:
    """One module of one batch, as ``freeport_job_tracking`` holds it."""

    demo_name: str
    module_name: str
    table_name: str | None
    run_id: str | None
    status: str
    triggered_at: dt.datetime | None
    completed_at: dt.datetime | None
    error_message: str | None
    batch_id: str
    launcher: str | None
    run_url: str | None
    materialization_id: str | None

    @property
    def terminal(self) -> bool:
        """True once the module is completed or failed."""
        return self.status in TERMINAL_STATUSES

    def run(self) -> LaunchedRun | None:
        """The release run to ask a launcher about, once one was recorded."""
        if self.run_id is None or self.launcher is None:
            return None
        return LaunchedRun(launcher=self.launcher, run_id=self.run_id, run_url=self.run_url)


@dataclass(frozen=True)
class BatchRow:
    """One batch, as ``freeport_batch`` holds it (modules_expected decoded)."""

    batch_id: str
    demo_name: str
    modules_expected: list[str]
    triggering_done_at: dt.datetime | None
    notified_at: dt.datetime | None


@functools.cache
def tracking_metadata() -> MetaData:
    """Both Freeport tables, with DESIGN.md's columns."""
    from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, Table, Text

    metadata = MetaData()
    Table(
        JOB_TRACKING_TABLE,
        metadata,
        Column("demo_name", Text, nullable=False),
        Column("module_name", Text, nullable=False),
        Column("table_name", Text),
        Column("run_id", Text),
        Column("status", Text, nullable=False),
        Column("triggered_at", utc_timestamp()),
        Column("completed_at", utc_timestamp()),
        Column("error_message", Text),
        Column("batch_id", Text, nullable=False),
        Column("launcher", Text),
        Column("run_url", Text),
        Column("materialization_id", Text),
        PrimaryKeyConstraint("batch_id", "module_name"),
    )
    Table(
        BATCH_TABLE,
        metadata,
        Column("batch_id", Text, primary_key=True),
        Column("demo_name", Text, nullable=False),
        Column("modules_expected", Text, nullable=False),
        Column("triggering_done_at", utc_timestamp()),
        Column("notified_at", utc_timestamp()),
    )
    return metadata


class FreeportTracking:
    """The Freeport tables of one control store (created when missing); every method is one transaction."""

    def __init__(self, store: ControlStore) -> None:
        self.store = store
        store.create_tables(tracking_metadata())
        self.jobs = store.table(JOB_TRACKING_TABLE)
        self.batches = store.table(BATCH_TABLE)

    # -- batches ---------------------------------------------------------------------------------------------

    def record_batch(self, batch_id: str, demo_name: str, modules_expected: Sequence[str]) -> bool:
        """Insert the batch once; True when this call inserted it."""
        row = {"batch_id": batch_id, "demo_name": demo_name, "modules_expected": json.dumps(list(modules_expected))}
        with self.store.transaction() as conn:
            return insert_once(conn, self.batches, row)

    def finish_triggering(self, batch_id: str) -> bool:
        """Record that the main job triggered every release it will; True the first time only."""
        return self._claim_batch(
            batch_id, expected={"triggering_done_at": None}, values={"triggering_done_at": utc_now()}
        )

    def claim_notice(self, batch_id: str) -> bool:
        """Set notified_at where it is null: exactly one caller ever gets True (and sends the notice)."""
        return self._claim_batch(batch_id, expected={"notified_at": None}, values={"notified_at": utc_now()})

    def release_notice(self, batch_id: str) -> bool:
        """Undo `claim_notice` after sending failed, so the next monitor tries again."""
        return self._update_batch(batch_id, {"notified_at": None})

    def batch(self, batch_id: str) -> BatchRow | None:
        """The batch, or None when it was never recorded."""
        found = self._select_batches(self.batches.c.batch_id == batch_id)
        return found[0] if found else None

    def open_batches(self, demo_name: str) -> list[BatchRow]:
        """The demo's batches whose completion notice was not sent yet, oldest batch id first."""
        return self._select_batches(self.batches.c.demo_name == demo_name, self.batches.c.notified_at.is_(None))

    # -- modules ---------------------------------------------------------------------------------------------

    def insert_pending(self, batch_id: str, demo_name: str, module: str, table_name: str | None) -> bool:
        """Insert the module's row as pending once; True when this call inserted it."""
        row = {
            "batch_id": batch_id,
            "module_name": module,
            "demo_name": demo_name,
            "table_name": table_name,
            "status": PENDING,
        }
        with self.store.transaction() as conn:
            return insert_once(conn, self.jobs, row)

    def record_run(self, batch_id: str, module: str, run: LaunchedRun) -> bool:
        """Store the release run (run_id, launcher, run_url) and when it was triggered."""
        values = {"run_id": run.run_id, "launcher": run.launcher, "run_url": run.run_url, "triggered_at": utc_now()}
        return self._update_job(batch_id, module, values)

    def mark_running(self, batch_id: str, module: str) -> bool:
        """pending -> running (running stays running for a re-launched release); False once terminal."""
        return self._claim_job(batch_id, module, expected={"status": (PENDING, RUNNING)}, values={"status": RUNNING})

    def set_materialization(self, batch_id: str, module: str, materialization_id: str) -> bool:
        """Store the Freeport materialization the release works on."""
        return self._update_job(batch_id, module, {"materialization_id": materialization_id})

    def finish(self, batch_id: str, module: str, status: str, error_message: str | None = None) -> bool:
        """Move a pending or running row to completed or failed; False when it was already terminal."""
        if status not in TERMINAL_STATUSES:
            raise ValueError(f"finish takes {' or '.join(TERMINAL_STATUSES)}, not {status!r}")
        error = SCRUBBER.scrub(error_message)[:MAX_ERROR_CHARS] if error_message else None
        values = {"status": status, "completed_at": utc_now(), "error_message": error}
        return self._claim_job(batch_id, module, expected={"status": (PENDING, RUNNING)}, values=values)

    def row(self, batch_id: str, module: str) -> TrackingRow | None:
        """The module's row, or None."""
        found = self._select_jobs(self.jobs.c.batch_id == batch_id, self.jobs.c.module_name == module)
        return found[0] if found else None

    def rows(self, batch_id: str) -> list[TrackingRow]:
        """Every module row of the batch, by module name."""
        return self._select_jobs(self.jobs.c.batch_id == batch_id)

    # -- plumbing --------------------------------------------------------------------------------------------

    def _claim_job(self, batch_id: str, module: str, *, expected: dict[str, Any], values: dict[str, Any]) -> bool:
        key = {"batch_id": batch_id, "module_name": module}
        with self.store.transaction() as conn:
            return claim(conn, self.jobs, key, expected=expected, values=values) is not None

    def _claim_batch(self, batch_id: str, *, expected: dict[str, Any], values: dict[str, Any]) -> bool:
        with self.store.transaction() as conn:
            return claim(conn, self.batches, {"batch_id": batch_id}, expected=expected, values=values) is not None

    def _update_job(self, batch_id: str, module: str, values: dict[str, Any]) -> bool:
        return self._claim_job(batch_id, module, expected={}, values=values)

    def _update_batch(self, batch_id: str, values: dict[str, Any]) -> bool:
        return self._claim_batch(batch_id, expected={}, values=values)

    def _select_jobs(self, *where: Any) -> list[TrackingRow]:
        from sqlalchemy import select

        with self.store.transaction() as conn:
            found = conn.execute(select(self.jobs).where(*where).order_by(self.jobs.c.module_name)).mappings()
            return [TrackingRow(**dict(row)) for row in found]

    def _select_batches(self, *where: Any) -> list[BatchRow]:
        from sqlalchemy import select

        with self.store.transaction() as conn:
            found = conn.execute(select(self.batches).where(*where).order_by(self.batches.c.batch_id)).mappings()
            return [BatchRow(**{**dict(row), "modules_expected": json.loads(row["modules_expected"])}) for row in found]
