"""Where a job runs: service-provider detection, the run context, and the lazy SparkSession.

Nothing here imports pyspark at module import time; the session is created on first use of
`RunContext.spark`, so `generic_entry --help` and config errors stay fast and Spark-free.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import logging
import os
import sys
import uuid
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dwh.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

EMR_JOB_FLOW_FILE = Path("/mnt/var/lib/info/job-flow.json")
#: Every environment variable platform detection and run ids read (tests clear exactly these).
PLATFORM_ENV_VARS = (
    "DWH_SERVICE_PROVIDER",
    "DATABRICKS_RUNTIME_VERSION",
    "DATABRICKS_HOST",
    "GLUE_VERSION",
    "EMR_CLUSTER_ID",
    "EMR_STEP_ID",
    "EMR_SERVERLESS_APPLICATION_ID",
    "EMR_SERVERLESS_JOB_RUN_ID",
)
POSTGRES_JDBC_JAR = Path("/usr/share/java/postgresql.jar")


class ServiceProvider(str, enum.Enum):
    """The platforms a job can run on."""

    DATABRICKS = "DATABRICKS"
    GLUE = "GLUE"
    EMR = "EMR"
    EMR_SERVERLESS = "EMR_SERVERLESS"
    LOCAL = "LOCAL"

    @classmethod
    def parse(cls, value: str, *, source: str) -> ServiceProvider:
        """Parse a user-given provider name; an unknown one is a `ConfigError` naming `source`."""
        try:
            return cls(value.strip().upper())
        except ValueError:
            allowed = ", ".join(member.value for member in cls)
            raise ConfigError(f"{value!r} is not one of {allowed}", field=source) from None


def detect_service_provider(platform_args: dict[str, str], override: str | None = None) -> ServiceProvider:
    """Detect the platform; `override` (``--service_provider``) or ``DWH_SERVICE_PROVIDER`` wins."""
    if override:
        return ServiceProvider.parse(override, source="--service_provider")
    if os.environ.get("DWH_SERVICE_PROVIDER"):
        return ServiceProvider.parse(os.environ["DWH_SERVICE_PROVIDER"], source="DWH_SERVICE_PROVIDER")
    if os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        return ServiceProvider.DATABRICKS
    if "JOB_RUN_ID" in platform_args or "JOB_NAME" in platform_args or os.environ.get("GLUE_VERSION"):
        return ServiceProvider.GLUE
    if os.environ.get("EMR_SERVERLESS_APPLICATION_ID") or os.environ.get("EMR_SERVERLESS_JOB_RUN_ID"):
        return ServiceProvider.EMR_SERVERLESS
    if os.environ.get("EMR_CLUSTER_ID") or EMR_JOB_FLOW_FILE.exists():
        return ServiceProvider.EMR
    return ServiceProvider.LOCAL


def wheel_version() -> str:
    """The installed distribution's version, or the source tree's when run from a checkout."""
    try:
        return metadata.version("dwh-business-logic")
    except metadata.PackageNotFoundError:
        from dwh import __version__

        return __version__


def _emr_cluster_id() -> str | None:
    if os.environ.get("EMR_CLUSTER_ID"):
        return os.environ["EMR_CLUSTER_ID"]
    try:
        return str(json.loads(EMR_JOB_FLOW_FILE.read_text())["jobFlowId"])
    except (OSError, ValueError, KeyError):
        return None


def platform_run_ids(provider: ServiceProvider, platform_args: dict[str, str]) -> dict[str, str]:
    """The ids a platform gives a run, with a local uuid as the fallback run id."""
    ids: dict[str, str | None] = {}
    if provider is ServiceProvider.DATABRICKS:
        ids = {
            "job_id": platform_args.get("databricks_job_id"),
            "run_id": platform_args.get("databricks_run_id"),
        }
    elif provider is ServiceProvider.GLUE:
        ids = {"job_name": platform_args.get("JOB_NAME"), "run_id": platform_args.get("JOB_RUN_ID")}
    elif provider is ServiceProvider.EMR:
        ids = {"cluster_id": _emr_cluster_id(), "step_id": os.environ.get("EMR_STEP_ID")}
        ids["run_id"] = ids["step_id"]
    elif provider is ServiceProvider.EMR_SERVERLESS:
        ids = {
            "application_id": os.environ.get("EMR_SERVERLESS_APPLICATION_ID"),
            "run_id": os.environ.get("EMR_SERVERLESS_JOB_RUN_ID"),
        }
    clean = {key: value for key, value in ids.items() if value}
    clean.setdefault("run_id", f"local-{uuid.uuid4().hex[:12]}")
    return clean


def _databricks_run_url(ids: dict[str, str]) -> str | None:
    host = os.environ.get("DATABRICKS_HOST")
    if host and "job_id" in ids and not ids["run_id"].startswith("local-"):
        return f"{host.rstrip('/')}/jobs/{ids['job_id']}/runs/{ids['run_id']}"
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


class SparkSessionProvider:
    """Creates (or picks up) the platform's SparkSession lazily, once."""

    def __init__(self, provider: ServiceProvider) -> None:
        self.provider = provider
        self._session: SparkSession | None = None

    def get(self) -> SparkSession:
        """Return the session, creating it on the first call."""
        if self._session is None:
            self._session = self._create()
        return self._session

    def _create(self) -> SparkSession:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise RuntimeError(
                "this job needs Spark: on a laptop pip install 'dwh-business-logic[local]'; "
                "Databricks, Glue and EMR bring their own"
            ) from None
        if self.provider is ServiceProvider.GLUE:
            glue_session = _glue_session()
            if glue_session is not None:
                return glue_session
        if self.provider is not ServiceProvider.LOCAL:
            return SparkSession.builder.getOrCreate()
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        return local_session_builder().getOrCreate()


def _glue_session() -> SparkSession | None:
    try:
        from awsglue.context import GlueContext
        from pyspark.context import SparkContext
    except ImportError:
        return None
    return GlueContext(SparkContext.getOrCreate()).spark_session


def launched_by_spark_submit() -> bool:
    """True when spark-submit started this Python driver (its JVM hands us the gateway port)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def local_session_builder(app_name: str = "dwh-local") -> Any:
    """A `SparkSession.Builder` for local Spark: UTC, no UI, a warehouse dir, the Postgres JDBC jar."""
    from pyspark.sql import SparkSession

    # Python workers must run this interpreter (it has pyarrow/pandas), not the first python3 on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    warehouse = Path(os.environ.get("DWH_WAREHOUSE_DIR", "spark-warehouse")).absolute()
    builder = SparkSession.builder
    master = os.environ.get("DWH_SPARK_MASTER")
    if master or not launched_by_spark_submit():
        # Under spark-submit the JVM already holds --master; setting one here would silently override it.
        builder = builder.master(master or "local[*]")
    builder = (
        builder.appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.sql.shuffle.partitions", os.environ.get("DWH_SHUFFLE_PARTITIONS", "8"))
        .config("spark.driver.memory", os.environ.get("DWH_DRIVER_MEMORY", "2g"))
    )
    if (master or "local").startswith("local") and not launched_by_spark_submit():
        # A laptop/CI session: stay on loopback (a cluster master needs the real address).
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    jars = [str(POSTGRES_JDBC_JAR)] if POSTGRES_JDBC_JAR.exists() else []
    if os.environ.get("DWH_SPARK_DELTA_JARS"):
        # Delta confs only when the Delta jars are really on the classpath (they come from Maven otherwise).
        jars.append(os.environ["DWH_SPARK_DELTA_JARS"])
        builder = builder.config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension").config(
            "spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog"
        )
    if jars:
        builder = builder.config("spark.jars", ",".join(jars))
    return builder


def spark_has_delta(spark: SparkSession) -> bool:
    """True when the session can read and write Delta through Spark itself (Databricks, Glue/EMR with Delta)."""
    if os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        return True
    jvm = getattr(spark, "_jvm", None)
    if jvm is None:  # Spark Connect: the server side decides; Databricks serverless has Delta
        return True
    try:
        jvm.java.lang.Class.forName("io.delta.tables.DeltaTable")
    except Exception:
        return False
    return True
