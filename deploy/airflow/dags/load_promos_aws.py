"""load_promos on AWS from Airflow: Glue, an EMR step on a running cluster, and EMR Serverless."""

from __future__ import annotations

from airflow.providers.amazon.aws.operators.emr import EmrAddStepsOperator, EmrServerlessStartJobOperator
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.sdk import DAG
from dwh_deploy import DEFAULT_ARGS, PACKED_VENV, PY_ZIP, SCHEDULE, SHIM, START, WHEEL, load_promos_args

EMR_CLUSTER_ID = "j-2AXXXXXXGAPLF"
EMR_SERVERLESS_APPLICATION_ID = "00fabcdexample"
EMR_SERVERLESS_ROLE = "arn:aws:iam::123456789012:role/dwh-emr-serverless"


def glue_script_args() -> dict[str, str]:
    """generic_entry's argv as Glue's Arguments (keys keep their --), plus the wheel and Delta."""
    argv = load_promos_args()
    args = dict(zip(argv[::2], argv[1::2], strict=True))
    return {**args, "--additional-python-modules": f"{WHEEL},psycopg[binary]>=3.1", "--datalake-formats": "delta"}


with DAG(
    dag_id="load_promos_aws",
    schedule=SCHEDULE,
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["dwh", "aws"],
) as dag:
    GlueJobOperator(
        task_id="load_promos_glue",
        job_name="load_promos_airflow",
        script_location=SHIM,
        iam_role_name="dwh-glue",
        script_args=glue_script_args(),
        create_job_kwargs={"GlueVersion": "5.0", "WorkerType": "G.1X", "NumberOfWorkers": 2, "MaxRetries": 0},
    )
    EmrAddStepsOperator(
        task_id="load_promos_emr",
        job_flow_id=EMR_CLUSTER_ID,
        wait_for_completion=True,
        steps=[
            {
                "Name": "load_promos {{ ds }}",
                "ActionOnFailure": "CONTINUE",
                "HadoopJarStep": {
                    "Jar": "command-runner.jar",
                    "Args": [
                        "spark-submit",
                        "--deploy-mode",
                        "cluster",
                        "--py-files",
                        PY_ZIP,
                        SHIM,
                        *load_promos_args(),
                    ],
                },
            }
        ],
    )
    EmrServerlessStartJobOperator(
        task_id="load_promos_emr_serverless",
        application_id=EMR_SERVERLESS_APPLICATION_ID,
        execution_role_arn=EMR_SERVERLESS_ROLE,
        name="load_promos {{ ds }}",
        job_driver={
            "sparkSubmit": {
                "entryPoint": SHIM,
                "entryPointArguments": load_promos_args(),
                "sparkSubmitParameters": f"--conf spark.archives={PACKED_VENV}#environment"
                " --conf spark.emr-serverless.driverEnv.PYSPARK_PYTHON=./environment/bin/python"
                " --conf spark.executorEnv.PYSPARK_PYTHON=./environment/bin/python",
            }
        },
        wait_for_completion=True,
    )
