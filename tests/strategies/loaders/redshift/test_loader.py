"""REDSHIFT loader through the Data API: real Spark stages Parquet in moto's S3; the Data API is `fake_data_api`.

The tests assert the exact SQL the loader sends, the statuses it polled through, the Parquet the double's
COPY read back from S3 (checked against the staging table as Redshift checks it), the rows the target
ends with, and that staging table and S3 prefix are gone afterwards.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from dwh.config import validate_model
from dwh.devtools.local_postgres import LocalPostgres
from dwh.errors import ConfigError
from dwh.platforms.context import RunContext
from dwh.strategies.loaders.redshift import RedshiftLoader
from tests.strategies.contexts import local_context
from tests.strategies.loaders.postgres.database import query
from tests.strategies.loaders.redshift.doubles import BUCKET, ROLE
from tests.strategies.loaders.redshift.fake_data_api import FakeRedshiftDataApi

pytestmark = [pytest.mark.integration, pytest.mark.spark]

SCHEMA = "id long, name string, day date, amount double"
OLD = [
    (1, "one", dt.date(2025, 1, 1), 1.0),
    (2, "two", dt.date(2025, 1, 2), 2.0),
    (3, "three", dt.date(2025, 1, 3), 3.0),
]
COLUMNS = '"id", "name", "day", "amount"'


def run_context(start: dt.date | None = None, end: dt.date | None = None) -> RunContext:
    """A local run context with the given window (its run id shows in the S3 staging prefix)."""
    return local_context(start, end, job_name="test_redshift", run_id="local-run/1")


def loader(**config: Any) -> RedshiftLoader:
    """A Data API loader staging with the Arrow writer (local Spark has no S3 filesystem)."""
    block = {
        "strategy": "REDSHIFT",
        "table": "analytics.promos",
        "s3_staging": f"s3://{BUCKET}/redshift/",
        "iam_role": ROLE,
        "database": "dev",
        "cluster_identifier": "analytics-cluster",
        "db_user": "loader",
        "staging_writer": "arrow",
        "poll_seconds": 0.05,
        **config,
    }
    return validate_model(RedshiftLoader, block, argument="--t")


def promos(db: LocalPostgres) -> list[tuple[Any, ...]]:
    """The target's rows by id."""
    return query(db, "SELECT id, name, day, amount FROM analytics.promos ORDER BY id")


def leftovers(db: LocalPostgres) -> tuple[list[Any], list[str]]:
    """Staging tables in the database and objects under the staging prefix."""
    import boto3

    objects = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="redshift/").get("Contents", [])
    return query(db, "SELECT relname FROM pg_class WHERE relname LIKE 'dwh_stage%'"), [o["Key"] for o in objects]


def test_merge_sends_the_exact_sql_and_stages_the_rows_as_parquet(
    spark: Any, postgres_db: LocalPostgres, redshift: FakeRedshiftDataApi
) -> None:
    result = loader(mode="merge", keys=["id"]).load(spark.createDataFrame(OLD, SCHEMA), run_context())

    stage = re.search(r'"(dwh_stage_[0-9a-f]{16})"', redshift.batches[0][0]).group(1)  # type: ignore[union-attr]
    run = re.search(r"redshift/(dwh-local-run-1-[0-9a-f]{8})/", redshift.batches[0][1]).group(1)  # type: ignore[union-attr]
    table_sql = '"id" BIGINT, "name" VARCHAR(65535), "day" DATE, "amount" DOUBLE PRECISION'
    assert redshift.batches == [
        [
            f'CREATE TABLE "analytics"."{stage}" ({table_sql})',
            f"COPY \"analytics\".\"{stage}\" FROM 's3://{BUCKET}/redshift/{run}/manifest.json' IAM_ROLE '{ROLE}' "
            "FORMAT AS PARQUET MANIFEST",
        ],
        [
            f'CREATE TABLE IF NOT EXISTS "analytics"."promos" ({table_sql}, PRIMARY KEY ("id"))',
            f'DELETE FROM "analytics"."promos" USING "analytics"."{stage}" WHERE "promos"."id" = "{stage}"."id"',
            f'INSERT INTO "analytics"."promos" ({COLUMNS}) SELECT {COLUMNS} FROM "analytics"."{stage}"',
            f'DROP TABLE IF EXISTS "analytics"."{stage}"',
        ],
    ]
    checks = [request["Sql"] for op, request in redshift.calls if op == "ExecuteStatement"]
    assert checks == [
        f'SELECT (SELECT COUNT(*) FROM "analytics"."{stage}") AS staged_rows, '
        f'(SELECT COUNT(*) FROM (SELECT "id" FROM "analytics"."{stage}" GROUP BY "id" HAVING COUNT(*) > 1) d) + '
        f'(SELECT COUNT(*) FROM "analytics"."{stage}" WHERE "id" IS NULL) AS bad_rows'
    ]
    first_call = redshift.calls[0][1]
    assert (first_call["Database"], first_call["ClusterIdentifier"], first_call["DbUser"]) == (
        "dev",
        "analytics-cluster",
        "loader",
    )
    assert {tuple(str(t) for t in part.schema.types) for part in redshift.copied} == {
        ("int64", "string", "date32[day]", "double")
    }
    assert sorted(tuple(row.values()) for part in redshift.copied for row in part.to_pylist()) == OLD
    polled = [redshift.statuses(statement_id) for statement_id in redshift.statements]
    assert polled == [["SUBMITTED", "PICKED", "STARTED", "FINISHED"]] * 3  # staging batch, check, final batch
    assert promos(postgres_db) == OLD
    assert (result.rows_written, result.detail["rows_staged"]) == (3, 3)
    assert leftovers(postgres_db) == ([], [])


def test_every_mode_and_twice_is_the_same_except_append(
    spark: Any, postgres_db: LocalPostgres, redshift: FakeRedshiftDataApi
) -> None:
    frame = spark.createDataFrame(OLD, SCHEMA)
    loader(mode="append").load(frame, run_context())
    loader(mode="append").load(frame, run_context())
    assert promos(postgres_db) == sorted(OLD + OLD)

    for _ in range(2):
        loader(mode="overwrite").load(frame, run_context())
        assert promos(postgres_db) == OLD

    window = run_context(dt.date(2025, 1, 2), dt.date(2025, 1, 3))
    in_window = [(20, "twenty", dt.date(2025, 1, 2), 20.0)]
    for _ in range(2):
        loader(mode="replace_window", window_column="day").load(spark.createDataFrame(in_window, SCHEMA), window)
        assert promos(postgres_db) == [OLD[0], OLD[2], in_window[0]]

    batch = [(1, "ONE", dt.date(2025, 1, 1), 11.0), (4, "four", dt.date(2025, 1, 4), 4.0)]
    for _ in range(2):
        loader(mode="merge", keys=["id"]).load(spark.createDataFrame(batch, SCHEMA), run_context())
        assert promos(postgres_db) == [batch[0], OLD[2], batch[1], in_window[0]]
    assert leftovers(postgres_db) == ([], [])


def test_window_statements(spark: Any, redshift: FakeRedshiftDataApi) -> None:
    window = run_context(dt.date(2025, 1, 2), dt.date(2025, 1, 3))
    frame = spark.createDataFrame([(2, "two", dt.date(2025, 1, 2), 2.0)], SCHEMA)
    loader(mode="replace_window", window_column="day").load(frame, window)
    final = redshift.batches[-1]
    assert final[1] == """DELETE FROM "analytics"."promos" WHERE "day" >= '2025-01-02' AND "day" < '2025-01-03'"""
    check = next(request["Sql"] for op, request in redshift.calls if op == "ExecuteStatement")
    assert check.endswith(
        """WHERE NOT ("day" >= '2025-01-02' AND "day" < '2025-01-03') OR "day" IS NULL) AS bad_rows"""
    )


def test_duplicate_merge_keys_fail_before_the_target_is_touched(
    spark: Any, postgres_db: LocalPostgres, redshift: FakeRedshiftDataApi
) -> None:
    loader(mode="overwrite").load(spark.createDataFrame(OLD, SCHEMA), run_context())
    batch = [(1, "a", dt.date(2025, 1, 1), 1.0), (1, "b", dt.date(2025, 1, 1), 2.0)]
    with pytest.raises(ValueError, match=r"the batch has 1 repeated or null merge key\(s\) on \(id\)"):
        loader(mode="merge", keys=["id"]).load(spark.createDataFrame(batch, SCHEMA), run_context())
    assert promos(postgres_db) == OLD
    assert leftovers(postgres_db) == ([], [])


def test_a_failed_statement_rolls_the_batch_back_and_cleans_up(
    spark: Any, postgres_db: LocalPostgres, redshift: FakeRedshiftDataApi
) -> None:
    loader(mode="overwrite").load(spark.createDataFrame(OLD, SCHEMA), run_context())
    redshift.fail_on = 'INSERT INTO "analytics"."promos"'
    with pytest.raises(RuntimeError, match="Redshift statement FAILED: ERROR: injected failure"):
        loader(mode="overwrite").load(spark.createDataFrame(OLD[:1], SCHEMA), run_context())
    assert promos(postgres_db) == OLD  # the DELETE before the failing INSERT was rolled back with it
    assert leftovers(postgres_db) == ([], [])


def test_a_statement_past_its_timeout_is_cancelled_and_rolled_back(
    spark: Any, postgres_db: LocalPostgres, redshift: FakeRedshiftDataApi
) -> None:
    loader(mode="overwrite").load(spark.createDataFrame(OLD, SCHEMA), run_context())
    redshift.hold_on = 'DELETE FROM "analytics"."promos"'  # the final batch runs, then waits before its commit
    with pytest.raises(TimeoutError, match=r"still STARTED after 0.5 s; cancelled \(ABORTED: Query cancelled"):
        loader(mode="overwrite", timeout_seconds=0.5).load(spark.createDataFrame(OLD[:1], SCHEMA), run_context())
    [cancel] = [request["Id"] for op, request in redshift.calls if op == "CancelStatement"]
    assert redshift.statuses(cancel) == ["SUBMITTED", "PICKED", "STARTED", "ABORTED"]
    assert promos(postgres_db) == OLD
    assert leftovers(postgres_db) == ([], [])


def test_a_statement_that_finishes_as_it_is_cancelled_counts_as_done(
    spark: Any, postgres_db: LocalPostgres, redshift: FakeRedshiftDataApi
) -> None:
    def finish_first(statement: Any) -> None:  # the race: the commit lands between the last poll and the cancel
        redshift.hold_on = None
        statement.worker.join()

    redshift.hold_on = 'DELETE FROM "analytics"."promos"'
    redshift.before_cancel = finish_first
    result = loader(mode="overwrite", timeout_seconds=0.5).load(spark.createDataFrame(OLD[:1], SCHEMA), run_context())
    assert (result.rows_written, promos(postgres_db)) == (1, OLD[:1])
    assert leftovers(postgres_db) == ([], [])


def test_strings_are_limited_in_bytes_and_names_fold_to_lower_case(
    spark: Any, postgres_db: LocalPostgres, redshift: FakeRedshiftDataApi
) -> None:
    euros = "€" * 21846  # 21,846 characters but 65,538 bytes: over VARCHAR(65535), which counts bytes
    frame = spark.createDataFrame([(1, euros)], "Id long, Name string")
    with pytest.raises(RuntimeError, match=r"String length exceeds DDL length \(column name VARCHAR\(65535\): 65538"):
        loader(mode="append").load(frame, run_context())
    assert leftovers(postgres_db) == ([], [])

    loader(mode="merge", keys=["Id"]).load(
        spark.createDataFrame([(1, "€" * 21845)], "Id long, Name string"), run_context()
    )
    columns = query(postgres_db, "SELECT column_name FROM information_schema.columns WHERE table_name = 'promos'")
    assert sorted(columns) == [("id",), ("name",)]  # Redshift folds "Id" and "Name" too
    assert query(postgres_db, "SELECT id, octet_length(name) FROM analytics.promos") == [(1, 65535)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mode": "upsert"}, "mode: 'upsert' is not one of append, overwrite, replace_window, merge"),
        ({"s3_staging": "https://bucket/x"}, "s3_staging: 'https://bucket/x' is not an s3://bucket/prefix/ URI"),
        ({"s3_staging": "s3://my-bucket/x'; DROP"}, "is not an s3://bucket/prefix/ URI"),
        ({"iam_role": "role'--"}, 'iam_role: "role\'--" is not an IAM role ARN'),
        ({"database": None}, "connection data_api needs database"),
        ({"workgroup_name": "wg"}, "exactly one of cluster_identifier or workgroup_name"),
        ({"connection": "dbapi"}, "connection dbapi needs jdbc_url (+ properties) or host + dbname"),
        ({"table": "promos--"}, "table: 'promos--' is not a plain table name"),
        ({"mode": "merge", "keys": ["1d"]}, "keys[0]: '1d' is not a plain identifier"),
        ({"partition_by": ["day"]}, "partition_by is not supported by REDSHIFT"),
    ],
)
def test_config_errors_name_the_field(change: dict[str, Any], message: str) -> None:
    block = {
        "strategy": "REDSHIFT",
        "table": "analytics.promos",
        "mode": "append",
        "s3_staging": "s3://my-bucket/p/",
        "iam_role": ROLE,
        "database": "dev",
        "cluster_identifier": "c",
        **change,
    }
    block = {key: value for key, value in block.items() if value is not None}
    with pytest.raises(ConfigError) as error:
        validate_model(RedshiftLoader, block, argument="--t")
    assert message in str(error.value)
