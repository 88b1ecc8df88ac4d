"""Entry module of the smoke job: ``generic_entry --module_name dwh.jobs.smoke.smoke_job_factory --smoke_job '{}'``."""

from __future__ import annotations

from typing import Any

from dwh.jobs.abstract_job_factory import AbstractJobFactory
from dwh.jobs.smoke.smoke_job import SmokeJob, SmokeJobConfig
from dwh.platforms.context import RunContext


class SmokeJobFactory(AbstractJobFactory[SmokeJobConfig]):
    """Builds `SmokeJob` from ``--smoke_job``."""

    job_name = "smoke"
    config_argument = "smoke_job"
    config_model = SmokeJobConfig

    def create_job(self, *, config: SmokeJobConfig, context: RunContext) -> SmokeJob:
        """No strategies to build: the smoke job only needs Spark."""
        return SmokeJob(config=config, context=context)


def main(**kwargs: Any) -> Any:
    """Job module contract: build the factory and run it."""
    return SmokeJobFactory().run(**kwargs)
