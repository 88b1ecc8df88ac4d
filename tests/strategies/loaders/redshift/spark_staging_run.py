"""Run one REDSHIFT load with the DEFAULT staging writer (Spark writes the Parquet to S3 itself), in its own process.

    python -m tests.strategies.loaders.redshift.spark_staging_run '<loader block JSON>'

The test suite's shared SparkSession has no S3 filesystem, so `test_loader_spark_staging` starts this
process with ``DWH_SPARK_S3A=1`` (hadoop-aws and the AWS SDK bundle from the jar cache on the classpath)
and the S3A settings for moto from PLATFORMS.md ("S3 from Spark"). ``s3://`` is mapped to S3A, as EMRFS
and Databricks map it on their clusters, so the block keeps the ``s3://`` URI a user writes. Prints the
LoadResult as one JSON line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

from dwh.config import validate_model
from dwh.strategies.loaders.redshift import RedshiftLoader
from tests.strategies.contexts import local_context

ROWS = [
    (1, "one", dt.date(2025, 1, 1), dt.datetime(2025, 1, 1, 8, 30, tzinfo=dt.timezone.utc)),
    (2, "two", dt.date(2025, 1, 2), dt.datetime(2025, 1, 2, 23, 59, 59, 123456, tzinfo=dt.timezone.utc)),
    (3, "three", None, None),
]
SCHEMA = "id long, name string, day date, seen timestamp"


def s3a_settings(endpoint: str) -> dict[str, str]:
    """The Hadoop S3A settings for moto's server (PLATFORMS.md), ``s3://`` included."""
    settings = {
        "endpoint": endpoint,
        "endpoint.region": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "path.style.access": "true",
        "connection.ssl.enabled": "false",
        "access.key": os.environ["AWS_ACCESS_KEY_ID"],
        "secret.key": os.environ["AWS_SECRET_ACCESS_KEY"],
        "aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
    }
    confs = {f"spark.hadoop.fs.s3a.{key}": value for key, value in settings.items()}
    confs["spark.hadoop.fs.s3.impl"] = "org.apache.hadoop.fs.s3a.S3AFileSystem"
    return confs


def main(argv: list[str]) -> int:
    """Load `ROWS` with the block in ``argv[0]``; print the LoadResult."""
    from dwh.platforms.spark import local_session_builder

    builder = local_session_builder("dwh-redshift-spark-staging")
    for key, value in s3a_settings(os.environ["AWS_ENDPOINT_URL"]).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    try:
        loader = validate_model(RedshiftLoader, json.loads(argv[0]), argument="--t")
        frame = spark.createDataFrame(ROWS, SCHEMA).repartition(2)
        result = loader.load(frame, local_context(job_name="test_redshift", run_id="spark-staging"))
    finally:
        spark.stop()
    print(json.dumps({"rows_written": result.rows_written, "detail": result.detail}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
