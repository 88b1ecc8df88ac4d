"""REDSHIFT loader through a DB-API connection: psycopg talks to `fake_wire`, a Redshift endpoint on PostgreSQL.

The same loader steps as through the Data API (staging table + COPY in one transaction, the check query,
the mode in one transaction), sent as a Redshift cluster would receive them from a SQL client.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from dwh.config import validate_model
from dwh.devtools.local_postgres import LocalPostgres
from dwh.strategies.loaders.redshift import RedshiftLoader
from dwh.strategies.loaders.redshift.api import DbApiRunner
from tests.strategies.contexts import local_context
from tests.strategies.loaders.postgres.database import query
from tests.strategies.loaders.redshift.doubles import BUCKET, ROLE
from tests.strategies.loaders.redshift.fake_data_api import FakeRedshiftDataApi
from tests.strategies.loaders.redshift.fake_wire import RedshiftWireProxy

pytestmark = pytest.mark.integration
SCHEMA = "id long, name string, day date, amount double"
OLD = [(1, "one", dt.date(2025, 1, 1), 1.0), (2, "two", dt.date(2025, 1, 2), 2.0)]


def dbapi_loader(wire: RedshiftWireProxy, user: str, **config: Any) -> RedshiftLoader:
    """A REDSHIFT loader with ``connection: dbapi`` to the wire double, as a user would configure a cluster."""
    block = {
        "strategy": "REDSHIFT",
        "table": "analytics.promos",
        "s3_staging": f"s3://{BUCKET}/redshift/",
        "iam_role": ROLE,
        "connection": "dbapi",
        "jdbc_url": f"jdbc:redshift://127.0.0.1:{wire.port}/dev",
        "properties": {"user": user},
        "staging_writer": "arrow",
        **config,
    }
    return validate_model(RedshiftLoader, block, argument="--t")


@pytest.mark.spark
def test_merge_through_dbapi_sends_each_step_in_its_own_transaction(
    spark: Any, postgres_db: LocalPostgres, redshift: FakeRedshiftDataApi, wire: RedshiftWireProxy
) -> None:
    context = local_context(job_name="test_redshift", run_id="dbapi-1")
    dbapi_loader(wire, postgres_db.user, mode="overwrite").load(spark.createDataFrame(OLD, SCHEMA), context)
    batch = [(2, "TWO", dt.date(2025, 1, 2), 22.0), (3, "three", dt.date(2025, 1, 3), 3.0)]
    wire.received.clear()

    result = dbapi_loader(wire, postgres_db.user, mode="merge", keys=["id"]).load(
        spark.createDataFrame(batch, SCHEMA), context
    )

    assert query(postgres_db, "SELECT * FROM analytics.promos ORDER BY id") == [OLD[0], *batch]
    assert (result.rows_written, result.detail["rows_staged"]) == (2, 2)
    shapes = [re.sub(r"dwh_stage_[0-9a-f]{16}", "S", sql).split(" (")[0].split(" FROM '")[0] for sql in wire.received]
    assert shapes == [
        "BEGIN",
        'CREATE TABLE "analytics"."S"',
        'COPY "analytics"."S"',
        "COMMIT",
        "BEGIN",
        "SELECT",  # the check query
        "COMMIT",
        "BEGIN",
        'CREATE TABLE IF NOT EXISTS "analytics"."promos"',
        'DELETE FROM "analytics"."promos" USING "analytics"."S" WHERE "promos"."id" = "S"."id"',
        'INSERT INTO "analytics"."promos"',
        'DROP TABLE IF EXISTS "analytics"."S"',
        "COMMIT",
    ]
    assert query(postgres_db, "SELECT relname FROM pg_class WHERE relname LIKE 'dwh_stage%'") == []


def test_the_dbapi_runner_runs_a_batch_as_one_transaction(postgres_db: LocalPostgres) -> None:
    runner = DbApiRunner(connect_kwargs={"conninfo": postgres_db.conninfo}, attempts=1)
    assert runner.run_batch(["CREATE TABLE t (a int)", "INSERT INTO t VALUES (1), (2)"]) == [0, 2]
    with pytest.raises(Exception, match='relation "missing" does not exist'):
        runner.run_batch(["DELETE FROM t", "INSERT INTO missing VALUES (1)"])
    assert runner.query_row("SELECT count(*), sum(a) FROM t") == [2, 3]


def test_dbapi_connection_from_a_redshift_jdbc_url() -> None:
    block = {
        "strategy": "REDSHIFT",
        "table": "promos",
        "mode": "append",
        "s3_staging": "s3a://my-bucket/p",
        "iam_role": ROLE,
        "connection": "dbapi",
        "jdbc_url": "jdbc:redshift://cluster.abc.eu-west-1.redshift.amazonaws.com/dev",
        "properties": {"user": "loader", "password": "Pw-9876543"},
    }
    runner = validate_model(RedshiftLoader, block, argument="--t").runner()
    assert runner.connect_kwargs == {  # type: ignore[attr-defined]
        "host": "cluster.abc.eu-west-1.redshift.amazonaws.com",
        "port": "5439",
        "dbname": "dev",
        "user": "loader",
        "password": "Pw-9876543",
    }
