"""deploy/airflow/dags: the folder loads in real Airflow 3 with the Databricks and Amazon providers.

The DAGs are loaded and rendered in .venv-airflow (`make airflow-venv`; Airflow stays out of .venv) by
tests/deploy/airflow_probe.py in a subprocess: DagBag with no import errors, then each task's templated
fields rendered with ds=2025-03-01, next_ds=2025-03-02, try 1. Proves: the expected DAGs, task ids and
dependencies; operator arguments by value (retries, repair_run, trigger rule, Glue/EMR/EMR Serverless
payloads, which also pass the boto3 service models); every generic_entry argv parsed by generic_entry's
parser and validated by the job's own model; dates and attempts come from Airflow's templates.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.bundle import bundle_jobs
from tests.deploy.invocations import Invocation, check_invocation, pairs_to_argv

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_PYTHON = ROOT / ".venv-airflow" / "bin" / "python"
DAGS = ROOT / "deploy" / "airflow" / "dags"
RUN_ID = "scheduled__2025-03-01T02:00:00+00:00"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What real Airflow made of the DAG folder (import errors, DAGs, rendered tasks)."""
    if not AIRFLOW_PYTHON.exists():
        pytest.fail("no .venv-airflow: run `make airflow-venv` (make test builds it)")
    home = tmp_path_factory.mktemp("airflow-home")
    output = home / "dags.json"
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    env.pop("PYTHONPATH", None)
    probe = ROOT / "tests" / "deploy" / "airflow_probe.py"
    done = subprocess.run(
        [str(AIRFLOW_PYTHON), str(probe), str(DAGS), str(output)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return dict(json.loads(output.read_text(encoding="utf-8")))


def task(loaded: dict[str, Any], dag_id: str, task_id: str) -> dict[str, Any]:
    """One rendered task."""
    return dict(loaded["dags"][dag_id]["tasks"][task_id])


def checked_window(argv: list[str]) -> Invocation:
    """`argv` checked, with the DAG run's data interval and Airflow's first try."""
    checked = check_invocation(argv)
    run = checked.run_arguments
    assert (str(run.start_date), str(run.end_date), run.created_by) == ("2025-03-01", "2025-03-02", "airflow")
    return checked


def test_the_dag_folder_loads_without_import_errors(loaded: dict[str, Any]) -> None:
    assert loaded["import_errors"] == {}
    tasks = {dag_id: sorted(dag["tasks"]) for dag_id, dag in loaded["dags"].items()}
    assert tasks == {
        "freeport_databricks": ["build_modules", "wait_for_releases"],
        "load_promos_aws": ["load_promos_emr", "load_promos_emr_serverless", "load_promos_glue"],
        "load_promos_databricks": ["load_promos"],
        "load_promos_databricks_job": ["load_promos"],
        "process_manager_databricks": ["process_manager"],
    }
    assert all(dag["catchup"] is False and dag["max_active_runs"] == 1 for dag in loaded["dags"].values())


def test_databricks_submit_run_runs_the_wheel_with_the_window_and_the_try_number(loaded: dict[str, Any]) -> None:
    rendered = task(loaded, "load_promos_databricks", "load_promos")
    assert (rendered["operator"], rendered["retries"]) == ("DatabricksSubmitRunOperator", 2)
    [submitted] = rendered["fields"]["tasks"]
    assert submitted["python_wheel_task"]["package_name"] == "dwh_business_logic"
    assert submitted["libraries"][0]["whl"].endswith("dwh_business_logic-0.1.0-py3-none-any.whl")
    # The Databricks secret reference survives Airflow's own Jinja.
    assert submitted["new_cluster"]["spark_env_vars"] == {"DWH_CONTROL_URL": "{{secrets/dwh/control_url}}"}
    run = checked_window(submitted["python_wheel_task"]["parameters"]).run_arguments
    assert (run.attempt, run.max_attempts) == (1, 3)  # try 1 of retries + 1
    assert run.attempt_key == f"load_promos_databricks:{RUN_ID}:load_promos"


def test_run_now_starts_the_bundle_job_with_its_parameters_and_repairs(loaded: dict[str, Any]) -> None:
    rendered = task(loaded, "load_promos_databricks_job", "load_promos")
    assert (rendered["operator"], rendered["repair_run"], rendered["retries"]) == ("DatabricksRunNowOperator", True, 0)
    bundle = bundle_jobs("prod")["load_promos"]
    assert rendered["fields"]["job_name"] == bundle["name"]
    assert rendered["fields"]["job_parameters"] == {"start_date": "2025-03-01", "end_date": "2025-03-02"}
    assert sorted(rendered["fields"]["job_parameters"]) == sorted(item["name"] for item in bundle["parameters"])
    process_manager = task(loaded, "process_manager_databricks", "process_manager")
    assert process_manager["fields"]["job_name"] == bundle_jobs("prod")["process_manager"]["name"]
    assert process_manager["repair_run"] is True


def test_glue_operator_passes_generic_entry_arguments_and_the_wheel(loaded: dict[str, Any]) -> None:
    rendered = task(loaded, "load_promos_aws", "load_promos_glue")
    fields = rendered["fields"]
    assert (rendered["operator"], rendered["retries"]) == ("GlueJobOperator", 2)
    assert fields["script_location"].endswith("/generic_entry.py")
    assert fields["create_job_kwargs"]["MaxRetries"] == 0  # Airflow retries, so its try number counts
    checked = checked_window(pairs_to_argv(fields["script_args"]))
    assert checked.platform_args["additional_python_modules"].split(",")[0].endswith("py3-none-any.whl")
    assert checked.platform_args["datalake_formats"] == "delta"


def test_emr_step_and_emr_serverless_run_pass_the_boto3_models(loaded: dict[str, Any]) -> None:
    from tests.deploy.test_aws_payloads import validate_request

    emr = task(loaded, "load_promos_aws", "load_promos_emr")
    assert (emr["operator"], emr["wait_for_completion"]) == ("EmrAddStepsOperator", True)
    steps = emr["fields"]["steps"]
    validate_request("emr", "AddJobFlowSteps", {"JobFlowId": emr["fields"]["job_flow_id"], "Steps": steps})
    args = steps[0]["HadoopJarStep"]["Args"]
    assert args[:5] == ["spark-submit", "--deploy-mode", "cluster", "--py-files", args[4]]
    assert args[4].endswith(".zip") and args[5].endswith("/generic_entry.py")
    checked_window(args[6:])
    serverless = task(loaded, "load_promos_aws", "load_promos_emr_serverless")
    fields = serverless["fields"]
    request = {
        "applicationId": fields["application_id"],
        "executionRoleArn": fields["execution_role_arn"],
        "jobDriver": fields["job_driver"],
        "clientToken": "airflow-generates-one",
        "name": fields["name"],
    }
    validate_request("emr-serverless", "StartJobRun", request)
    assert "spark.archives=" in fields["job_driver"]["sparkSubmit"]["sparkSubmitParameters"]
    checked_window(fields["job_driver"]["sparkSubmit"]["entryPointArguments"])


def test_freeport_dag_builds_then_waits_for_its_batch_whatever_the_build_did(loaded: dict[str, Any]) -> None:
    build, wait = (task(loaded, "freeport_databricks", key) for key in ("build_modules", "wait_for_releases"))
    assert (wait["upstream"], wait["trigger_rule"], wait["retries"]) == (["build_modules"], "all_done", 0)
    built = check_invocation(build["fields"]["tasks"][0]["python_wheel_task"]["parameters"])
    watched = check_invocation(wait["fields"]["tasks"][0]["python_wheel_task"]["parameters"])
    assert built.module_name == "dwh.jobs.freeport.parallel_modules_job_factory"
    assert watched.module_name == "dwh.jobs.freeport.monitor_job_factory"
    batch = RUN_ID.replace("+", "_")
    assert built.job_args["batch_id"] == watched.job_args["batch_id"] == batch
    assert watched.job_args["wait_seconds"] == "3000"
    launcher = built.config.freeport.launcher  # type: ignore[attr-defined]
    assert (launcher.launcher, launcher.job_id) == ("DATABRICKS", 987654)  # the Airflow Variable, rendered
    assert built.run_arguments.max_attempts == build["retries"] + 1 == 2
