"""Spark Connect in one place: whether a run is on it, what a config cannot do there, and a local Connect server.

Databricks serverless compute and standard (shared) access mode clusters run a job's Python as a Spark
Connect client: the session is ``pyspark.sql.connect.session.SparkSession``, with no ``sparkContext``,
no RDDs and no JVM handle (``spark._jvm``, ``_jsc``, ``_jsparkSession``). DataFrames, SQL, the readers
and writers, ``mapInArrow`` and ``Observation`` work as on a classic session.

* `is_connect(spark)`: the session is a Connect client (by its class; no import of the Connect client).
* `connect_expected()`: before any session exists, why this run's session will be a Connect client
  (``SPARK_REMOTE``, ``SPARK_CONNECT_MODE_ENABLED``, ``SPARK_API_MODE=connect``, ``DWH_SPARK_CONNECT=1``,
  Databricks serverless's ``DATABRICKS_RUNTIME_VERSION=client.*``), or None.
* `check_connect(config, argument=...)`: on such a run, one `ConfigError` for the first config block whose
  ``connect_problems()`` name something it cannot do on Connect, so the job stops before any write (exit 2)
  instead of failing after some targets were written.
* `server_has_delta(spark)`: on a Connect client, whether the server's session has Spark Delta.
* `start_local_connect(builder)`: the Connect server of a local Spark session, in this process, on a free
  loopback port with a random token, and a Connect client of it (what ``SparkSession.builder.remote("local")``
  does, on a free port instead of 15002).
"""

from __future__ import annotations

import os
import secrets
import socket
from typing import TYPE_CHECKING, Any, cast

from dwh.config_tree import child_path, iter_models
from dwh.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: The Spark plugin that serves Spark Connect from a regular session (its jar ships in the pyspark wheel).
CONNECT_PLUGIN = "org.apache.spark.sql.connect.SparkConnectPlugin"
#: Variables through which pyspark itself chooses Spark Connect; a local server starts with them unset.
PYSPARK_CONNECT_VARS = ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED", "SPARK_LOCAL_REMOTE")


def is_connect(spark: Any) -> bool:
    """True when `spark` is a Spark Connect client session (Databricks serverless, shared clusters, sc://)."""
    return type(spark).__module__.startswith("pyspark.sql.connect.")


def connect_expected(environ: dict[str, str] | None = None) -> str | None:
    """Why this run's session will be a Spark Connect client (a short reason), or None when it will be classic."""
    env = os.environ if environ is None else environ
    if env.get("SPARK_REMOTE"):
        return "SPARK_REMOTE is set"
    if "SPARK_CONNECT_MODE_ENABLED" in env:
        return "SPARK_CONNECT_MODE_ENABLED is set"
    if env.get("SPARK_API_MODE", "").strip().lower() == "connect":
        return "SPARK_API_MODE=connect"
    if env.get("DWH_SPARK_CONNECT", "").strip().lower() in ("1", "true", "yes", "on"):
        return "DWH_SPARK_CONNECT=1"
    if env.get("DATABRICKS_RUNTIME_VERSION", "").startswith("client."):
        return "Databricks serverless compute"
    return None


def connect_problems(config: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(field path, problem) for each field of `config` that asks something Spark Connect cannot do."""
    found: list[tuple[str, str]] = []
    for path, block in iter_models(config, prefix):
        problems = getattr(block, "connect_problems", None)
        for name, problem in (problems() if callable(problems) else {}).items():
            found.append((child_path(path, name) if name else path or "(top level)", problem))
    return found


def check_connect(config: Any, *, argument: str, environ: dict[str, str] | None = None) -> None:
    """On a run that will be on Spark Connect, a `ConfigError` naming the first block that cannot work there."""
    reason = connect_expected(environ)
    if reason is None:
        return
    problems = connect_problems(config)
    if problems:
        path, problem = problems[0]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(f"{path}: {problem} (this run is on Spark Connect: {reason}){more}", field=f"--{argument}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_local_connect(builder: Any, *, export_remote: bool = False, log_level: str | None = None) -> SparkSession:
    """Start a local session from `builder` serving Spark Connect on 127.0.0.1, and return a Connect client of it.

    The server is the plugin of a regular session in this process (its jar ships in the pyspark wheel);
    the client needs ``pyspark[connect]`` (grpcio, grpcio-status, googleapis-common-protos, zstandard).
    A random token (``SPARK_CONNECT_AUTHENTICATE_TOKEN``, kept when already set) guards the port. As after
    ``builder.remote("local")``, ``SPARK_CONNECT_MODE_ENABLED`` and ``SPARK_LOCAL_REMOTE`` are set, so
    ``SparkSession.getActiveSession()`` and ``SparkSession.builder.getOrCreate()`` in this process give the
    client, and stopping the client stops the server. `export_remote` also sets ``SPARK_REMOTE``, so child
    processes attach to this server (tests; not for children that outlive this process).
    """
    try:
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError as exc:
        raise RuntimeError(f"Spark Connect needs the Connect client: pip install 'pyspark[connect]' ({exc})") from None
    port = _free_port()
    os.environ.setdefault("SPARK_CONNECT_AUTHENTICATE_TOKEN", secrets.token_hex(16))
    inherited = {name: os.environ.pop(name) for name in PYSPARK_CONNECT_VARS if name in os.environ}
    try:
        server = (
            builder.config("spark.plugins", CONNECT_PLUGIN)
            .config("spark.connect.grpc.binding.address", "127.0.0.1")
            .config("spark.connect.grpc.binding.port", str(port))
            .getOrCreate()
        )
    except BaseException:
        os.environ.update(inherited)
        raise
    if log_level:
        server.sparkContext.setLogLevel(log_level)
    url = f"sc://localhost:{port}"  # "localhost": gRPC's local credentials carry the token without TLS
    os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"
    os.environ["SPARK_LOCAL_REMOTE"] = "1"
    if export_remote:
        os.environ["SPARK_REMOTE"] = url
    # pyspark types the Connect client as its own class; callers use it as a SparkSession, as pyspark does.
    return cast("SparkSession", ConnectSession.builder.remote(url).getOrCreate())


def server_has_delta(spark: Any) -> bool:
    """On a Connect client: whether the server's session reads and writes Delta (Delta's SQL extension or catalog)."""
    extensions = spark.conf.get("spark.sql.extensions", None) or ""
    catalog = spark.conf.get("spark.sql.catalog.spark_catalog", None) or ""
    return "io.delta.sql.DeltaSparkSessionExtension" in extensions or catalog.endswith(".DeltaCatalog")
