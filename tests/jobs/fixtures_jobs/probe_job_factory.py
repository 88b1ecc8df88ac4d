"""Entry module of the probe job: ``--module_name tests.jobs.fixtures_jobs.probe_job_factory --probe_job '{...}'``."""

from __future__ import annotations

from typing import Any

from dwh.jobs.abstract_job_factory import AbstractJobFactory
from dwh.platforms.context import RunContext
from tests.jobs.fixtures_jobs.probe_job import ProbeJob, ProbeJobConfig


class ProbeJobFactory(AbstractJobFactory[ProbeJobConfig]):
    """Builds `ProbeJob` from ``--probe_job``."""

    job_name = "probe"
    config_argument = "probe_job"
    config_model = ProbeJobConfig

    def create_job(self, *, config: ProbeJobConfig, context: RunContext) -> ProbeJob:
        """Nothing to build besides the job."""
        return ProbeJob(config=config, context=context)


def main(**kwargs: Any) -> Any:
    """Job module contract: build the factory and run it."""
    return ProbeJobFactory().run(**kwargs)
