"""`SmokeJob`: counts ``spark.range(rows)``, optionally writes it as Parquet, optionally fails on purpose.

Use it once on a new cluster, Glue job or EMR step to prove that the wheel, the entry point, the
SparkSession and the notification channels all work before scheduling real jobs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from dwh.jobs.abstract_job import AbstractJob
from dwh.jobs.job_config import JobConfig


class SmokeJobConfig(JobConfig):
    """Config of the smoke job (``--smoke_job``)."""

    rows: int = Field(1000, ge=0, le=10_000_000, description="How many rows spark.range makes.")
    output_path: str | None = Field(None, description="Where to write the rows as Parquet (overwrite).")
    fail_with: str | None = Field(None, description="Raise RuntimeError(fail_with) after counting, to test alerts.")


class SmokeJob(AbstractJob[SmokeJobConfig]):
    """Counts rows with Spark; reports where it ran."""

    def execute_job(self, created_by: str, start_date: dt.date | None = None) -> dict[str, Any]:
        """Count, maybe write, maybe fail; return what a user would check."""
        with self.report.step("count") as step:
            frame = self.spark.range(self.config.rows)
            step.rows_out = frame.count()
        if self.config.output_path:
            with self.report.step("write_parquet") as step:
                frame.write.mode("overwrite").parquet(self.config.output_path)
                step.rows_in = step.rows_out = self.config.rows
        if self.config.fail_with:
            raise RuntimeError(self.config.fail_with)
        return {
            "rows": step.rows_out,
            "platform": self.context.service_provider.value,
            "spark_version": self.spark.version,
            "created_by": created_by,
        }
