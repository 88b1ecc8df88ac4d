"""Throttling, unavailability and server errors are retried within the budget; a permanent 400 for one job puts
that row in ERROR, schedules the rest, and exits 1 after a failure notice that a real SMTP server receives."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import SmtpSink
from tests.jobs.process_manager.conftest import PG_PASSWORD, Manager, schedule_detail
from tests.stand_ins.jobs_api import RUN_NOW, RUNS_GET

pytestmark = pytest.mark.integration
#: The default retry block: a 15 s budget, so three 429s (Retry-After 0: the SDK sleeps up to 1 s each) fit.
DEFAULT_RETRY = {"attempts": 5, "initial_seconds": 1, "max_seconds": 30}


def test_429_three_times_then_success_is_one_run(manager: Manager) -> None:
    manager.seed({"control_id": "r1", "job_id": 71})
    manager.api.fail_next(RUN_NOW, 3, status=429, retry_after=0)
    assert manager.run(manager.config(retry=DEFAULT_RETRY)) == 0

    assert [r.status for r in manager.api.requests_to(RUN_NOW)] == [429, 429, 429, 200]
    [run] = manager.api.runs
    assert manager.row("r1") == ("SCHEDULED", run.run_id, None, 0, None)


def test_503_then_success_on_get_run_then_the_repair(manager: Manager) -> None:
    run_id = manager.api.add_run(72, result_state="FAILED")
    manager.seed({"control_id": "r1", "job_id": 72, "run_id": run_id})
    manager.api.fail_next(RUNS_GET, 1, status=503, retry_after=None)
    assert manager.run() == 0

    assert [r.status for r in manager.api.requests_to(RUNS_GET)] == [503, 200]
    [repair_id] = manager.api.run(run_id).repair_ids
    assert manager.row("r1") == ("SCHEDULED", run_id, repair_id, 0, None)


def test_a_500_is_retried_by_the_manager_a_bounded_number_of_times(manager: Manager) -> None:
    manager.seed({"control_id": "r1", "job_id": 73}, {"control_id": "r2", "job_id": 74})
    fast = {"attempts": 3, "initial_seconds": 0.05, "max_seconds": 0.1}
    manager.api.fail_next(RUN_NOW, 2, status=500, retry_after=None, message="boom")
    assert manager.run(manager.config(retry=fast, max_parallel_calls=1)) == 0
    [run1, run2] = manager.api.runs
    assert [r.status for r in manager.api.requests_to(RUN_NOW)] == [500, 500, 200, 200]
    assert {manager.row("r1")[1], manager.row("r2")[1]} == {run1.run_id, run2.run_id}

    # Past the attempts: the row waits for the next run, with the reason; not an ERROR, exit 0.
    manager.seed({"control_id": "r3", "job_id": 75})
    manager.api.fail_next(RUN_NOW, 3, status=500, retry_after=None, message="boom")
    assert manager.run(manager.config(retry=fast)) == 0
    assert manager.row("r3") == ("WAITING", None, None, 0, "DATABRICKS run_now: INTERNAL_ERROR: boom")
    assert len(manager.api.runs) == 2

    assert manager.run(manager.config(retry=fast)) == 0  # the next run schedules it
    assert manager.row("r3")[0::4] == ("SCHEDULED", None)


def email(smtp: SmtpSink) -> dict[str, Any]:
    return {
        "notification_service": "EMAIL",
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "security": "none",
        "sender": "pm@example.com",
        "recipients": ["oncall@example.com"],
    }


def test_a_permanent_400_for_one_job_is_error_the_rest_scheduled_exit_1_after_the_notice(
    manager: Manager, smtp_server: SmtpSink, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    manager.seed(*({"control_id": f"r{n}", "job_id": 80 + n} for n in range(6)))
    manager.api.fail_job(83, message=f"Job 83 does not exist (token {manager.api.token}).")
    config = manager.config(job_failed_notifications=email(smtp_server))
    assert manager.run(config) == 1

    rows = manager.rows()
    assert rows["r3"]["state"] == "ERROR"
    assert rows["r3"]["last_error"] == "DATABRICKS run_now: INVALID_PARAMETER_VALUE: Job 83 does not exist (token ***)."
    scheduled = {cid for cid, row in rows.items() if row["state"] == "SCHEDULED" and row["run_id"]}
    assert scheduled == {"r0", "r1", "r2", "r4", "r5"}
    assert len(manager.api.runs) == 5
    assert len(manager.api.requests_to(RUN_NOW)) == 6  # the 400 was not retried

    [notice] = smtp_server.messages
    assert notice["Subject"].startswith("[dwh] process_manager FAILED")
    assert notice["To"] == "oncall@example.com"
    text = notice.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert "rows in ERROR in public.mm_run_control (1):" in text
    assert "\n  r3 (job 83): DATABRICKS run_now: INVALID_PARAMETER_VALUE: Job 83 does not exist" in text
    counts = schedule_detail(caplog)["counts"]
    assert (counts["run_now"], counts["error"]) == (5, 1)

    out, err = capfd.readouterr()
    assert "generic_entry: process_manager failed: RowsInError: 1 row(s) went to ERROR: r3" in err
    for secret in (manager.api.token, PG_PASSWORD):
        assert secret not in text
        assert secret not in out + err + caplog.text
        assert all(secret not in str(row) for row in rows.values())
