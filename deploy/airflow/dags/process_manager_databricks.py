"""Process_Manager from Airflow: run the bundle-deployed job (deploy/databricks) and repair it when it fails.

When Airflow schedules a bundle-deployed job, deploy the bundle with its own schedules paused
(``databricks bundle deploy -t prod --var schedule_pause_status=PAUSED``): one scheduler per job.
"""

from __future__ import annotations

from airflow.providers.databricks.operators.databricks import DatabricksRunNowOperator
from airflow.sdk import DAG
from dwh_deploy import DEFAULT_ARGS, START

with DAG(
    dag_id="process_manager_databricks",
    schedule="*/15 * * * *",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 0},
    tags=["dwh", "process_manager", "databricks"],
) as dag:
    DatabricksRunNowOperator(task_id="process_manager", job_name="Process_Manager", repair_run=True)
