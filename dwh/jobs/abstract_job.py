"""`AbstractJob`: the template every job follows. `run` is final; jobs implement `execute_job`.

    run -> execute_job(**kwargs) -> on_success(result)              -> result
                       raises    -> on_failure(error) -> JobFailedError from error

Both outcomes finish the `RunReport`, log it as one JSON line, and send the configured notices.
A data-quality notice goes out whenever a quality rule had failing rows, whatever the outcome.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, final

from dwh.errors import JobFailedError
from dwh.jobs.job_config import JobConfig
from dwh.platforms.context import RunContext
from dwh.run_report import RunReport, summarize_error
from dwh.strategies.notifications import Notice, send_notice

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ConfigT = TypeVar("ConfigT", bound=JobConfig)
log = logging.getLogger(__name__)


class AbstractJob(ABC, Generic[ConfigT]):
    """A job: config + run context in, `execute_job` does the work, the template does the rest."""

    #: The slot names in the config that receive each kind of notice.
    notice_slots: ClassVar[dict[str, str]] = {
        "success": "job_success_notifications",
        "failure": "job_failed_notifications",
        "data_quality": "data_quality_notifications",
    }

    def __init__(self, *, config: ConfigT, context: RunContext) -> None:
        self.config = config
        self.context = context
        self.report = RunReport(context=context.describe())
        self.notice_outcomes: dict[str, dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "run" in cls.__dict__:
            raise TypeError(f"{cls.__name__} must not override AbstractJob.run; implement execute_job")

    @property
    def spark(self) -> SparkSession:
        """The platform's SparkSession (created on first use)."""
        return self.context.spark

    @abstractmethod
    def execute_job(self, *args: Any, **kwargs: Any) -> Any:
        """Do the work. Receives only the keyword arguments its signature names."""

    @final
    def run(self, **kwargs: Any) -> Any:
        """Run the job: execute, then notify; a failure is re-raised as `JobFailedError`."""
        log.info(
            "starting %s on %s, run %s",
            self.context.job_name,
            self.context.service_provider.value,
            self.context.run_id,
        )
        try:
            result = self.execute_job(**kwargs)
        except Exception as error:
            log.error("%s failed", self.context.job_name, exc_info=True)
            self.report.finish("failed", error)
            self._log_report()
            self.on_failure(error)
            raise JobFailedError(f"{self.context.job_name} failed: {summarize_error(error)}") from error
        self.report.finish("succeeded")
        self._log_report()
        self.on_success(result)
        return result

    def on_success(self, result: Any) -> None:
        """Send the success notice (and the data-quality notice when a rule failed)."""
        self.notify("success")
        self._notify_quality()

    def on_failure(self, error: BaseException) -> None:
        """Send the failure notice (and the data-quality notice when a rule failed)."""
        self.notify("failure")
        self._notify_quality()

    def notify(self, kind: str) -> dict[str, str]:
        """Send a notice of `kind` to its slot's channels; failures are logged, never raised."""
        notifiers = self.config.notifiers(self.notice_slots[kind])
        try:
            notice = self.build_notice(kind)
        except Exception:
            # A broken message override must not change the run's outcome: fall back to a bare notice.
            log.warning("build_notice(%s) raised; sending a minimal notice", kind, exc_info=True)
            subject = f"{self.context.job_name} {kind} (run {self.context.run_id})"
            notice = Notice(kind=kind, subject=subject, text=self.report.to_json(), report=self.report.to_dict())
        outcomes = send_notice(notifiers, notice)
        self.notice_outcomes[kind] = outcomes
        return outcomes

    def build_notice(self, kind: str) -> Notice:
        """The default message: a subject line, a readable summary, then the run report as JSON.

        Override to change the wording; the dispatcher masks secrets whatever you write.
        """
        ctx = self.context
        report = self.report.to_dict()
        what = {"success": "succeeded", "failure": "FAILED", "data_quality": "data-quality issues"}[kind]
        subject = f"{ctx.job_name} {what} ({ctx.service_provider.value}, run {ctx.run_id})"
        lines = [subject, ""]
        if ctx.start_date or ctx.end_date:
            lines.append(f"window: {ctx.start_date} .. {ctx.end_date} (end exclusive)")
        lines.append(f"created_by: {ctx.created_by}    wheel: {ctx.wheel_version}    seconds: {self.report.seconds}")
        if ctx.run_url:
            lines.append(f"run: {ctx.run_url}")
        if self.report.error:
            lines.append(f"error: {self.report.error}")
        for step in self.report.steps:
            lines.append(f"step {step.name}: rows in {step.rows_in}, rows out {step.rows_out}, {step.seconds}s")
        for result in self.report.failed_quality:
            lines.append(f"quality {result.name} [{result.policy}]: {result.failing_rows} failing rows ({result.rule})")
        lines += ["", "run report:", json.dumps(report, default=str, indent=2, sort_keys=True)]
        return Notice(kind=kind, subject=subject, text="\n".join(lines), report=report)

    def _notify_quality(self) -> None:
        if self.report.failed_quality:
            self.notify("data_quality")

    def _log_report(self) -> None:
        log.info("run_report %s", self.report.to_json())
