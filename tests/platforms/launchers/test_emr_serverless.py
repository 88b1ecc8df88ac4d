"""EMR_SERVERLESS through real boto3 against moto's server: the job driver and token sent, every state, errors.

moto does not de-duplicate ``clientToken`` (the real service does): these tests check the token we
send and that it is the same for the same key, not the service's de-duplication.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from dwh.config import StrictModel, validate_model
from dwh.errors import ConfigError
from dwh.platforms.launchers import LaunchedRun, LaunchError, RunState
from dwh.platforms.launchers.aws import AwsLauncher
from dwh.platforms.launchers.emr_serverless import EMR_SERVERLESS_STATES, EmrServerlessLauncher, client_token
from tests.platforms.launchers.aws_servers import (
    RESET,
    UNAVAILABLE,
    backend,
    boto3_client,
    fast_retry_policy,
    fault_proxy,
    service_states,
)

pytestmark = pytest.mark.integration

SMOKE = "dwh.jobs.smoke.smoke_job_factory"
ROLE = "arn:aws:iam::123456789012:role/dwh-emr-serverless"
ENTRY = "s3://bucket/dwh/generic_entry.py"
PARAMETERS = {"smoke_job": '{"rows": 5}', "created_by": "airflow"}
#: What each EMR Serverless JobRunState must read as (the launcher's table, restated).
EXPECTED = {
    "SUBMITTED": RunState.PENDING,
    "PENDING": RunState.PENDING,
    "SCHEDULED": RunState.PENDING,
    "QUEUED": RunState.PENDING,
    "RUNNING": RunState.RUNNING,
    "CANCELLING": RunState.RUNNING,
    "SUCCESS": RunState.SUCCEEDED,
    "FAILED": RunState.FAILED,
    "CANCELLED": RunState.FAILED,
}


class Wrapper(StrictModel):
    """A config holding one launcher block, as a job config would."""

    launcher: EmrServerlessLauncher


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AwsLauncher, "retry_policy", fast_retry_policy())


@pytest.fixture
def application_id(aws_env: str) -> str:
    """A fresh Spark application on moto."""
    response = boto3_client("emr-serverless", aws_env).create_application(
        name="dwh-tests", releaseLabel="emr-7.0.0", type="SPARK"
    )
    return str(response["applicationId"])


def serverless(**fields: Any) -> EmrServerlessLauncher:
    """An EMR_SERVERLESS launcher parsed like a job config would parse it."""
    data = {"launcher": "EMR_SERVERLESS", "region": "us-east-1", "execution_role_arn": ROLE, "entry_point": ENTRY}
    return validate_model(Wrapper, {"launcher": {**data, **fields}}, argument="--test").launcher


def sent_token(application_id: str, run_id: str) -> str:
    """The clientToken moto received for a run (the API does not return it)."""
    [job_run] = [r for r in backend("emr-serverless").job_runs[application_id] if r.id == run_id]
    return str(job_run.client_token)


def test_the_state_table_covers_every_state_of_the_service_model() -> None:
    states = service_states("emr-serverless", "JobRunState")
    assert sorted(EMR_SERVERLESS_STATES) == sorted(states)
    assert sorted(EXPECTED) == sorted(states)


def test_launch_sends_the_job_driver_role_and_key(application_id: str, aws_env: str) -> None:
    launcher = serverless(
        application_id=application_id,
        endpoint_url=aws_env,
        spark_submit_parameters="--conf spark.archives=s3://bucket/venv.tar.gz#environment",
    )
    run = launcher.launch(SMOKE, PARAMETERS, "batch-1.smoke")

    job_run = boto3_client("emr-serverless", aws_env).get_job_run(applicationId=application_id, jobRunId=run.run_id)
    assert job_run["jobRun"]["jobDriver"] == {
        "sparkSubmit": {
            "entryPoint": ENTRY,
            "entryPointArguments": [
                "--module_name",
                SMOKE,
                "--smoke_job",
                '{"rows": 5}',
                "--created_by",
                "airflow",
            ],
            "sparkSubmitParameters": "--conf spark.archives=s3://bucket/venv.tar.gz#environment",
        }
    }
    assert job_run["jobRun"]["executionRole"] == ROLE
    assert sent_token(application_id, run.run_id) == "batch-1.smoke"
    assert run.run_url == (
        "https://console.aws.amazon.com/emr/home?region=us-east-1"
        f"#/serverless-applications/{application_id}/job-runs/{run.run_id}"
    )
    assert EmrServerlessLauncher.idempotent


def test_without_spark_submit_parameters_none_are_sent(application_id: str, aws_env: str) -> None:
    run = serverless(application_id=application_id, endpoint_url=aws_env).launch(SMOKE, {}, "k")

    job_run = boto3_client("emr-serverless", aws_env).get_job_run(applicationId=application_id, jobRunId=run.run_id)
    assert job_run["jobRun"]["jobDriver"] == {
        "sparkSubmit": {"entryPoint": ENTRY, "entryPointArguments": ["--module_name", SMOKE]}
    }


def test_a_key_that_is_no_valid_token_is_sent_in_a_stable_valid_form(application_id: str, aws_env: str) -> None:
    launcher = serverless(application_id=application_id, endpoint_url=aws_env)
    key = "batch 2025-01-01T00:00:00:geo_analysis/" + "x" * 80
    first, again = launcher.launch(SMOKE, {}, key), launcher.launch(SMOKE, {}, key)

    token = sent_token(application_id, first.run_id)
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", token)
    assert token.startswith("batch_2025-01-01T00_00_00_geo_analysis_")
    assert sent_token(application_id, again.run_id) == token  # the service would answer the retry with the first run
    assert client_token(key + "y") != token


def test_runs_are_born_successful_and_a_cancelled_one_failed(application_id: str, aws_env: str) -> None:
    launcher = serverless(application_id=application_id, endpoint_url=aws_env)
    done, cancelled = launcher.launch(SMOKE, {}, "a"), launcher.launch(SMOKE, {}, "b")
    boto3_client("emr-serverless", aws_env).cancel_job_run(applicationId=application_id, jobRunId=cancelled.run_id)

    assert (launcher.state(done).platform_state, launcher.state(done).state) == ("SUCCESS", RunState.SUCCEEDED)
    assert (launcher.state(cancelled).platform_state, launcher.state(cancelled).state) == ("CANCELLED", RunState.FAILED)


@pytest.mark.parametrize("platform_state", sorted(EXPECTED))
def test_every_state_reads_as_its_run_state(platform_state: str, application_id: str, aws_env: str) -> None:
    launcher = serverless(application_id=application_id, endpoint_url=aws_env)
    run = launcher.launch(SMOKE, {}, "k")
    job_run = backend("emr-serverless").job_runs[application_id][-1]
    job_run.state = platform_state  # moto's API reaches only SUCCESS and CANCELLED (PLATFORMS.md)
    job_run.state_details = f"details of {platform_state}"

    state = launcher.state(run)
    assert (state.platform_state, state.state) == (platform_state, EXPECTED[platform_state])
    assert state.message == f"details of {platform_state}"


def test_access_denied_fails_at_once_with_the_aws_message(application_id: str, aws_env: str) -> None:
    other_account_role = "arn:aws:iam::999999999999:role/dwh"
    with fault_proxy(aws_env) as proxy:
        launcher = serverless(
            application_id=application_id, endpoint_url=proxy.url, execution_role_arn=other_account_role
        )
        with pytest.raises(LaunchError) as raised:
            launcher.launch(SMOKE, {}, "k")

    assert (
        str(raised.value)
        == "EMR_SERVERLESS start_job_run: AccessDeniedException: Cross-account pass role is not allowed."
    )
    assert len(proxy.requests) == 1


def test_an_unknown_application_fails_with_the_aws_message(aws_env: str) -> None:
    launcher = serverless(application_id="00nosuchapp", endpoint_url=aws_env)
    with pytest.raises(LaunchError, match="ResourceNotFoundException: Application 00nosuchapp does not exist"):
        launcher.launch(SMOKE, {}, "k")
    with pytest.raises(LaunchError, match="EMR_SERVERLESS get_job_run: ResourceNotFoundException"):
        launcher.state(LaunchedRun(launcher="EMR_SERVERLESS", run_id="nope"))


def test_a_reset_and_a_503_are_retried(application_id: str, aws_env: str) -> None:
    with fault_proxy(aws_env, RESET, UNAVAILABLE) as proxy:
        run = serverless(application_id=application_id, endpoint_url=proxy.url).launch(SMOKE, {}, "k")

    assert len(proxy.requests) == 3
    assert [r.id for r in backend("emr-serverless").job_runs[application_id]] == [run.run_id]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"application_id": "app1", "execution_role_arn": "dwh-role"},
            "--test: launcher.execution_role_arn: String should match pattern",
        ),
        (
            {"application_id": "app1", "execution_role_arn": "arn:aws:iam::1234:role/r"},
            "--test: launcher.execution_role_arn:",
        ),
        (
            {"application_id": "app1", "execution_role_arn": "arn:aws:s3:::123456789012:role/r"},
            "--test: launcher.execution_role_arn:",
        ),
        ({}, "--test: launcher.application_id: required field is missing"),
        (
            {"application_id": "app1", "entrypoint": ENTRY},
            "--test: launcher.entrypoint: unknown field (check the spelling)",
        ),
    ],
)
def test_bad_config_is_one_line_naming_the_field(fields: dict[str, Any], expected: str) -> None:
    data = {"launcher": "EMR_SERVERLESS", "region": "us-east-1", "execution_role_arn": ROLE, "entry_point": ENTRY}
    with pytest.raises(ConfigError) as raised:
        validate_model(Wrapper, {"launcher": {**data, **fields}}, argument="--test")
    assert str(raised.value).startswith(expected)


def test_role_arns_of_other_partitions_are_accepted() -> None:
    role = "arn:aws-us-gov:iam::123456789012:role/path/dwh"
    assert serverless(application_id="app1", execution_role_arn=role).execution_role_arn == role
