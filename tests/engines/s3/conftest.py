"""S3 for the default lane (local[2] + delta-rs): moto's server in its own process, reached by every client.

delta-rs (the driver's log reads and commits), pyarrow's S3 file system (the Parquet files the delta-rs writer's
Spark tasks write), the JVM's S3A (Spark's Parquet reader and writer) and boto3 all talk to one
``python -m moto.server`` process (`tests.stand_ins.moto_process`; in-process moto hangs delta-rs, see there).

How each client is pointed at it is how a user points them at a non-AWS S3 (MinIO, a VPC endpoint):

* the driver's environment: ``AWS_ENDPOINT_URL``, ``AWS_ALLOW_HTTP``, ``AWS_REGION`` and the keys, read by
  delta-rs and pyarrow;
* the executors' environment, as ``spark.executorEnv.*`` sets it: on a running session that is
  ``SparkContext.environment``, which every Python function created afterwards carries to its worker;
* Hadoop's S3A settings on the session (PLATFORMS.md, "S3 from Spark"), and ``fs.s3.impl`` = S3A so
  ``s3://`` paths work in Spark as they do on EMR (EMRFS) and Glue.

Spark needs hadoop-aws for that: the suite's ``spark`` fixture (tests/conftest.py) builds its session with it when
``make jvm-artifacts`` has cached the jars (``DWH_SPARK_S3A=1`` only while building); without the jars its tests skip.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from dwh.platforms import jvm_artifacts
from dwh.platforms.spark import session_has_class
from tests.engines.dumps import S3Access
from tests.stand_ins.moto_process import MotoProcess, moto_process

S3A_JARS = bool(jvm_artifacts.cached_jars(jvm_artifacts.s3a_group()))

REGION = "us-east-1"
KEY, SECRET = "testing", "testing"


def session_has_s3a(spark: Any) -> bool:
    """True when hadoop-aws is on the session's class path."""
    return session_has_class(spark, "org.apache.hadoop.fs.s3a.S3AFileSystem")


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoProcess]:
    """One moto server process for the session."""
    with moto_process() as server:
        yield server


def client_env(endpoint: str) -> dict[str, str]:
    """The environment delta-rs, pyarrow and boto3 read to reach `endpoint`."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }


def s3a_settings(endpoint: str) -> dict[str, str]:
    """Hadoop's S3A settings for `endpoint`, with ``s3://`` mapped to S3A."""
    return {
        "fs.s3a.endpoint": endpoint,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": "false",
        "fs.s3a.access.key": KEY,
        "fs.s3a.secret.key": SECRET,
        "fs.s3a.endpoint.region": REGION,
        "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
    }


@dataclass(frozen=True)
class Lake:
    """A fresh bucket on the moto process, and how the readers of the tests reach it."""

    bucket: str
    access: S3Access

    def uri(self, key: str, scheme: str = "s3a") -> str:
        """``<scheme>://<bucket>/<key>``."""
        return f"{scheme}://{self.bucket}/{key}"

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key under `prefix`, sorted."""
        import boto3

        pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@pytest.fixture
def s3_lake(spark: Any, moto_s3: MotoProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lake]:
    """The suite's session and this process pointed at the moto process, a new bucket; all undone afterwards."""
    import boto3

    if not S3A_JARS:
        pytest.skip("hadoop-aws + AWS SDK bundle not in the jar cache (scripts/fetch_jvm_artifacts.py --groups s3a)")
    if not session_has_s3a(spark):
        pytest.fail("the suite's session has no S3A: hadoop-aws is cached but not on it (see tests/conftest.py)")
    env = client_env(moto_s3.endpoint)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    executors = spark.sparkContext.environment
    executors_before = dict(executors)
    executors.update(env)
    hadoop = spark._jsc.hadoopConfiguration()
    settings = s3a_settings(moto_s3.endpoint)
    hadoop_before = {key: hadoop.get(key) for key in settings}
    for key, value in settings.items():
        hadoop.set(key, value)
    bucket = f"lake-{uuid.uuid4().hex[:10]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    try:
        yield Lake(bucket=bucket, access=S3Access(endpoint=moto_s3.endpoint, key=KEY, secret=SECRET, region=REGION))
    finally:
        executors.clear()
        executors.update(executors_before)
        for key, value in hadoop_before.items():
            if value is None:
                hadoop.unset(key)
            else:
                hadoop.set(key, value)
