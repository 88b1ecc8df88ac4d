"""EMR_SERVERLESS: start a Spark job run on an EMR Serverless application and read its state.

    {"launcher": "EMR_SERVERLESS", "application_id": "00f1abcdexample", "region": "eu-west-1",
     "execution_role_arn": "arn:aws:iam::123456789012:role/dwh-emr-serverless",
     "entry_point": "s3://bucket/dwh/generic_entry.py",
     "spark_submit_parameters": "--conf spark.archives=s3://bucket/dwh/venv.tar.gz#environment"}

`launch` calls ``start_job_run(applicationId, executionRoleArn, clientToken=<key>, jobDriver={"sparkSubmit":
{"entryPoint", "entryPointArguments": ["--module_name", job, "--k", "v", ...], "sparkSubmitParameters"}})``;
`state` calls ``get_job_run``.

The service de-duplicates ``clientToken``: a launch retried with the same key gets the run the first
call started, so this launcher is `idempotent`. A key that is not a valid token (at most 64 of
``[A-Za-z0-9._-]``) is sent as a stable sanitised form with a hash (`client_token`). moto (the
test server) does NOT de-duplicate tokens; its tests check the token we send, not the service's
de-duplication.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field

from dwh.platforms.launchers.aws import CONSOLE, AwsLauncher
from dwh.platforms.launchers.base import LaunchedRun, LaunchError, LaunchState, RunState, as_argv, map_state

#: Every ``JobRunState`` of the EMR Serverless service model (botocore data ``emr-serverless``), mapped to the four.
EMR_SERVERLESS_STATES: Mapping[str, RunState] = {
    "SUBMITTED": RunState.PENDING,
    "PENDING": RunState.PENDING,
    "SCHEDULED": RunState.PENDING,
    "QUEUED": RunState.PENDING,
    "RUNNING": RunState.RUNNING,
    "CANCELLING": RunState.RUNNING,  # a cancel was asked for; the run has not ended yet
    "SUCCESS": RunState.SUCCEEDED,
    "FAILED": RunState.FAILED,
    "CANCELLED": RunState.FAILED,
}
#: The service model's shape of clientToken.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$"


def client_token(key: str) -> str:
    """`key` itself when it is a valid clientToken, else its sanitised head plus a hash (stable per key)."""
    if TOKEN_PATTERN.fullmatch(key):
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    head = re.sub(r"[^A-Za-z0-9._-]+", "_", key)[: 64 - len(digest) - 1]
    return f"{head}-{digest}"


class EmrServerlessLauncher(AwsLauncher):
    """Runs a job on the EMR Serverless application ``application_id`` as ``execution_role_arn``."""

    launcher: Literal["EMR_SERVERLESS"] = "EMR_SERVERLESS"
    application_id: str = Field(..., pattern=r"^[0-9a-z]+$", description="The Spark application's id.")
    execution_role_arn: str = Field(
        ..., pattern=ROLE_ARN_PATTERN, description="IAM role the job runs as (arn:aws:iam::<account>:role/<name>)."
    )
    entry_point: str = Field(
        ..., min_length=1, description="The generic_entry.py shim, e.g. s3://bucket/dwh/generic_entry.py."
    )
    spark_submit_parameters: str | None = Field(
        None, description="spark-submit options, e.g. '--conf spark.archives=s3://.../venv.tar.gz#environment'."
    )

    idempotent: ClassVar[bool] = True
    STATES: ClassVar[Mapping[str, RunState]] = EMR_SERVERLESS_STATES

    def job_driver(self, job: str | None, parameters: Mapping[str, str]) -> dict[str, Any]:
        """The ``jobDriver`` of ``start_job_run`` for this job run."""
        if not job:
            raise LaunchError(
                "EMR_SERVERLESS: a job module is required (the run calls generic_entry --module_name <job>)"
            )
        spark_submit: dict[str, Any] = {"entryPoint": self.entry_point, "entryPointArguments": as_argv(job, parameters)}
        if self.spark_submit_parameters:
            spark_submit["sparkSubmitParameters"] = self.spark_submit_parameters
        return {"sparkSubmit": spark_submit}

    def launch(self, job: str | None, parameters: Mapping[str, str], key: str) -> LaunchedRun:
        """``start_job_run`` with ``clientToken`` from `key`; returns at once with the job run id."""
        job_driver = self.job_driver(job, parameters)
        response = self.call(
            "emr-serverless",
            "start_job_run",
            applicationId=self.application_id,
            executionRoleArn=self.execution_role_arn,
            clientToken=client_token(key),
            jobDriver=job_driver,
            name=str(job)[:256],
        )
        run_id = str(response["jobRunId"])
        return LaunchedRun(
            launcher=self.launcher,
            run_id=run_id,
            run_url=self.run_url(run_id),
            detail={"application_id": self.application_id, "region": self.region, "arn": str(response.get("arn", ""))},
        )

    def state(self, run: LaunchedRun) -> LaunchState:
        """``get_job_run``: the run's state and the service's ``stateDetails``."""
        response = self.call("emr-serverless", "get_job_run", applicationId=self.application_id, jobRunId=run.run_id)
        job_run = response["jobRun"]
        platform_state = str(job_run["state"])
        return LaunchState(
            state=map_state(self.STATES, platform_state, launcher=self.launcher),
            platform_state=platform_state,
            message=job_run.get("stateDetails") or None,
            run_url=self.run_url(run.run_id),
        )

    def run_url(self, run_id: str) -> str:
        """The job run's page in the EMR console."""
        return (
            f"{CONSOLE}/emr/home?region={self.region}#/serverless-applications/{self.application_id}/job-runs/{run_id}"
        )
