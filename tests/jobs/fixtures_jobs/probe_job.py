"""`ProbeJob`: a Spark-free job whose config has every shape the core must validate, and that reports what it got.

Its config has a ``strategy`` discriminated union (``source``), a list of blocks with a ``Literal`` write mode
(``targets[i].mode``), a secret (``token``) and the usual notification slots, so config errors can be checked
field path by field path. ``execute_job`` records the keyword arguments it received (and writes them as JSON
to ``output_path`` when given), so a test can see exactly what the factory handed it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from dwh.config import Secret, StrictModel
from dwh.jobs.abstract_job import AbstractJob
from dwh.jobs.job_config import JobConfig


class MemorySource(StrictModel):
    """A source that makes ``rows`` rows out of thin air."""

    strategy: Literal["MEMORY"]
    rows: int = Field(3, ge=0, description="How many rows the source yields.")


class FileSource(StrictModel):
    """A source read from a file (never read: the probe only validates it)."""

    strategy: Literal["FILE"]
    path: str = Field(..., description="Where the file is.")
    format: Literal["csv", "json"] = Field("csv", description="File format.")


ProbeSource = Annotated[MemorySource | FileSource, Field(discriminator="strategy")]


class ProbeTarget(StrictModel):
    """A target with the framework's write-mode words."""

    path: str = Field(..., description="Where the rows would go.")
    mode: Literal["append", "overwrite", "replace_window", "merge"] = Field("append", description="Write mode.")


def _memory() -> MemorySource:
    return MemorySource(strategy="MEMORY")


class ProbeJobConfig(JobConfig):
    """Config of the probe job (``--probe_job``)."""

    source: ProbeSource = Field(default_factory=_memory, description="Where rows come from.")
    targets: list[ProbeTarget] = Field(default_factory=list, description="Where rows would go.")
    token: Secret | None = Field(None, description="A credential; resolved before execute_job starts.")
    output_path: str | None = Field(None, description="Write the received arguments here as JSON.")
    fail_with: str | None = Field(None, description="Raise RuntimeError(fail_with) after the step.")


class ProbeJob(AbstractJob[ProbeJobConfig]):
    """Records one step and returns (and optionally writes) what it received."""

    def execute_job(
        self, created_by: str, start_date: dt.date | None = None, team: str | None = None
    ) -> dict[str, Any]:
        """Count the source rows, report what arrived, maybe fail."""
        token = self.config.token.get_secret_value() if self.config.token else None
        with self.report.step("probe") as step:
            step.rows_out = self.config.source.rows if isinstance(self.config.source, MemorySource) else 0
        received = {
            "created_by": created_by,
            "start_date": start_date.isoformat() if start_date else None,
            "team": team,
            "platform": self.context.service_provider.value,
            "run_id": self.context.run_id,
            # The length only: a test compares it with the secret's, and the secret never leaves the job.
            "token_length": len(token) if token is not None else None,
        }
        if self.config.output_path:
            Path(self.config.output_path).write_text(json.dumps(received), encoding="utf-8")
        if self.config.fail_with:
            raise RuntimeError(self.config.fail_with)
        return received
