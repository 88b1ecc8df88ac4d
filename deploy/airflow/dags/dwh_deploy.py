"""What the dwh DAGs share: the job configs, the generic_entry argv, the retry arguments and where the code lives.

Not a DAG itself (Airflow puts the dags folder on sys.path, so the DAG files import it). tests/deploy parses
every argv built here with generic_entry's own parser and validates each config with the job's own model.
"""

from __future__ import annotations

import json

import pendulum

#: Where the build puts the code (`make wheel`, the shim, the zip for EMR's --py-files, the packed venv).
CODE = "s3://dwh-code/dwh_business_logic/0.1.0"
WHEEL = f"{CODE}/dwh_business_logic-0.1.0-py3-none-any.whl"
SHIM = f"{CODE}/generic_entry.py"
PY_ZIP = f"{CODE}/dwh.zip"
PACKED_VENV = f"{CODE}/dwh_venv.tar.gz"
#: The Databricks Volume the wheel is uploaded to for submit runs.
DATABRICKS_WHEEL = "/Volumes/dwh/code/wheels/dwh_business_logic-0.1.0-py3-none-any.whl"

DEFAULT_ARGS = {"owner": "data-team", "retries": 2, "retry_delay": pendulum.duration(minutes=10)}
#: The nightly schedule (UTC) and the window it loads: the data interval [ds, next_ds).
SCHEDULE = "0 2 * * *"
START = pendulum.datetime(2025, 1, 1, tz="UTC")
WINDOW = ["--start_date", "{{ ds }}", "--end_date", "{{ next_ds }}", "--created_by", "airflow"]
#: Airflow's own retry counter: only the last try's failure sends a notice, naming every try's error.
ATTEMPTS = [
    "--attempt",
    "{{ ti.try_number }}",
    "--max_attempts",
    "{{ task.retries + 1 }}",
    "--attempt_key",
    "{{ dag.dag_id }}:{{ run_id }}:{{ ti.task_id }}",
]
#: A Freeport batch per DAG run (a batch id takes letters, digits and _.:@- only: run ids carry a '+').
BATCH_ID = "{{ run_id | replace('+', '_') }}"

FAILURE_EMAIL = {
    "notification_service": "EMAIL",
    "smtp_host": "smtp.example.com",
    "username": "dwh",
    "password": "aws-secretsmanager:dwh/smtp#password",
    "sender": "dwh@example.com",
    "recipients": ["data-team@example.com"],
}

LOAD_PROMOS_CONFIG = {
    "job_failed_notifications": FAILURE_EMAIL,
    "extractor_config": {"strategy": "PARQUET", "source_table": "s3a://dwh-prod-data/raw/promos/"},
    "unity_loader_config": {"strategy": "DELTA", "path": "s3a://dwh-prod-data/unity/promos"},
    "stage_loader_config": {"strategy": "PARQUET", "path": "s3a://dwh-prod-data/stage/promos"},
    "redshift_loader_config": {
        "strategy": "POSTGRES",
        "jdbc_url": "jdbc:postgresql://warehouse.example.com:5432/dwh",
        "properties": {"user": "etl", "password": "aws-secretsmanager:dwh/warehouse#password"},
    },
}


def freeport_block(release_job_id: str) -> dict[str, object]:
    """The Freeport block of the DAGs: HTTP client, releases as runs of the deployed Databricks release job."""
    return {
        "client": {
            "client": "HTTP",
            "base_url": "https://freeport.example.com/api",
            "token": "databricks:dwh/freeport_token",
        },
        "launcher": {
            "launcher": "DATABRICKS",
            "host": "https://dbc-prod-0000.cloud.databricks.com",
            "token": "databricks:dwh/jobs_token",
            "job_id": release_job_id,
        },
        "tracking": {
            "jdbc_url": "jdbc:postgresql://control.example.com:5432/dwh_control",
            "properties": {"user": "dwh_control", "password": "databricks:dwh/control_password"},
        },
        "release_timeout_seconds": 3600,
        "poll_seconds": 30,
        "completion_notifications": [FAILURE_EMAIL],
    }


def freeport_config(release_job_id: str) -> dict[str, object]:
    """The Freeport main job's config (the monitor takes it whole)."""
    source = {"strategy": "DELTA", "table": "dwh.promos.promos"}
    return {
        "modules": [
            {
                "name": "geo_analysis",
                "extractor_config": source,
                "sql": "SELECT retailer, store_id, count(*) AS promos FROM source GROUP BY retailer, store_id",
                "loader_config": {
                    "strategy": "DELTA",
                    "mode": "overwrite",
                    "table": "dwh.sandbox.promo_demo_geo_analysis",
                },
            },
            {
                "name": "promo_mix",
                "extractor_config": source,
                "sql": "SELECT promo_type, count(*) AS promos FROM source GROUP BY promo_type",
                "loader_config": {
                    "strategy": "DELTA",
                    "mode": "overwrite",
                    "table": "dwh.sandbox.promo_demo_promo_mix",
                },
            },
        ],
        "max_parallel_modules": 2,
        "freeport": freeport_block(release_job_id),
        "job_failed_notifications": FAILURE_EMAIL,
    }


def entry_args(module: str, argument: str, config: dict[str, object], *extra: str) -> list[str]:
    """``--module_name MODULE --<argument> <json> ...extra``: what generic_entry receives after argv[0]."""
    return ["--module_name", module, f"--{argument}", json.dumps(config, sort_keys=True), *extra]


def load_promos_args() -> list[str]:
    """load_promos over the DAG run's data interval, with Airflow's retry counter."""
    return entry_args(
        "dwh.jobs.load_promos.load_promos_job_factory", "load_promos_job", LOAD_PROMOS_CONFIG, *WINDOW, *ATTEMPTS
    )


def databricks_cluster(workers: int = 2) -> dict[str, object]:
    """A job cluster for a submit run; DWH_CONTROL_URL (a Databricks secret) keeps the tries' errors across clusters."""
    return {
        "spark_version": "15.4.x-scala2.12",
        "node_type_id": "i3.xlarge",
        "num_workers": workers,
        # A Databricks secret reference, escaped from Airflow's Jinja so it reaches Databricks as written.
        "spark_env_vars": {"DWH_CONTROL_URL": "{{ '{{secrets/dwh/control_url}}' }}"},
    }


def wheel_task(task_key: str, parameters: list[str]) -> dict[str, object]:
    """A python_wheel_task on a new cluster running generic_entry with `parameters`."""
    return {
        "task_key": task_key,
        "new_cluster": databricks_cluster(),
        "python_wheel_task": {
            "package_name": "dwh_business_logic",
            "entry_point": "generic_entry",
            "parameters": parameters,
        },
        "libraries": [{"whl": DATABRICKS_WHEEL}, {"pypi": {"package": "psycopg[binary]>=3.1"}}],
    }
