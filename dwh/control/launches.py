"""Launch a job at most once per idempotency key: an insert-once row in ``dwh_launches`` guards every launch.

    outcome = launch_once(store, launcher, job, parameters, key)
    outcome.run        # the LaunchedRun (this call's, or the one recorded before), None when none is known
    outcome.started    # True when this call sent the launch to the platform
    outcome.reason     # why nothing new was started, or that an unrecorded claim was re-sent

The caller that inserts the row for `key` launches and records the run. Everyone after finds the row:
with a run id, that run is the answer and nothing is launched. Without one, either the launching
process is still between its API call and its update, or it died there. An idempotent platform
(Databricks' idempotency_token, EMR Serverless' clientToken) is simply asked again with the same key
and returns the same run; for the others (GLUE, EMR, LOCAL) a second launch could start a second
run, so nothing is launched and the reason says to check the platform. A `LaunchError` means the
platform refused, so nothing started: the claim is deleted and a later call may try again. Any other
exception leaves the claim, since the run may have started.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dwh.control.claims import insert_once
from dwh.control.columns import utc_now, utc_timestamp
from dwh.platforms.launchers.base import LaunchedRun, Launcher, LaunchError

if TYPE_CHECKING:
    from sqlalchemy import MetaData, Table

    from dwh.control.store import ControlStore

#: The table of launch claims, one row per idempotency key.
LAUNCHES_TABLE = "dwh_launches"
# A claim can vanish between our insert attempt and our read (its launcher got a LaunchError): try again.
_CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class LaunchOutcome:
    """What `launch_once` did: the run, whether this call sent the launch, and a note when it matters."""

    run: LaunchedRun | None
    started: bool
    reason: str | None = None


@functools.cache
def launches_metadata() -> MetaData:
    """The ``dwh_launches`` table: key, launcher, job, run_id, run_url, detail (JSON), claimed_at, launched_at."""
    from sqlalchemy import Column, MetaData, Table, Text

    metadata = MetaData()
    Table(
        LAUNCHES_TABLE,
        metadata,
        Column("key", Text, primary_key=True),
        Column("launcher", Text, nullable=False),
        Column("job", Text),
        Column("run_id", Text),
        Column("run_url", Text),
        Column("detail", Text),
        Column("claimed_at", utc_timestamp(), nullable=False),
        Column("launched_at", utc_timestamp()),
    )
    return metadata


def launches_table(store: ControlStore) -> Table:
    """The store's ``dwh_launches`` table (created when missing)."""
    store.create_tables(launches_metadata())
    return store.table(LAUNCHES_TABLE)


def launcher_name(launcher: Launcher) -> str:
    """The launcher's name as its config spells it (``LOCAL``, ``GLUE``, ...)."""
    return str(getattr(launcher, "launcher", None) or type(launcher).__name__)


def launch_once(
    store: ControlStore, launcher: Launcher, job: str | None, parameters: Mapping[str, str], key: str
) -> LaunchOutcome:
    """Launch `job` unless a launch for `key` was claimed before (see the module docstring)."""
    from sqlalchemy import select

    table = launches_table(store)
    name = launcher_name(launcher)
    for _ in range(_CLAIM_ATTEMPTS):
        with store.transaction() as conn:
            claim = {"key": key, "launcher": name, "job": job, "claimed_at": utc_now()}
            if insert_once(conn, table, claim):
                existing = None
            else:
                existing = conn.execute(select(table).where(table.c.key == key)).mappings().first()
                if existing is None:
                    continue
        if existing is None:
            return _launch_and_record(store, table, launcher, job, parameters, key, reason=None)
        if existing["run_id"] is not None:
            run = _recorded_run(dict(existing))
            when = existing["launched_at"].isoformat() if existing["launched_at"] else "an unknown time"
            return LaunchOutcome(run, started=False, reason=f"key {key} already launched run {run.run_id} at {when}")
        claimed = existing["claimed_at"].isoformat()
        if launcher.idempotent:
            reason = f"re-sent with idempotency key {key}: the claim of {claimed} had no run id recorded"
            return _launch_and_record(store, table, launcher, job, parameters, key, reason=reason)
        return LaunchOutcome(
            None,
            started=False,
            reason=(
                f"a launch for key {key} was claimed at {claimed} but its run id was never recorded; "
                f"not repeated: {name} has no idempotency token (check the platform)"
            ),
        )
    raise LaunchError(f"the launch claim for key {key} kept disappearing; not launched")


def _launch_and_record(
    store: ControlStore,
    table: Table,
    launcher: Launcher,
    job: str | None,
    parameters: Mapping[str, str],
    key: str,
    *,
    reason: str | None,
) -> LaunchOutcome:
    from sqlalchemy import delete, update

    try:
        run = launcher.launch(job, parameters, key)
    except LaunchError:
        # The platform answered with an error: nothing started, so the key is free again.
        with store.transaction() as conn:
            conn.execute(delete(table).where(table.c.key == key, table.c.run_id.is_(None)))
        raise
    values = {
        "launcher": run.launcher,
        "run_id": run.run_id,
        "run_url": run.run_url,
        "detail": json.dumps(run.detail, sort_keys=True),
        "launched_at": utc_now(),
    }
    with store.transaction() as conn:
        recorded = conn.execute(update(table).where(table.c.key == key).values(values)).rowcount
        if not recorded:  # the claim was removed meanwhile: the run still must not be forgotten
            insert_once(conn, table, {"key": key, "job": job, "claimed_at": values["launched_at"], **values})
    return LaunchOutcome(run, started=True, reason=reason)


def _recorded_run(row: Mapping[str, Any]) -> LaunchedRun:
    detail = json.loads(row["detail"]) if row["detail"] else {}
    return LaunchedRun(
        launcher=str(row["launcher"]),
        run_id=str(row["run_id"]),
        run_url=row["run_url"],
        detail={str(k): str(v) for k, v in detail.items()},
    )
