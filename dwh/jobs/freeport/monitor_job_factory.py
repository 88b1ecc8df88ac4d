"""Entry module of the Freeport monitor.

    generic_entry --module_name dwh.jobs.freeport.monitor_job_factory --monitor_job '{"freeport": {...}}' \\
        --demo_name NAME [--batch_id ID] [--wait_seconds N]

The main job's whole config is accepted as ``--monitor_job`` too.
"""

from __future__ import annotations

from typing import Any

from dwh.errors import ConfigError
from dwh.jobs.abstract_job_factory import AbstractJobFactory
from dwh.jobs.freeport.common import checked_name, open_tracking
from dwh.jobs.freeport.config import MonitorJobConfig
from dwh.jobs.freeport.monitor_job import MonitorJob
from dwh.platforms.context import RunContext


class MonitorJobFactory(AbstractJobFactory[MonitorJobConfig]):
    """Builds `MonitorJob` from ``--monitor_job`` and ``--demo_name``."""

    job_name = "freeport_monitor"
    config_argument = "monitor_job"
    config_model = MonitorJobConfig
    required_arguments = ("demo_name",)

    def create_job(self, *, config: MonitorJobConfig, context: RunContext) -> MonitorJob:
        """Check the arguments and open the tracking store."""
        checked_name(self.arguments, "demo_name", "demo name")
        wait = self.arguments.get("wait_seconds")
        if wait is not None:
            try:
                if float(wait) < 0:
                    raise ValueError
            except ValueError:
                raise ConfigError(f"{wait!r} is not a number of seconds >= 0", field="--wait_seconds") from None
        return MonitorJob(config=config, context=context, store=open_tracking(config.freeport, self.config_argument))


def main(**kwargs: Any) -> Any:
    """Job module contract: build the factory and run it."""
    return MonitorJobFactory().run(**kwargs)
