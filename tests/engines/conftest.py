"""The engine lanes: the same jobs on the engines production uses, beside the default local[2] + delta-rs suite.

* ``tests/engines/delta``: the Spark-native Delta lane (what Databricks, Glue 5 and EMR run). It needs the
  run's one SparkSession to have Delta, and a Python process holds one JVM: it runs in its own pytest process,
  ``DWH_SPARK_DELTA=1 .venv/bin/python -m pytest tests/engines/delta`` (a step of ``make test``). Every other
  run leaves it out, so the default suite keeps testing the delta-rs engine.
* ``tests/engines/cluster``: a Spark standalone master + worker started from the pyspark package, with jobs
  submitted by spark-submit as an EMR step submits them; it runs in the default suite (its Spark lives in
  subprocesses).
"""

from __future__ import annotations

import os

#: This process is the Spark Delta lane: its shared session is built with the cached Delta jars.
DELTA_LANE = os.environ.get("DWH_SPARK_DELTA", "").strip().lower() in ("1", "true", "yes", "on")

collect_ignore = [] if DELTA_LANE else ["delta"]
