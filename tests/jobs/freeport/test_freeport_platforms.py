"""The release job each platform is asked to run: what the main job sends through DATABRICKS, GLUE and
EMR_SERVERLESS (the Jobs API stand-in with the real databricks-sdk; moto's server with real boto3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.jobs.freeport.conftest import main_config, run_main, tracking_rows
from tests.platforms.launchers.aws_servers import boto3_client
from tests.stand_ins.jobs_api import RUN_NOW, JobsApi

pytestmark = [pytest.mark.spark, pytest.mark.integration]
LAKEHOUSE = {"client": "LAKEHOUSE"}
TWO = ("geo_analysis", "daily_totals")


def _config(tmp_path: Path, source: str, launcher: dict[str, Any]) -> dict[str, Any]:
    return main_config(tmp_path, source, client=LAKEHOUSE, modules=TWO, launcher=launcher)


def _sandbox(tmp_path: Path, module: str) -> str:
    return str(tmp_path / "sandbox" / module)


def test_databricks_release_jobs_get_the_four_run_values_once(
    jobs_api: JobsApi,
    source_path: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DWH_TEST_DATABRICKS_TOKEN", jobs_api.token)
    launcher = {"launcher": "DATABRICKS", "host": jobs_api.host, "token": "env:DWH_TEST_DATABRICKS_TOKEN", "job_id": 42}
    config = _config(tmp_path, source_path, launcher)
    assert run_main(config, "batch-db") == 0
    bodies = sorted((r.body for r in jobs_api.requests_to(RUN_NOW)), key=lambda b: b["job_parameters"]["module_name"])
    assert bodies == [
        {
            "job_id": 42,
            "job_parameters": {
                "demo_name": "demo",
                "module_name": module,
                "table_name": _sandbox(tmp_path, module),
                "batch_id": "batch-db",
            },
            "idempotency_token": f"batch-db:{module}",
        }
        for module in sorted(TWO)
    ]
    rows = tracking_rows(tmp_path, "batch-db")
    assert {row.launcher for row in rows.values()} == {"DATABRICKS"}
    assert all(row.run_url and "/runs/" in row.run_url for row in rows.values())
    # A retried main job (same batch): no second run_now at all, no second run.
    assert run_main(config, "batch-db") == 0
    assert len(jobs_api.requests_to(RUN_NOW)) == 2 and len(jobs_api.runs) == 2


def test_glue_release_jobs_get_their_arguments_with_dashes(aws_env: str, source_path: str, tmp_path: Path) -> None:
    glue = boto3_client("glue", aws_env)
    glue.create_job(
        Name="freeport-release",
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://bucket/generic_entry.py"},
        DefaultArguments={"--module_name": "dwh.jobs.freeport.release_job_factory"},
        ExecutionProperty={"MaxConcurrentRuns": 10},
    )
    launcher = {"launcher": "GLUE", "job_name": "freeport-release", "region": "us-east-1"}
    assert run_main(_config(tmp_path, source_path, launcher), "batch-glue") == 0
    runs = glue.get_job_runs(JobName="freeport-release")["JobRuns"]
    arguments = sorted((run["Arguments"] for run in runs), key=lambda a: a["--freeport_module"])
    # moto reports the job's DefaultArguments merged in, as Glue runs them: --module_name is the deployed one.
    assert arguments == [
        {
            "--module_name": "dwh.jobs.freeport.release_job_factory",
            "--demo_name": "demo",
            "--freeport_module": module,
            "--table_name": _sandbox(tmp_path, module),
            "--batch_id": "batch-glue",
        }
        for module in sorted(TWO)
    ]


def test_emr_serverless_release_jobs_get_the_whole_argv_with_secret_references(
    aws_env: str, source_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serverless = boto3_client("emr-serverless", aws_env)
    app = serverless.create_application(name="dwh", releaseLabel="emr-7.0.0", type="SPARK")["applicationId"]
    monkeypatch.setenv("DWH_TEST_FREEPORT_TOKEN", "fp-token-never-on-a-command-line")
    launcher = {
        "launcher": "EMR_SERVERLESS",
        "application_id": app,
        "execution_role_arn": "arn:aws:iam::123456789012:role/dwh",
        "entry_point": "s3://bucket/generic_entry.py",
        "region": "us-east-1",
    }
    config = main_config(
        tmp_path,
        source_path,
        client={
            "client": "HTTP",
            "base_url": "https://freeport.example.com/api",
            "token": "env:DWH_TEST_FREEPORT_TOKEN",
        },
        modules=("geo_analysis",),
        launcher=launcher,
    )
    assert run_main(config, "batch-emrs") == 0
    [summary] = serverless.list_job_runs(applicationId=app)["jobRuns"]
    run = serverless.get_job_run(applicationId=app, jobRunId=summary["id"])["jobRun"]
    argv = run["jobDriver"]["sparkSubmit"]["entryPointArguments"]
    values = dict(zip(argv[::2], argv[1::2], strict=True))
    assert values["--module_name"] == "dwh.jobs.freeport.release_job_factory"
    assert (values["--demo_name"], values["--freeport_module"], values["--batch_id"]) == (
        "demo",
        "geo_analysis",
        "batch-emrs",
    )
    release = json.loads(values["--release_job"])
    assert release["freeport"]["client"]["token"] == "env:DWH_TEST_FREEPORT_TOKEN"
    assert "fp-token-never-on-a-command-line" not in json.dumps(run, default=str)
