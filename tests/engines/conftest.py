"""The engine lanes: the same jobs on the engines production uses, beside the default local[2] + delta-rs suite.

* ``tests/engines/delta``: the Spark-native Delta lane (what Databricks, Glue 5 and EMR run). It needs the
  run's one SparkSession to have Delta, and a Python process holds one JVM: it runs in its own pytest process,
  ``DWH_SPARK_DELTA=1 .venv/bin/python -m pytest tests/engines/delta`` (a step of ``make test``). Every other
  run leaves it out, so the default suite keeps testing the delta-rs engine.
* ``tests/engines/spark35``: lane 3, Spark 3.5 + Spark Delta 3.3 (Glue 5, EMR 7, Databricks 14-16). It is collected
  only under a pyspark 3.5 interpreter (``.venv-spark35``, made by ``scripts/spark35-venv.sh``) with
  ``DWH_SPARK_DELTA=1``, in its own process beside ``tests/engines/delta`` and a named subset of the ``spark`` tests.
* ``tests/engines/cluster``: a Spark standalone master + worker started from the pyspark package, with jobs
  submitted by spark-submit as an EMR step submits them; it runs in the default suite (its Spark lives in
  subprocesses).
"""

from __future__ import annotations

import importlib.metadata
import os

#: This process is the Spark Delta lane: its shared session is built with the cached Delta jars.
DELTA_LANE = os.environ.get("DWH_SPARK_DELTA", "").strip().lower() in ("1", "true", "yes", "on")


def _pyspark_version() -> str:
    try:
        return importlib.metadata.version("pyspark")
    except importlib.metadata.PackageNotFoundError:
        return ""


#: This interpreter runs pyspark 3.5: lane 3.
SPARK35_LANE = _pyspark_version().startswith("3.5.")

collect_ignore = [*([] if DELTA_LANE else ["delta"]), *([] if SPARK35_LANE and DELTA_LANE else ["spark35"])]
