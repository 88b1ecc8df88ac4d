"""Setting up the Redshift doubles for a test: the COPY role and staging bucket in moto, the Data API server."""

from __future__ import annotations

from typing import Any

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from tests.strategies.loaders.redshift.fake_data_api import FakeRedshiftDataApi
from tests.strategies.loaders.redshift.fake_wire import RedshiftWireProxy

BUCKET = "stage-bucket"
ROLE = "arn:aws:iam::123456789012:role/RedshiftCopy"


def copy_role_and_bucket(bucket: str = BUCKET, region: str = "us-east-1") -> None:
    """The COPY role in moto's IAM (once) and a staging bucket in `region`."""
    import boto3

    iam = boto3.client("iam")
    if not any(role["Arn"] == ROLE for role in iam.list_roles()["Roles"]):
        iam.create_role(RoleName=ROLE.rpartition("/")[2], AssumeRolePolicyDocument="{}")
    s3 = boto3.client("s3", region_name=region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})


def start_data_api(db: LocalPostgres, httpserver: Any, monkeypatch: pytest.MonkeyPatch) -> FakeRedshiftDataApi:
    """The Data API double on pytest-httpserver, boto3's ``redshift-data`` endpoint pointed at it."""
    fake = FakeRedshiftDataApi(db.conninfo)
    httpserver.expect_request("/", method="POST").respond_with_handler(fake.handle)
    monkeypatch.setenv("AWS_ENDPOINT_URL_REDSHIFT_DATA", httpserver.url_for("/"))
    return fake


def start_wire(db: LocalPostgres) -> RedshiftWireProxy:
    """The DB-API double (a Redshift endpoint on the PostgreSQL protocol) over `db`; stop it with ``stop()``."""
    return RedshiftWireProxy(
        backend_host=db.host, backend_port=db.port, backend_database=db.dbname, backend_conninfo=db.conninfo
    ).start()
