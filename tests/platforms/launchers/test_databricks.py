"""DATABRICKS through the real databricks-sdk against the Jobs API stand-in: requests, states, retries, errors."""

from __future__ import annotations

from typing import Any

import pytest

from dwh.config import StrictModel, validate_model
from dwh.errors import ConfigError
from dwh.platforms.launchers import LaunchedRun, LaunchError, RunState
from dwh.platforms.launchers.databricks import DATABRICKS_STATES, DatabricksLauncher, idempotency_token
from dwh.secrets import resolve_secrets
from tests.stand_ins.jobs_api import RUN_NOW, RUNS_GET, JobsApi

pytestmark = pytest.mark.integration

PARAMETERS = {"demo_name": "promos", "start_date": "2025-01-01"}
#: PLATFORMS.md's documented states, restated here so the table is checked against them, not against itself.
LIFE_CYCLE_STATES = [
    "QUEUED",
    "PENDING",
    "RUNNING",
    "TERMINATING",
    "TERMINATED",
    "SKIPPED",
    "INTERNAL_ERROR",
    "BLOCKED",
    "WAITING_FOR_RETRY",
]
RESULT_STATES = [
    "SUCCESS",
    "FAILED",
    "TIMEDOUT",
    "CANCELED",
    "MAXIMUM_CONCURRENT_RUNS_REACHED",
    "EXCLUDED",
    "SUCCESS_WITH_FAILURES",
    "UPSTREAM_FAILED",
    "UPSTREAM_CANCELED",
    "DISABLED",
]
NOT_ENDED = {
    "QUEUED": RunState.PENDING,
    "PENDING": RunState.PENDING,
    "BLOCKED": RunState.PENDING,
    "WAITING_FOR_RETRY": RunState.PENDING,
    "RUNNING": RunState.RUNNING,
    "TERMINATING": RunState.RUNNING,
}
#: (life_cycle_state, result_state, what it must read as): every documented combination.
EXPECTED = (
    [(life_cycle, None, state) for life_cycle, state in NOT_ENDED.items()]
    + [("TERMINATED", "SUCCESS", RunState.SUCCEEDED), ("TERMINATED", None, RunState.FAILED)]
    + [("TERMINATED", result, RunState.FAILED) for result in RESULT_STATES if result != "SUCCESS"]
    + [(ended, None, RunState.FAILED) for ended in ("SKIPPED", "INTERNAL_ERROR")]
    + [(ended, result, RunState.FAILED) for ended in ("SKIPPED", "INTERNAL_ERROR") for result in RESULT_STATES]
)


class Wrapper(StrictModel):
    """A config holding one launcher block, as a job config would."""

    launcher: DatabricksLauncher


def make_launcher(api: JobsApi, **fields: Any) -> DatabricksLauncher:
    """A DATABRICKS launcher for the stand-in (job 123, a 5-second retry budget), validated like user config."""
    data = {"launcher": "DATABRICKS", "host": api.host, "token": api.token, "job_id": 123, "retry_timeout_seconds": 5}
    data.update(fields)
    return validate_model(
        Wrapper, {"launcher": {k: v for k, v in data.items() if v is not None}}, argument="--x"
    ).launcher


def config_error(launcher: dict[str, Any]) -> str:
    """The one line a bad launcher block produces."""
    with pytest.raises(ConfigError) as caught:
        validate_model(Wrapper, {"launcher": launcher}, argument="--x")
    return str(caught.value)


def test_launch_sends_exactly_job_id_parameters_and_token_and_returns_at_once(jobs_api: JobsApi) -> None:
    run = make_launcher(jobs_api).launch(None, PARAMETERS, "dwh-pm-row-1-0")

    [request] = jobs_api.requests_to(RUN_NOW)
    assert request.method == "POST"
    assert request.body == {"job_id": 123, "job_parameters": PARAMETERS, "idempotency_token": "dwh-pm-row-1-0"}
    assert request.headers["authorization"] == f"Bearer {jobs_api.token}"
    [started] = jobs_api.runs
    assert run == LaunchedRun(
        launcher="DATABRICKS",
        run_id=str(started.run_id),
        run_url=f"{jobs_api.host}/jobs/123/runs/{started.run_id}",
        detail={"job_id": "123"},
    )
    # Nothing waited on the run: no runs/get was sent and the run is still where it started.
    assert jobs_api.requests_to(RUNS_GET) == []
    assert started.life_cycle_state == "PENDING"


def test_the_same_key_gets_the_same_run_even_once_it_has_ended(jobs_api: JobsApi) -> None:
    launcher = make_launcher(jobs_api)
    first = launcher.launch(None, PARAMETERS, "key-a")
    jobs_api.set_run_state(int(first.run_id), "TERMINATED", "FAILED")
    again = launcher.launch(None, PARAMETERS, "key-a")
    other = launcher.launch(None, PARAMETERS, "key-b")

    assert again.run_id == first.run_id
    assert other.run_id != first.run_id
    assert len(jobs_api.requests_to(RUN_NOW)) == 3
    assert [run.idempotency_token for run in jobs_api.runs] == ["key-a", "key-b"]


def test_a_key_longer_than_64_characters_is_sent_as_a_stable_64_character_token(jobs_api: JobsApi) -> None:
    launcher = make_launcher(jobs_api)
    key, sibling = "batch-" + "x" * 80 + "-geo_analysis", "batch-" + "x" * 80 + "-sales"
    first, again, other = (launcher.launch(None, {}, k) for k in (key, key, sibling))

    tokens = [request.body["idempotency_token"] for request in jobs_api.requests_to(RUN_NOW)]
    assert tokens[0] == tokens[1] == idempotency_token(key)
    assert len(tokens[0]) == 64 and tokens[0].startswith(key[:47]) and tokens[2] != tokens[0]
    assert first.run_id == again.run_id != other.run_id
    assert idempotency_token("k" * 64) == "k" * 64


def test_job_ids_runs_the_named_job_and_an_unknown_name_is_an_error_before_any_call(jobs_api: JobsApi) -> None:
    launcher = make_launcher(jobs_api, job_id=None, job_ids={"geo_analysis": 11, "sales": 22})
    launcher.launch("sales", {"batch_id": "b1"}, "b1:sales")
    assert [request.body["job_id"] for request in jobs_api.requests_to(RUN_NOW)] == [22]

    with pytest.raises(LaunchError) as caught:
        launcher.launch("weather", {}, "b1:weather")
    assert str(caught.value) == "DATABRICKS: job 'weather' is not in job_ids (known: geo_analysis, sales)"
    assert len(jobs_api.requests_to(RUN_NOW)) == 1


def test_the_table_covers_exactly_the_documented_states() -> None:
    assert {f"{lc}/{rs}" if rs else lc for lc, rs, _ in EXPECTED} == set(DATABRICKS_STATES)


@pytest.mark.parametrize(("life_cycle", "result", "expected"), EXPECTED, ids=lambda v: str(getattr(v, "value", v)))
def test_every_state_maps_to_one_of_the_four(
    jobs_api: JobsApi, life_cycle: str, result: str | None, expected: RunState
) -> None:
    run_id = jobs_api.add_run(123, life_cycle_state=life_cycle, result_state=result, state_message="Task main: ok?")
    state = make_launcher(jobs_api).state(LaunchedRun(launcher="DATABRICKS", run_id=str(run_id)))

    assert state.state is expected
    assert state.platform_state == (
        f"{life_cycle}/{result}" if result and life_cycle in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR") else life_cycle
    )
    assert state.message == "Task main: ok?"
    assert state.run_url == f"{jobs_api.host}/?o=0#job/123/run/{run_id}"
    [request] = jobs_api.requests_to(RUNS_GET)
    assert request.query == {"run_id": str(run_id)}


def test_a_run_not_ended_is_in_progress_whatever_result_it_already_shows(jobs_api: JobsApi) -> None:
    run_id = jobs_api.add_run(123, life_cycle_state="TERMINATING", result_state="CANCELED")
    state = make_launcher(jobs_api).state(LaunchedRun(launcher="DATABRICKS", run_id=str(run_id)))
    assert (state.state, state.platform_state, state.message) == (RunState.RUNNING, "TERMINATING", None)


def test_a_state_the_sdk_does_not_know_is_an_error_not_a_guess(jobs_api: JobsApi) -> None:
    run_id = jobs_api.add_run(123, life_cycle_state="HIBERNATING", result_state=None)
    with pytest.raises(LaunchError, match="has no life_cycle_state this SDK knows"):
        make_launcher(jobs_api).state(LaunchedRun(launcher="DATABRICKS", run_id=str(run_id)))


def test_429_with_retry_after_twice_then_success_is_retried_by_the_sdk(jobs_api: JobsApi) -> None:
    jobs_api.fail_next(RUN_NOW, 2, status=429, retry_after=0)
    run = make_launcher(jobs_api).launch(None, PARAMETERS, "throttled")

    assert [request.status for request in jobs_api.requests_to(RUN_NOW)] == [429, 429, 200]
    assert [str(r.run_id) for r in jobs_api.runs] == [run.run_id]


def test_503_then_success_is_retried_for_launch_and_for_state(jobs_api: JobsApi) -> None:
    launcher = make_launcher(jobs_api)
    jobs_api.fail_next(RUN_NOW, 1, status=503, retry_after=None)
    run = launcher.launch(None, PARAMETERS, "unavailable")
    jobs_api.fail_next(RUNS_GET, 1, status=503, retry_after=0)
    state = launcher.state(run)

    assert [request.status for request in jobs_api.requests_to(RUN_NOW)] == [503, 200]
    assert [request.status for request in jobs_api.requests_to(RUNS_GET)] == [503, 200]
    assert state.state is RunState.PENDING
    assert len(jobs_api.runs) == 1


def test_a_lost_response_is_retried_and_the_token_keeps_it_to_one_run(jobs_api: JobsApi) -> None:
    jobs_api.drop_next(RUN_NOW, after_processing=True)
    run = make_launcher(jobs_api).launch(None, PARAMETERS, "lost-answer")

    assert [request.status for request in jobs_api.requests_to(RUN_NOW)] == [0, 200]
    assert [str(r.run_id) for r in jobs_api.runs] == [run.run_id]


def test_a_permanent_400_fails_at_once_with_the_service_message_and_no_token(jobs_api: JobsApi) -> None:
    # The service's message echoes the token, so the scrubbing is what keeps it out.
    jobs_api.fail_job(123, message=f"Job 123 does not exist (caller {jobs_api.token}).")
    with pytest.raises(LaunchError) as caught:
        make_launcher(jobs_api).launch(None, PARAMETERS, "k")

    assert str(caught.value) == "DATABRICKS run_now: INVALID_PARAMETER_VALUE: Job 123 does not exist (caller ***)."
    assert len(jobs_api.requests_to(RUN_NOW)) == 1
    assert jobs_api.runs == []


@pytest.mark.parametrize(
    ("status", "code"), [(403, "PERMISSION_DENIED"), (404, "RESOURCE_DOES_NOT_EXIST"), (500, "INTERNAL_ERROR")]
)
def test_other_permanent_statuses_and_500_are_not_retried(jobs_api: JobsApi, status: int, code: str) -> None:
    jobs_api.fail_next(RUNS_GET, 1, status=status, retry_after=None, message="no luck")
    with pytest.raises(LaunchError) as caught:
        make_launcher(jobs_api).state(LaunchedRun(launcher="DATABRICKS", run_id="42"))

    assert str(caught.value) == f"DATABRICKS get_run: {code}: no luck"
    assert len(jobs_api.requests_to(RUNS_GET)) == 1


def test_a_wrong_token_is_permission_denied_and_never_shown(jobs_api: JobsApi) -> None:
    with pytest.raises(LaunchError) as caught:
        make_launcher(jobs_api, token="dapi-wrong-token-0000").launch(None, {}, "k")
    assert str(caught.value) == "DATABRICKS run_now: PERMISSION_DENIED: Invalid access token"
    assert "dapi-wrong-token-0000" not in repr(caught.value)


def test_throttling_past_the_retry_budget_is_a_launch_error_naming_the_last_answer(jobs_api: JobsApi) -> None:
    jobs_api.fail_next(RUN_NOW, 50, status=429, retry_after=0, message="Too many requests")
    with pytest.raises(LaunchError) as caught:
        make_launcher(jobs_api, retry_timeout_seconds=1).launch(None, {}, "k")
    assert str(caught.value) == (
        "DATABRICKS run_now: Timed out after 0:00:01 retrying: REQUEST_LIMIT_EXCEEDED: Too many requests"
    )
    assert jobs_api.runs == []


def test_the_client_is_built_once_per_launcher(jobs_api: JobsApi) -> None:
    launcher = make_launcher(jobs_api)
    run = launcher.launch(None, {}, "k1")
    launcher.launch(None, {}, "k2")
    launcher.state(run)
    # The SDK's first request, made when a client is built, is the unauthenticated host-metadata probe.
    assert len(jobs_api.requests_to("/.well-known/databricks-config")) == 1


def test_a_token_reference_is_resolved_before_use_and_refused_unresolved(
    jobs_api: JobsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBX_TOKEN", jobs_api.token)
    launcher = make_launcher(jobs_api, token="env:DBX_TOKEN")
    with pytest.raises(LaunchError, match="token is an unresolved secret reference"):
        launcher.launch(None, {}, "k")
    assert jobs_api.requests == []

    run = resolve_secrets(launcher).launch(None, {}, "k")
    assert [str(r.run_id) for r in jobs_api.runs] == [run.run_id]
    assert jobs_api.token not in str(resolve_secrets(launcher).describe())


def test_a_valid_block_is_normalised_and_describes_itself_without_the_token(jobs_api: JobsApi) -> None:
    launcher = make_launcher(jobs_api, host=jobs_api.host + "/")
    assert launcher.host == jobs_api.host
    assert launcher.describe()["token"] == "**********"
    assert (DatabricksLauncher.idempotent, DatabricksLauncher.predeployed) == (True, True)
    assert "job_ids" in Wrapper.model_json_schema()["$defs"]["DatabricksLauncher"]["properties"]


BASE = {"launcher": "DATABRICKS", "host": "https://adb-1.2.azuredatabricks.net", "token": "env:DBX_TOKEN"}
NOT_A_URL = "is not a workspace URL (https://<workspace host>)"


@pytest.mark.parametrize(
    ("block", "line"),
    [
        (BASE, "--x: launcher: give exactly one of job_id or job_ids"),
        ({**BASE, "job_id": 1, "job_ids": {"a": 2}}, "--x: launcher: give exactly one of job_id or job_ids"),
        ({**BASE, "job_ids": {}}, "--x: launcher: job_ids is empty: map each job name to its job id"),
        ({**BASE, "jobid": 1}, "--x: launcher.jobid: unknown field (check the spelling)"),
        (
            {**BASE, "job_ids": {"sales": "x"}},
            "--x: launcher.job_ids.sales: Input should be a valid integer, unable to parse string as an integer",
        ),
        ({**BASE, "job_id": 0}, "--x: launcher.job_id: Input should be greater than 0"),
        (
            {**BASE, "job_id": 1, "host": "adb-1.2.azuredatabricks.net"},
            f"--x: launcher.host: 'adb-1.2.azuredatabricks.net' {NOT_A_URL}",
        ),
        (
            {**BASE, "job_id": 1, "host": "http://adb-1.2.azuredatabricks.net"},
            f"--x: launcher.host: 'http://adb-1.2.azuredatabricks.net' {NOT_A_URL}",
        ),
        (
            {**BASE, "job_id": 1, "host": "https://adb-1.net/jobs"},
            f"--x: launcher.host: 'https://adb-1.net/jobs' {NOT_A_URL}",
        ),
        (
            {"launcher": "DATABRICKS", "host": BASE["host"], "job_id": 1},
            "--x: launcher.token: required field is missing",
        ),
        (
            {**BASE, "job_id": 1, "retry_timeout_seconds": 0},
            "--x: launcher.retry_timeout_seconds: Input should be greater than or equal to 1",
        ),
    ],
)
def test_config_errors_name_the_field(block: dict[str, Any], line: str) -> None:
    assert config_error(block) == line
