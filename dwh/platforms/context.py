"""`RunContext`: everything a job knows about its run (platform, ids, window, who started it) and its Spark.

The SparkSession is created on first use of `RunContext.spark` (`dwh.platforms.spark`), so
`generic_entry --help` and config errors stay fast and Spark-free.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dwh.platforms.databricks import run_page_url
from dwh.platforms.detect import ServiceProvider, wheel_version
from dwh.platforms.spark import SparkSessionProvider

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _databricks_run_url(ids: dict[str, str]) -> str | None:
    host = os.environ.get("DATABRICKS_HOST")
    if host and "job_id" in ids and not ids["run_id"].startswith("local-"):
        return run_page_url(host, ids["job_id"], ids["run_id"])
    return None


@dataclass
class RunContext:
    """Everything a job knows about its run: platform, ids, window, who started it, and Spark."""

    job_name: str
    service_provider: ServiceProvider
    run_ids: dict[str, str]
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    created_by: str = "unknown"
    config_hash: str = ""
    platform_args: dict[str, str] = field(default_factory=dict)
    #: ``--attempt`` / ``--max_attempts`` / ``--attempt_key`` (None when the platform's retries are not declared).
    attempt: int | None = None
    max_attempts: int | None = None
    attempt_key: str | None = None
    wheel_version: str = field(default_factory=wheel_version)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    _spark_provider: SparkSessionProvider | None = field(default=None, repr=False)

    @property
    def run_id(self) -> str:
        """The platform's run id (or a local uuid)."""
        return self.run_ids["run_id"]

    @property
    def run_url(self) -> str | None:
        """A link to the run in the platform's UI, when it can be derived."""
        if self.service_provider is ServiceProvider.DATABRICKS:
            return _databricks_run_url(self.run_ids)
        return None

    @property
    def spark(self) -> SparkSession:
        """The platform's SparkSession, created on first use."""
        if self._spark_provider is None:
            self._spark_provider = SparkSessionProvider(self.service_provider)
        return self._spark_provider.get()

    def describe(self) -> dict[str, Any]:
        """The context as plain JSON-able values (for the run report)."""
        return {
            "job_name": self.job_name,
            "platform": self.service_provider.value,
            "run_ids": self.run_ids,
            "run_url": self.run_url,
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "created_by": self.created_by,
            "wheel_version": self.wheel_version,
            "config_hash": self.config_hash,
        }
