"""The Redshift doubles refuse what Redshift refuses: requests, SQL and COPY inputs, through real boto3 and psycopg.

Each case is a mistake a loader could make; the doubles are only worth their tests if these fail loudly.
"""

from __future__ import annotations

import io
import time
from typing import Any

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from tests.strategies.loaders.postgres.database import query
from tests.strategies.loaders.redshift.doubles import BUCKET, ROLE, copy_role_and_bucket
from tests.strategies.loaders.redshift.fake_data_api import FakeRedshiftDataApi
from tests.strategies.loaders.redshift.fake_wire import RedshiftWireProxy

pytestmark = pytest.mark.integration
CLUSTER = {"Database": "dev", "ClusterIdentifier": "analytics-cluster", "DbUser": "loader"}
TABLE = 'CREATE TABLE analytics.t ("Id" BIGINT, name VARCHAR(8), amount DOUBLE PRECISION)'


def data_api() -> Any:
    """A real boto3 Redshift Data API client (pointed at the double by the environment)."""
    import boto3

    return boto3.client("redshift-data")


def run(sqls: list[str], **target: Any) -> dict[str, Any]:
    """Submit `sqls` as one batch and poll until it ended; the last description."""
    client = data_api()
    statement_id = client.batch_execute_statement(Sqls=sqls, **(target or CLUSTER))["Id"]
    while (described := client.describe_statement(Id=statement_id))["Status"] not in ("FINISHED", "FAILED", "ABORTED"):
        time.sleep(0.01)
    return described


def parquet(key: str, columns: dict[str, Any], bucket: str = BUCKET) -> str:
    """Put a Parquet file with `columns` (a pyarrow table's dict) on moto's S3; its s3:// URL."""
    import boto3
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=sink.getvalue())
    return f"s3://{bucket}/{key}"


def copy(url: str, options: str = "FORMAT AS PARQUET") -> str:
    """``COPY analytics.t FROM url IAM_ROLE ... <options>``."""
    return f"COPY analytics.t FROM '{url}' IAM_ROLE '{ROLE}' {options}"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"Database": "dev"}, "Specify exactly one of ClusterIdentifier or WorkgroupName"),
        ({**CLUSTER, "WorkgroupName": "analytics"}, "Specify exactly one of ClusterIdentifier or WorkgroupName"),
        ({"Database": "dev", "ClusterIdentifier": "other"}, "Redshift endpoint doesn't exist in this region."),
        ({"Database": "dev", "WorkgroupName": "analytics", "DbUser": "u"}, "DbUser is not supported for Redshift"),
        ({**CLUSTER, "SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"}, "cannot be specified"),
        ({"Database": "dev", "WorkgroupName": "analytics", "SecretArn": "no-such-secret"}, "could not read secret"),
    ],
)
def test_requests_are_validated_like_the_service(
    redshift: FakeRedshiftDataApi, target: dict[str, Any], message: str
) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="ValidationException") as error:
        data_api().batch_execute_statement(Sqls=["SELECT 1"], **target)
    assert message in str(error.value)
    assert redshift.statements == {}


def test_a_workgroup_with_a_secret_and_at_most_40_statements(redshift: FakeRedshiftDataApi) -> None:
    import boto3
    from botocore.exceptions import ClientError

    arn = boto3.client("secretsmanager").create_secret(Name="rs", SecretString='{"username": "u", "password": "p"}')[
        "ARN"
    ]
    serverless = {"Database": "dev", "WorkgroupName": "analytics", "SecretArn": arn}
    assert run(["SELECT 1"] * 40, **serverless)["Status"] == "FINISHED"
    with pytest.raises(ClientError, match="Sqls must hold 1 to 40 statements"):
        data_api().batch_execute_statement(Sqls=["SELECT 1"] * 41, **serverless)


@pytest.mark.parametrize(
    ("sqls", "error"),
    [
        (["INSERT INTO analytics.t VALUES (1, 'a', 1) ON CONFLICT DO NOTHING"], 'syntax error at or near "ON"'),
        (["DELETE FROM analytics.t", "TRUNCATE analytics.t"], "TRUNCATE commits the open transaction"),
        (["INSERT INTO analytics.t VALUES (1, 'a', 1) RETURNING 1"], 'syntax error at or near "RETURNING"'),
        (["CREATE TABLE analytics.j (doc jsonb)"], 'Column "doc" has unsupported type "jsonb"'),
        (["CREATE TABLE analytics.b (v VARCHAR(65536))"], "length for type varchar cannot exceed 65535"),
        (["INSERT INTO analytics.t VALUES (1, 'ééééé', 1)"], 'violates check constraint "t_name_check"'),
        (["COPY analytics.t FROM STDIN"], "COPY from STDIN is not supported"),
    ],
)
def test_sql_redshift_refuses_fails_and_rolls_the_batch_back(
    postgres_db: LocalPostgres, redshift: FakeRedshiftDataApi, sqls: list[str], error: str
) -> None:
    assert run([TABLE, "INSERT INTO analytics.t VALUES (7, 'seven', 7)"])["Status"] == "FINISHED"
    described = run(["INSERT INTO analytics.t VALUES (8, 'eight', 8)", *sqls])
    assert described["Status"] == "FAILED" and error in described["Error"]
    assert query(postgres_db, "SELECT * FROM analytics.t") == [(7, "seven", 7.0)]  # 5 x é = 10 bytes > 8
    assert run(["TRUNCATE analytics.t"])["Status"] == "FINISHED"  # alone, outside a transaction block: fine


@pytest.mark.parametrize(
    ("columns", "options", "error"),
    [
        (
            {"a": [1], "b": ["x"]},
            "",
            "Unmatched number of columns between table and file. Table columns: 3, Data columns: 2",
        ),
        ({"a": [1.5], "b": ["x"], "c": [1.0]}, "", "incompatible Parquet schema for column 'id'. Column type: BIGINT"),
        ({"a": [1], "b": [2], "c": [1.0]}, "", "Column type: VARCHAR(8), Parquet schema: b int64"),
        ({"a": [1], "b": ["x"], "c": [1.0]}, " REGION 'us-east-1'", "REGION argument is not supported"),
        ({"a": [1], "b": ["x"], "c": [1.0]}, " MAXERROR 10", "MAXERROR argument is not supported"),
        ({"a": [1], "b": ["123456789"], "c": [1.0]}, "", "String length exceeds DDL length"),
    ],
)
def test_copy_checks_the_parquet_files_against_the_table(
    postgres_db: LocalPostgres, redshift: FakeRedshiftDataApi, columns: dict[str, Any], options: str, error: str
) -> None:
    url = parquet("in/part-0.parquet", columns)
    described = run([TABLE, copy(url, "FORMAT AS PARQUET" + options)])
    assert described["Status"] == "FAILED" and error in described["Error"], described.get("Error")
    assert query(postgres_db, "SELECT to_regclass('analytics.t')") == [(None,)]  # rolled back with the COPY


def test_copy_loads_by_position_not_by_name(postgres_db: LocalPostgres, redshift: FakeRedshiftDataApi) -> None:
    url = parquet("in/part-0.parquet", {"amount": [1, 2], "Id": ["x", "y"], "name": [0.5, 1.5]})
    assert run([TABLE, copy(url)])["Status"] == "FINISHED"
    assert query(postgres_db, 'SELECT "id", name, amount FROM analytics.t ORDER BY 1') == [(1, "x", 0.5), (2, "y", 1.5)]


def test_copy_needs_the_role_the_region_and_true_content_lengths(redshift: FakeRedshiftDataApi) -> None:
    import json

    import boto3

    copy_role_and_bucket("far-bucket", region="eu-west-1")
    far = parquet("in/p.parquet", {"a": [1], "b": ["x"], "c": [1.0]}, bucket="far-bucket")
    assert "must be addressed using the specified endpoint" in run([TABLE, copy(far)])["Error"]
    url = parquet("in/p.parquet", {"a": [1], "b": ["x"], "c": [1.0]})
    assert "not authorized to assume IAM Role" in run([TABLE, copy(url).replace("RedshiftCopy", "Other")])["Error"]
    manifest = {"entries": [{"url": url, "mandatory": True, "meta": {"content_length": 10}}]}
    boto3.client("s3").put_object(Bucket=BUCKET, Key="in/manifest.json", Body=json.dumps(manifest).encode())
    described = run([TABLE, copy(f"s3://{BUCKET}/in/manifest.json", "FORMAT AS PARQUET MANIFEST")])
    assert "but content_length is 10" in described["Error"]


def test_results_only_when_finished_and_no_cancel_after_the_end(redshift: FakeRedshiftDataApi) -> None:
    from botocore.exceptions import ClientError

    client = data_api()
    statement_id = client.execute_statement(Sql="SELECT 41 + 1 AS answer", **CLUSTER)["Id"]
    with pytest.raises(ClientError, match="Query does not have result"):
        client.get_statement_result(Id=statement_id)
    while client.describe_statement(Id=statement_id)["Status"] != "FINISHED":
        time.sleep(0.01)
    assert client.get_statement_result(Id=statement_id)["Records"] == [[{"longValue": 42}]]
    with pytest.raises(ClientError, match="already in FINISHED status"):
        client.cancel_statement(Id=statement_id)
    assert redshift.statuses(statement_id) == ["SUBMITTED", "PICKED", "STARTED", "FINISHED"]


def test_the_wire_endpoint_applies_the_same_rules_to_a_dbapi_session(
    postgres_db: LocalPostgres, wire: RedshiftWireProxy
) -> None:
    import psycopg

    url = parquet("in/part-0.parquet", {"a": [1], "b": ["x"], "c": [1.0]})
    with psycopg.connect(host="127.0.0.1", port=wire.port, dbname="dev", user=postgres_db.user) as conn:
        with conn.transaction():  # the staging table exists only in this open transaction, as the loader's does
            conn.execute(TABLE)
            assert conn.execute(copy(url)).rowcount == 1
        refused = pytest.raises(psycopg.errors.ActiveSqlTransaction, match="TRUNCATE commits the open transaction")
        with refused, conn.transaction():
            conn.execute("TRUNCATE analytics.t")
        with pytest.raises(psycopg.errors.SyntaxError, match='syntax error at or near "ON"'):
            conn.execute("INSERT INTO analytics.t VALUES (2, 'y', 2) ON CONFLICT DO NOTHING")
    assert query(postgres_db, "SELECT * FROM analytics.t") == [(1, "x", 1.0)]
    assert "INSERT INTO analytics.t VALUES (2, 'y', 2) ON CONFLICT DO NOTHING" in wire.received
