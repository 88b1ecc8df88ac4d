"""GLUE: start a run of a pre-deployed AWS Glue job and read its state.

    {"launcher": "GLUE", "job_name": "dwh-smoke", "region": "eu-west-1"}

`launch` calls ``start_job_run(JobName=job_name, Arguments={"--module_name": job, "--k": "v", ...})``
(Glue hands them to the ``generic_entry.py`` script as ``sys.argv``); `state` calls ``get_job_run``.
The Glue API has no idempotency token, so `key` is not sent: the caller's insert-once tracking row
is what stops a second launch, and a start request whose connection broke after it was sent is
not repeated (it may have started a run): see `dwh.platforms.launchers.aws`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal
from urllib.parse import quote

from pydantic import Field

from dwh.platforms.launchers.aws import CONSOLE, AwsLauncher
from dwh.platforms.launchers.base import LaunchedRun, LaunchState, RunState, map_state

#: Every ``JobRunState`` of the Glue service model (botocore data ``glue``), mapped to the four.
GLUE_STATES: Mapping[str, RunState] = {
    "STARTING": RunState.PENDING,
    "WAITING": RunState.PENDING,  # queued for capacity (job run queuing)
    "RUNNING": RunState.RUNNING,
    "STOPPING": RunState.RUNNING,  # a stop was asked for; the run has not ended yet
    "SUCCEEDED": RunState.SUCCEEDED,
    "STOPPED": RunState.FAILED,
    "FAILED": RunState.FAILED,
    "TIMEOUT": RunState.FAILED,
    "ERROR": RunState.FAILED,
    "EXPIRED": RunState.FAILED,
}


class GlueLauncher(AwsLauncher):
    """Starts runs of the Glue job ``job_name``, which is deployed with the ``generic_entry.py`` script."""

    launcher: Literal["GLUE"] = "GLUE"
    job_name: str = Field(..., min_length=1, max_length=255, description="Name of the deployed Glue job.")

    predeployed: ClassVar[bool] = True
    STATES: ClassVar[Mapping[str, RunState]] = GLUE_STATES

    def arguments(self, job: str | None, parameters: Mapping[str, str]) -> dict[str, str]:
        """The ``Arguments`` of ``start_job_run``: ``--module_name`` (when `job` is given), then ``--k: v``."""
        arguments = {"--module_name": job} if job else {}
        arguments.update({f"--{name}": str(value) for name, value in parameters.items()})
        return arguments

    def launch(self, job: str | None, parameters: Mapping[str, str], key: str) -> LaunchedRun:
        """``start_job_run``; returns at once with the JobRunId (`key` has nowhere to go on this API)."""
        response = self.call(
            "glue", "start_job_run", repeatable=False, JobName=self.job_name, Arguments=self.arguments(job, parameters)
        )
        run_id = str(response["JobRunId"])
        return LaunchedRun(
            launcher=self.launcher,
            run_id=run_id,
            run_url=self.run_url(run_id),
            detail={"job_name": self.job_name, "region": self.region},
        )

    def state(self, run: LaunchedRun) -> LaunchState:
        """``get_job_run``: the run's JobRunState and, when it failed, Glue's ErrorMessage."""
        response = self.call("glue", "get_job_run", JobName=self.job_name, RunId=run.run_id, PredecessorsIncluded=False)
        job_run = response["JobRun"]
        platform_state = str(job_run["JobRunState"])
        return LaunchState(
            state=map_state(self.STATES, platform_state, launcher=self.launcher),
            platform_state=platform_state,
            message=job_run.get("ErrorMessage") or None,
            run_url=self.run_url(run.run_id),
        )

    def run_url(self, run_id: str) -> str:
        """The run's page in AWS Glue Studio."""
        return f"{CONSOLE}/gluestudio/home?region={self.region}#/job/{quote(self.job_name, safe='')}/run/{run_id}"
