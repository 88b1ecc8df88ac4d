"""Each failed attempt's error, kept where the platform's next attempt of the same run can read it.

    with open_attempt_store() as store:              # DWH_CONTROL_URL, else the embedded SQLite default
        record_attempt_error(store, key, 2, "RuntimeError: source down")
        attempt_errors(store, key)                   # {1: "...", 2: "RuntimeError: source down"}

A platform that retries a failed job (a Databricks task's max_retries, Airflow's retries, Glue's
MaxRetries) starts a fresh process each time: the errors of the earlier attempts live only here, in
table ``dwh_attempt_errors`` (key, attempt, error, recorded_at; primary key (key, attempt)), so the
final attempt's failure notice can name them all. ``key`` is what every attempt of one run shares
(the job name and the platform's run id, see `dwh.jobs.abstract_job`). The errors stored are the
run report's scrubbed one-line summaries: no secret reaches a row.

The store is ``DWH_CONTROL_URL`` (``sqlite:///...`` or ``postgresql://...``; a relative SQLite path is
under the warehouse dir) or, without it, ``sqlite:///dwh_control.db`` under the warehouse dir. Every
attempt must reach the same one: on a platform that may retry on another machine (a new job cluster,
an Airflow retry of a submitted run), point ``DWH_CONTROL_URL`` at a shared PostgreSQL.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

from dwh.control.claims import insert_once
from dwh.control.columns import utc_now, utc_timestamp
from dwh.control.store import ControlStore, ControlStoreConfig

if TYPE_CHECKING:
    from sqlalchemy import MetaData, Table

#: The table of attempt errors.
ATTEMPTS_TABLE = "dwh_attempt_errors"
#: The environment variable naming the control store of attempt errors.
CONTROL_URL_ENV = "DWH_CONTROL_URL"


@functools.cache
def attempts_metadata() -> MetaData:
    """The ``dwh_attempt_errors`` table: key, attempt, error, recorded_at."""
    from sqlalchemy import Column, Integer, MetaData, Table, Text

    metadata = MetaData()
    Table(
        ATTEMPTS_TABLE,
        metadata,
        Column("key", Text, primary_key=True),
        Column("attempt", Integer, primary_key=True),
        Column("error", Text, nullable=False),
        Column("recorded_at", utc_timestamp(), nullable=False),
    )
    return metadata


def open_attempt_store() -> ControlStore:
    """The control store of attempt errors: ``DWH_CONTROL_URL``, else the embedded SQLite default."""
    url = os.environ.get(CONTROL_URL_ENV) or None
    config = ControlStoreConfig.model_validate({"url": url} if url else {})
    return config.open(field=CONTROL_URL_ENV)


def _table(store: ControlStore) -> Table:
    store.create_tables(attempts_metadata())
    return store.table(ATTEMPTS_TABLE)


def record_attempt_error(store: ControlStore, key: str, attempt: int, error: str) -> None:
    """Keep `error` as attempt `attempt` of `key` (a re-run of the same attempt number replaces it)."""
    from sqlalchemy import update

    table = _table(store)
    row = {"key": key, "attempt": attempt, "error": error, "recorded_at": utc_now()}
    with store.transaction() as conn:
        if not insert_once(conn, table, row):
            conn.execute(
                update(table)
                .where(table.c.key == key, table.c.attempt == attempt)
                .values(error=error, recorded_at=row["recorded_at"])
            )


def attempt_errors(store: ControlStore, key: str) -> dict[int, str]:
    """Every recorded attempt error of `key`, by attempt number (in attempt order)."""
    from sqlalchemy import select

    table = _table(store)
    with store.transaction() as conn:
        rows = conn.execute(select(table.c.attempt, table.c.error).where(table.c.key == key).order_by(table.c.attempt))
        return {int(attempt): str(error) for attempt, error in rows}
