"""dwh.platforms: which platform a run is on, the ids it reports, and the lazy local SparkSession."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

from dwh.errors import ConfigError
from dwh.platforms import detect as runtime
from dwh.platforms import spark as platform_spark
from dwh.platforms.context import RunContext
from dwh.platforms.detect import PLATFORM_ENV_VARS, ServiceProvider, detect_service_provider, platform_run_ids

PLATFORM_ENV = PLATFORM_ENV_VARS


@pytest.fixture(autouse=True)
def _no_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine with no platform hints: no env vars, no EMR job-flow file."""
    for name in PLATFORM_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(runtime, "EMR_JOB_FLOW_FILE", tmp_path / "job-flow.json")


def test_nothing_set_is_local() -> None:
    assert detect_service_provider({}) is ServiceProvider.LOCAL


@pytest.mark.parametrize("version", ["15.4", "client.1.13"])
def test_databricks_by_runtime_version(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", version)
    assert detect_service_provider({}) is ServiceProvider.DATABRICKS


@pytest.mark.parametrize("platform_args", [{"JOB_RUN_ID": "jr_1"}, {"JOB_NAME": "nightly"}])
def test_glue_by_its_reserved_arguments(platform_args: dict[str, str]) -> None:
    assert detect_service_provider(platform_args) is ServiceProvider.GLUE


def test_glue_by_glue_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLUE_VERSION", "5.0")
    assert detect_service_provider({}) is ServiceProvider.GLUE


def test_emr_by_cluster_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMR_CLUSTER_ID", "j-2AXXXXXXGAPLF")
    monkeypatch.setenv("EMR_STEP_ID", "s-1234")
    assert detect_service_provider({}) is ServiceProvider.EMR
    assert platform_run_ids(ServiceProvider.EMR, {}) == {
        "cluster_id": "j-2AXXXXXXGAPLF",
        "step_id": "s-1234",
        "run_id": "s-1234",
    }


def test_emr_by_job_flow_file() -> None:
    runtime.EMR_JOB_FLOW_FILE.write_text(json.dumps({"jobFlowId": "j-FROMFILE"}))
    assert detect_service_provider({}) is ServiceProvider.EMR
    ids = platform_run_ids(ServiceProvider.EMR, {})
    assert ids["cluster_id"] == "j-FROMFILE"
    assert ids["run_id"].startswith("local-")  # no step id known: a local uuid, never a missing id


def test_emr_serverless_by_its_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMR_SERVERLESS_APPLICATION_ID", "00f1")
    monkeypatch.setenv("EMR_SERVERLESS_JOB_RUN_ID", "00f2")
    assert detect_service_provider({}) is ServiceProvider.EMR_SERVERLESS
    assert platform_run_ids(ServiceProvider.EMR_SERVERLESS, {}) == {"application_id": "00f1", "run_id": "00f2"}


def test_override_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    glue_args = {"JOB_RUN_ID": "jr_1"}
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "15.4")
    assert detect_service_provider(glue_args) is ServiceProvider.DATABRICKS
    monkeypatch.setenv("DWH_SERVICE_PROVIDER", "emr")
    assert detect_service_provider(glue_args) is ServiceProvider.EMR
    assert detect_service_provider(glue_args, override="local") is ServiceProvider.LOCAL


@pytest.mark.parametrize(
    ("override", "env", "field"),
    [("AZURE", None, "--service_provider"), (None, "K8S", "DWH_SERVICE_PROVIDER")],
)
def test_unknown_provider_names_its_source(
    monkeypatch: pytest.MonkeyPatch, override: str | None, env: str | None, field: str
) -> None:
    if env:
        monkeypatch.setenv("DWH_SERVICE_PROVIDER", env)
    with pytest.raises(ConfigError) as caught:
        detect_service_provider({}, override)
    assert caught.value.field == field
    assert "is not one of DATABRICKS, GLUE, EMR, EMR_SERVERLESS, LOCAL" in str(caught.value)


def test_run_ids_per_platform() -> None:
    glue = platform_run_ids(ServiceProvider.GLUE, {"JOB_NAME": "nightly", "JOB_RUN_ID": "jr_9"})
    assert glue == {"job_name": "nightly", "run_id": "jr_9"}
    databricks = platform_run_ids(ServiceProvider.DATABRICKS, {"databricks_job_id": "11", "databricks_run_id": "22"})
    assert databricks == {"job_id": "11", "run_id": "22"}
    local = platform_run_ids(ServiceProvider.LOCAL, {})
    assert local["run_id"].startswith("local-")
    assert local["run_id"] != platform_run_ids(ServiceProvider.LOCAL, {})["run_id"]


def test_run_context_describes_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", "https://adb-1.azuredatabricks.net/")
    context = RunContext(
        job_name="load_promos",
        service_provider=ServiceProvider.DATABRICKS,
        run_ids={"job_id": "11", "run_id": "22"},
        start_date=dt.date(2025, 1, 1),
        end_date=dt.date(2025, 1, 8),
        created_by="airflow",
        config_hash="abc123",
    )
    described = context.describe()
    assert described == {
        "job_name": "load_promos",
        "platform": "DATABRICKS",
        "run_ids": {"job_id": "11", "run_id": "22"},
        "run_url": "https://adb-1.azuredatabricks.net/jobs/11/runs/22",
        "start_date": "2025-01-01",
        "end_date": "2025-01-08",
        "created_by": "airflow",
        "wheel_version": runtime.wheel_version(),
        "config_hash": "abc123",
    }
    json.dumps(described)  # plain JSON values: it goes into the run report as is
    assert runtime.wheel_version().startswith("0.")


def test_no_run_url_without_platform_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", "https://adb-1.azuredatabricks.net")
    ids = platform_run_ids(ServiceProvider.DATABRICKS, {})
    context = RunContext(job_name="j", service_provider=ServiceProvider.DATABRICKS, run_ids=ids)
    assert context.run_url is None


@pytest.mark.spark
def test_local_run_context_uses_the_active_session_with_local_settings(spark: Any) -> None:
    context = RunContext(job_name="j", service_provider=ServiceProvider.LOCAL, run_ids={"run_id": "local-1"})
    assert context.spark is spark
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.conf.get("spark.ui.enabled") == "false"
    warehouse = spark.conf.get("spark.sql.warehouse.dir")
    assert warehouse.rstrip("/").endswith(Path(os.environ["DWH_WAREHOUSE_DIR"]).name)
    jdbc = [jar for jar in platform_spark.local_jars()[0] if Path(jar).name.startswith("postgresql")]
    if jdbc:  # the cached driver (make jvm-artifacts), else Debian's
        assert jdbc[0] in spark.conf.get("spark.jars").split(",")
    assert spark.conf.get("spark.sql.extensions", None) is None  # no Delta jars here, so no Delta confs
