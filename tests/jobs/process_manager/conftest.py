"""Shared pieces of the process manager tests: a real PostgreSQL database, the Jobs API stand-in, the config,
seeding and reading control rows, and running the manager as generic_entry does (in-process or as processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from dwh.generic_entry import main
from tests.stand_ins.jobs_api import JobsApi

ROOT = Path(__file__).resolve().parents[3]
MODULE = "dwh.jobs.process_manager.process_manager_job_factory"
TOKEN_ENV = "DWH_TEST_PM_DBX_TOKEN"
PG_PASSWORD_ENV = "DWH_TEST_PM_PG_PASSWORD"
#: The database runs with trust auth: the password is sent and ignored, so it can be looked for in every output.
PG_PASSWORD = "pg-pw-not-to-be-seen-4711"
#: DESIGN.md's DDL, written out here (not taken from the code under test).
DDL = (
    "CREATE TABLE public.mm_run_control (control_id TEXT PRIMARY KEY, job_id BIGINT NOT NULL, job_parameters JSONB, "
    "state TEXT NOT NULL, run_id BIGINT, repair_id BIGINT, attempts INT NOT NULL DEFAULT 0, last_error TEXT, "
    "updated_at TIMESTAMPTZ); CREATE VIEW public.mm_run_wait_vw AS SELECT control_id, job_id, job_parameters, "
    "run_id, repair_id FROM public.mm_run_control WHERE state = 'WAITING'"
)
COLUMNS = ("control_id", "job_id", "job_parameters", "state", "run_id", "repair_id", "attempts", "last_error")


@dataclass
class Manager:
    """One test's world: the database, the stand-in, and how to run the manager against them."""

    db: LocalPostgres
    api: JobsApi

    def config(self, **overrides: Any) -> dict[str, Any]:
        """A valid config for this database and stand-in (token and password by reference)."""
        config: dict[str, Any] = {
            "control_database": {
                "jdbc_url": self.db.jdbc_url,
                "properties": {"user": self.db.user, "password": f"env:{PG_PASSWORD_ENV}"},
            },
            "databricks": {"host": self.api.host, "token": f"env:{TOKEN_ENV}"},
            "retry": {"attempts": 4, "initial_seconds": 0.5, "max_seconds": 2},
        }
        config.update(overrides)
        return config

    def argv(self, config: dict[str, Any] | None = None) -> list[str]:
        """generic_entry's argv for `config`."""
        return ["--module_name", MODULE, "--process_manager_job", json.dumps(config or self.config())]

    def run(self, config: dict[str, Any] | None = None) -> int:
        """Run the manager in this process, as generic_entry would; returns the exit code."""
        return main(self.argv(config))

    def sql(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        """Run one statement on the test database; the rows it returns (none for DDL/DML without RETURNING)."""
        import psycopg

        with psycopg.connect(self.db.conninfo, autocommit=True) as conn:
            cursor = conn.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else []

    def create(self) -> None:
        """The control table and view, from DESIGN.md's DDL."""
        self.sql(DDL)

    def seed(self, *rows: dict[str, Any]) -> None:
        """Insert control rows (state WAITING, attempts 0, updated_at now unless given)."""
        for row in rows:
            values = {"state": "WAITING", "attempts": 0, "job_parameters": None, "run_id": None, "repair_id": None}
            values.update(row)
            params = None if values["job_parameters"] is None else json.dumps(values["job_parameters"])
            self.sql(
                "INSERT INTO public.mm_run_control (control_id, job_id, job_parameters, state, run_id, repair_id, "
                "attempts, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, coalesce(%s::timestamptz, now()))",
                values["control_id"],
                values["job_id"],
                params,
                values["state"],
                values["run_id"],
                values["repair_id"],
                values["attempts"],
                values.get("updated_at"),
            )

    def rows(self) -> dict[str, dict[str, Any]]:
        """Every control row by id (the columns of COLUMNS)."""
        found = self.sql(f"SELECT {', '.join(COLUMNS)} FROM public.mm_run_control ORDER BY control_id")
        return {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in found}

    def row(self, control_id: str) -> tuple[Any, ...]:
        """(state, run_id, repair_id, attempts, last_error) of one row."""
        row = self.rows()[control_id]
        return (row["state"], row["run_id"], row["repair_id"], row["attempts"], row["last_error"])

    def env(self) -> dict[str, str]:
        """The environment a manager process needs (the secrets its config references)."""
        return {**os.environ, TOKEN_ENV: self.api.token, PG_PASSWORD_ENV: PG_PASSWORD}


@pytest.fixture
def manager(postgres_db: LocalPostgres, jobs_api: JobsApi, monkeypatch: pytest.MonkeyPatch) -> Iterator[Manager]:
    """A fresh database with DESIGN.md's control table and view, the stand-in, and the secrets in the env."""
    monkeypatch.setenv(TOKEN_ENV, jobs_api.token)
    monkeypatch.setenv(PG_PASSWORD_ENV, PG_PASSWORD)
    world = Manager(db=postgres_db, api=jobs_api)
    world.create()
    yield world


def run_report(caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    """The run report the last run logged (one JSON line)."""
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("run_report ")]
    assert lines, "no run report was logged"
    return dict(json.loads(lines[-1].removeprefix("run_report ")))


def schedule_detail(caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    """The ``schedule`` step's detail of the last run report: counts per decision and each row's outcome."""
    [step] = [step for step in run_report(caplog)["steps"] if step["name"] == "schedule"]
    return dict(step["detail"])


def start_managers(world: Manager, configs: list[dict[str, Any]]) -> list[subprocess.CompletedProcess[str]]:
    """Start one manager process per config, release them at the same moment, wait for all of them."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.jobs.process_manager.manager_worker", *world.argv(config)],
            cwd=ROOT,
            env=world.env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for config in configs
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready", worker.communicate()[1]
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        done = []
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            done.append(subprocess.CompletedProcess(worker.args, worker.returncode, out, err))
        return done
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
