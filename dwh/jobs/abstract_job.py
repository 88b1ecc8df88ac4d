"""`AbstractJob`: the template every job follows. `run` is final; jobs implement `execute_job`.

    run -> execute_job(**kwargs) -> on_success(result)              -> result
                       raises    -> on_failure(error) -> JobFailedError from error

Both outcomes finish the `RunReport`, log it as one JSON line, and send the configured notices.
A data-quality notice goes out whenever a quality rule had failing rows, whatever the outcome.

Alerts that wait for the last retry: when the platform retries failed runs and says so
(``--attempt N --max_attempts M``, fed by the platform's own counter in the deploy files; on Glue
``--max_attempts`` alone, the attempt is read from the ``_attempt_N`` suffix of ``--JOB_RUN_ID``),
every failed attempt keeps its error in the control store (`dwh.control.attempts`, keyed by the job
name and ``--attempt_key``, default the platform's run id). A failed attempt before the last logs
"attempt N of M failed, the platform will retry" and sends nothing: no failure notice, no
data-quality notice, and `on_failure` is not called. The last one (N >= M) runs `on_failure` as
usual and its failure notice names every attempt's error. A success after failed attempts says so
in its notice. Without ``--max_attempts`` nothing changes: every failure notifies.
"""

from __future__ import annotations

import json
import logging
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
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

#: Glue names a retry's run ``<first run id>_attempt_<retry number>``.
_GLUE_ATTEMPT = re.compile(r"_attempt_([0-9]+)$")


@dataclass(frozen=True)
class Attempt:
    """Which attempt of a retried run this is, how many the platform makes, and the key they share."""

    number: int
    max_attempts: int
    key: str

    @property
    def final(self) -> bool:
        """True when the platform will not retry after this attempt (a repair past the last counts as final)."""
        return self.number >= self.max_attempts


def attempt_of(context: RunContext) -> Attempt | None:
    """The run's `Attempt`, or None when the platform's retries were not declared (``--max_attempts``)."""
    if context.max_attempts is None:
        return None
    number = context.attempt
    glue_run_id = context.platform_args.get("JOB_RUN_ID", "")
    if number is None and glue_run_id:
        suffix = _GLUE_ATTEMPT.search(glue_run_id)
        number = int(suffix.group(1)) + 1 if suffix else 1
    if number is None:
        log.warning("--max_attempts without --attempt (and no Glue run id): treating this attempt as the last")
        number = context.max_attempts
    shared = context.attempt_key or _GLUE_ATTEMPT.sub("", context.run_id)
    return Attempt(number=number, max_attempts=context.max_attempts, key=f"{context.job_name}:{shared}")


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
        #: This run's attempt when the platform's retries were declared, else None (every failure notifies).
        self.attempt = attempt_of(context)
        #: The errors of this run's attempts by number, once read from the control store (see `attempt_errors`).
        self.previous_errors: dict[int, str] = {}

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
            attempt = self.attempt
            if attempt is not None:
                self._record_attempt(attempt, self.report.error or summarize_error(error))
            if attempt is not None and not attempt.final:
                log.warning("attempt %d of %d failed, the platform will retry", attempt.number, attempt.max_attempts)
            else:
                self.on_failure(error)
            raise JobFailedError(f"{self.context.job_name} failed: {summarize_error(error)}") from error
        self.report.finish("succeeded")
        self._log_report()
        if self.attempt is not None and self.attempt.number > 1:
            self.previous_errors = self._read_attempts(self.attempt)
        self.on_success(result)
        return result

    def on_success(self, result: Any) -> None:
        """Send the success notice (and the data-quality notice when a rule failed)."""
        self.notify("success")
        self._notify_quality()

    def on_failure(self, error: BaseException) -> None:
        """Send the failure notice (and the data-quality notice when a rule failed).

        With declared retries this runs on the last attempt only, and the notice names every attempt's error.
        """
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
        attempts = self._attempt_lines(kind)
        if attempts:
            subject += f" after {len(attempts)} attempts" if kind == "failure" else ""
            lines[0] = subject
            lines += attempts
            report = {**report, "attempts": attempts}
        for step in self.report.steps:
            lines.append(f"step {step.name}: rows in {step.rows_in}, rows out {step.rows_out}, {step.seconds}s")
        for result in self.report.failed_quality:
            lines.append(f"quality {result.name} [{result.policy}]: {result.failing_rows} failing rows ({result.rule})")
        lines += ["", "run report:", json.dumps(report, default=str, indent=2, sort_keys=True)]
        return Notice(kind=kind, subject=subject, text="\n".join(lines), report=report)

    def _attempt_lines(self, kind: str) -> list[str]:
        """``attempt k of M: <error>`` for each attempt so far (failure), or each failed one before a success."""
        attempt = self.attempt
        if attempt is None or attempt.number == 1 or kind not in ("failure", "success"):
            return []  # a first attempt's own error is the notice's error line
        errors = dict(self.previous_errors)
        if kind == "failure":
            errors[attempt.number] = self.report.error or "(no error text)"
        last = attempt.number if kind == "failure" else attempt.number - 1
        numbers = sorted(set(range(1, last + 1)) | set(errors))
        lines = [f"attempt {n} of {attempt.max_attempts}: {errors.get(n, '(no error recorded)')}" for n in numbers]
        if kind == "success":
            lines.append(f"attempt {attempt.number} of {attempt.max_attempts}: succeeded")
        return lines

    def _record_attempt(self, attempt: Attempt, error: str) -> None:
        """Keep this attempt's error for the next attempts, and read the earlier ones (never raises)."""
        from dwh.control.attempts import attempt_errors, open_attempt_store, record_attempt_error

        try:
            with open_attempt_store() as store:
                record_attempt_error(store, attempt.key, attempt.number, error)
                self.previous_errors = attempt_errors(store, attempt.key)
        except Exception as exc:
            # The alert must still go out on the last attempt: it names what it has.
            log.warning("could not keep attempt %d's error in the control store: %s", attempt.number, exc)

    def _read_attempts(self, attempt: Attempt) -> dict[int, str]:
        """The earlier attempts' errors (empty when the store can't be read)."""
        from dwh.control.attempts import attempt_errors, open_attempt_store

        try:
            with open_attempt_store() as store:
                return attempt_errors(store, attempt.key)
        except Exception as exc:
            log.warning("could not read the earlier attempts' errors from the control store: %s", exc)
            return {}

    def _notify_quality(self) -> None:
        if self.report.failed_quality:
            self.notify("data_quality")

    def _log_report(self) -> None:
        log.info("run_report %s", self.report.to_json())
