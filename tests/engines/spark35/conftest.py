"""Lane 3, Spark 3.5 + Spark Delta (what Glue 5, EMR 7 and Databricks 14-16 run): the fixture and the lane's rules.

This directory is collected only under a pyspark 3.5 interpreter with ``DWH_SPARK_DELTA=1``
(``tests/engines/conftest.py``): in the ``.venv-spark35`` that ``scripts/spark35-venv.sh`` builds, whose one
session then carries the Delta 3.3 jars. Run it in its own pytest process, with the ``spark`` tests of the PARQUET/DELTA
loaders, quality and the Parquet extractor (lane 3 of ``make test``, ``SPARK35_LANE_PATHS``):

    DWH_SPARK_DELTA=1 .venv-spark35/bin/python -m pytest -m spark tests/engines/spark35 tests/strategies/quality ...

The jars come from ``.venv-spark35/bin/python scripts/fetch_jvm_artifacts.py`` (it picks the 3.5 coordinates).
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark35_delta(spark: Any) -> Any:
    """The run's SparkSession: Spark 3.5 with Spark's own Delta on the classpath."""
    from dwh.platforms.spark import spark_has_delta

    if not spark.version.startswith("3.5.") or not spark_has_delta(spark):
        pytest.fail(
            f"lane 3 needs Spark 3.5 with Delta (this session: Spark {spark.version}, "
            f"Delta {'on' if spark_has_delta(spark) else 'off'}): run it alone in .venv-spark35 with DWH_SPARK_DELTA=1"
        )
    return spark
