"""Entry module of the process manager.

    generic_entry --module_name dwh.jobs.process_manager.process_manager_job_factory \\
        --process_manager_job '{"control_database": {...}, "databricks": {"host": ..., "token": "env:..."}, ...}'

Before anything is called: the config is validated, its secrets resolved, the control database opened,
and the control table and wait view checked (an existing one lacking columns is exit 2 naming them) or
created when missing (not in a dry run, which only says it would).
"""

from __future__ import annotations

from typing import Any

from dwh.errors import ConfigError
from dwh.jobs.abstract_job_factory import AbstractJobFactory
from dwh.jobs.process_manager.config import ProcessManagerConfig
from dwh.jobs.process_manager.control_table import ControlTable
from dwh.jobs.process_manager.process_manager_job import ProcessManagerJob
from dwh.platforms.context import RunContext


class ProcessManagerJobFactory(AbstractJobFactory[ProcessManagerConfig]):
    """Builds `ProcessManagerJob` from ``--process_manager_job``."""

    job_name = "process_manager"
    config_argument = "process_manager_job"
    config_model = ProcessManagerConfig

    def create_job(self, *, config: ProcessManagerConfig, context: RunContext) -> ProcessManagerJob:
        """Open the control database; check (or create) the control table and the wait view."""
        field = f"--{self.config_argument}"
        store = config.control_database.open(field=f"{field}: control_database")
        control = ControlTable(store, config.table_name, config.view_name, field=field)
        try:
            missing = control.missing_objects() if config.dry_run else control.ensure()
        except ConfigError:
            store.close()
            raise
        except Exception as exc:  # e.g. no right to create the table: nothing has run yet
            store.close()
            from dwh.control.store import describe_error

            raise ConfigError(
                f"cannot check or create {config.table_name} / {config.view_name} ({describe_error(exc)})",
                field=f"{field}: control_table",
            ) from None
        return ProcessManagerJob(config=config, context=context, control=control, missing=missing)


def main(**kwargs: Any) -> Any:
    """Job module contract: build the factory and run it."""
    return ProcessManagerJobFactory().run(**kwargs)
