"""load_promos on ``s3a://`` paths against moto's S3: Spark through hadoop-aws, Delta through Spark Delta.

The lane's session carries the cached hadoop-aws + AWS SDK bundle (``DWH_SPARK_S3A=1``, set by this directory's
conftest); the S3A confs of PLATFORMS.md point it at moto. The source is a Parquet file put with boto3, the
DELTA and PARQUET targets are ``s3a://`` URIs, PostgreSQL stays local. The targets are read back by delta-rs
and pyarrow over S3 (not through Spark), and their canonical dump must equal the committed golden
(``tests/engines/golden/load_promos.dump``, the default lane's run on local paths), byte for byte.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from dwh.jobs.load_promos.load_promos_job_factory import main
from tests.engines.dumps import S3Access, assert_matches_golden, canonical_dump
from tests.engines.s3.promos_on_s3 import put_source, s3a_config
from tests.jobs.load_promos.conftest import job_kwargs

pytestmark = [pytest.mark.integration, pytest.mark.spark]


@pytest.fixture
def s3a_spark(delta_spark: Any, aws_env: str) -> Any:
    """The lane's session with its S3A file system pointed at moto (PLATFORMS.md's confs)."""
    hadoop = delta_spark._jsc.hadoopConfiguration()
    settings = {
        "fs.s3a.endpoint": aws_env,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": "false",
        "fs.s3a.access.key": "testing",
        "fs.s3a.secret.key": "testing",
        "fs.s3a.endpoint.region": "us-east-1",
    }
    for key, value in settings.items():
        hadoop.set(key, value)
    return delta_spark


def test_load_promos_on_s3a_writes_the_golden_dump(s3a_spark: Any, aws_env: str, postgres_db: LocalPostgres) -> None:
    import boto3

    bucket = f"lake-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    config = s3a_config(bucket, put_source(bucket), postgres_db, "public.promos_s3a")

    result = main(**job_kwargs(config))
    rerun = main(**job_kwargs(config))  # merge + replace_window on S3: the same rows again

    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket)["Contents"]}
    assert "unity/promos/_delta_log/00000000000000000000.json" in keys
    assert "unity/promos/_delta_log/00000000000000000001.json" in keys  # the re-run's commit
    assert any(key.startswith("stage/promos/load_window_start=2025-01-01/") for key in keys)
    assert result["rows_written"] == rerun["rows_written"] == {"unity": 6, "stage": 6, "redshift": 6}
    s3 = S3Access(endpoint=aws_env)
    on_s3 = canonical_dump(config["unity_loader_config"]["path"], config["stage_loader_config"]["path"],
                           postgres_db, "public.promos_s3a", s3)  # fmt: skip
    assert_matches_golden(on_s3, "s3a on moto, Spark Delta + hadoop-aws (after a re-run)")
