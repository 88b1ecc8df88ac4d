"""One test per decision of DESIGN.md: the exact requests the Jobs API stand-in received, the rows' final values."""

from __future__ import annotations

import pytest

from tests.jobs.process_manager.conftest import Manager, schedule_detail
from tests.stand_ins.jobs_api import RUN_NOW, RUNS_GET, RUNS_REPAIR

pytestmark = pytest.mark.integration


def posts(manager: Manager) -> list[tuple[str, object]]:
    """(path, body) of every POST the stand-in received."""
    return [(r.path, r.body) for r in manager.api.requests if r.method == "POST"]


def test_a_row_without_a_run_is_triggered_with_the_token_of_its_attempts(
    manager: Manager, caplog: pytest.LogCaptureFixture
) -> None:
    manager.seed(
        {"control_id": "r1", "job_id": 11, "job_parameters": {"region": "north", "days": 5, "full": True}},
        {"control_id": "r2", "job_id": 12},
        {"control_id": "r3", "job_id": 13, "attempts": 2, "job_parameters": {}},
    )
    assert manager.run() == 0

    assert sorted(posts(manager), key=str) == [
        (
            RUN_NOW,
            {
                "job_id": 11,
                "job_parameters": {"region": "north", "days": "5", "full": "true"},
                "idempotency_token": "dwh-pm-r1-0",
            },
        ),
        (RUN_NOW, {"job_id": 12, "idempotency_token": "dwh-pm-r2-0"}),
        (RUN_NOW, {"job_id": 13, "idempotency_token": "dwh-pm-r3-2"}),
    ]
    runs = {run.idempotency_token: run for run in manager.api.runs}
    assert manager.row("r1") == ("SCHEDULED", runs["dwh-pm-r1-0"].run_id, None, 0, None)
    assert manager.row("r2") == ("SCHEDULED", runs["dwh-pm-r2-0"].run_id, None, 0, None)
    assert manager.row("r3") == ("SCHEDULED", runs["dwh-pm-r3-2"].run_id, None, 2, None)
    assert runs["dwh-pm-r1-0"].job_parameters == {"region": "north", "days": "5", "full": "true"}
    detail = schedule_detail(caplog)
    assert detail["counts"]["run_now"] == 3
    assert detail["rows"]["r2"]["state"] == "SCHEDULED"
    assert detail["rows"]["r2"]["run_id"] == runs["dwh-pm-r2-0"].run_id


@pytest.mark.parametrize(("life_cycle", "result"), [("PENDING", None), ("RUNNING", None), ("TERMINATING", "FAILED")])
def test_a_run_still_in_progress_is_left_waiting_without_any_change(
    manager: Manager, caplog: pytest.LogCaptureFixture, life_cycle: str, result: str | None
) -> None:
    run_id = manager.api.add_run(21, life_cycle_state=life_cycle, result_state=result)
    manager.seed({"control_id": "r1", "job_id": 21, "run_id": run_id, "repair_id": None, "attempts": 1})
    assert manager.run() == 0

    assert posts(manager) == []
    [get] = manager.api.requests_to(RUNS_GET)
    assert get.query == {"run_id": str(run_id), "include_history": "true"}
    assert manager.row("r1") == ("WAITING", run_id, None, 1, None)
    detail = schedule_detail(caplog)
    assert detail["counts"]["left_waiting"] == 1
    assert detail["rows"]["r1"]["note"].startswith(f"run {run_id} is {life_cycle}")


def test_a_failed_run_with_only_its_original_is_repaired_without_latest_repair_id(manager: Manager) -> None:
    run_id = manager.api.add_run(31, result_state="FAILED")
    manager.seed({"control_id": "r1", "job_id": 31, "run_id": run_id})
    assert manager.run() == 0

    assert posts(manager) == [(RUNS_REPAIR, {"run_id": run_id, "rerun_all_failed_tasks": True})]
    [repair_id] = manager.api.run(run_id).repair_ids
    assert manager.row("r1") == ("SCHEDULED", run_id, repair_id, 0, None)
    assert len(manager.api.runs) == 1


def test_a_failed_repair_is_repaired_again_with_the_last_repair_entry_as_latest_repair_id(manager: Manager) -> None:
    run_id = manager.api.add_run(32, result_state="FAILED")
    first = manager.api.add_repair(run_id, result_state="FAILED")
    second = manager.api.add_repair(run_id, result_state="FAILED")  # the row recorded this one
    manager.seed({"control_id": "r1", "job_id": 32, "run_id": run_id, "repair_id": second})
    assert manager.run() == 0

    assert posts(manager) == [
        (RUNS_REPAIR, {"run_id": run_id, "rerun_all_failed_tasks": True, "latest_repair_id": second})
    ]
    repairs = manager.api.run(run_id).repair_ids
    assert repairs[:2] == [first, second] and len(repairs) == 3
    assert manager.row("r1") == ("SCHEDULED", run_id, repairs[2], 0, None)


@pytest.mark.parametrize("result", ["TIMEDOUT", "CANCELED", "SUCCESS_WITH_FAILURES"])
def test_every_unsuccessful_end_is_repaired(manager: Manager, result: str) -> None:
    run_id = manager.api.add_run(33, result_state=result)
    manager.seed({"control_id": "r1", "job_id": 33, "run_id": run_id})
    assert manager.run() == 0
    assert [path for path, _ in posts(manager)] == [RUNS_REPAIR]
    assert manager.row("r1")[0] == "SCHEDULED"


def test_a_succeeded_run_counts_an_attempt_and_gets_a_new_run_with_the_new_token(manager: Manager) -> None:
    old_run = manager.api.add_run(41, life_cycle_state="TERMINATED", result_state="SUCCESS")
    old_repair = manager.api.add_repair(old_run, result_state="SUCCESS")
    manager.seed(
        {
            "control_id": "r1",
            "job_id": 41,
            "job_parameters": {"day": "2025-01-02"},
            "run_id": old_run,
            "repair_id": old_repair,
            "attempts": 3,
        },
    )
    assert manager.run() == 0

    assert posts(manager) == [
        (RUN_NOW, {"job_id": 41, "job_parameters": {"day": "2025-01-02"}, "idempotency_token": "dwh-pm-r1-4"})
    ]
    new_run = next(run for run in manager.api.runs if run.run_id != old_run)
    assert new_run.idempotency_token == "dwh-pm-r1-4"
    assert manager.row("r1") == ("SCHEDULED", new_run.run_id, None, 4, None)


def test_a_permanent_error_puts_only_that_row_in_error_and_the_others_go_on(
    manager: Manager, caplog: pytest.LogCaptureFixture
) -> None:
    gone = manager.api.add_run(52, result_state="FAILED")
    manager.seed(
        {"control_id": "ok", "job_id": 51},
        {"control_id": "bad_run", "job_id": 52, "run_id": 999_999},
        {"control_id": "gone_job", "job_id": 52, "run_id": gone},
    )
    manager.api.fail_job(52, message="Job 52 does not exist.")
    assert manager.run() == 1

    [ok_run] = manager.api.runs[1:]
    assert manager.row("ok") == ("SCHEDULED", ok_run.run_id, None, 0, None)
    assert manager.row("bad_run") == (
        "ERROR",
        999_999,
        None,
        0,
        "DATABRICKS get_run: RESOURCE_DOES_NOT_EXIST: Run 999999 does not exist.",
    )
    assert manager.row("gone_job") == (
        "ERROR",
        gone,
        None,
        0,
        "DATABRICKS get_run: INVALID_PARAMETER_VALUE: Job 52 does not exist.",
    )
    assert schedule_detail(caplog)["counts"]["error"] == 2
    # A permanent error is not retried: one runs/get per failing row.
    assert len(manager.api.requests_to(RUNS_GET)) == 2


def test_job_parameters_that_are_not_an_object_put_the_row_in_error_without_a_call(manager: Manager) -> None:
    manager.seed({"control_id": "r1", "job_id": 55, "job_parameters": ["a", "b"]}, {"control_id": "r2", "job_id": 56})
    assert manager.run() == 1
    assert manager.row("r1") == ("ERROR", None, None, 0, "job_parameters must be a JSON object, not list")
    assert [body["job_id"] for _, body in posts(manager)] == [56]


def test_a_control_id_too_long_for_a_64_character_token_gets_its_stable_digest_form(manager: Manager) -> None:
    long_id = "nightly_" + "x" * 70
    manager.seed({"control_id": long_id, "job_id": 57})
    assert manager.run() == 0
    manager.sql("UPDATE public.mm_run_control SET state = 'WAITING', run_id = NULL")
    assert manager.run() == 0  # as if the row's update had been lost: the same token again

    tokens = [body["idempotency_token"] for _, body in posts(manager)]
    assert len(tokens) == 2 and tokens[0] == tokens[1]
    assert len(tokens[0]) == 64 and tokens[0].startswith(f"dwh-pm-{long_id}"[:47] + "-")
    assert len(manager.api.runs) == 1
