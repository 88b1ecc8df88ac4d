"""``dry_run`` prints the plan and changes nothing; two managers started at the same moment never take one row twice."""

from __future__ import annotations

import json

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from tests.jobs.process_manager.conftest import PG_PASSWORD, PG_PASSWORD_ENV, TOKEN_ENV, Manager, start_managers
from tests.stand_ins.jobs_api import RUN_NOW, JobsApi

pytestmark = pytest.mark.integration
EVERYTHING = "SELECT * FROM public.mm_run_control ORDER BY control_id"


def test_dry_run_prints_each_row_its_decision_and_the_exact_call_and_changes_nothing(
    manager: Manager, capsys: pytest.CaptureFixture[str]
) -> None:
    api = manager.api
    failed, succeeded, running = (
        api.add_run(9, result_state="FAILED"),
        api.add_run(9, result_state="SUCCESS"),
        api.add_run(9, life_cycle_state="RUNNING", result_state=None),
    )
    repaired = api.add_run(9, result_state="FAILED")
    repair = api.add_repair(repaired)
    manager.seed(
        {"control_id": "a_new", "job_id": 5, "job_parameters": {"day": "2025-01-01"}},
        {"control_id": "b_failed", "job_id": 9, "run_id": failed},
        {"control_id": "c_repaired", "job_id": 9, "run_id": repaired, "repair_id": repair},
        {"control_id": "d_succeeded", "job_id": 9, "run_id": succeeded, "attempts": 2},
        {"control_id": "e_running", "job_id": 9, "run_id": running},
        {"control_id": "f_dead", "job_id": 6, "state": "CLAIMED", "updated_at": "2000-01-01T00:00:00Z"},
        {"control_id": "g_done", "job_id": 7, "state": "SCHEDULED", "run_id": failed},
    )
    before = manager.sql(EVERYTHING)
    runs_before = api.runs
    capsys.readouterr()
    assert manager.run(manager.config(dry_run=True)) == 0

    get = "GET /api/2.2/jobs/runs/get?include_history=true&run_id="
    assert capsys.readouterr().out.splitlines() == [
        "dry run: nothing is claimed, triggered, repaired or written (public.mm_run_control)",
        "f_dead (stale claim, would be taken back) (job 6): run_now: POST /api/2.2/jobs/run-now "
        '{"idempotency_token": "dwh-pm-f_dead-0", "job_id": 6}',
        'a_new (job 5): run_now: POST /api/2.2/jobs/run-now {"idempotency_token": "dwh-pm-a_new-0", "job_id": 5, '
        '"job_parameters": {"day": "2025-01-01"}}',
        f'b_failed (job 9): repair: {get}{failed} ; POST /api/2.2/jobs/runs/repair {{"rerun_all_failed_tasks": '
        f'true, "run_id": {failed}}}',
        f'c_repaired (job 9): repair: {get}{repaired} ; POST /api/2.2/jobs/runs/repair {{"latest_repair_id": '
        f'{repair}, "rerun_all_failed_tasks": true, "run_id": {repaired}}}',
        f"d_succeeded (job 9): run_now_after_success: {get}{succeeded} ; POST /api/2.2/jobs/run-now "
        '{"idempotency_token": "dwh-pm-d_succeeded-3", "job_id": 9}',
        f"e_running (job 9): left_waiting: {get}{running} [run {running} is RUNNING (in progress)]",
    ]
    assert {r.method for r in api.requests if r.path.startswith("/api/")} == {"GET"}
    assert manager.sql(EVERYTHING) == before
    assert api.runs == runs_before


def test_dry_run_on_an_empty_database_says_what_it_would_create_and_creates_nothing(
    postgres_db: LocalPostgres, jobs_api: JobsApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_ENV, jobs_api.token)
    monkeypatch.setenv(PG_PASSWORD_ENV, PG_PASSWORD)
    manager = Manager(db=postgres_db, api=jobs_api)
    assert manager.run(manager.config(dry_run=True)) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "dry run: would create table public.mm_run_control",
        "dry run: would create view public.mm_run_wait_vw",
    ]
    assert manager.sql("SELECT to_regclass('public.mm_run_control'), to_regclass('public.mm_run_wait_vw')") == [
        (None, None)
    ]
    assert jobs_api.requests == []


def test_two_managers_at_the_same_moment_trigger_each_of_200_rows_exactly_once(manager: Manager) -> None:
    manager.seed(*({"control_id": f"row{n:03d}", "job_id": 1000 + n % 7} for n in range(200)))
    manager.api.latency_seconds = 0.005  # so the two managers' calls overlap
    config = manager.config(max_parallel_calls=4)
    done = start_managers(manager, [config, config])
    assert [process.returncode for process in done] == [0, 0], [p.stderr[-2000:] for p in done]

    tokens = [r.body["idempotency_token"] for r in manager.api.requests_to(RUN_NOW)]
    assert len(tokens) == 200 and len(set(tokens)) == 200  # every row triggered once: one token per row
    runs = manager.api.runs
    assert len(runs) == 200 and len({run.idempotency_token for run in runs}) == 200  # one run per token
    by_token = {run.idempotency_token: run.run_id for run in runs}
    rows = manager.rows()
    assert {row["state"] for row in rows.values()} == {"SCHEDULED"}
    assert all(row["run_id"] == by_token[f"dwh-pm-{cid}-0"] for cid, row in rows.items())
    # How the rows were split depends on timing: printed for the record, not asserted.
    print("rows scheduled per manager:", [triggered(process.stderr) for process in done])


def triggered(stderr: str) -> int:
    """The run_now count of the run report a manager process logged."""
    [line] = [line for line in stderr.splitlines() if " run_report " in line]
    report = json.loads(line.split(" run_report ", 1)[1])
    return int(report["steps"][0]["detail"]["counts"]["run_now"])
