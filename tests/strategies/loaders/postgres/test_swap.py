"""The swap path of the POSTGRES loader on real local Spark and a real PostgreSQL.

overwrite (and append / replace_window / merge into a missing or empty target, and replace_window /
merge into a target holding no more rows than the batch, after copying the kept rows in) stages into one
table with the target's types and swaps it in: what the old table had (grants, owner, indexes,
constraints, comments, serial sequences ...) is carried; what the swap cannot carry refuses with one
line and changes nothing, or takes the insert path when configured.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from tests.strategies.loaders.postgres.database import query
from tests.strategies.loaders.postgres.test_loader import OLD, SCHEMA, items, loader, run_context, staging_left

pytestmark = [pytest.mark.integration, pytest.mark.spark]

NEW = [(7, "seven", dt.date(2025, 2, 1), 7.0), (8, "eight", dt.date(2025, 2, 2), 8.0)]
CREATE_ITEMS = "CREATE TABLE public.items (id bigint, name text, day date, amount double precision)"


@pytest.fixture
def roles(postgres_server: LocalPostgres) -> Iterator[tuple[str, str]]:
    """An owner role and a reader role, dropped after the test's database is gone."""
    import psycopg

    owner, reader = (f"swap_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("owner", "reader"))
    with psycopg.connect(postgres_server.conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {owner}")
        conn.execute(f"CREATE ROLE {reader}")
    yield owner, reader
    with psycopg.connect(postgres_server.conninfo, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {owner}")
        conn.execute(f"DROP ROLE IF EXISTS {reader}")


def catalog(db: LocalPostgres) -> dict[str, Any]:
    """What a swap must keep of public.items, read from the catalog."""
    return {
        "owner": query(db, "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'public.items'::regclass"),
        "acl": sorted(
            query(
                db,
                "SELECT pg_get_userbyid(a.grantee), a.privilege_type, a.is_grantable FROM pg_class c, "
                "aclexplode(c.relacl) a WHERE c.oid = 'public.items'::regclass",
            )
        ),
        "column_acl": query(
            db,
            "SELECT t.attname, pg_get_userbyid(a.grantee), a.privilege_type FROM pg_attribute t, "
            "aclexplode(t.attacl) a WHERE t.attrelid = 'public.items'::regclass",
        ),
        "indexes": sorted(
            query(db, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'items' AND schemaname = 'public'")
        ),
        "constraints": sorted(
            query(
                db,
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'public.items'::regclass",
            )
        ),
        "comments": query(
            db,
            "SELECT obj_description('public.items'::regclass, 'pg_class'), "
            "col_description('public.items'::regclass, 2), obj_description('public.items_day'::regclass, 'pg_class')",
        ),
        "defaults": query(
            db,
            "SELECT column_name, column_default, is_nullable FROM information_schema.columns "
            "WHERE table_name = 'items' ORDER BY ordinal_position",
        ),
        "serial": query(db, "SELECT pg_get_serial_sequence('public.items', 'id')"),
        "reloptions": query(db, "SELECT reloptions, relreplident FROM pg_class WHERE oid = 'public.items'::regclass"),
    }


def test_overwrite_swaps_and_carries_grants_indexes_constraints_comments_owner_and_the_sequence(
    spark: Any, roles: tuple[str, str], postgres_db: LocalPostgres
) -> None:
    owner, reader = roles
    for statement in (
        "CREATE TABLE public.parent (pid int PRIMARY KEY)",
        "INSERT INTO public.parent VALUES (1), (2)",
        "CREATE TABLE public.items (id bigserial PRIMARY KEY, name text NOT NULL DEFAULT 'x' CHECK (name <> ''), "
        "day date, amount double precision, pid int DEFAULT 1 REFERENCES public.parent) WITH (fillfactor = 90)",
        "CREATE UNIQUE INDEX items_name ON public.items (lower(name)) WHERE amount > 0",
        "CREATE INDEX items_day ON public.items (day)",
        "ALTER TABLE public.items REPLICA IDENTITY USING INDEX items_pkey",
        "COMMENT ON TABLE public.items IS 'the items'",
        "COMMENT ON COLUMN public.items.name IS 'its name'",
        "COMMENT ON INDEX public.items_day IS 'by day'",
        f"ALTER TABLE public.items OWNER TO {owner}",
        f"GRANT SELECT ON public.items TO {reader} WITH GRANT OPTION",
        f"GRANT UPDATE (amount) ON public.items TO {reader}",
        "INSERT INTO public.items (name, day, amount) VALUES ('a', '2025-01-01', 1), ('b', '2025-01-02', 2)",
    ):
        query(postgres_db, statement)
    before = catalog(postgres_db)
    old_oid = query(postgres_db, "SELECT 'public.items'::regclass::oid")

    frame = spark.createDataFrame([(n, d, a) for _, n, d, a in NEW], "name string, day date, amount double")
    result = loader(postgres_db, mode="overwrite").load(frame, run_context())

    assert (result.rows_written, result.detail["commit"]) == (2, "swap")
    assert query(postgres_db, "SELECT name, day, amount, pid FROM public.items ORDER BY day") == [
        ("seven", dt.date(2025, 2, 1), 7.0, 1),
        ("eight", dt.date(2025, 2, 2), 8.0, 1),
    ]
    assert query(postgres_db, "SELECT id FROM public.items ORDER BY id") == [(3,), (4,)]  # the serial went on
    assert query(postgres_db, "SELECT 'public.items'::regclass::oid") != old_oid  # really swapped, not rewritten
    assert catalog(postgres_db) == before
    assert query(postgres_db, "SELECT nextval(pg_get_serial_sequence('public.items', 'id'))") == [(5,)]
    assert staging_left(postgres_db) == []
    import psycopg

    with pytest.raises(psycopg.errors.ForeignKeyViolation):  # the outgoing foreign key is live
        query(postgres_db, "INSERT INTO public.items (name, pid) VALUES ('z', 9)")
    with pytest.raises(psycopg.errors.UniqueViolation):  # and the unique partial index
        query(postgres_db, "INSERT INTO public.items (name, amount) VALUES ('SEVEN', 1)")


def test_a_batch_breaking_a_carried_unique_index_fails_and_changes_nothing(
    spark: Any, postgres_db: LocalPostgres
) -> None:
    query(postgres_db, CREATE_ITEMS.replace("id bigint", "id bigint PRIMARY KEY"))
    query(postgres_db, "INSERT INTO public.items VALUES (1, 'one', '2025-01-01', 1)")
    twice = [NEW[0], NEW[0]]
    with pytest.raises(ValueError, match=r"the batch holds the same unique key more than once \(Key \(id\)=\(7\)"):
        loader(postgres_db, mode="overwrite").load(spark.createDataFrame(twice, SCHEMA), run_context())
    assert items(postgres_db) == [(1, "one", dt.date(2025, 1, 1), 1.0)]
    assert staging_left(postgres_db) == []


@pytest.mark.parametrize(
    ("blocker", "reason"),
    [
        ("CREATE VIEW public.items_view AS SELECT id, name FROM public.items", "view items_view depends on it"),
        (
            "CREATE TABLE public.child (item bigint REFERENCES public.items (id))",
            "foreign key child_item_fkey of child depends on it",
        ),
    ],
)
def test_overwrite_refuses_what_the_swap_would_break_and_changes_nothing(
    spark: Any, postgres_db: LocalPostgres, blocker: str, reason: str
) -> None:
    import psycopg

    query(postgres_db, CREATE_ITEMS.replace("id bigint", "id bigint PRIMARY KEY"))
    query(postgres_db, "INSERT INTO public.items VALUES (%s, %s, %s, %s), (%s, %s, %s, %s)", *OLD[0], *OLD[1])
    query(postgres_db, blocker)
    with pytest.raises(ValueError) as caught:
        loader(postgres_db, mode="overwrite").load(spark.createDataFrame(NEW, SCHEMA), run_context())
    assert str(caught.value) == (
        f"POSTGRES public.items: overwrite cannot swap the staged table in: {reason}; nothing was changed "
        '(set "on_swap_blocked": "insert" to overwrite with TRUNCATE + INSERT instead)'
    )
    assert items(postgres_db) == OLD[:2]
    assert staging_left(postgres_db) == []

    fallback = loader(postgres_db, mode="overwrite", on_swap_blocked="insert")
    if "foreign key" in reason:  # TRUNCATE refuses a referenced table as it always did
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="cannot truncate a table referenced"):
            fallback.load(spark.createDataFrame(NEW, SCHEMA), run_context())
        assert items(postgres_db) == OLD[:2]
        return
    result = fallback.load(spark.createDataFrame(NEW, SCHEMA), run_context())
    assert (result.rows_written, result.detail["commit"]) == (2, "insert")
    assert reason in result.detail["swap_skipped"]
    assert items(postgres_db) == NEW
    assert query(postgres_db, "SELECT count(*) FROM public.items_view") == [(2,)]


def test_a_blocker_that_appears_while_staging_is_caught_under_the_lock(spark: Any, postgres_db: LocalPostgres) -> None:
    query(postgres_db, CREATE_ITEMS)
    query(postgres_db, "INSERT INTO public.items VALUES (%s, %s, %s, %s)", *OLD[0])

    def add_view(batches: Any) -> Any:  # runs in the Spark task, after the driver checked the target
        import psycopg

        with psycopg.connect(postgres_db.conninfo, autocommit=True) as conn:
            conn.execute("CREATE VIEW public.late_view AS SELECT id FROM public.items")
        yield from batches

    frame = spark.createDataFrame(NEW, SCHEMA).coalesce(1).mapInArrow(add_view, SCHEMA)
    with pytest.raises(ValueError, match="view late_view depends on it; nothing was changed"):
        loader(postgres_db, mode="overwrite").load(frame, run_context())
    assert items(postgres_db) == OLD[:1]
    assert staging_left(postgres_db) == []


def test_append_into_a_new_or_empty_target_swaps_and_into_rows_inserts(spark: Any, postgres_db: LocalPostgres) -> None:
    append = loader(postgres_db, mode="append")
    first = append.load(spark.createDataFrame(OLD[:2], SCHEMA), run_context())  # creates the table
    second = append.load(spark.createDataFrame(OLD[2:], SCHEMA), run_context())
    assert (first.detail["commit"], second.detail["commit"]) == ("swap", "insert")
    assert second.detail["swap_skipped"] == "the target holds rows"
    assert items(postgres_db) == OLD

    query(postgres_db, "TRUNCATE public.items")
    query(postgres_db, "CREATE INDEX items_name ON public.items (name)")
    third = append.load(spark.createDataFrame(NEW, SCHEMA), run_context())
    assert (third.rows_written, third.detail["commit"]) == (2, "swap")
    assert items(postgres_db) == NEW
    assert query(postgres_db, "SELECT indexname FROM pg_indexes WHERE tablename = 'items'") == [("items_name",)]
    assert staging_left(postgres_db) == []


def test_replace_window_into_a_new_target_swaps_and_checks_the_window(spark: Any, postgres_db: LocalPostgres) -> None:
    window = run_context(dt.date(2025, 1, 1), dt.date(2025, 1, 3))
    replace = loader(postgres_db, mode="replace_window", window_column="day")
    with pytest.raises(ValueError, match=r"^2 row\(s\) have day outside the run window \[2025-01-01, 2025-01-03\)"):
        replace.load(spark.createDataFrame(OLD, SCHEMA), window)
    assert query(postgres_db, "SELECT to_regclass('public.items')") == [(None,)]
    result = replace.load(spark.createDataFrame(OLD[:2], SCHEMA), window)
    assert (result.rows_written, result.detail["commit"]) == (2, "swap")
    assert items(postgres_db) == OLD[:2]
    assert staging_left(postgres_db) == []


def test_merge_into_a_new_target_swaps_with_its_primary_key(spark: Any, postgres_db: LocalPostgres) -> None:
    merge = loader(postgres_db, mode="merge", keys=["id"])
    with pytest.raises(ValueError, match=r"the batch holds the same merge key more than once \(Key \(id\)=\(1\)"):
        merge.load(spark.createDataFrame([OLD[0], OLD[0]], SCHEMA), run_context())
    assert query(postgres_db, "SELECT to_regclass('public.items')") == [(None,)]
    result = merge.load(spark.createDataFrame(OLD, SCHEMA), run_context())
    assert (result.rows_written, result.detail["rows_changed"], result.detail["commit"]) == (4, 4, "swap")
    assert query(postgres_db, "SELECT contype FROM pg_constraint WHERE conrelid = 'public.items'::regclass") == [("p",)]
    again = merge.load(spark.createDataFrame([(1, "ONE", dt.date(2025, 1, 1), 1.0)], SCHEMA), run_context())
    assert (again.detail["commit"], again.detail["rows_changed"]) == ("insert", 1)
    assert items(postgres_db)[0] == (1, "ONE", dt.date(2025, 1, 1), 1.0)


def keyed_items(db: LocalPostgres, table: str, rows: list[tuple[Any, ...]]) -> None:
    """public.<table> with a primary key on id, an index on name, a comment and `rows`."""
    query(db, f"CREATE TABLE public.{table} (id bigint PRIMARY KEY, name text, day date, amount double precision)")
    query(db, f"CREATE INDEX {table}_name ON public.{table} (name)")
    query(db, f"COMMENT ON TABLE public.{table} IS 'kept'")
    for row in rows:
        query(db, f"INSERT INTO public.{table} VALUES (%s, %s, %s, %s)", *row)


def rows_of(db: LocalPostgres, table: str) -> list[tuple[Any, ...]]:
    """public.<table>'s rows, ordered by id (nulls last)."""
    return query(db, f"SELECT id, name, day, amount FROM public.{table} ORDER BY id NULLS LAST")


def test_merge_into_fewer_rows_than_the_batch_rewrites_and_ends_as_the_insert_path_does(
    spark: Any, postgres_db: LocalPostgres
) -> None:
    batch = [(2, "TWO", dt.date(2025, 1, 2), 22.0), (5, "five", dt.date(2025, 1, 5), 5.0), NEW[0]]
    for table in ("items", "blocked"):
        keyed_items(postgres_db, table, OLD[:2])
    query(postgres_db, "CREATE VIEW public.blocked_view AS SELECT id FROM public.blocked")  # the swap can't carry it
    results = {
        table: loader(postgres_db, mode="merge", keys=["id"], table=table).load(
            spark.createDataFrame(batch, SCHEMA), run_context()
        )
        for table in ("items", "blocked")
    }
    rewritten, inserted = results["items"], results["blocked"]
    assert (rewritten.detail["commit"], rewritten.detail["rows_kept"], rewritten.rows_written) == ("swap", 1, 3)
    assert (inserted.detail["commit"], inserted.detail["swap_skipped"]) == (
        "insert",
        "view blocked_view depends on it",
    )
    assert rows_of(postgres_db, "items") == rows_of(postgres_db, "blocked") == [OLD[0], batch[0], batch[1], NEW[0]]
    assert sorted(query(postgres_db, "SELECT indexname FROM pg_indexes WHERE tablename = 'items'")) == [
        ("items_name",),
        ("items_pkey",),
    ]
    assert query(postgres_db, "SELECT obj_description('public.items'::regclass, 'pg_class')") == [("kept",)]
    # the target now holds 4 rows: a batch of 1 is inserted (ON CONFLICT), not a rewrite of all 4
    small = loader(postgres_db, mode="merge", keys=["id"]).load(
        spark.createDataFrame([(1, "ONE", dt.date(2025, 1, 1), 1.0)], SCHEMA), run_context()
    )
    assert (small.detail["commit"], small.detail["swap_skipped"]) == (
        "insert",
        "the target holds more rows than the batch's 1 (a rewrite would copy them all)",
    )
    assert rows_of(postgres_db, "items")[0] == (1, "ONE", dt.date(2025, 1, 1), 1.0)
    assert staging_left(postgres_db) == []


def test_a_retried_merge_rewrite_leaves_the_rows_of_one_run(spark: Any, postgres_db: LocalPostgres) -> None:
    keyed_items(postgres_db, "items", OLD[:2])
    batch = [(2, "TWO", dt.date(2025, 1, 2), 22.0), NEW[0], NEW[1]]
    runs = [
        loader(postgres_db, mode="merge", keys=["id"]).load(spark.createDataFrame(batch, SCHEMA), run_context())
        for _ in range(2)
    ]
    # the retry finds 4 rows, more than its batch of 3, so it takes the insert path: same rows either way
    assert [(run.detail["commit"], run.detail.get("rows_kept")) for run in runs] == [("swap", 1), ("insert", None)]
    assert rows_of(postgres_db, "items") == [OLD[0], batch[0], *NEW[:2]]
    assert staging_left(postgres_db) == []


def test_merge_of_a_batch_without_every_column_inserts_and_keeps_the_others(
    spark: Any, postgres_db: LocalPostgres
) -> None:
    keyed_items(postgres_db, "items", OLD[:1])
    frame = spark.createDataFrame([(1, "ONE"), (9, "nine")], "id long, name string")
    result = loader(postgres_db, mode="merge", keys=["id"]).load(frame, run_context())
    assert (result.detail["commit"], result.detail["swap_skipped"]) == (
        "insert",
        "the batch has no column(s) day, amount, which the target's matched rows keep",
    )
    assert rows_of(postgres_db, "items") == [(1, "ONE", dt.date(2025, 1, 1), 1.0), (9, "nine", None, None)]


def test_merge_rewrite_with_a_key_twice_fails_and_changes_nothing(spark: Any, postgres_db: LocalPostgres) -> None:
    keyed_items(postgres_db, "items", OLD[:1])
    batch = [NEW[0], NEW[0], NEW[1]]
    with pytest.raises(ValueError, match=r"the batch holds the same merge key more than once \(Key \(id\)=\(7\)"):
        loader(postgres_db, mode="merge", keys=["id"]).load(spark.createDataFrame(batch, SCHEMA), run_context())
    assert rows_of(postgres_db, "items") == OLD[:1]
    assert staging_left(postgres_db) == []


def test_replace_window_into_fewer_rows_rewrites_keeping_rows_outside_the_window_and_null_days(
    spark: Any, postgres_db: LocalPostgres
) -> None:
    null_day = (9, "no day", None, 9.0)
    keyed_items(postgres_db, "items", [*OLD[:3], null_day])
    window = run_context(dt.date(2025, 1, 2), dt.date(2025, 1, 4))  # days 2 and 3
    batch = [(20 + n, f"in-{n}", dt.date(2025, 1, 2 + n % 2), float(n)) for n in range(5)]
    result = loader(postgres_db, mode="replace_window", window_column="day").load(
        spark.createDataFrame(batch, SCHEMA), window
    )
    assert (result.detail["commit"], result.detail["rows_kept"], result.detail["rows_deleted"]) == ("swap", 2, 2)
    assert result.rows_written == 5
    assert rows_of(postgres_db, "items") == [OLD[0], null_day, *batch]
    assert sorted(query(postgres_db, "SELECT indexname FROM pg_indexes WHERE tablename = 'items'")) == [
        ("items_name",),
        ("items_pkey",),
    ]
    with pytest.raises(ValueError, match=r"^1 row\(s\) have day outside the run window"):
        loader(postgres_db, mode="replace_window", window_column="day").load(
            spark.createDataFrame([*batch, (99, "out", dt.date(2025, 1, 9), 0.0)], SCHEMA), window
        )
    assert rows_of(postgres_db, "items") == [OLD[0], null_day, *batch]
    assert staging_left(postgres_db) == []


def test_column_types_binary_copy_cannot_reach_take_the_insert_path(spark: Any, postgres_db: LocalPostgres) -> None:
    query(postgres_db, "CREATE TABLE public.docs (id integer, doc jsonb)")
    frame = spark.createDataFrame([(1, '{"a": 1}')], "id long, doc string")
    result = loader(postgres_db, mode="overwrite", table="docs").load(frame, run_context())
    assert (result.detail["commit"], result.detail["swap_skipped"]) == (
        "insert",
        "column types differ from the staged ones: id, doc",
    )
    assert query(postgres_db, "SELECT id, doc FROM public.docs") == [(1, {"a": 1})]


def test_a_second_attempt_of_a_committed_partition_adds_nothing(postgres_db: LocalPostgres) -> None:
    import pyarrow as pa

    from dwh.retry import RetryPolicy
    from dwh.strategies.loaders.postgres.copy import StagingPlan, copy_partition

    prefix = "dwh_stage_" + "c" * 16
    query(postgres_db, f"CREATE TABLE public.{prefix}_s (id bigint, name text)")
    query(postgres_db, f"CREATE TABLE public.{prefix}_l (partition_id integer PRIMARY KEY, rows bigint NOT NULL)")
    kwargs = {
        "host": postgres_db.host,
        "port": postgres_db.port,
        "user": postgres_db.user,
        "dbname": postgres_db.dbname,
    }
    plan = StagingPlan(kwargs, "public", "", prefix, ("id", "name"), RetryPolicy(attempts=1), shared=True, target="t")

    def attempt(names: list[str]) -> int:
        batch = pa.RecordBatch.from_pydict({"id": list(range(len(names))), "name": names})
        (counts,) = list(copy_partition(iter([batch]), plan))  # outside Spark: partition 0
        return int(counts.column(1)[0].as_py())

    assert attempt(["a", "b", "c"]) == 3
    assert attempt(["x", "y"]) == 3  # a retry of partition 0 reports what committed and adds nothing
    assert query(postgres_db, f"SELECT name FROM public.{prefix}_s ORDER BY id") == [("a",), ("b",), ("c",)]
    assert query(postgres_db, f"SELECT partition_id, rows FROM public.{prefix}_l") == [(0, 3)]
