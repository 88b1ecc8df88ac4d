"""EMR through real boto3 against moto's server: the exact step sent, every step state, retries, permanent errors."""

from __future__ import annotations

from typing import Any

import pytest

from dwh.config import StrictModel, validate_model
from dwh.errors import ConfigError
from dwh.platforms.launchers import LaunchedRun, LaunchError, RunState
from dwh.platforms.launchers.aws import AwsLauncher
from dwh.platforms.launchers.emr import EMR_STATES, EmrLauncher, step_message
from tests.platforms.launchers.aws_servers import (
    RESET,
    THROTTLE,
    backend,
    boto3_client,
    fast_retry_policy,
    fault_proxy,
    service_states,
)

pytestmark = pytest.mark.integration

SMOKE = "dwh.jobs.smoke.smoke_job_factory"
SCRIPT = "s3://bucket/dwh/generic_entry.py"
ZIP = "s3://bucket/dwh/dwh.zip"
#: What each EMR StepState must read as (the launcher's table, restated).
EXPECTED = {
    "PENDING": RunState.PENDING,
    "CANCEL_PENDING": RunState.PENDING,
    "RUNNING": RunState.RUNNING,
    "COMPLETED": RunState.SUCCEEDED,
    "CANCELLED": RunState.FAILED,
    "FAILED": RunState.FAILED,
    "INTERRUPTED": RunState.FAILED,
}


class Wrapper(StrictModel):
    """A config holding one launcher block, as a job config would."""

    launcher: EmrLauncher


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AwsLauncher, "retry_policy", fast_retry_policy())


@pytest.fixture
def cluster_id(aws_env: str) -> str:
    """A fresh EMR cluster on moto that stays up without steps."""
    response = boto3_client("emr", aws_env).run_job_flow(
        Name="dwh-tests",
        ReleaseLabel="emr-7.0.0",
        Instances={
            "MasterInstanceType": "m5.xlarge",
            "SlaveInstanceType": "m5.xlarge",
            "InstanceCount": 1,
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
    )
    return str(response["JobFlowId"])


def emr(**fields: Any) -> EmrLauncher:
    """An EMR launcher parsed like a job config would parse it."""
    data = {"launcher": "EMR", "region": "us-east-1", "script": SCRIPT, "py_files": ZIP, **fields}
    return validate_model(Wrapper, {"launcher": data}, argument="--test").launcher


def test_the_state_table_covers_every_state_of_the_service_model() -> None:
    states = service_states("emr", "StepState")
    assert sorted(EMR_STATES) == sorted(states)
    assert sorted(EXPECTED) == sorted(states)


def test_launch_adds_the_spark_submit_step_of_the_job(cluster_id: str, aws_env: str) -> None:
    launcher = emr(cluster_id=cluster_id, endpoint_url=aws_env)
    run = launcher.launch(SMOKE, {"smoke_job": '{"rows": 5}', "created_by": "airflow"}, "batch-1:smoke")

    step = boto3_client("emr", aws_env).describe_step(ClusterId=cluster_id, StepId=run.run_id)["Step"]
    assert step["Name"] == f"{SMOKE}:batch-1:smoke"
    assert step["ActionOnFailure"] == "CONTINUE"
    assert step["Config"]["Jar"] == "command-runner.jar"
    assert step["Config"]["Args"] == [
        "spark-submit", "--deploy-mode", "cluster", "--py-files", ZIP, SCRIPT,
        "--module_name", SMOKE, "--smoke_job", '{"rows": 5}', "--created_by", "airflow",
    ]  # fmt: skip
    assert run.run_url == f"https://console.aws.amazon.com/emr/home?region=us-east-1#/clusterDetails/{cluster_id}"
    assert run.detail["cluster_id"] == cluster_id


def test_spark_submit_args_go_before_py_files_and_several_zips_are_joined(cluster_id: str, aws_env: str) -> None:
    launcher = emr(
        cluster_id=cluster_id,
        endpoint_url=aws_env,
        py_files=[ZIP, "s3://bucket/dwh/extra.py"],
        spark_submit_args=["--conf", "spark.executor.memory=4g"],
    )
    run = launcher.launch(SMOKE, {}, "k")

    args = boto3_client("emr", aws_env).describe_step(ClusterId=cluster_id, StepId=run.run_id)["Step"]["Config"]["Args"]
    assert args == [
        "spark-submit", "--deploy-mode", "cluster", "--conf", "spark.executor.memory=4g",
        "--py-files", f"{ZIP},s3://bucket/dwh/extra.py", SCRIPT, "--module_name", SMOKE,
    ]  # fmt: skip


def test_the_first_step_runs_and_the_next_one_waits(cluster_id: str, aws_env: str) -> None:
    launcher = emr(cluster_id=cluster_id, endpoint_url=aws_env)
    first, second = launcher.launch(SMOKE, {}, "a"), launcher.launch(SMOKE, {}, "b")

    assert [launcher.state(first).state, launcher.state(second).state] == [RunState.RUNNING, RunState.PENDING]
    assert first.run_id != second.run_id  # no idempotency token on this API: the tracking row must stop a re-launch
    assert not EmrLauncher.idempotent


@pytest.mark.parametrize("platform_state", sorted(EXPECTED))
def test_every_step_state_reads_as_its_run_state(platform_state: str, cluster_id: str, aws_env: str) -> None:
    launcher = emr(cluster_id=cluster_id, endpoint_url=aws_env)
    run = launcher.launch(SMOKE, {}, "k")
    step = backend("emr").clusters[cluster_id].steps[-1]
    step.state = platform_state  # moto's steps never move on their own (PLATFORMS.md)
    step.last_state_change_reason = f"reason for {platform_state}"

    state = launcher.state(run)
    assert (state.platform_state, state.state) == (platform_state, EXPECTED[platform_state])
    assert state.message == f"reason for {platform_state}"


def test_failure_details_make_the_message() -> None:
    status = {
        "State": "FAILED",
        "StateChangeReason": {"Message": "Step failed"},
        "FailureDetails": {"Reason": "Unknown error.", "Message": "exit code 1", "LogFile": "s3://logs/j-1/steps/s-1/"},
    }
    assert step_message(status) == "Unknown error.; exit code 1; log: s3://logs/j-1/steps/s-1/"
    assert step_message({"State": "RUNNING", "StateChangeReason": {}}) is None


def test_an_unknown_step_is_an_error(cluster_id: str, aws_env: str) -> None:
    launcher = emr(cluster_id=cluster_id, endpoint_url=aws_env)
    with pytest.raises(LaunchError, match=f"EMR describe_step: no step s-NOPE on cluster {cluster_id}"):
        launcher.state(LaunchedRun(launcher="EMR", run_id="s-NOPE"))


def test_a_validation_error_fails_at_once_with_the_aws_message(aws_env: str) -> None:
    refusal = (
        "ValidationException",
        "A job flow that is shutting down, terminated, or finished may not be modified.",
        400,
    )
    with fault_proxy(aws_env, refusal) as proxy, pytest.raises(LaunchError) as raised:
        emr(cluster_id="j-ENDED", endpoint_url=proxy.url).launch(SMOKE, {}, "k")

    assert str(raised.value) == (
        "EMR add_job_flow_steps: ValidationException: "
        "A job flow that is shutting down, terminated, or finished may not be modified."
    )
    assert len(proxy.requests) == 1


def test_throttling_is_retried(cluster_id: str, aws_env: str) -> None:
    with fault_proxy(aws_env, THROTTLE, THROTTLE) as proxy:
        launcher = emr(cluster_id=cluster_id, endpoint_url=proxy.url)
        run = launcher.launch(SMOKE, {}, "k")

    assert len(proxy.requests) == 3
    steps = boto3_client("emr", aws_env).list_steps(ClusterId=cluster_id)["Steps"]
    assert [s["Id"] for s in steps] == [run.run_id]


def test_a_reset_after_the_step_was_sent_is_not_repeated(cluster_id: str, aws_env: str) -> None:
    with fault_proxy(aws_env, RESET) as proxy, pytest.raises(LaunchError, match="it may have started a run"):
        emr(cluster_id=cluster_id, endpoint_url=proxy.url).launch(SMOKE, {}, "k")
    assert len(proxy.requests) == 1


def test_a_launch_without_a_job_module_fails_before_any_call(aws_env: str) -> None:
    with fault_proxy(aws_env) as proxy, pytest.raises(LaunchError, match="a job module is required"):
        emr(cluster_id="j-ABC", endpoint_url=proxy.url).launch(None, {"x": "1"}, "k")
    assert proxy.requests == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "--test: launcher.cluster_id: required field is missing"),
        ({"cluster_id": "cluster-1"}, "--test: launcher.cluster_id: String should match pattern"),
        (
            {"cluster_id": "j-ABC", "py_files": "s3://b/dwh.whl"},
            "--test: launcher.py_files: 's3://b/dwh.whl': --py-files takes",
        ),
        ({"cluster_id": "j-ABC", "sript": "x"}, "--test: launcher.sript: unknown field (check the spelling)"),
        ({"cluster_id": "j-ABC", "py_files": []}, "--test: launcher.py_files: List should have at least 1 item"),
    ],
)
def test_bad_config_is_one_line_naming_the_field(fields: dict[str, Any], expected: str) -> None:
    data = {"launcher": "EMR", "region": "us-east-1", "script": SCRIPT, "py_files": ZIP, **fields}
    with pytest.raises(ConfigError) as raised:
        validate_model(Wrapper, {"launcher": data}, argument="--test")
    assert str(raised.value).startswith(expected)


def test_one_py_file_may_be_given_as_a_string() -> None:
    assert emr(cluster_id="j-ABC").py_files == [ZIP]
