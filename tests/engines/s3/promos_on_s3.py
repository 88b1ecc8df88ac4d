"""load_promos' input and config on S3, shared by the default lane's S3 tests and the Spark Delta lane's s3a test."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from dwh.devtools.local_postgres import LocalPostgres
from tests.jobs.load_promos.conftest import Targets, arrow_input
from tests.jobs.load_promos.promo_cases import INPUT_ROWS


def put_source(bucket: str, kind: str = "PARQUET", delta_options: dict[str, str] | None = None) -> dict[str, Any]:
    """INPUT_ROWS under ``s3://bucket/``: one Parquet object put with boto3, or a Delta table written by delta-rs.

    Returns the extractor_config reading it (``s3a://`` URIs, as a Spark user writes them).
    """
    if kind == "DELTA":
        from deltalake import write_deltalake

        write_deltalake(f"s3://{bucket}/promos_delta", arrow_input(INPUT_ROWS), storage_options=delta_options)
        return {"strategy": "DELTA", "path": f"s3a://{bucket}/promos_delta"}
    import boto3
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(arrow_input(INPUT_ROWS), buffer)
    boto3.client("s3").put_object(Bucket=bucket, Key="promos/part-0.parquet", Body=buffer.getvalue())
    return {"strategy": "PARQUET", "source_table": f"s3a://{bucket}/promos/"}


def s3a_config(bucket: str, source: dict[str, Any], postgres: LocalPostgres, table: str) -> dict[str, Any]:
    """load_promos writing its DELTA and PARQUET targets under ``s3a://bucket/``, PostgreSQL `table` locally."""
    config = Targets(unity=Path("unused"), stage=Path("unused"), postgres=postgres).config(source)
    config["unity_loader_config"]["path"] = f"s3a://{bucket}/unity/promos"
    config["stage_loader_config"]["path"] = f"s3a://{bucket}/stage/promos"
    config["redshift_loader_config"]["table"] = table
    return config
