"""AbstractJob: the final template method, its outcomes, notices and the run report logged as one JSON line."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dwh.errors import JobFailedError
from dwh.generic_entry import main as generic_entry_main
from dwh.jobs.abstract_job import AbstractJob, Attempt, attempt_of
from dwh.platforms.context import RunContext
from dwh.platforms.detect import ServiceProvider
from dwh.run_report import QualityResult
from dwh.secrets import SCRUBBER
from tests.conftest import SmtpSink
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


# --- alerts that wait for the last retry (--attempt N --max_attempts M) ---------------------------------------------

RETRY_ENTRY = [
    "--module_name",
    "tests.jobs.fixtures_jobs.notice_job_factory",
    "--created_by",
    "pytest",
    "--databricks_run_id",
    "771",
    "--service_provider",
    "DATABRICKS",
]


def email_to(sink: SmtpSink) -> dict[str, Any]:
    """An EMAIL channel to the test SMTP server (plain SMTP on 127.0.0.1)."""
    return {
        "notification_service": "EMAIL",
        "smtp_host": sink.host,
        "smtp_port": sink.port,
        "security": "none",
        "sender": "dwh@example.com",
        "recipients": ["oncall@example.com"],
    }


@pytest.fixture
def attempt_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A control store of its own for the attempts' errors (DWH_CONTROL_URL); generic_entry's log handler goes after."""
    path = tmp_path / "control.db"
    monkeypatch.setenv("DWH_CONTROL_URL", f"sqlite:///{path}")
    monkeypatch.setenv("DWH_ALLOWED_MODULE_PREFIXES", "tests.jobs.fixtures_jobs")
    yield path
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_dwh", False)]:
        root.removeHandler(handler)  # it holds this test's captured stderr; a later test installs its own


def subject(message: Any) -> str:
    """A message's Subject header unfolded (a long one arrives folded over two lines)."""
    return " ".join(str(message["Subject"]).split())


def run_attempt(sink: SmtpSink, attempt: int | None, *extra: str, fail_with: str | None = None) -> int:
    """One attempt of the notice job through generic_entry, as the platform's retry would start it."""
    config = {"api_token": "tok-attempts-4711", "job_failed_notifications": email_to(sink)}
    config["job_success_notifications"] = email_to(sink)
    if fail_with:
        config["fail_with"] = fail_with
    argv = [*RETRY_ENTRY, "--notice_job", json.dumps(config), *extra]
    if attempt is not None:
        argv += ["--attempt", str(attempt)]
    return generic_entry_main(argv)


def test_failing_on_attempts_1_to_3_of_3_sends_one_notice_naming_every_error(
    smtp_server: SmtpSink, attempt_store: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    errors = ["source API timed out", "source API returned 502", "source API refused the login"]
    codes = [run_attempt(smtp_server, n, "--max_attempts", "3", fail_with=errors[n - 1]) for n in (1, 2, 3)]
    assert codes == [1, 1, 1]  # every attempt fails, so the platform sees each failure and retries
    retry_lines = [r.getMessage() for r in caplog.records if "the platform will retry" in r.getMessage()]
    assert retry_lines == [
        "attempt 1 of 3 failed, the platform will retry",
        "attempt 2 of 3 failed, the platform will retry",
    ]
    [message] = smtp_server.messages  # exactly one notice: the last attempt's
    assert subject(message) == "[dwh] notice_job FAILED (DATABRICKS, run 771) after 3 attempts"
    body = message.get_payload(decode=True).decode()
    for number, error in enumerate(errors, start=1):
        assert f"attempt {number} of 3: RuntimeError: {error} (source API rejected token ***)" in body
    assert "tok-attempts-4711" not in body
    with sqlite3.connect(attempt_store) as conn:  # the stored rows are the scrubbed summaries
        rows = conn.execute("SELECT key, attempt, error FROM dwh_attempt_errors ORDER BY attempt").fetchall()
    assert [(key, number) for key, number, _ in rows] == [
        ("notice_job:771", 1),
        ("notice_job:771", 2),
        ("notice_job:771", 3),
    ]
    assert all("tok-attempts-4711" not in error and "***" in error for _, _, error in rows)


def test_a_success_on_the_second_attempt_sends_only_the_success_notice_with_the_first_error(
    smtp_server: SmtpSink, attempt_store: Path
) -> None:
    assert run_attempt(smtp_server, 1, "--max_attempts", "3", fail_with="lock timeout") == 1
    assert run_attempt(smtp_server, 2, "--max_attempts", "3") == 0
    [message] = smtp_server.messages
    assert subject(message) == "[dwh] notice_job succeeded (DATABRICKS, run 771)"
    body = message.get_payload(decode=True).decode()
    assert "attempt 1 of 3: RuntimeError: lock timeout (source API rejected token ***)" in body
    assert "attempt 2 of 3: succeeded" in body


def test_without_the_arguments_every_failure_notifies_and_nothing_is_stored(
    smtp_server: SmtpSink, attempt_store: Path
) -> None:
    assert [run_attempt(smtp_server, None, fail_with=f"night {n}") for n in (1, 2)] == [1, 1]
    subjects = [subject(message) for message in smtp_server.messages]
    assert subjects == ["[dwh] notice_job FAILED (DATABRICKS, run 771)"] * 2
    assert not attempt_store.exists()


def test_a_glue_retry_reads_its_attempt_from_the_job_run_id(smtp_server: SmtpSink, attempt_store: Path) -> None:
    glue = ["--JOB_NAME", "load_promos", "--max_attempts", "2"]
    config = {"api_token": "tok-glue-1", "job_failed_notifications": email_to(smtp_server), "fail_with": "boom"}
    base = ["--module_name", "tests.jobs.fixtures_jobs.notice_job_factory", "--notice_job", json.dumps(config)]
    assert generic_entry_main([*base, *glue, "--JOB_RUN_ID", "jr_0a1b"]) == 1
    assert smtp_server.messages == []  # attempt 1 of 2: Glue will retry
    assert generic_entry_main([*base, *glue, "--JOB_RUN_ID", "jr_0a1b_attempt_1"]) == 1
    [message] = smtp_server.messages
    assert subject(message) == "[dwh] notice_job FAILED (GLUE, run jr_0a1b_attempt_1) after 2 attempts"
    assert "attempt 1 of 2: RuntimeError: boom" in message.get_payload(decode=True).decode()


def test_an_unreachable_store_still_alerts_on_the_last_attempt(
    smtp_server: SmtpSink, attempt_store: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DWH_CONTROL_URL", "sqlite:////nonexistent-dir/control.db")
    assert run_attempt(smtp_server, 2, "--max_attempts", "2", fail_with="disk full") == 1
    [message] = smtp_server.messages
    body = message.get_payload(decode=True).decode()
    assert "attempt 1 of 2: (no error recorded)" in body
    assert "attempt 2 of 2: RuntimeError: disk full" in body
    assert any("could not keep attempt 2's error" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--attempt", "2"], "generic_entry: error: --attempt needs --max_attempts"),
        (["--attempt", "0", "--max_attempts", "3"], "generic_entry: error: --attempt: Input should be greater than"),
        (["--max_attempts", "three"], "generic_entry: error: --max_attempts: Input should be a valid integer"),
    ],
)
def test_bad_attempt_arguments_are_exit_2_naming_the_argument(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], attempt_store: Path
) -> None:
    config = json.dumps({"api_token": "t"})
    assert generic_entry_main([*RETRY_ENTRY, "--notice_job", config, *argv]) == 2
    assert capsys.readouterr().err.startswith(message)


def test_attempt_of_reads_the_platform_counters() -> None:
    def context(**fields: Any) -> RunContext:
        return RunContext(
            job_name="j", service_provider=ServiceProvider.GLUE, run_ids={"run_id": "jr_9_attempt_2"}, **fields
        )

    assert attempt_of(context()) is None
    assert attempt_of(context(max_attempts=3, platform_args={"JOB_RUN_ID": "jr_9_attempt_2"})) == Attempt(
        3, 3, "j:jr_9"
    )
    assert attempt_of(context(attempt=1, max_attempts=4, attempt_key="run-5:load")) == Attempt(1, 4, "j:run-5:load")
    repaired = attempt_of(context(attempt=5, max_attempts=4))  # a Databricks repair after the last retry
    assert repaired is not None and repaired.final
