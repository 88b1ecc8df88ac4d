"""`NoticeJob`: a Spark-free job that exercises the notification path end to end.

It "uses" a secret API token (logs it and, when told to fail, puts it into its exception message),
records two steps and optionally a failing data-quality rule, so its notices carry everything the
default message has: window, created_by, steps, quality, error summary and the run report.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import Field

from dwh.config import Secret
from dwh.jobs.abstract_job import AbstractJob
from dwh.jobs.job_config import JobConfig
from dwh.run_report import QualityResult

log = logging.getLogger(__name__)


class NoticeJobConfig(JobConfig):
    """Config of the notice test job (``--notice_job``)."""

    api_token: Secret = Field(..., description="A credential the job uses; must never appear in any output.")
    rows: int = Field(3, ge=0, description="Rows the fake extract step reports.")
    failing_quality_rows: int = Field(0, ge=0, description="When > 0, a quality rule reports this many failing rows.")
    fail_with: str | None = Field(None, description="Raise RuntimeError with this text (and the token) at the end.")


class NoticeJob(AbstractJob[NoticeJobConfig]):
    """Pretends to extract and load rows; leaks its token into a log line and an error on purpose."""

    def execute_job(self, created_by: str) -> dict[str, Any]:
        """Record steps and quality, log the token, maybe fail; return what a caller would check."""
        token = self.config.api_token.get_secret_value()
        log.info("calling the source API with token %s for %s", token, created_by)
        with self.report.step("extract") as step:
            step.rows_out = self.config.rows
        with self.report.step("load") as step:
            step.rows_in = step.rows_out = self.config.rows
        if self.config.failing_quality_rows:
            self.report.quality.append(
                QualityResult(
                    name="amount_positive",
                    rule="amount > 0",
                    policy="warn",
                    failing_rows=self.config.failing_quality_rows,
                    passed=False,
                )
            )
        if self.config.fail_with:
            raise RuntimeError(f"{self.config.fail_with} (source API rejected token {token})")
        return {"rows": self.config.rows}
