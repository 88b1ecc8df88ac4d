"""GLUE through real boto3 against moto's server: the request sent, every state, retries and permanent errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from dwh.config import StrictModel, validate_model
from dwh.errors import ConfigError
from dwh.platforms.launchers import LaunchedRun, LaunchError, RunState
from dwh.platforms.launchers.aws import AwsLauncher
from dwh.platforms.launchers.glue import GLUE_STATES, GlueLauncher
from dwh.secrets import SCRUBBER
from tests.platforms.launchers.aws_servers import (
    RESET,
    THROTTLE,
    UNAVAILABLE,
    backend,
    boto3_client,
    fast_retry_policy,
    fault_proxy,
    manual_progression,
    service_states,
)

pytestmark = pytest.mark.integration

SMOKE = "dwh.jobs.smoke.smoke_job_factory"
PARAMETERS = {"smoke_job": '{"rows": 5}', "start_date": "2025-01-01", "created_by": "airflow"}
#: What each Glue JobRunState must read as (the launcher's table, restated).
EXPECTED = {
    "STARTING": RunState.PENDING,
    "WAITING": RunState.PENDING,
    "RUNNING": RunState.RUNNING,
    "STOPPING": RunState.RUNNING,
    "SUCCEEDED": RunState.SUCCEEDED,
    "STOPPED": RunState.FAILED,
    "FAILED": RunState.FAILED,
    "TIMEOUT": RunState.FAILED,
    "ERROR": RunState.FAILED,
    "EXPIRED": RunState.FAILED,
}


class Wrapper(StrictModel):
    """A config holding one launcher block, as a job config would."""

    launcher: GlueLauncher


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AwsLauncher, "retry_policy", fast_retry_policy())


@pytest.fixture
def glue_job(aws_env: str) -> str:
    """A Glue job deployed on moto (many concurrent runs allowed, as under manual progression it matters)."""
    name = f"dwh-{uuid.uuid4().hex[:8]}"
    boto3_client("glue", aws_env).create_job(
        Name=name,
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://bucket/dwh/generic_entry.py"},
        ExecutionProperty={"MaxConcurrentRuns": 100},
    )
    return name


@pytest.fixture
def frozen_runs(aws_env: str) -> Iterator[None]:
    """Glue runs keep whatever state they are in (moto otherwise finishes them at once)."""
    with manual_progression(aws_env, "glue::job_run", times=1_000_000):
        yield


def glue(**fields: Any) -> GlueLauncher:
    """A GLUE launcher parsed like a job config would parse it."""
    return validate_model(
        Wrapper, {"launcher": {"launcher": "GLUE", "region": "us-east-1", **fields}}, argument="--test"
    ).launcher


def test_the_state_table_covers_every_state_of_the_service_model() -> None:
    states = service_states("glue", "JobRunState")
    assert sorted(GLUE_STATES) == sorted(states)
    assert sorted(EXPECTED) == sorted(states)


def test_launch_sends_the_job_and_its_parameters_as_arguments(glue_job: str, aws_env: str) -> None:
    run = glue(job_name=glue_job, endpoint_url=aws_env).launch(SMOKE, PARAMETERS, "batch-1:smoke")

    sent = boto3_client("glue", aws_env).get_job_run(JobName=glue_job, RunId=run.run_id)["JobRun"]
    assert sent["Arguments"] == {
        "--module_name": SMOKE,
        "--smoke_job": '{"rows": 5}',
        "--start_date": "2025-01-01",
        "--created_by": "airflow",
    }
    assert run.launcher == "GLUE" and run.run_id.startswith("jr_")
    assert run.run_url == (
        f"https://console.aws.amazon.com/gluestudio/home?region=us-east-1#/job/{glue_job}/run/{run.run_id}"
    )
    assert LaunchedRun.from_json(run.to_json()) == run


def test_a_predeployed_job_gets_only_the_run_parameters(glue_job: str, aws_env: str) -> None:
    launcher = glue(job_name=glue_job)  # endpoint from AWS_ENDPOINT_URL, as boto3 finds it
    run = launcher.launch(None, {"demo_name": "promo", "batch_id": "b1"}, "b1:geo")

    sent = boto3_client("glue", aws_env).get_job_run(JobName=glue_job, RunId=run.run_id)["JobRun"]
    assert sent["Arguments"] == {"--demo_name": "promo", "--batch_id": "b1"}
    assert GlueLauncher.predeployed and not GlueLauncher.idempotent


def test_a_run_steps_from_starting_through_running_to_succeeded(glue_job: str, aws_env: str) -> None:
    launcher = glue(job_name=glue_job, endpoint_url=aws_env)
    with manual_progression(aws_env, "glue::job_run", times=2):  # one state further every second read
        run = launcher.launch(SMOKE, PARAMETERS, "k")
        seen = [launcher.state(run) for _ in range(4)]

    assert [(s.platform_state, s.state) for s in seen] == [
        ("STARTING", RunState.PENDING),
        ("RUNNING", RunState.RUNNING),
        ("RUNNING", RunState.RUNNING),
        ("SUCCEEDED", RunState.SUCCEEDED),
    ]
    assert seen[-1].run_url == run.run_url


@pytest.mark.parametrize("platform_state", sorted(EXPECTED))
def test_every_state_reads_as_its_run_state(
    platform_state: str, glue_job: str, aws_env: str, frozen_runs: None
) -> None:
    launcher = glue(job_name=glue_job, endpoint_url=aws_env)
    run = launcher.launch(SMOKE, PARAMETERS, "k")
    backend("glue").jobs[glue_job].job_runs[-1].status = platform_state  # no moto API reaches most of them

    state = launcher.state(run)
    assert (state.platform_state, state.state) == (platform_state, EXPECTED[platform_state])


def test_an_unknown_job_fails_at_once_with_the_aws_message(aws_env: str) -> None:
    with fault_proxy(aws_env) as proxy:
        launcher = glue(job_name="no-such-job", endpoint_url=proxy.url)
        with pytest.raises(LaunchError) as raised:
            launcher.launch(SMOKE, PARAMETERS, "k")

    assert str(raised.value) == "GLUE start_job_run: EntityNotFoundException: Job no-such-job not found."
    assert len(proxy.requests) == 1  # permanent: not retried


def test_a_secret_in_the_aws_message_is_masked(aws_env: str) -> None:
    SCRUBBER.register("tok-9f8e7d6c5b4a")
    refusal = ("InvalidInputException", "Argument --token tok-9f8e7d6c5b4a is not allowed", 400)
    with fault_proxy(aws_env, refusal) as proxy, pytest.raises(LaunchError) as raised:
        glue(job_name="j", endpoint_url=proxy.url).launch(SMOKE, {"token": "tok-9f8e7d6c5b4a"}, "k")

    assert str(raised.value) == "GLUE start_job_run: InvalidInputException: Argument --token *** is not allowed"


def test_an_unknown_run_fails_at_once(glue_job: str, aws_env: str) -> None:
    launcher = glue(job_name=glue_job, endpoint_url=aws_env)
    with pytest.raises(LaunchError, match="GLUE get_job_run: EntityNotFoundException: Job run jr_nope not found"):
        launcher.state(LaunchedRun(launcher="GLUE", run_id="jr_nope"))


def test_throttling_and_503_are_retried(glue_job: str, aws_env: str) -> None:
    with fault_proxy(aws_env, THROTTLE, UNAVAILABLE) as proxy:
        run = glue(job_name=glue_job, endpoint_url=proxy.url).launch(SMOKE, PARAMETERS, "k")

    assert len(proxy.requests) == 3  # two refusals, each tried again once by our policy (botocore's retries are off)
    sent = boto3_client("glue", aws_env).get_job_runs(JobName=glue_job)["JobRuns"]
    assert [r["Id"] for r in sent] == [run.run_id]


def test_a_reset_after_the_start_request_was_sent_is_not_repeated(glue_job: str, aws_env: str) -> None:
    # start_job_run has no idempotency token: had AWS started the run, a retry would start a second one.
    with fault_proxy(aws_env, RESET) as proxy, pytest.raises(LaunchError) as raised:
        glue(job_name=glue_job, endpoint_url=proxy.url).launch(SMOKE, PARAMETERS, "k")

    assert len(proxy.requests) == 1
    assert str(raised.value).startswith("GLUE start_job_run: ConnectionClosedError: Connection was closed")
    assert str(raised.value).endswith("(the request was sent: it may have started a run; check before launching again)")


def test_a_reset_while_reading_the_state_is_retried(glue_job: str, aws_env: str) -> None:
    run = glue(job_name=glue_job, endpoint_url=aws_env).launch(SMOKE, PARAMETERS, "k")
    with fault_proxy(aws_env, RESET, THROTTLE) as proxy:
        state = glue(job_name=glue_job, endpoint_url=proxy.url).state(run)

    assert (state.state, len(proxy.requests)) == (RunState.SUCCEEDED, 3)


def test_transient_errors_give_up_after_the_policy_attempts(
    glue_job: str, aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AwsLauncher, "retry_policy", fast_retry_policy(attempts=3))
    with fault_proxy(aws_env, *[THROTTLE] * 10) as proxy, pytest.raises(LaunchError) as raised:
        glue(job_name=glue_job, endpoint_url=proxy.url).launch(SMOKE, PARAMETERS, "k")

    assert str(raised.value) == "GLUE start_job_run: ThrottlingException: Rate exceeded"
    assert len(proxy.requests) == 3
    assert boto3_client("glue", aws_env).get_job_runs(JobName=glue_job)["JobRuns"] == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "--test: launcher.job_name: required field is missing"),
        ({"job_name": "j", "jobname": "j"}, "--test: launcher.jobname: unknown field (check the spelling)"),
        ({"job_name": "j", "region": "Ireland"}, "--test: launcher.region: String should match pattern"),
        ({"job_name": ""}, "--test: launcher.job_name: String should have at least 1 character"),
    ],
)
def test_bad_config_is_one_line_naming_the_field(fields: dict[str, Any], expected: str) -> None:
    data = {"launcher": {"launcher": "GLUE", "region": "us-east-1", **fields}}
    with pytest.raises(ConfigError) as raised:
        validate_model(Wrapper, data, argument="--test")
    assert str(raised.value).startswith(expected)


def test_the_config_has_a_json_schema() -> None:
    schema = GlueLauncher.model_json_schema()
    assert set(schema["required"]) == {"job_name", "region"}
    assert schema["additionalProperties"] is False
