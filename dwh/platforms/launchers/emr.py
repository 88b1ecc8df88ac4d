"""EMR: add a spark-submit step to a running Amazon EMR cluster and read the step's state.

    {"launcher": "EMR", "cluster_id": "j-2AXXXXXXGAPLF", "region": "eu-west-1",
     "script": "s3://bucket/dwh/generic_entry.py", "py_files": "s3://bucket/dwh/dwh.zip"}

`launch` calls ``add_job_flow_steps`` with one step (PLATFORMS.md)::

    {"Name": "<job>:<key>", "ActionOnFailure": "CONTINUE",
     "HadoopJarStep": {"Jar": "command-runner.jar",
                       "Args": ["spark-submit", "--deploy-mode", "cluster", *spark_submit_args,
                                "--py-files", "<py_files, comma-separated>", "<script>",
                                "--module_name", "<job>", "--k", "v", ...]}}

`state` calls ``describe_step``. ``add_job_flow_steps`` has no idempotency token: the caller's
insert-once tracking row stops a second launch (the step name carries `key` for operators), and
a request whose connection broke after it was sent is not repeated (see `dwh.platforms.launchers.aws`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from dwh.platforms.launchers.aws import CONSOLE, AwsLauncher
from dwh.platforms.launchers.base import LaunchedRun, LaunchError, LaunchState, RunState, as_argv, map_state

#: Every ``StepState`` of the EMR service model (botocore data ``emr``), mapped to the four.
EMR_STATES: Mapping[str, RunState] = {
    "PENDING": RunState.PENDING,
    "CANCEL_PENDING": RunState.PENDING,  # a waiting step being cancelled: it has not run and has not ended
    "RUNNING": RunState.RUNNING,
    "COMPLETED": RunState.SUCCEEDED,
    "CANCELLED": RunState.FAILED,
    "FAILED": RunState.FAILED,
    "INTERRUPTED": RunState.FAILED,
}
#: EMR's limit on a step name.
STEP_NAME_LIMIT = 256
#: What ``--py-files`` takes (not .whl: ship a zip of the package).
PY_FILE_SUFFIXES = (".py", ".zip", ".egg")


class EmrLauncher(AwsLauncher):
    """Runs a job as a spark-submit step (cluster deploy mode) on the EMR cluster ``cluster_id``."""

    launcher: Literal["EMR"] = "EMR"
    cluster_id: str = Field(..., pattern=r"^j-[A-Za-z0-9]+$", description="The cluster (job flow) id, j-...")
    script: str = Field(
        ..., min_length=1, description="The generic_entry.py shim, e.g. s3://bucket/dwh/generic_entry.py."
    )
    py_files: list[str] = Field(..., min_length=1, description="The dwh package zip(s) for --py-files (.py/.zip/.egg).")
    spark_submit_args: list[str] = Field(
        default_factory=list, description="spark-submit options put before --py-files, e.g. ['--conf', 'k=v']."
    )

    STATES: ClassVar[Mapping[str, RunState]] = EMR_STATES

    @field_validator("py_files", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("py_files")
    @classmethod
    def _py_file_kinds(cls, value: list[str]) -> list[str]:
        for path in value:
            if not path.endswith(PY_FILE_SUFFIXES):
                raise ValueError(f"{path!r}: --py-files takes .py, .zip or .egg files (not .whl)")
        return value

    def step(self, job: str | None, parameters: Mapping[str, str], key: str) -> dict[str, Any]:
        """The one step ``add_job_flow_steps`` receives for this job run."""
        if not job:
            raise LaunchError("EMR: a job module is required (the step runs generic_entry --module_name <job>)")
        args = ["spark-submit", "--deploy-mode", "cluster", *self.spark_submit_args]
        args += ["--py-files", ",".join(self.py_files), self.script, *as_argv(job, parameters)]
        return {
            "Name": f"{job}:{key}"[:STEP_NAME_LIMIT],
            "ActionOnFailure": "CONTINUE",
            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args},
        }

    def launch(self, job: str | None, parameters: Mapping[str, str], key: str) -> LaunchedRun:
        """``add_job_flow_steps``; returns at once with the step id."""
        response = self.call(
            "emr",
            "add_job_flow_steps",
            repeatable=False,
            JobFlowId=self.cluster_id,
            Steps=[self.step(job, parameters, key)],
        )
        step_id = str(response["StepIds"][0])
        return LaunchedRun(
            launcher=self.launcher,
            run_id=step_id,
            run_url=self.run_url(),
            detail={"cluster_id": self.cluster_id, "region": self.region},
        )

    def state(self, run: LaunchedRun) -> LaunchState:
        """``describe_step``: the step's state and, when it failed, EMR's failure details."""
        response = self.call("emr", "describe_step", ClusterId=self.cluster_id, StepId=run.run_id)
        step = response.get("Step")
        if not step:
            raise LaunchError(f"EMR describe_step: no step {run.run_id} on cluster {self.cluster_id}")
        status = step.get("Status", {})
        platform_state = str(status.get("State"))
        return LaunchState(
            state=map_state(self.STATES, platform_state, launcher=self.launcher),
            platform_state=platform_state,
            message=step_message(status),
            run_url=self.run_url(),
        )

    def run_url(self) -> str:
        """The cluster's page in the EMR console (its Steps tab lists the run)."""
        return f"{CONSOLE}/emr/home?region={self.region}#/clusterDetails/{self.cluster_id}"


def step_message(status: Mapping[str, Any]) -> str | None:
    """EMR's words on a step: FailureDetails (reason, message, log file), else its StateChangeReason."""
    failure = status.get("FailureDetails") or {}
    parts = [str(failure[name]) for name in ("Reason", "Message") if failure.get(name)]
    if failure.get("LogFile"):
        parts.append(f"log: {failure['LogFile']}")
    if parts:
        return "; ".join(parts)
    reason = status.get("StateChangeReason") or {}
    return str(reason["Message"]) if reason.get("Message") else None
