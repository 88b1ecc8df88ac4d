"""load_promos with a REDSHIFT warehouse target, end to end, through both connections a user can configure.

``connection: data_api`` goes to the Data API double (real boto3, a serverless workgroup and a Secrets
Manager secret in moto), ``connection: dbapi`` to the wire double (psycopg with a ``jdbc:redshift://`` URL);
both stage the job's output as Parquet in moto's S3 and COPY it as Redshift would. The warehouse rows are
read back from the PostgreSQL behind the doubles.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from dwh.jobs.load_promos.load_promos_job_factory import main
from tests.jobs.load_promos.conftest import Targets, job_kwargs
from tests.jobs.load_promos.promo_cases import EXPECTED_ROWS, ROWS_READ, compared_rows
from tests.strategies.loaders.redshift.doubles import BUCKET, ROLE, copy_role_and_bucket, start_data_api, start_wire
from tests.strategies.loaders.redshift.fake_data_api import FakeRedshiftDataApi
from tests.strategies.loaders.redshift.fake_wire import RedshiftWireProxy

pytestmark = [pytest.mark.spark, pytest.mark.integration]


@pytest.fixture
def data_api(
    postgres_db: LocalPostgres, aws_env: str, httpserver: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeRedshiftDataApi]:
    """The Data API double over the test database, with the COPY role and the staging bucket."""
    fake = start_data_api(postgres_db, httpserver, monkeypatch)
    copy_role_and_bucket()
    yield fake
    httpserver.clear()


@pytest.fixture
def wire(data_api: FakeRedshiftDataApi, postgres_db: LocalPostgres) -> Iterator[RedshiftWireProxy]:
    """The DB-API double over the same database."""
    proxy = start_wire(postgres_db)
    yield proxy
    proxy.stop()


def redshift_block(**connection: Any) -> dict[str, Any]:
    """A REDSHIFT block as a user writes it (mode and table left to load_promos' defaults: merge, public.promos)."""
    return {
        "strategy": "REDSHIFT",
        "s3_staging": f"s3://{BUCKET}/load_promos/",
        "iam_role": ROLE,
        "staging_writer": "arrow",  # the session-wide Spark has no s3a filesystem (see the loader tests)
        "poll_seconds": 0.05,
        **connection,
    }


def run_twice(targets: Targets, source: Callable[..., dict[str, Any]], block: dict[str, Any]) -> list[Any]:
    """Run the job twice with `block` as the warehouse target; the warehouse rows after each run."""
    config = {**targets.config(source("PARQUET")), "redshift_loader_config": block}
    seen = []
    for _ in range(2):
        result = main(**job_kwargs(config))
        assert result == {
            "rows_read": ROWS_READ,
            "rows_validated": len(EXPECTED_ROWS),
            "rows_written": {"unity": 6, "stage": 6, "redshift": 6},
        }
        seen.append(compared_rows(targets.postgres_rows(), naive="utc"))
    return seen


def test_load_promos_into_redshift_through_the_data_api(
    spark: Any, source: Callable[..., dict], targets: Targets, data_api: FakeRedshiftDataApi
) -> None:
    import boto3

    secret = boto3.client("secretsmanager").create_secret(
        Name="redshift/loader", SecretString='{"username": "loader", "password": "Pw-123456"}'
    )["ARN"]
    block = redshift_block(database="dev", workgroup_name="analytics", secret_arn=secret)

    assert run_twice(targets, source, block) == [EXPECTED_ROWS, EXPECTED_ROWS]  # merge: the rerun changes nothing
    requests = [body for op, body in data_api.calls if op in ("BatchExecuteStatement", "ExecuteStatement")]
    assert {(r["Database"], r["WorkgroupName"], r["SecretArn"]) for r in requests} == {("dev", "analytics", secret)}
    finals = data_api.batches[1::2]  # each run: the staging batch, then the final one
    assert [batch[1].split(" USING ")[0] for batch in finals] == ['DELETE FROM "public"."promos"'] * 2  # merge


def test_load_promos_into_redshift_through_dbapi(
    spark: Any, source: Callable[..., dict], targets: Targets, wire: RedshiftWireProxy
) -> None:
    block = redshift_block(
        connection="dbapi",
        jdbc_url=f"jdbc:redshift://127.0.0.1:{wire.port}/dev",
        properties={"user": targets.postgres.user},
    )

    assert run_twice(targets, source, block) == [EXPECTED_ROWS, EXPECTED_ROWS]
    copies = [re.sub(r"dwh_stage_\w+|dwh-[\w-]+", "X", sql) for sql in wire.received if sql.startswith("COPY ")]
    manifest = f"s3://{BUCKET}/load_promos/X/manifest.json"
    expected = f"""COPY "public"."X" FROM '{manifest}' IAM_ROLE '{ROLE}' FORMAT AS PARQUET MANIFEST"""
    assert copies == [expected] * 2
