"""The Spark Delta lane's fixture: the shared session, with Spark's own Delta.

This directory is collected only when asked for (``pytest tests/engines/delta``, see ``tests/engines/conftest.py``);
being collected, it asks for a Delta session with s3a (``DWH_SPARK_DELTA=1``, ``DWH_SPARK_S3A=1``) before any
session exists. Run it alone: every test of the process shares that one session.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

os.environ.setdefault("DWH_SPARK_DELTA", "1")
os.environ.setdefault("DWH_SPARK_S3A", "1")  # hadoop-aws for test_s3a_moto (about 1 s more at session start)


@pytest.fixture(scope="session")
def delta_spark(spark: Any) -> Any:
    """The run's SparkSession, which must have Spark's own Delta (the jars of `make jvm-artifacts`)."""
    from dwh.platforms.spark import spark_has_delta

    if not spark_has_delta(spark):
        pytest.fail(
            "the Spark Delta lane's session has no Delta: run it alone, DWH_SPARK_DELTA=1 pytest tests/engines/delta"
        )
    return spark
