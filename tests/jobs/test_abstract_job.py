"""AbstractJob: the final template method, its outcomes, notices and the run report logged as one JSON line."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from dwh.errors import JobFailedError
from dwh.jobs.abstract_job import AbstractJob
from dwh.platforms.context import RunContext
from dwh.platforms.detect import ServiceProvider
from dwh.run_report import QualityResult
from dwh.secrets import SCRUBBER
from tests.jobs.fixtures_jobs.probe_job import ProbeJobConfig


class CountingJob(AbstractJob[ProbeJobConfig]):
    """Two steps with rows; fails when told to; records what the hooks saw."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hook_calls: list[tuple[str, Any]] = []

    def execute_job(self, fail: Exception | None = None) -> dict[str, int]:
        """Extract 5 rows, load 4 of them, maybe fail."""
        with self.report.step("extract") as step:
            step.rows_out = 5
        with self.report.step("load") as step:
            step.rows_in, step.rows_out = 5, 4
        if fail is not None:
            raise fail
        return {"loaded": 4}

    def on_success(self, result: Any) -> None:
        """Record, then send the notices as usual."""
        self.hook_calls.append(("success", result))
        super().on_success(result)

    def on_failure(self, error: BaseException) -> None:
        """Record, then send the notices as usual."""
        self.hook_calls.append(("failure", error))
        super().on_failure(error)


def make_job(job_class: type[AbstractJob[ProbeJobConfig]] = CountingJob, **config: Any) -> Any:
    """A job with NOOP notices on a LOCAL run context."""
    context = RunContext(
        job_name="counting",
        service_provider=ServiceProvider.LOCAL,
        run_ids={"run_id": "local-test"},
        created_by="pytest",
    )
    return job_class(config=ProbeJobConfig.model_validate(config), context=context)


def logged_report(caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    """The run report from its single ``run_report {json}`` log line."""
    [line] = [record.getMessage() for record in caplog.records if record.getMessage().startswith("run_report ")]
    return dict(json.loads(line.removeprefix("run_report ")))


def notice_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the NOOP channel logged: one line per notice sent."""
    return [record.getMessage() for record in caplog.records if record.getMessage().startswith("NOOP ")]


def test_run_cannot_be_overridden() -> None:
    with pytest.raises(TypeError, match=r"SneakyJob must not override AbstractJob\.run; implement execute_job"):

        class SneakyJob(CountingJob):
            def run(self, **kwargs: Any) -> Any:
                return None


def test_success_returns_the_result_logs_the_report_and_sends_the_success_notice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    job = make_job()
    assert job.run() == {"loaded": 4}
    assert job.hook_calls == [("success", {"loaded": 4})]
    report = logged_report(caplog)
    assert report["outcome"] == "succeeded"
    assert report["error"] is None
    assert [(s["name"], s["rows_in"], s["rows_out"]) for s in report["steps"]] == [
        ("extract", None, 5),
        ("load", 5, 4),
    ]
    assert report["context"]["job_name"] == "counting"
    assert report["context"]["run_ids"] == {"run_id": "local-test"}
    assert report["context"]["created_by"] == "pytest"
    assert notice_lines(caplog) == ["NOOP success notice: counting succeeded (LOCAL, run local-test)"]
    assert job.notice_outcomes == {"success": {"0:NOOP": "sent"}}


def test_failure_sends_the_failure_notice_then_raises_job_failed_chained(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    job = make_job()
    cause = ValueError("promo_id has nulls\nsecond line of detail")
    with pytest.raises(JobFailedError) as caught:
        job.run(fail=cause)
    assert caught.value.__cause__ is cause
    assert str(caught.value) == "counting failed: ValueError: promo_id has nulls"
    assert job.hook_calls == [("failure", cause)]
    report = logged_report(caplog)
    assert report["outcome"] == "failed"
    assert report["error"] == "ValueError: promo_id has nulls"
    assert [step["name"] for step in report["steps"]] == ["extract", "load"]
    assert notice_lines(caplog) == ["NOOP failure notice: counting FAILED (LOCAL, run local-test)"]
    # The traceback of the real cause is in the log, for whoever reads it.
    [failed] = [r for r in caplog.records if r.getMessage() == "counting failed"]
    assert failed.exc_info is not None and failed.exc_info[1] is cause


def test_error_summary_in_report_and_exception_is_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    SCRUBBER.register("tok-in-error-48")
    with pytest.raises(JobFailedError) as caught:
        make_job().run(fail=RuntimeError("API rejected tok-in-error-48"))
    assert str(caught.value) == "counting failed: RuntimeError: API rejected ***"
    assert logged_report(caplog)["error"] == "RuntimeError: API rejected ***"


def test_failed_quality_rule_adds_a_data_quality_notice(caplog: pytest.LogCaptureFixture) -> None:
    class QualityJob(CountingJob):
        def execute_job(self) -> None:
            """One rule with failing rows."""
            self.report.quality.append(
                QualityResult(name="amount_positive", rule="amount > 0", policy="warn", failing_rows=2, passed=False)
            )

    caplog.set_level(logging.INFO)
    job = make_job(QualityJob)
    job.run()
    assert notice_lines(caplog) == [
        "NOOP success notice: counting succeeded (LOCAL, run local-test)",
        "NOOP data_quality notice: counting data-quality issues (LOCAL, run local-test)",
    ]
    assert logged_report(caplog)["quality"][0]["failing_rows"] == 2


def test_a_broken_message_override_does_not_change_the_outcome(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenMessageJob(CountingJob):
        def build_notice(self, kind: str) -> Any:
            raise KeyError("template field")

    caplog.set_level(logging.INFO)
    job = make_job(BrokenMessageJob)
    assert job.run() == {"loaded": 4}
    assert notice_lines(caplog) == ["NOOP success notice: counting success (run local-test)"]
    assert job.notice_outcomes == {"success": {"0:NOOP": "sent"}}


def test_default_notice_carries_window_steps_and_the_report() -> None:
    job = make_job()
    job.run()
    notice = job.build_notice("success")
    assert notice.subject == "counting succeeded (LOCAL, run local-test)"
    assert "step load: rows in 5, rows out 4" in notice.text
    assert "created_by: pytest" in notice.text
    assert notice.report["outcome"] == "succeeded"
