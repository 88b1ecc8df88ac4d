"""The Freeport flow from Airflow: build every module (each release starts as its module is built), then wait.

The wait is the monitor itself (``--wait_seconds``): it polls the tracking rows until every release of this DAG
run's batch has ended and sends the one completion notice; it runs whatever the build did (all_done), so a
partly built batch is still reported. The release job is the one deploy/databricks deploys (its id in the
Airflow Variable dwh_freeport_release_job_id).
"""

from __future__ import annotations

from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator
from airflow.sdk import DAG
from dwh_deploy import ATTEMPTS, BATCH_ID, DEFAULT_ARGS, START, entry_args, freeport_config, wheel_task

RELEASE_JOB_ID = "{{ var.value.dwh_freeport_release_job_id }}"
DEMO = ["--demo_name", "promo_demo", "--batch_id", BATCH_ID, "--created_by", "airflow"]


def build_args() -> list[str]:
    """The main job: build the modules, launch their releases."""
    config = freeport_config(RELEASE_JOB_ID)
    return entry_args(
        "dwh.jobs.freeport.parallel_modules_job_factory", "parallel_modules_job", config, *DEMO, *ATTEMPTS
    )


def wait_args() -> list[str]:
    """The monitor on this run's batch, polling up to 50 minutes."""
    config = freeport_config(RELEASE_JOB_ID)
    return entry_args("dwh.jobs.freeport.monitor_job_factory", "monitor_job", config, *DEMO, "--wait_seconds", "3000")


with DAG(
    dag_id="freeport_databricks",
    schedule="30 3 * * *",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 1},
    tags=["dwh", "freeport", "databricks"],
) as dag:
    build = DatabricksSubmitRunOperator(
        task_id="build_modules",
        run_name="freeport build {{ run_id }}",
        tasks=[wheel_task("build_modules", build_args())],
        timeout_seconds=5400,
    )
    wait = DatabricksSubmitRunOperator(
        task_id="wait_for_releases",
        run_name="freeport monitor {{ run_id }}",
        tasks=[wheel_task("monitor", wait_args())],
        timeout_seconds=3600,
        trigger_rule="all_done",
        retries=0,
    )
    build >> wait
