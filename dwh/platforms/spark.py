"""The platform's SparkSession, created lazily: Databricks' and EMR's active session, Glue's GlueContext,
or a local builder (UTC, no UI, a warehouse dir, the JDBC driver; Delta and s3a jars when asked for).

pyspark is imported only inside functions: importing this module costs nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dwh.platforms.detect import ServiceProvider

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

POSTGRES_JDBC_JAR = Path("/usr/share/java/postgresql.jar")


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
    """A `SparkSession.Builder` for local Spark: UTC, no UI, a warehouse dir, the jars of `local_jars`."""
    from pyspark.sql import SparkSession

    if os.environ.get("SPARK_REMOTE"):
        # A Spark Connect client (pyspark connects to SPARK_REMOTE): the server owns the master, jars, memory and
        # warehouse (pyspark refuses a master beside a remote); only the session's own settings apply.
        return (
            SparkSession.builder.appName(app_name)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", os.environ.get("DWH_SHUFFLE_PARTITIONS", "8"))
        )
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
        .config("spark.scheduler.mode", "FAIR")  # concurrent jobs (Freeport modules) share the cores fairly
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.sql.shuffle.partitions", os.environ.get("DWH_SHUFFLE_PARTITIONS", "8"))
        .config("spark.driver.memory", os.environ.get("DWH_DRIVER_MEMORY", "2g"))
    )
    if (master or "local").startswith("local") and not launched_by_spark_submit():
        # A laptop/CI session: stay on loopback (a cluster master needs the real address).
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    jars, delta = local_jars()
    if delta:
        # The Delta confs only with the Delta jars on the classpath: without them the session would not start.
        builder = (
            builder.config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
            .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
            # Delta rebuilds a snapshot in 50 tasks by default: seconds of overhead on a laptop's table.
            .config("spark.databricks.delta.snapshotPartitions", os.environ.get("DWH_SHUFFLE_PARTITIONS", "8"))
        )
    if jars:
        builder = builder.config("spark.jars", ",".join(jars))
    return builder


def local_jars() -> tuple[list[str], bool]:
    """The jars a local session puts on ``spark.jars``, and whether they include Spark Delta.

    * the PostgreSQL JDBC driver: the cached one (`dwh.platforms.jvm_artifacts`), else Debian's
      ``/usr/share/java/postgresql.jar``;
    * Delta: ``DWH_SPARK_DELTA_JARS`` (comma-separated jars) when set; else, with ``DWH_SPARK_DELTA=1``,
      the cached Delta jars matching the installed pyspark (a RuntimeError naming them when absent);
    * ``DWH_SPARK_S3A=1``: the cached hadoop-aws + AWS SDK bundle, for ``s3a://`` paths (not by default:
      the bundle is ~700 MB that every executor would fetch).
    """
    from dwh.platforms import jvm_artifacts

    jars = [str(jar) for jar in jvm_artifacts.cached_jars(jvm_artifacts.postgres_group())]
    if not jars and POSTGRES_JDBC_JAR.exists():
        jars = [str(POSTGRES_JDBC_JAR)]
    delta_jars = [jar for jar in os.environ.get("DWH_SPARK_DELTA_JARS", "").split(",") if jar.strip()]
    if not delta_jars and _enabled("DWH_SPARK_DELTA"):
        group = jvm_artifacts.delta_group()
        delta_jars = [str(jar) for jar in jvm_artifacts.cached_jars(group)]
        if not delta_jars:
            raise RuntimeError(jvm_artifacts.missing_jars_message(group, "DWH_SPARK_DELTA=1"))
    if _enabled("DWH_SPARK_S3A"):
        group = jvm_artifacts.s3a_group()
        s3a_jars = [str(jar) for jar in jvm_artifacts.cached_jars(group)]
        if not s3a_jars:
            raise RuntimeError(jvm_artifacts.missing_jars_message(group, "DWH_SPARK_S3A=1"))
        jars += s3a_jars
    return jars + delta_jars, bool(delta_jars)


def _enabled(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() in ("1", "true", "yes", "on")


def spark_has_delta(spark: SparkSession) -> bool:
    """True when the session can read and write Delta through Spark itself (Databricks, Glue/EMR with Delta)."""
    if os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        return True
    jvm = getattr(spark, "_jvm", None)
    if jvm is None:  # Spark Connect: the server's session decides (Databricks answered above)
        from dwh.platforms.spark_connect import server_has_delta

        return server_has_delta(spark)
    return session_has_class(spark, "io.delta.tables.DeltaTable")


def session_has_class(spark: SparkSession, class_name: str) -> bool:
    """True when a classic session's JVM can load `class_name` (False on Spark Connect: no JVM handle)."""
    jvm = getattr(spark, "_jvm", None)
    if jvm is None:
        return False
    try:
        # Through the context class loader: jars on spark.jars are not on the system class path.
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        jvm.java.lang.Class.forName(class_name, False, loader)
    except Exception:
        return False
    return True
