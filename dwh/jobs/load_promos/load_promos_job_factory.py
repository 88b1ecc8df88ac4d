"""Entry module of load_promos, as Airflow, Databricks, Glue and EMR call it::

    generic_entry --module_name dwh.jobs.load_promos.load_promos_job_factory \\
        --load_promos_job '<json>' --start_date 2025-01-01 --end_date 2025-01-08 --created_by airflow

``--print_config_schema`` prints the JSON Schema of ``--load_promos_job``.
"""

from __future__ import annotations

from typing import Any

from dwh.jobs.abstract_job_factory import AbstractJobFactory
from dwh.jobs.load_promos.load_promos_config import LoadPromosJobConfig
from dwh.jobs.load_promos.load_promos_job import LoadPromosJob
from dwh.platforms.context import RunContext


class LoadPromosJobFactory(AbstractJobFactory[LoadPromosJobConfig]):
    """Builds `LoadPromosJob` from ``--load_promos_job``; the run window is required."""

    job_name = "load_promos"
    config_argument = "load_promos_job"
    config_model = LoadPromosJobConfig
    requires_window = True

    def create_job(self, *, config: LoadPromosJobConfig, context: RunContext) -> LoadPromosJob:
        """The strategy configs are the strategies: nothing else to build."""
        return LoadPromosJob(config=config, context=context)


def main(**kwargs: Any) -> Any:
    """Job module contract: build the factory and run it."""
    return LoadPromosJobFactory().run(**kwargs)
