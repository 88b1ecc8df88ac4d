"""The Jobs API stand-in keeps the service rules the launcher and the process manager rely on (real databricks-sdk)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.stand_ins.jobs_api import LATEST_REPAIR_REQUIRED, RUN_NOW, RUNS_REPAIR, JobsApi

pytestmark = pytest.mark.integration


@pytest.fixture
def api() -> Iterator[JobsApi]:
    stand_in = JobsApi().start()
    yield stand_in
    stand_in.stop()


def sdk_error(call: Any) -> Exception:
    """The SDK exception a call raises."""
    with pytest.raises(Exception) as caught:
        call()
    return caught.value


def history(client: Any, run_id: int) -> list[tuple[str, int | None]]:
    """(type, id) of each repair_history item, as the SDK parses them."""
    run = client.jobs.get_run(run_id, include_history=True)
    return [(item.type.value, item.id) for item in run.repair_history]


def test_repair_rules_and_history(api: JobsApi) -> None:
    client = api.client()
    run_id = client.jobs.run_now(job_id=7, idempotency_token="t").run_id
    assert not client.jobs.get_run(run_id).repair_history  # only with include_history
    assert history(client, run_id) == [("ORIGINAL", None)]

    in_progress = sdk_error(lambda: client.jobs.repair_run(run_id, rerun_all_failed_tasks=True))
    assert type(in_progress).__name__ == "InvalidParameterValue" and "still in progress" in str(in_progress)
    api.set_run_state(run_id, "TERMINATED", "FAILED", "task main failed")
    nothing_to_rerun = sdk_error(lambda: client.jobs.repair_run(run_id))
    assert "rerun_all_failed_tasks" in str(nothing_to_rerun)

    first = client.jobs.repair_run(run_id, rerun_all_failed_tasks=True).response.repair_id
    assert history(client, run_id) == [("ORIGINAL", None), ("REPAIR", first)]
    assert client.jobs.get_run(run_id).state.life_cycle_state.value == "PENDING"  # the repair runs now
    api.set_run_state(run_id, "TERMINATED", "FAILED")

    assert str(sdk_error(lambda: client.jobs.repair_run(run_id, rerun_all_failed_tasks=True))) == LATEST_REPAIR_REQUIRED
    wrong = sdk_error(lambda: client.jobs.repair_run(run_id, rerun_all_failed_tasks=True, latest_repair_id=first + 99))
    assert "is not the latest repair" in str(wrong)
    second = client.jobs.repair_run(run_id, rerun_all_failed_tasks=True, latest_repair_id=first).response.repair_id
    assert history(client, run_id) == [("ORIGINAL", None), ("REPAIR", first), ("REPAIR", second)]
    assert api.run(run_id).repair_requests[1] == {
        "run_id": run_id,
        "rerun_all_failed_tasks": True,
        "latest_repair_id": first,
    }
    assert [r.status for r in api.requests_to(RUNS_REPAIR)] == [400, 400, 200, 400, 400, 200]


def test_unknown_runs_tokens_and_credentials(api: JobsApi) -> None:
    client = api.client()
    assert type(sdk_error(lambda: client.jobs.get_run(1))).__name__ == "ResourceDoesNotExist"
    too_long = sdk_error(lambda: client.jobs.run_now(job_id=1, idempotency_token="t" * 65))
    assert type(too_long).__name__ == "InvalidParameterValue"
    wrong = api.client(token="not-the-token")
    assert type(sdk_error(lambda: wrong.jobs.run_now(job_id=1))).__name__ == "PermissionDenied"
    assert api.runs == []


def test_concurrent_run_now_with_one_token_starts_one_run(api: JobsApi) -> None:
    client = api.client()
    api.latency_seconds = 0.02
    with ThreadPoolExecutor(max_workers=8) as pool:
        run_ids = set(pool.map(lambda _: client.jobs.run_now(job_id=3, idempotency_token="same").run_id, range(24)))
    assert len(run_ids) == 1 and len(api.runs) == 1
    assert len(api.requests_to(RUN_NOW)) == 24


def test_seeded_runs_and_repairs_read_back_through_the_sdk(api: JobsApi) -> None:
    run_id = api.add_run(9, job_parameters={"k": "v"}, result_state="CANCELED", state_message="stopped")
    repair_id = api.add_repair(run_id)
    run = api.client().jobs.get_run(run_id, include_history=True)
    assert (run.state.life_cycle_state.value, run.state.result_state.value) == ("TERMINATED", "FAILED")
    assert [(i.type.value, i.id, i.state.result_state.value) for i in run.repair_history] == [
        ("ORIGINAL", None, "CANCELED"),
        ("REPAIR", repair_id, "FAILED"),
    ]
    assert [(p.name, p.value) for p in run.job_parameters] == [("k", "v")]
