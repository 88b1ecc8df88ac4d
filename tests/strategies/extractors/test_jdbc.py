"""JDBC extractor on real local Spark and a real PostgreSQL: tables, queries, partitioned reads, secrets."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest

from dwh.config import validate_model
from dwh.devtools.local_postgres import LocalPostgres
from dwh.errors import ConfigError
from dwh.platforms.context import RunContext
from dwh.secrets import resolve_secrets
from dwh.strategies.extractors.jdbc import JdbcExtractor
from tests.strategies.contexts import local_context

pytestmark = [pytest.mark.integration, pytest.mark.spark]
ROWS = 500


def run_context(start: dt.date | None = None, end: dt.date | None = None) -> RunContext:
    """A local run context with the given window."""
    return local_context(start, end, job_name="test_jdbc")


@pytest.fixture
def items_db(postgres_db: LocalPostgres) -> LocalPostgres:
    """`postgres_db` with public.items: ids 1..500, a name, a day cycling through January, an amount."""
    import psycopg

    with psycopg.connect(postgres_db.conninfo, autocommit=True) as conn:
        conn.execute(
            """
            CREATE TABLE public.items AS
            SELECT i::bigint AS id, 'item ' || i AS name, DATE '2025-01-01' + (i % 31) AS day,
                   (i * 1.25)::numeric(10, 2) AS amount,
                   TIMESTAMPTZ '2025-01-01 00:00:00+00' + i * INTERVAL '1 hour' AS ts
              FROM generate_series(1, %s) AS i""".replace("%s", str(ROWS))
        )
    return postgres_db


def extractor(db: LocalPostgres, **config: Any) -> JdbcExtractor:
    """A JDBC extractor in the existing jdbc_url + properties shape."""
    block = {
        "strategy": "JDBC",
        "jdbc_url": db.jdbc_url,
        "properties": {"user": db.user, "driver": "org.postgresql.Driver"},
        **config,
    }
    return validate_model(JdbcExtractor, block, argument="--t")


def sorted_rows(frame: Any) -> list[tuple[Any, ...]]:
    """The frame's rows as tuples, sorted."""
    return sorted(tuple(row) for row in frame.collect())


def test_a_mixed_case_table_written_by_the_postgres_loader_reads_back(spark: Any, postgres_db: LocalPostgres) -> None:
    from dwh.strategies.loaders.postgres import PostgresLoader

    block = {"strategy": "POSTGRES", "jdbc_url": postgres_db.jdbc_url, "properties": {"user": postgres_db.user}}
    loader = validate_model(PostgresLoader, {**block, "table": "public.Items", "mode": "overwrite"}, argument="--t")
    loader.load(spark.createDataFrame([(1, "one"), (2, "two")], "id long, name string"), run_context())
    frame = extractor(postgres_db, table="public.Items").extract(run_context())
    assert sorted_rows(frame) == [(1, "one"), (2, "two")]


def test_partitioned_read_equals_the_plain_read(spark: Any, items_db: LocalPostgres) -> None:
    plain = extractor(items_db, table="public.items").extract(run_context())
    split = extractor(
        items_db, table="public.items", partition_column="id", lower_bound=100, upper_bound=400, num_partitions=4
    ).extract(run_context())
    assert split.rdd.getNumPartitions() == 4
    plain_rows, split_rows = sorted_rows(plain), sorted_rows(split)
    assert len(plain_rows) == ROWS
    assert split_rows == plain_rows  # bounds only split the range: rows below/above them are still read
    assert plain_rows[0][:4] == (1, "item 1", dt.date(2025, 1, 2), decimal.Decimal("1.25"))


def test_date_partitioned_read_and_legacy_source_table(spark: Any, items_db: LocalPostgres) -> None:
    split = extractor(
        items_db,
        source_table="items",
        partition_column="day",
        lower_bound="2025-01-01",
        upper_bound="2025-01-31",
        num_partitions=3,
    )
    frame, counter = split.extract_counted(run_context())
    assert frame.rdd.getNumPartitions() == 3
    assert sorted_rows(frame) == sorted_rows(extractor(items_db, table="items").extract(run_context()))
    assert counter.rows == ROWS


def test_a_query_with_window_filter_and_columns(spark: Any, items_db: LocalPostgres) -> None:
    source = extractor(
        items_db,
        query="SELECT id, name, day FROM public.items WHERE id <= 100;",
        window_column="day",
        filter="id % 2 = 0",
        columns=["id", "day"],
        partition_column="id",
        lower_bound=1,
        upper_bound=100,
        num_partitions=2,
    )
    frame, counter = source.extract_counted(run_context(dt.date(2025, 1, 5), dt.date(2025, 1, 7)))
    expected = [(i, dt.date(2025, 1, 1) + dt.timedelta(days=i % 31)) for i in range(2, 101, 2)]
    expected = [row for row in expected if dt.date(2025, 1, 5) <= row[1] < dt.date(2025, 1, 7)]
    assert sorted_rows(frame) == expected
    assert counter.rows == len(expected)


@pytest.mark.integration
def test_a_secret_reference_in_properties_password(
    spark: Any, password_postgres: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    with psycopg.connect(password_postgres.admin.conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS public.secret_items AS SELECT 1 AS id, 'visible' AS name")
        conn.execute(f"GRANT SELECT ON public.secret_items TO {password_postgres.user}")
    monkeypatch.setenv("DWH_TEST_JDBC_PASSWORD", password_postgres.password)
    block = {
        "strategy": "JDBC",
        "jdbc_url": password_postgres.jdbc_url,
        "table": "public.secret_items",
        "properties": {
            "user": password_postgres.user,
            "password": "env:DWH_TEST_JDBC_PASSWORD",
            "driver": "org.postgresql.Driver",
        },
    }
    source = validate_model(JdbcExtractor, block, argument="--t")
    source = resolve_secrets(source, prefix="--t")  # what the job factory does before the job starts
    assert sorted_rows(source.extract(run_context())) == [(1, "visible")]

    unresolved = validate_model(JdbcExtractor, block, argument="--t")  # the reference text is not a password
    # Spark 4 wraps the driver's refusal in "Couldn't connect to the database"; Spark 3.5 raises it as it is.
    refused = r"Couldn't connect to the database|password authentication failed"
    with pytest.raises(Exception, match=refused) as caught:
        unresolved.extract(run_context()).collect()
    assert password_postgres.password not in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({}, "give exactly one of table, source_table or query"),
        ({"table": "a", "query": "SELECT 1"}, "give exactly one of table, source_table or query"),
        ({"table": "a; DROP TABLE b"}, "table: 'a; DROP TABLE b' is not a plain table name"),
        ({"table": "a", "partition_column": "id"}, "a partitioned read needs partition_column, lower_bound"),
        (
            {"table": "a", "partition_column": "id", "lower_bound": 5, "upper_bound": 1, "num_partitions": 2},
            "lower_bound must be below upper_bound",
        ),
        (
            {
                "table": "a",
                "partition_column": "id",
                "lower_bound": 1,
                "upper_bound": "2025-01-01",
                "num_partitions": 2,
            },
            "lower_bound and upper_bound must be of the same kind",
        ),
        (
            {"table": "a", "partition_column": "x y", "lower_bound": 1, "upper_bound": 2, "num_partitions": 2},
            "partition_column: 'x y' is not a plain identifier",
        ),
        ({"table": "a", "num_partitions": 0}, "num_partitions: Input should be greater than 0"),
        ({"table": "a", "format_options": {"dbtable": "other"}}, "format_options must not set dbtable"),
        ({"table": "a", "sourcetable": "x"}, "sourcetable: unknown field"),
    ],
)
def test_config_errors_name_the_field(change: dict[str, Any], message: str) -> None:
    block = {"strategy": "JDBC", "jdbc_url": "jdbc:postgresql://db:5432/dwh", **change}
    with pytest.raises(ConfigError) as error:
        validate_model(JdbcExtractor, block, argument="--t")
    assert message in str(error.value)


def test_describe_names_the_source_without_credentials() -> None:
    source = validate_model(
        JdbcExtractor,
        {"strategy": "JDBC", "host": "db", "dbname": "dwh", "user": "u", "password": "Pw-123456", "table": "t"},
        argument="--t",
    )
    assert source.describe() == "JDBC(postgresql://db:5432/dwh t)"
