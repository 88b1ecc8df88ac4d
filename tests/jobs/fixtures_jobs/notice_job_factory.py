"""Entry module of the notice test job.

generic_entry --module_name tests.jobs.fixtures_jobs.notice_job_factory --notice_job '{...}'
"""

from __future__ import annotations

from typing import Any

from dwh.jobs.abstract_job_factory import AbstractJobFactory
from dwh.platforms.context import RunContext
from tests.jobs.fixtures_jobs.notice_job import NoticeJob, NoticeJobConfig


class NoticeJobFactory(AbstractJobFactory[NoticeJobConfig]):
    """Builds `NoticeJob` from ``--notice_job``."""

    job_name = "notice_job"
    config_argument = "notice_job"
    config_model = NoticeJobConfig

    def create_job(self, *, config: NoticeJobConfig, context: RunContext) -> NoticeJob:
        """No strategies besides the notification channels, which the config already holds."""
        return NoticeJob(config=config, context=context)


def main(**kwargs: Any) -> Any:
    """Job module contract: build the factory and run it."""
    return NoticeJobFactory().run(**kwargs)
