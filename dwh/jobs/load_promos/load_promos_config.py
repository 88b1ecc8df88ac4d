"""`LoadPromosJobConfig`: the ``--load_promos_job`` JSON, with the job's defaults for each target.

The keys are the existing ones (DESIGN.md "Configuration") plus ``expectations``::

    {"job_failed_notifications":   {"notification_service": "NOOP"},
     "job_success_notifications":  {"notification_service": "NOOP"},
     "data_quality_notifications": {"notification_service": "NOOP"},
     "extractor_config":       {"strategy": "PARQUET", "source_table": "s3a://bucket/promos/"},
     "unity_loader_config":    {"strategy": "DELTA", "path": "s3a://bucket/unity/promos"},
     "stage_loader_config":    {"strategy": "PARQUET", "path": "s3a://bucket/stage/promos"},
     "redshift_loader_config": {"strategy": "POSTGRES", "jdbc_url": "jdbc:postgresql://host:5432/db",
                                "properties": {"user": "...", "password": "env:PG_PASSWORD"}}}

Defaults filled in when a key is absent from a loader block:
  unity_loader_config     strategy DELTA, mode merge, keys [promo_id]
  stage_loader_config     strategy PARQUET, mode replace_window, window_column load_window_start,
                          partition_by [load_window_start] (PARQUET only)
  redshift_loader_config  (optional; POSTGRES or REDSHIFT) mode merge, keys [promo_id], table public.promos
  expectations            `DEFAULT_EXPECTATIONS`; a given list replaces the whole default list.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from dwh.jobs.job_config import JobConfig
from dwh.jobs.load_promos.expectations import DEFAULT_EXPECTATIONS
from dwh.jobs.load_promos.schema import KEY_COLUMN, WINDOW_COLUMN
from dwh.strategies.extractors.registry import ExtractorConfig
from dwh.strategies.loaders.postgres import PostgresLoader
from dwh.strategies.loaders.redshift import RedshiftLoader
from dwh.strategies.loaders.registry import LoaderConfig
from dwh.strategies.quality import ExpectationList

#: The warehouse table when the config names none (configs written before `table` existed).
DEFAULT_WAREHOUSE_TABLE = "public.promos"

#: The warehouse target: PostgreSQL (or anything speaking its protocol) or Amazon Redshift.
WarehouseLoaderConfig = Annotated[PostgresLoader | RedshiftLoader, Field(discriminator="strategy")]


def _fill(block: Any, defaults: dict[str, Any], when_mode: dict[str, dict[str, Any]]) -> Any:
    """Add `defaults` for absent keys, then the keys the (possibly defaulted) mode needs."""
    if not isinstance(block, dict):
        return block
    filled = {**defaults, **block}
    for key, value in when_mode.get(filled.get("mode", ""), {}).items():
        filled.setdefault(key, value)
    return filled


class LoadPromosJobConfig(JobConfig):
    """Config of load_promos (``--load_promos_job``): one source, three targets, data-quality rules."""

    extractor_config: ExtractorConfig = Field(..., description="Where the promotions come from.")
    unity_loader_config: LoaderConfig = Field(
        ..., description="The main table (default strategy DELTA, mode merge on promo_id)."
    )
    stage_loader_config: LoaderConfig = Field(
        ...,
        description="The run's snapshot (default strategy PARQUET, mode replace_window on load_window_start, "
        "partitioned by load_window_start).",
    )
    redshift_loader_config: WarehouseLoaderConfig | None = Field(
        None, description="Optional warehouse copy: POSTGRES or REDSHIFT (default mode merge on promo_id)."
    )
    expectations: ExpectationList = Field(
        default_factory=lambda: list(DEFAULT_EXPECTATIONS),
        validate_default=True,
        description="Data-quality rules checked before anything is written; a given list replaces the defaults.",
    )

    @model_validator(mode="before")
    @classmethod
    def _loader_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        merge = {"merge": {"keys": [KEY_COLUMN]}}
        if "unity_loader_config" in data:
            data["unity_loader_config"] = _fill(
                data["unity_loader_config"], {"strategy": "DELTA", "mode": "merge"}, merge
            )
        if "stage_loader_config" in data:
            stage = _fill(
                data["stage_loader_config"],
                {"strategy": "PARQUET", "mode": "replace_window"},
                {"replace_window": {"window_column": WINDOW_COLUMN}},
            )
            if isinstance(stage, dict) and stage.get("strategy") == "PARQUET":
                stage.setdefault("partition_by", [WINDOW_COLUMN])
            data["stage_loader_config"] = stage
        if data.get("redshift_loader_config") is not None:
            data["redshift_loader_config"] = _fill(
                data["redshift_loader_config"], {"mode": "merge", "table": DEFAULT_WAREHOUSE_TABLE}, merge
            )
        return data
