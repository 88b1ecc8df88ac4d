"""The Spark Connect lane: the Spark-marked suite and load_promos end to end through a Spark Connect client.

Databricks serverless compute and standard (shared) access mode clusters run a job's Python as a Spark Connect
client: no ``sparkContext``, no RDDs, no JVM handle. This lane runs in its own pytest process::

    DWH_SPARK_CONNECT=1 .venv/bin/python -m pytest -m spark tests/engines/connect <the Spark-marked paths>

With ``DWH_SPARK_CONNECT=1`` the run's one shared ``spark`` (tests/conftest.py) is a Connect client of a local
server in this process (`dwh.platforms.spark_connect.start_local_connect`: the plugin of a local[2] session,
a free loopback port, a token), and ``SPARK_REMOTE`` is exported, so the processes the tests start
(generic_entry, the SIGKILL children) attach to that server as Connect clients too.

A test that cannot apply on Connect is skipped here with its reason (`CONNECT_SKIPS`, one list: the README's
known limits). Outside this lane the files of this directory are not collected.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

#: This process is the Spark Connect lane.
CONNECT_LANE = os.environ.get("DWH_SPARK_CONNECT", "").strip().lower() in ("1", "true", "yes", "on")

collect_ignore_glob = [] if CONNECT_LANE else ["test_*.py"]

#: Tests that cannot apply on Spark Connect (node id prefix -> why), skipped in this lane only.
CONNECT_SKIPS: dict[str, str] = {
    "tests/strategies/extractors/test_jdbc.py::test_partitioned_read_equals_the_plain_read": (
        "the test counts the read's partitions with DataFrame.rdd, and Connect has no RDDs (the rows are checked "
        "by the plain-read tests)"
    ),
    "tests/strategies/extractors/test_jdbc.py::test_date_partitioned_read_and_legacy_source_table": (
        "the test counts the read's partitions with DataFrame.rdd, and Connect has no RDDs"
    ),
    "tests/strategies/quality/test_checker.py::test_the_number_of_spark_jobs_does_not_grow_with_the_number_of_rules": (
        "the test counts Spark jobs with sparkContext.statusTracker(), which a Connect client has no handle for"
    ),
    "tests/strategies/loaders/redshift/test_loader_spark_staging.py": (
        "the test's own Spark process (with hadoop-aws from the jar cache) attaches to this lane's server through "
        "SPARK_REMOTE, and the server has no S3A jars"
    ),
    "tests/strategies/loaders/postgres/test_kill.py": (
        "the SIGKILLed child is a Connect client: the server's COPY tasks outlive it, so the load is not killed "
        "mid-COPY (tests/strategies/loaders/parquet/test_kill.py checks what a client kill does on Connect)"
    ),
    "tests/strategies/loaders/postgres/test_encoders.py::test_every_supported_type_column_by_column": (
        "ts_ny: the expected value is a fold=1 America/New_York datetime, which Python never equals to another "
        "zone's (PEP 495); PostgreSQL holds the same instant"
    ),
    "tests/strategies/loaders/postgres/test_encoders.py::test_ours_stages_all_columns_together_across_batches": (
        "ts_ny: the expected value is a fold=1 America/New_York datetime, which Python never equals to another "
        "zone's (PEP 495); PostgreSQL holds the same instant"
    ),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[Any]) -> None:
    """In the Connect lane, skip the tests of `CONNECT_SKIPS`, each with its reason."""
    if not CONNECT_LANE:
        return
    for item in items:
        for prefix, reason in CONNECT_SKIPS.items():
            if item.nodeid.startswith(prefix):
                item.add_marker(pytest.mark.skip(reason=f"Spark Connect: {reason}"))
