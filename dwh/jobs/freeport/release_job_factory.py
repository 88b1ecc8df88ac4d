"""Entry module of the Freeport release job (what a launcher starts, one per module and batch).

    generic_entry --module_name dwh.jobs.freeport.release_job_factory --release_job '{"freeport": {...}}' \\
        --demo_name NAME --freeport_module MODULE --table_name SANDBOX_TABLE --batch_id ID

``--freeport_module``, not ``--module_name``: that one is generic_entry's own. On Databricks and Glue the
release job is deployed with its config and receives only the four run values.
"""

from __future__ import annotations

from typing import Any

from dwh.jobs.abstract_job_factory import AbstractJobFactory
from dwh.jobs.freeport.common import checked_name, open_tracking
from dwh.jobs.freeport.config import ReleaseJobConfig
from dwh.jobs.freeport.release_job import ReleaseJob
from dwh.platforms.context import RunContext


class ReleaseJobFactory(AbstractJobFactory[ReleaseJobConfig]):
    """Builds `ReleaseJob` from ``--release_job`` and the four run values."""

    job_name = "freeport_release"
    config_argument = "release_job"
    config_model = ReleaseJobConfig
    required_arguments = ("demo_name", "freeport_module", "table_name", "batch_id")

    def create_job(self, *, config: ReleaseJobConfig, context: RunContext) -> ReleaseJob:
        """Check the names and open the tracking store."""
        checked_name(self.arguments, "demo_name", "demo name")
        checked_name(self.arguments, "freeport_module", "module name")
        return ReleaseJob(config=config, context=context, store=open_tracking(config.freeport, self.config_argument))


def main(**kwargs: Any) -> Any:
    """Job module contract: build the factory and run it."""
    return ReleaseJobFactory().run(**kwargs)
