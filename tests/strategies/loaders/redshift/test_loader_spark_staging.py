"""The REDSHIFT loader's DEFAULT path: ``staging_writer: spark`` writes the Parquet through S3A to moto's S3.

A separate Spark process (`spark_staging_run`) with hadoop-aws on its classpath loads into the Data API
double; the test checks the rows Redshift ends with, that the COPY read exactly Spark's data files (not
``_SUCCESS``), their Parquet types (Spark's own timestamps into TIMESTAMPTZ), and that nothing is left.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from dwh.platforms import jvm_artifacts
from tests.strategies.loaders.postgres.database import query
from tests.strategies.loaders.redshift.doubles import BUCKET, ROLE
from tests.strategies.loaders.redshift.fake_data_api import FakeRedshiftDataApi
from tests.strategies.loaders.redshift.spark_staging_run import ROWS

pytestmark = [pytest.mark.integration, pytest.mark.spark]
ROOT = Path(__file__).resolve().parents[4]


@pytest.mark.skipif(
    not jvm_artifacts.cached_jars(jvm_artifacts.s3a_group()),
    reason="hadoop-aws + AWS SDK bundle not in the jar cache (scripts/fetch_jvm_artifacts.py --groups s3a)",
)
def test_the_default_spark_staging_writer_loads_through_s3a(
    postgres_db: LocalPostgres, redshift: FakeRedshiftDataApi
) -> None:
    import boto3

    block = {
        "strategy": "REDSHIFT",
        "table": "analytics.seen",
        "mode": "append",
        "s3_staging": f"s3://{BUCKET}/spark/",
        "iam_role": ROLE,
        "database": "dev",
        "cluster_identifier": "analytics-cluster",
        "poll_seconds": 0.05,
    }  # no staging_writer: the default, spark
    env = {**os.environ, "DWH_SPARK_S3A": "1", "DWH_SPARK_MASTER": "local[2]", "DWH_SHUFFLE_PARTITIONS": "2"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.strategies.loaders.redshift.spark_staging_run", json.dumps(block)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result == {"rows_written": 3, "detail": {"mode": "append", "rows_staged": 3, "staged_files": 2}}
    rows = query(postgres_db, "SELECT id, name, day, seen FROM analytics.seen ORDER BY id")
    assert rows == [(i, n, d, s.astimezone(dt.timezone.utc) if s else None) for i, n, d, s in ROWS]
    [copy_sql] = [sql for batch in redshift.batches for sql in batch if sql.startswith("COPY")]
    assert copy_sql.endswith("/manifest.json' IAM_ROLE '" + ROLE + "' FORMAT AS PARQUET MANIFEST")
    # the COPY read Spark's two data files (a listed _SUCCESS would fail it: not a Parquet file)
    assert [[str(t) for t in part.schema.types][:3] for part in redshift.copied] == [
        ["int64", "string", "date32[day]"]
    ] * 2
    assert all(str(part.schema.types[3]).startswith("timestamp") for part in redshift.copied)
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="spark/").get("KeyCount") == 0
