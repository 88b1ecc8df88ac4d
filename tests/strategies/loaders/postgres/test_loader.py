"""POSTGRES loader on real local Spark and a real PostgreSQL: every mode, created tables, clear failures."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import Any

import pytest

from dwh.config import validate_model
from dwh.devtools.local_postgres import LocalPostgres
from dwh.errors import ConfigError
from dwh.platforms.context import RunContext
from dwh.strategies.loaders.postgres import PostgresLoader
from tests.strategies.contexts import local_context
from tests.strategies.loaders.postgres.database import query

pytestmark = [pytest.mark.integration, pytest.mark.spark]

UTC = dt.timezone.utc
SCHEMA = "id long, name string, day date, amount double"
OLD = [
    (1, "one", dt.date(2025, 1, 1), 1.0),
    (2, "two", dt.date(2025, 1, 2), 2.0),
    (3, "three", dt.date(2025, 1, 3), 3.0),
    (4, "four", dt.date(2025, 1, 4), 4.0),
]


def run_context(start: dt.date | None = None, end: dt.date | None = None) -> RunContext:
    """A local run context with the given window."""
    return local_context(start, end, job_name="test_postgres")


def loader(db: LocalPostgres, **config: Any) -> PostgresLoader:
    """A loader for `db` in the existing jdbc_url + properties shape."""
    block = {
        "strategy": "POSTGRES",
        "jdbc_url": db.jdbc_url,
        "properties": {"user": db.user, "password": "not-checked-by-trust", "driver": "org.postgresql.Driver"},
        "table": "public.items",
        **config,
    }
    return validate_model(PostgresLoader, block, argument="--test")


def items(db: LocalPostgres) -> list[tuple[Any, ...]]:
    """The target's rows, ordered by id."""
    return query(db, "SELECT id, name, day, amount FROM public.items ORDER BY id")


def staging_left(db: LocalPostgres) -> list[tuple[Any, ...]]:
    """Staging tables still in the database."""
    return query(db, "SELECT relname FROM pg_class WHERE relname LIKE 'dwh_stage%'")


def seed(spark: Any, db: LocalPostgres, **config: Any) -> None:
    """Load OLD with mode overwrite (creating the table)."""
    loader(db, mode="overwrite", **config).load(spark.createDataFrame(OLD, SCHEMA), run_context())


def test_append_creates_the_table_with_the_documented_types(spark: Any, postgres_db: LocalPostgres) -> None:
    schema = (
        "b boolean, i1 tinyint, i2 smallint, i4 int, i8 bigint, f4 float, f8 double, dec decimal(20,4), "
        "s string, d date, ts timestamp, ntz timestamp_ntz, bin binary, arr array<int>, st struct<x:int,y:string>"
    )
    rows = [
        (
            True,
            1,
            2,
            3,
            4,
            1.5,
            0.1,
            decimal.Decimal("12345678.1234"),
            'ünï "q", x\n\\N',
            dt.date(2025, 1, 1),
            dt.datetime(2025, 1, 1, 12, 30, 15, 123456, tzinfo=UTC),
            dt.datetime(2025, 1, 2, 3, 4, 5),
            b"\x00\xff",
            [1, None],
            (1, "a"),
        ),
        (None, None, None, None, None, None, float("nan"), None, "", None, None, None, None, None, None),
        (False, None, None, None, None, None, None, None, None, None, None, None, None, [], None),
    ]
    result = loader(postgres_db, mode="append", table="t").load(spark.createDataFrame(rows, schema), run_context())

    assert result.rows_written == 3
    assert result.target == "public.t"
    types = dict(
        query(
            postgres_db,
            """
        SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
         WHERE attrelid = 'public.t'::regclass AND attnum > 0""",
        )
    )
    assert types == {
        "b": "boolean",
        "i1": "smallint",
        "i2": "smallint",
        "i4": "integer",
        "i8": "bigint",
        "f4": "real",
        "f8": "double precision",
        "dec": "numeric(20,4)",
        "s": "text",
        "d": "date",
        "ts": "timestamp with time zone",
        "ntz": "timestamp without time zone",
        "bin": "bytea",
        "arr": "jsonb",
        "st": "jsonb",
    }
    first, second, third = query(postgres_db, "SELECT * FROM public.t ORDER BY b DESC NULLS LAST")
    assert first == (
        True,
        1,
        2,
        3,
        4,
        1.5,
        0.1,
        decimal.Decimal("12345678.1234"),
        'ünï "q", x\n\\N',
        dt.date(2025, 1, 1),
        dt.datetime(2025, 1, 1, 12, 30, 15, 123456, tzinfo=UTC),
        dt.datetime(2025, 1, 2, 3, 4, 5),
        b"\x00\xff",
        [1, None],
        {"x": 1, "y": "a"},
    )
    assert second[0] is False and second[8] is None and second[13] == []
    assert third[0] is None and math.isnan(third[6]) and third[8] == ""  # NULL and "" stay different
    assert all(value is None for index, value in enumerate(third) if index not in (6, 8))
    assert staging_left(postgres_db) == []


def test_append_adds_rows_each_time(spark: Any, postgres_db: LocalPostgres) -> None:
    frame = spark.createDataFrame(OLD[:2], SCHEMA)
    append = loader(postgres_db, mode="append")
    append.load(frame, run_context())
    result = append.load(frame, run_context())
    assert result.rows_written == 2
    assert [row[0] for row in items(postgres_db)] == [1, 1, 2, 2]


def test_overwrite_replaces_everything_and_twice_is_the_same(spark: Any, postgres_db: LocalPostgres) -> None:
    seed(spark, postgres_db)
    new = [(7, "seven", dt.date(2025, 2, 1), 7.0), (8, "eight", dt.date(2025, 2, 2), 8.0)]
    overwrite = loader(postgres_db, mode="overwrite")
    for _ in range(2):
        result = overwrite.load(spark.createDataFrame(new, SCHEMA), run_context())
        assert result.rows_written == 2
        assert items(postgres_db) == new


def test_replace_window_touches_only_the_window_rows(spark: Any, postgres_db: LocalPostgres) -> None:
    seed(spark, postgres_db)
    window = run_context(dt.date(2025, 1, 2), dt.date(2025, 1, 4))  # days 2 and 3
    new = [(20, "twenty", dt.date(2025, 1, 2), 20.0), (30, "thirty", dt.date(2025, 1, 3), 30.0)]
    replace = loader(postgres_db, mode="replace_window", window_column="day")
    for _ in range(2):
        result = replace.load(spark.createDataFrame(new, SCHEMA), window)
        assert (result.rows_written, result.detail["rows_deleted"]) == (2, 2)
        assert items(postgres_db) == [OLD[0], OLD[3], *new]


def test_replace_window_refuses_rows_outside_the_window(spark: Any, postgres_db: LocalPostgres) -> None:
    seed(spark, postgres_db)
    window = run_context(dt.date(2025, 1, 2), dt.date(2025, 1, 3))
    new = [(20, "in", dt.date(2025, 1, 2), 20.0), (99, "out", dt.date(2025, 1, 3), 99.0)]
    with pytest.raises(ValueError, match=r"1 row\(s\) have day outside the run window"):
        loader(postgres_db, mode="replace_window", window_column="day").load(spark.createDataFrame(new, SCHEMA), window)
    assert items(postgres_db) == OLD
    assert staging_left(postgres_db) == []


def test_merge_updates_changed_rows_inserts_new_ones_and_twice_is_the_same(
    spark: Any, postgres_db: LocalPostgres
) -> None:
    merge = loader(postgres_db, mode="merge", keys=["id"])
    merge.load(spark.createDataFrame(OLD, SCHEMA), run_context())  # creates the table with a primary key
    batch = [OLD[0], (2, "TWO", dt.date(2025, 1, 2), 22.0), (5, "five", dt.date(2025, 1, 5), 5.0)]
    first = merge.load(spark.createDataFrame(batch, SCHEMA), run_context())
    second = merge.load(spark.createDataFrame(batch, SCHEMA), run_context())

    assert items(postgres_db) == [OLD[0], batch[1], OLD[2], OLD[3], batch[2]]
    assert (first.rows_written, first.detail["rows_changed"]) == (3, 2)  # the unchanged row 1 is not rewritten
    assert (second.rows_written, second.detail["rows_changed"]) == (3, 0)
    assert query(postgres_db, "SELECT contype FROM pg_constraint WHERE conrelid = 'public.items'::regclass") == [("p",)]


def test_merge_on_a_table_without_a_unique_key_fails_before_writing(spark: Any, postgres_db: LocalPostgres) -> None:
    seed(spark, postgres_db)  # created by overwrite: no primary key
    with pytest.raises(ValueError, match=r"mode merge needs a primary key or unique index on \(id\) of public.items"):
        loader(postgres_db, mode="merge", keys=["id"]).load(spark.createDataFrame(OLD, SCHEMA), run_context())
    assert items(postgres_db) == OLD
    assert staging_left(postgres_db) == []


def test_merge_with_a_key_twice_in_the_batch_fails_clearly(spark: Any, postgres_db: LocalPostgres) -> None:
    merge = loader(postgres_db, mode="merge", keys=["id"])
    merge.load(spark.createDataFrame(OLD, SCHEMA), run_context())
    batch = [(1, "a", dt.date(2025, 1, 1), 1.5), (1, "b", dt.date(2025, 1, 1), 2.5)]
    with pytest.raises(ValueError, match="the batch holds the same merge key more than once"):
        merge.load(spark.createDataFrame(batch, SCHEMA), run_context())
    assert items(postgres_db) == OLD
    assert staging_left(postgres_db) == []


def test_existing_column_types_are_kept(spark: Any, postgres_db: LocalPostgres) -> None:
    import psycopg

    with psycopg.connect(postgres_db.conninfo, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA sales")
        conn.execute(
            "CREATE TABLE sales.orders (id uuid PRIMARY KEY, code varchar(3), doc jsonb, extra text DEFAULT 'x')"
        )
    frame = spark.createDataFrame(
        [("6f1c1d1e-0000-4000-8000-000000000001", "abc", '{"k": [1, 2]}')], "id string, code string, doc string"
    )
    loader(postgres_db, mode="merge", keys=["id"], table="sales.orders").load(frame, run_context())
    assert query(postgres_db, "SELECT id::text, code, doc, extra FROM sales.orders") == [
        ("6f1c1d1e-0000-4000-8000-000000000001", "abc", {"k": [1, 2]}, "x")
    ]


def test_a_failing_copy_leaves_the_target_unchanged_and_no_staging(spark: Any, postgres_db: LocalPostgres) -> None:
    seed(spark, postgres_db)
    bad = spark.createDataFrame([(9, "nul \x00 byte", dt.date(2025, 1, 9), 9.0)], SCHEMA)  # text cannot hold NUL
    with pytest.raises(RuntimeError, match=r"^POSTGRES public.items: staging failed: \w+: invalid byte sequence"):
        loader(postgres_db, mode="overwrite").load(bad, run_context())
    assert items(postgres_db) == OLD
    assert staging_left(postgres_db) == []


def test_a_value_the_target_type_rejects_leaves_the_target_unchanged(spark: Any, postgres_db: LocalPostgres) -> None:
    import psycopg

    seed(spark, postgres_db)
    bad = spark.createDataFrame([(9, "nine", "not a date", 9.0)], "id long, name string, day string, amount double")
    with pytest.raises(psycopg.errors.DataError, match="invalid input syntax for type date"):
        loader(postgres_db, mode="overwrite").load(bad, run_context())
    assert items(postgres_db) == OLD
    assert staging_left(postgres_db) == []


def test_a_nul_character_in_a_string_names_the_column(spark: Any, postgres_db: LocalPostgres) -> None:
    seed(spark, postgres_db)
    bad = spark.createDataFrame([(9, "ni\x00ne", dt.date(2025, 1, 9), 9.0)], SCHEMA)
    with pytest.raises(RuntimeError) as caught:
        loader(postgres_db, mode="overwrite").load(bad, run_context())
    assert str(caught.value) == (
        'POSTGRES public.items: staging failed: ValueError: invalid byte sequence for encoding "UTF8": 0x00 '
        "(column name)"
    )
    assert items(postgres_db) == OLD
    assert staging_left(postgres_db) == []


def test_a_too_long_value_for_varchar_fails_instead_of_being_cut(spark: Any, postgres_db: LocalPostgres) -> None:
    import psycopg

    with psycopg.connect(postgres_db.conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.codes (code varchar(3))")
    frame = spark.createDataFrame([("abcd",)], "code string")
    with pytest.raises(RuntimeError, match=r"too long for type character varying\(3\) \(column code\)$"):
        loader(postgres_db, mode="append", table="codes").load(frame, run_context())  # staged as varchar(3)
    assert query(postgres_db, "SELECT * FROM public.codes") == []
    query(postgres_db, "INSERT INTO public.codes VALUES ('x')")
    with pytest.raises(psycopg.errors.StringDataRightTruncation, match=r"too long for type character varying\(3\)"):
        loader(postgres_db, mode="append", table="codes").load(frame, run_context())  # the INSERT's assignment
    assert query(postgres_db, "SELECT * FROM public.codes") == [("x",)]


def test_a_column_the_target_lacks_is_named(spark: Any, postgres_db: LocalPostgres) -> None:
    seed(spark, postgres_db)
    frame = spark.createDataFrame([(1, "x")], "id long, colour string")
    with pytest.raises(ValueError, match=r"target public\.items has no column\(s\) colour"):
        loader(postgres_db, mode="append").load(frame, run_context())
    assert items(postgres_db) == OLD


def test_staging_of_a_dead_run_is_swept_and_of_a_live_run_kept(spark: Any, postgres_db: LocalPostgres) -> None:
    import psycopg

    from dwh.strategies.loaders.postgres.sql import hold_staging_lock

    live, dead = "dwh_stage_" + "a" * 16, "dwh_stage_" + "b" * 16
    with psycopg.connect(postgres_db.conninfo, autocommit=True) as other_run:
        for name in (f"{live}_t", f"{live}_p0", f"{dead}_t", f"{dead}_p1"):
            other_run.execute(f"CREATE UNLOGGED TABLE public.{name} (id bigint)")
        assert hold_staging_lock(other_run, live)
        seed(spark, postgres_db)
        assert sorted(staging_left(postgres_db)) == [(f"{live}_p0",), (f"{live}_t",)]
    # the live run's session has ended, so its lock is gone: the next load sweeps its tables too
    new = [(7, "seven", dt.date(2025, 2, 1), 7.0)]
    result = loader(postgres_db, mode="append").load(spark.createDataFrame(new, SCHEMA), run_context())
    assert result.detail["stale_staging_runs_dropped"] == 1
    assert staging_left(postgres_db) == []
    assert items(postgres_db) == [*OLD, *new]


def test_an_empty_frame_with_overwrite_empties_the_target(spark: Any, postgres_db: LocalPostgres) -> None:
    seed(spark, postgres_db)
    result = loader(postgres_db, mode="overwrite").load(spark.createDataFrame([], SCHEMA), run_context())
    assert result.rows_written == 0
    assert items(postgres_db) == []


def test_discrete_connection_fields_and_a_staging_schema(spark: Any, postgres_db: LocalPostgres) -> None:
    import psycopg

    with psycopg.connect(postgres_db.conninfo, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA scratch")
    block = {
        "strategy": "POSTGRES",
        "host": postgres_db.host,
        "port": postgres_db.port,
        "dbname": postgres_db.dbname,
        "user": postgres_db.user,
        "table": "items",
        "mode": "append",
        "staging_schema": "scratch",
    }
    validate_model(PostgresLoader, block, argument="--t").load(spark.createDataFrame(OLD, SCHEMA), run_context())
    assert items(postgres_db) == OLD
    assert staging_left(postgres_db) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mode": "upsert"}, "--t: mode: 'upsert' is not one of append, overwrite, replace_window, merge"),
        ({"table": "public.items; DROP TABLE x"}, "--t: table: 'public.items; DROP TABLE x' is not a plain table"),
        ({"table": "a.b.c"}, "--t: table: 'a.b.c' is not a plain table name"),
        ({"mode": "merge", "keys": ["id", "bad key"]}, "--t: keys[1]: 'bad key' is not a plain identifier"),
        ({"mode": "replace_window", "window_column": '"day"'}, "--t: window_column: '\"day\"' is not a plain"),
        ({"mode": "merge"}, "--t: (top level): mode merge needs keys"),
        ({"mode": "replace_window"}, "--t: (top level): mode replace_window needs window_column"),
        ({"partition_by": ["day"]}, "--t: (top level): partition_by is not supported by POSTGRES"),
        ({"staging_schema": "my-schema"}, "--t: staging_schema: 'my-schema' is not a plain identifier"),
        ({"jdbc_url": "jdbc:mysql://db:3306/x"}, "--t: (top level): POSTGRES needs a jdbc:postgresql:// URL"),
        ({"tabel": "x"}, "--t: tabel: unknown field"),
    ],
)
def test_config_errors_name_the_field_before_anything_runs(change: dict[str, Any], message: str) -> None:
    block = {
        "strategy": "POSTGRES",
        "jdbc_url": "jdbc:postgresql://db:5432/dwh",
        "properties": {"user": "u"},
        "table": "public.items",
        "mode": "append",
        **change,
    }
    with pytest.raises(ConfigError) as error:
        validate_model(PostgresLoader, block, argument="--t")
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_describe_never_shows_the_password(postgres_db: LocalPostgres) -> None:
    described = loader(postgres_db, mode="append").describe()
    assert described == f"POSTGRES(postgresql://127.0.0.1:{postgres_db.port}/{postgres_db.dbname} public.items, append)"


class FlakyProxy:
    """A TCP proxy to PostgreSQL that drops its first `failures` connections, then forwards bytes."""

    def __init__(self, target_port: int, failures: int) -> None:
        import socket
        import threading

        self.target_port, self.failures, self.accepted = target_port, failures, 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            if self.accepted <= self.failures:
                client.close()  # the server went away mid-handshake: a transient OperationalError
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: Any, sink: Any) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                end.close()

    def close(self) -> None:
        """Stop accepting."""
        self.server.close()


def test_transient_connection_failures_are_retried(spark: Any, postgres_db: LocalPostgres) -> None:
    proxy = FlakyProxy(postgres_db.port, failures=2)
    try:
        block = {
            "strategy": "POSTGRES",
            "host": "127.0.0.1",
            "port": proxy.port,
            "dbname": postgres_db.dbname,
            "user": postgres_db.user,
            "table": "items",
            "mode": "append",
        }
        result = validate_model(PostgresLoader, block, argument="--t").load(
            spark.createDataFrame(OLD, SCHEMA), run_context()
        )
    finally:
        proxy.close()
    assert result.rows_written == len(OLD)
    assert items(postgres_db) == OLD
    assert proxy.accepted > 2  # the two dropped connections were retried


def test_retries_give_up_with_the_connection_error(spark: Any, postgres_db: LocalPostgres) -> None:
    import psycopg

    proxy = FlakyProxy(postgres_db.port, failures=100)
    try:
        block = {
            "strategy": "POSTGRES",
            "host": "127.0.0.1",
            "port": proxy.port,
            "dbname": postgres_db.dbname,
            "user": postgres_db.user,
            "table": "items",
            "mode": "append",
            "retries": 2,
        }
        with pytest.raises(psycopg.OperationalError, match="server closed the connection unexpectedly"):
            validate_model(PostgresLoader, block, argument="--t").load(
                spark.createDataFrame(OLD, SCHEMA), run_context()
            )
    finally:
        proxy.close()
    assert proxy.accepted == 2  # 2 attempts at the first connection; no staging exists, so no clean-up
