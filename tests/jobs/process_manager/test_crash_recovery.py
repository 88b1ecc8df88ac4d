"""The crash rules: a manager killed between the API call and the row update leaves nothing doubled, and a
claim its manager never finished is taken back by the next one."""

from __future__ import annotations

import datetime as dt

import pytest

from dwh.control.store import ControlStoreConfig
from dwh.jobs.process_manager.config import QualifiedName
from dwh.jobs.process_manager.control_table import ControlTable
from tests.jobs.process_manager.conftest import Manager, schedule_detail
from tests.stand_ins.jobs_api import RUN_NOW, RUNS_REPAIR

pytestmark = pytest.mark.integration
LONG_AGO = "2000-01-01T00:00:00+00:00"


def test_killed_after_run_now_the_same_token_gets_the_same_run(manager: Manager) -> None:
    manager.seed({"control_id": "r1", "job_id": 61, "job_parameters": {"p": "1"}})
    # What the dead manager did: the call, with the row's token, and no row update.
    first = manager.api.client().jobs.run_now(job_id=61, job_parameters={"p": "1"}, idempotency_token="dwh-pm-r1-0")
    assert manager.run() == 0

    [run] = manager.api.runs
    assert run.run_id == first.run_id
    assert [r.body["idempotency_token"] for r in manager.api.requests_to(RUN_NOW)] == ["dwh-pm-r1-0"] * 2
    assert manager.row("r1") == ("SCHEDULED", run.run_id, None, 0, None)


def test_killed_after_the_new_run_of_a_success_the_next_attempt_token_gets_that_run(manager: Manager) -> None:
    old = manager.api.add_run(62, result_state="SUCCESS")
    manager.seed({"control_id": "r1", "job_id": 62, "run_id": old, "attempts": 0})
    new = manager.api.client().jobs.run_now(job_id=62, idempotency_token="dwh-pm-r1-1")
    assert manager.run() == 0

    assert [run.run_id for run in manager.api.runs] == [old, new.run_id]
    assert manager.row("r1") == ("SCHEDULED", new.run_id, None, 1, None)


@pytest.mark.parametrize(
    ("repair_state", "repair_result"), [("PENDING", None), ("TERMINATED", "FAILED"), ("TERMINATED", "SUCCESS")]
)
def test_killed_after_a_repair_the_repair_is_adopted_not_repeated(
    manager: Manager, caplog: pytest.LogCaptureFixture, repair_state: str, repair_result: str | None
) -> None:
    run_id = manager.api.add_run(63, result_state="FAILED")
    earlier = manager.api.add_repair(run_id, result_state="FAILED")
    manager.seed({"control_id": "r1", "job_id": 63, "run_id": run_id, "repair_id": earlier})
    # The dead manager's repair, made through the real SDK, then the repair's run moves on.
    made = manager.api.client().jobs.repair_run(run_id, rerun_all_failed_tasks=True, latest_repair_id=earlier)
    manager.api.set_run_state(run_id, repair_state, repair_result)
    assert manager.run() == 0

    assert len(manager.api.requests_to(RUNS_REPAIR)) == 1  # only the dead manager's
    assert manager.api.run(run_id).repair_ids == [earlier, made.response.repair_id]
    assert manager.row("r1") == ("SCHEDULED", run_id, made.response.repair_id, 0, None)
    assert schedule_detail(caplog)["counts"]["adopt_repair"] == 1


def test_a_repair_whose_answer_was_lost_is_adopted_after_the_service_refuses_a_second(manager: Manager) -> None:
    run_id = manager.api.add_run(64, result_state="FAILED")
    manager.seed({"control_id": "r1", "job_id": 64, "run_id": run_id})
    manager.api.drop_next(RUNS_REPAIR, after_processing=True)  # repaired, then the answer never arrives
    assert manager.run() == 0

    [repair_id] = manager.api.run(run_id).repair_ids
    statuses = [r.status for r in manager.api.requests_to(RUNS_REPAIR)]
    assert statuses == [0, 400]  # the SDK retried the lost answer; the service refused a second repair
    assert manager.row("r1") == ("SCHEDULED", run_id, repair_id, 0, None)


def test_a_stale_claim_is_taken_back_and_a_live_one_is_left_alone(manager: Manager) -> None:
    manager.seed(
        {"control_id": "dead", "job_id": 65, "state": "CLAIMED", "updated_at": LONG_AGO},
        {"control_id": "live", "job_id": 66, "state": "CLAIMED"},
    )
    made = manager.api.client().jobs.run_now(job_id=65, idempotency_token="dwh-pm-dead-0")  # before it died
    assert manager.run(manager.config(claim_timeout_seconds=600)) == 0

    assert [r.body["job_id"] for r in manager.api.requests_to(RUN_NOW)] == [65, 65]
    assert [run.run_id for run in manager.api.runs] == [made.run_id]
    assert manager.row("dead") == ("SCHEDULED", made.run_id, None, 0, None)
    assert manager.row("live") == ("CLAIMED", None, None, 0, None)


def test_a_manager_whose_claim_was_taken_back_writes_nothing(manager: Manager) -> None:
    manager.seed({"control_id": "r1", "job_id": 67})
    store = ControlStoreConfig(url=f"postgresql://postgres@127.0.0.1:{manager.db.port}/{manager.db.dbname}").open()
    control = ControlTable(
        store, QualifiedName.parse("public.mm_run_control"), QualifiedName.parse("public.mm_run_wait_vw"), "--x"
    )
    try:
        [mine] = control.claim(["r1"])
        assert control.claim(["r1"]) == []  # claimed rows are not offered twice
        manager.sql("UPDATE public.mm_run_control SET updated_at = %s", LONG_AGO)
        [theirs] = control.reclaim_stale(60)
        assert theirs.claimed_at is not None and theirs.claimed_at > dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)

        assert control.finish(mine, {"state": "SCHEDULED", "run_id": 1}) is False
        assert manager.row("r1") == ("CLAIMED", None, None, 0, None)
        assert control.finish(theirs, {"state": "SCHEDULED", "run_id": 2}) is True
        assert manager.row("r1") == ("SCHEDULED", 2, None, 0, None)
    finally:
        store.close()
