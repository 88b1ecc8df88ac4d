"""Fixtures for the REDSHIFT tests: the two Redshift doubles over a real PostgreSQL, moto's S3 and IAM."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from tests.strategies.loaders.redshift.doubles import copy_role_and_bucket, start_data_api, start_wire
from tests.strategies.loaders.redshift.fake_data_api import FakeRedshiftDataApi
from tests.strategies.loaders.redshift.fake_wire import RedshiftWireProxy


@pytest.fixture
def redshift(
    postgres_db: LocalPostgres, aws_env: str, httpserver: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeRedshiftDataApi]:
    """The Data API double, the COPY role and bucket, schema ``analytics``."""
    import psycopg

    fake = start_data_api(postgres_db, httpserver, monkeypatch)
    copy_role_and_bucket()
    with psycopg.connect(postgres_db.conninfo, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA analytics")
    yield fake
    fake.hold_on = None
    httpserver.clear()


@pytest.fixture
def wire(redshift: FakeRedshiftDataApi, postgres_db: LocalPostgres) -> Iterator[RedshiftWireProxy]:
    """The DB-API double (a Redshift endpoint on the PostgreSQL protocol) over the same database."""
    proxy = start_wire(postgres_db)
    yield proxy
    proxy.stop()
