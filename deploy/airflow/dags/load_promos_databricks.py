"""load_promos on Databricks from Airflow: a one-off submit run, and the bundle-deployed job run with repair.

When Airflow schedules a bundle-deployed job, deploy the bundle with its own schedules paused
(``databricks bundle deploy -t prod --var schedule_pause_status=PAUSED``): one scheduler per job.
"""

from __future__ import annotations

from airflow.providers.databricks.operators.databricks import DatabricksRunNowOperator, DatabricksSubmitRunOperator
from airflow.sdk import DAG
from dwh_deploy import DEFAULT_ARGS, SCHEDULE, START, load_promos_args, wheel_task

with DAG(
    dag_id="load_promos_databricks",
    schedule=SCHEDULE,
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["dwh", "databricks"],
) as submit_dag:
    DatabricksSubmitRunOperator(
        task_id="load_promos",
        run_name="load_promos {{ ds }}",
        tasks=[wheel_task("load_promos", load_promos_args())],
        timeout_seconds=3600,
    )

with DAG(
    dag_id="load_promos_databricks_job",
    schedule=SCHEDULE,
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 0},  # the job retries its task itself; Airflow repairs a failed run
    tags=["dwh", "databricks"],
) as run_now_dag:
    DatabricksRunNowOperator(
        task_id="load_promos",
        job_name="load_promos",  # deployed by deploy/databricks (databricks bundle deploy -t prod)
        job_parameters={"start_date": "{{ ds }}", "end_date": "{{ next_ds }}"},
        repair_run=True,
    )
