"""Bad configs are exit 2 before any call; the control table and view are created when missing, checked when not."""

from __future__ import annotations

from typing import Any

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from dwh.generic_entry import main
from tests.jobs.process_manager.conftest import MODULE, PG_PASSWORD, PG_PASSWORD_ENV, TOKEN_ENV, Manager
from tests.stand_ins.jobs_api import JobsApi

pytestmark = pytest.mark.integration
PREFIX = "generic_entry: error: --process_manager_job: "


def exit_line(manager: Manager, config: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = manager.run(config)
    return code, capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("change", "line"),
    [
        ({"max_paralel_calls": 4}, "max_paralel_calls: unknown field (check the spelling)"),
        (
            {"wait_view": "public.mm_run_wait_vw; DROP TABLE x"},
            "wait_view: 'public.mm_run_wait_vw; DROP TABLE x' is not [schema.]name of plain identifiers "
            "(letters, digits, _; not starting with a digit)",
        ),
        (
            {"control_table": "a.b.c"},
            "control_table: 'a.b.c' is not [schema.]name of plain identifiers (letters, digits, _; not starting "
            "with a digit)",
        ),
        ({"databricks": {"token": f"env:{TOKEN_ENV}"}}, "databricks.host: required field is missing"),
        (
            {"databricks": {"host": "https://adb-1.azuredatabricks.net", "token": "dapi-literal-0000"}},
            "databricks.token: must be a secret reference (env:, file:, databricks:, aws-secretsmanager:, aws-ssm:)",
        ),
        (
            {"databricks": {"host": "adb-1.azuredatabricks.net", "token": f"env:{TOKEN_ENV}"}},
            "databricks.host: 'adb-1.azuredatabricks.net' is not a workspace URL (https://<workspace host>)",
        ),
        (
            {"databricks": {"host": "https://adb-1.azuredatabricks.net", "token": "env:DWH_TEST_PM_UNSET"}},
            "databricks.token: cannot resolve secret reference env:DWH_TEST_PM_UNSET: environment variable "
            "DWH_TEST_PM_UNSET is not set",
        ),
        (
            {"control_database": {"url": "sqlite:///control.db"}},
            "control_database: must be PostgreSQL (jdbc_url or a postgresql:// url): the control table holds JSONB",
        ),
        ({"max_parallel_calls": 21}, "max_parallel_calls: Input should be less than or equal to 20"),
        ({"retry": {"attempts": 0}}, "retry.attempts: Input should be greater than or equal to 1"),
    ],
)
def test_a_bad_config_is_exit_2_with_one_line_before_any_call(
    manager: Manager, capsys: pytest.CaptureFixture[str], change: dict[str, Any], line: str
) -> None:
    manager.seed({"control_id": "r1", "job_id": 1})
    assert exit_line(manager, {**manager.config(), **change}, capsys) == (2, PREFIX + line)
    assert manager.api.requests == []
    assert manager.row("r1") == ("WAITING", None, None, 0, None)


def test_an_existing_table_without_the_columns_is_exit_2_naming_them(
    postgres_db: LocalPostgres, jobs_api: JobsApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, jobs_api.token)
    monkeypatch.setenv(PG_PASSWORD_ENV, PG_PASSWORD)
    manager = Manager(db=postgres_db, api=jobs_api)
    manager.sql("CREATE TABLE public.mm_run_control (control_id TEXT PRIMARY KEY, job_id BIGINT, state TEXT)")
    code, line = exit_line(manager, manager.config(), capsys)
    assert (code, line) == (
        2,
        PREFIX + "control_table: public.mm_run_control lacks the columns job_parameters, run_id, repair_id, "
        "attempts, last_error, updated_at (needs control_id, job_id, job_parameters, state, run_id, repair_id, "
        "attempts, last_error, updated_at)",
    )
    assert jobs_api.requests == []


def test_an_unreachable_control_database_is_exit_2_without_its_password(
    manager: Manager, capsys: pytest.CaptureFixture[str]
) -> None:
    database = {
        "jdbc_url": "jdbc:postgresql://127.0.0.1:1/nowhere",
        "properties": {"user": "pm", "password": f"env:{PG_PASSWORD_ENV}"},
    }
    code, line = exit_line(manager, manager.config(control_database=database), capsys)
    assert code == 2
    assert line.startswith(PREFIX + "control_database.jdbc_url: cannot open postgresql://pm:***@")
    assert PG_PASSWORD not in line
    assert manager.api.requests == []


COLUMN_TYPES = {
    "control_id": ("text", "NO"),
    "job_id": ("bigint", "NO"),
    "job_parameters": ("jsonb", "YES"),
    "state": ("text", "NO"),
    "run_id": ("bigint", "YES"),
    "repair_id": ("bigint", "YES"),
    "attempts": ("integer", "NO"),
    "last_error": ("text", "YES"),
    "updated_at": ("timestamp with time zone", "YES"),
}


def test_the_table_and_view_are_created_when_missing_as_design_md_says(
    postgres_db: LocalPostgres, jobs_api: JobsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, jobs_api.token)
    monkeypatch.setenv(PG_PASSWORD_ENV, PG_PASSWORD)
    manager = Manager(db=postgres_db, api=jobs_api)
    config = manager.config(control_table="pm.Run_Control", wait_view="pm.run_wait_vw")
    assert manager.run(config) == 0

    columns = manager.sql(
        "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
        "WHERE table_schema = 'pm' AND table_name = 'run_control' ORDER BY ordinal_position"
    )
    assert {name: (kind, nullable) for name, kind, nullable, _ in columns} == COLUMN_TYPES
    assert [name for name, *_ in columns] == list(COLUMN_TYPES)
    assert {name: default for name, _, _, default in columns}["attempts"] == "0"
    assert manager.sql(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = 'pm.run_control'::regclass AND i.indisprimary"
    ) == [("control_id",)]
    view = manager.sql("SELECT pg_get_viewdef('pm.run_wait_vw'::regclass)")[0][0]
    assert " ".join(view.split()) == (
        "SELECT run_control.control_id, run_control.job_id, run_control.job_parameters, run_control.run_id, "
        "run_control.repair_id FROM pm.run_control WHERE (run_control.state = 'WAITING'::text);"
    )
    manager.sql(
        "INSERT INTO pm.run_control (control_id, job_id, state) VALUES ('w', 1, 'WAITING'), ('s', 2, 'SCHEDULED')"
    )
    assert manager.sql("SELECT control_id FROM pm.run_wait_vw") == [("w",)]
    assert jobs_api.requests == []  # nothing was waiting: not even a client was built

    assert manager.run(config) == 0  # the second run finds them and schedules the waiting row
    assert manager.sql("SELECT state FROM pm.run_control WHERE control_id = 'w'") == [("SCHEDULED",)]


def test_the_schema_of_the_config_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--module_name", MODULE, "--print_config_schema"]) == 0
    out = capsys.readouterr().out
    for name in (
        "control_database",
        "wait_view",
        "control_table",
        "databricks",
        "retry",
        "max_parallel_calls",
        "claim_timeout_seconds",
        "dry_run",
        "job_failed_notifications",
    ):
        assert f'"{name}"' in out
