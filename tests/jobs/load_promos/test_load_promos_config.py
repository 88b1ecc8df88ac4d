"""The ``--load_promos_job`` config: the job's defaults per target, one-line errors, and the printable schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dwh.config import parse_job_config
from dwh.errors import ConfigError
from dwh.jobs.load_promos.expectations import DEFAULT_EXPECTATIONS
from dwh.jobs.load_promos.load_promos_config import LoadPromosJobConfig
from dwh.jobs.load_promos.load_promos_job_factory import LoadPromosJobFactory, main

ROOT = Path(__file__).resolve().parents[3]
PG = {"jdbc_url": "jdbc:postgresql://db:5432/dwh", "properties": {"user": "u", "password": "env:PG_PASSWORD"}}


def minimal(**extra: Any) -> dict[str, Any]:
    return {
        "extractor_config": {"strategy": "PARQUET", "source_table": "/data/promos"},
        "unity_loader_config": {"path": "/data/unity/promos"},
        "stage_loader_config": {"path": "/data/stage/promos"},
        **extra,
    }


def parse(data: dict[str, Any]) -> LoadPromosJobConfig:
    return parse_job_config(LoadPromosJobConfig, json.dumps(data), argument="load_promos_job")


def test_absent_keys_get_the_jobs_defaults_for_each_target() -> None:
    config = parse(minimal(redshift_loader_config={"strategy": "POSTGRES", "table": "public.promos", **PG}))

    unity, stage, warehouse = config.unity_loader_config, config.stage_loader_config, config.redshift_loader_config
    assert (unity.kind, unity.mode, unity.keys) == ("DELTA", "merge", ["promo_id"])
    assert (stage.kind, stage.mode, stage.window_column, stage.partition_by) == (
        "PARQUET",
        "replace_window",
        "load_window_start",
        ["load_window_start"],
    )
    assert warehouse is not None
    assert (warehouse.kind, warehouse.mode, warehouse.keys) == ("POSTGRES", "merge", ["promo_id"])
    assert [e.name for e in config.expectations] == [e["name"] for e in DEFAULT_EXPECTATIONS]
    assert [e.policy for e in config.expectations] == ["fail", "drop", "drop", "drop", "drop", "warn"]
    assert config.notifiers("job_failed_notifications")[0].service == "NOOP"


def test_given_values_win_over_the_defaults() -> None:
    config = parse(
        minimal(
            unity_loader_config={"strategy": "DELTA", "path": "/u", "mode": "overwrite"},
            stage_loader_config={"strategy": "PARQUET", "path": "/s", "mode": "append", "partition_by": ["sku"]},
            expectations=[{"name": "only", "rule": "not_null", "column": "sku", "policy": "drop"}],
        )
    )
    assert (config.unity_loader_config.mode, config.unity_loader_config.keys) == ("overwrite", None)
    assert (config.stage_loader_config.mode, config.stage_loader_config.partition_by) == ("append", ["sku"])
    assert config.stage_loader_config.window_column is None
    assert config.redshift_loader_config is None
    assert [e.name for e in config.expectations] == ["only"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            minimal(redshift_loader_config={"strategy": "DELTA", "path": "/x"}),
            "--load_promos_job: redshift_loader_config: strategy 'DELTA' is not one of POSTGRES, REDSHIFT",
        ),
        (
            {**minimal(), "unity_loader_confg": {}},
            "--load_promos_job: unity_loader_confg: unknown field (check the spelling)",
        ),
        (
            minimal(unity_loader_config={"path": "/u", "mode": "upsert"}),
            "--load_promos_job: unity_loader_config.mode: 'upsert' is not one of",
        ),
        (
            {k: v for k, v in minimal().items() if k != "stage_loader_config"},
            "--load_promos_job: stage_loader_config: required field is missing",
        ),
        (
            minimal(expectations=[{"name": "x", "rule": "nope"}]),
            "--load_promos_job: expectations[0]: rule 'nope' is not one of",
        ),
    ],
)
def test_a_bad_config_is_one_line_naming_the_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(data)
    assert str(caught.value).startswith(message)


def test_the_window_is_required() -> None:
    with pytest.raises(ConfigError, match=r"^--end_date: is required \(ISO date, YYYY-MM-DD\)$"):
        main(load_promos_job=json.dumps(minimal()), start_date="2025-01-01", service_provider="LOCAL")
    assert LoadPromosJobFactory.config_argument == "load_promos_job"


def test_the_schema_prints_without_importing_spark_or_any_driver() -> None:
    """What ``generic_entry --print_config_schema`` runs, in a fresh interpreter that must stay light."""
    code = (
        "import sys, json\n"
        "from dwh.jobs.load_promos.load_promos_job_factory import main\n"
        "main(print_config_schema='true')\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'pyspark', 'pyarrow', 'deltalake', 'psycopg', "
        "'boto3', 'pandas'})\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    schema = json.loads(done.stdout)
    assert "HEAVY []" in done.stderr
    assert set(schema["required"]) == {"extractor_config", "unity_loader_config", "stage_loader_config"}
    assert {"redshift_loader_config", "expectations", "job_failed_notifications"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_design_example_config_is_accepted_unchanged() -> None:
    """The config shape from DESIGN.md (no table, no modes) keeps working, with the documented defaults."""
    config = LoadPromosJobConfig.model_validate(
        {
            "job_failed_notifications": {"notification_service": "NOOP"},
            "job_success_notifications": {"notification_service": "NOOP"},
            "data_quality_notifications": {"notification_service": "NOOP"},
            "extractor_config": {"strategy": "PARQUET", "source_table": "s3a://bucket/promos/"},
            "unity_loader_config": {"strategy": "DELTA", "path": "s3a://bucket/unity/promos"},
            "stage_loader_config": {"strategy": "PARQUET", "path": "s3a://bucket/stage/promos"},
            "redshift_loader_config": {
                "strategy": "POSTGRES",
                "jdbc_url": "jdbc:postgresql://postgres:5432/postgres_db",
                "properties": {"user": "etl", "password": "env:PG_PASSWORD", "driver": "org.postgresql.Driver"},
            },
        }
    )
    warehouse = config.redshift_loader_config
    assert warehouse is not None
    assert (warehouse.table, warehouse.mode, warehouse.keys) == ("public.promos", "merge", ["promo_id"])
    assert (config.unity_loader_config.mode, config.unity_loader_config.keys) == ("merge", ["promo_id"])
    assert (config.stage_loader_config.mode, config.stage_loader_config.partition_by) == (
        "replace_window",
        ["load_window_start"],
    )
