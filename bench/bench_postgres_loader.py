"""POSTGRES loader per write mode vs its non-atomic floor (spark_copy), Spark's JDBC writer and raw COPY.

    python -m bench.bench_postgres_loader --rows 2000000

Starts its own PostgreSQL (`dwh.devtools.local_postgres`) and a ``local[2]`` Spark session, writes
a deterministic Parquet file (id, name, day, amount, price, ts, flag; days in 2024), then runs
``--repeats`` rounds (default 5), the order of the contenders rotated each round. Each contender
gets a freshly created table, filled (untimed, then CHECKPOINT) with what its scenario needs, and
drops it after its run (so autovacuum of a merge's dead rows does not run during the next contender):

* ``overwrite``       loader mode overwrite into a table holding ``--old-rows`` rows (the swap);
                      ``jdbc_overwrite``: ``write.jdbc(mode="overwrite", truncate=true)`` into the same
* ``append_empty``    loader mode append into an empty table (the swap); ``jdbc_append`` the same
* ``append_rows``     loader mode append into a table holding ``--old-rows`` rows (the insert path)
* ``merge``           loader mode merge on ``id`` (primary key) into a table holding rows ``id < rows/2``
                      with other values: half the batch updates, half inserts (fewer rows than the
                      batch: the rewrite and swap, `postgres.rewrite`)
* ``replace_window``  loader mode replace_window of 2024 into a table holding ``--old-rows`` rows of 2023
                      (a window the target does not hold yet; its rows are kept: the rewrite and swap)
* ``spark_copy``      the floor, not atomic: every Spark task COPYs its partition straight into an empty
                      table and commits on its own (a killed run leaves part of the rows)
* ``spark_copy_keyed`` the same into an empty table with a primary key on ``id`` (the floor of a load into
                      a keyed table, what merge's target is; each task's keys ascend, index inserts' best case)
* ``spark_floor``     writes nothing: Spark scans the file and hands it to Python as Arrow
* ``raw_copy``        no Spark: pyarrow reads the file, one psycopg binary COPY into an empty table
* ``merge_on_conflict_sql`` / ``merge_merge_sql``  the merge statement alone, on 2M rows staged once in
                      an UNLOGGED table into the merge scenario's target: INSERT ... ON CONFLICT DO UPDATE
                      (what the loader runs) vs PostgreSQL 15 ``MERGE`` (`sql.merge_rows`)

Every contender first runs once untimed on ``--warm-rows`` rows (default a quarter of ``--rows``) so
the JVM has compiled its hot paths. Prints medians, every ratio against its goal (loader / spark_copy
>= 0.9x for overwrite and append into an empty table, >= 0.75x for merge and replace_window; loader vs
JDBC >= 3x for overwrite and append) and the machine's load average, and writes
``bench/.results/postgres_loader.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / ".results"
COLUMNS = (
    "id bigint{key}, name text, day date, amount double precision, price numeric(12, 2), "
    "ts timestamp with time zone, flag boolean"
)
TABLE_SQL = "CREATE {unlogged}TABLE public.{name} (" + COLUMNS + ")"
#: Rows of another shape, generated in SQL: id, name, day (+ offset days from 2024-01-01), ...
FILL_SQL = (
    "INSERT INTO public.{name} SELECT i, 'old ' || i, DATE '2024-01-01' + {day}, i * 0.5, (i % 1000)::numeric, "
    "to_timestamp(i), i % 2 = 0 FROM generate_series({start}, {stop} - 1) i"
)
#: ratio name -> goal (loader vs spark_copy is spark_copy's median / the loader's, so higher is better)
GOALS = {
    "overwrite_vs_spark_copy": 0.9,
    "append_empty_vs_spark_copy": 0.9,
    "merge_vs_spark_copy": 0.75,
    "replace_window_vs_spark_copy": 0.75,
    "overwrite_vs_jdbc": 3.0,
    "append_empty_vs_jdbc": 3.0,
}
MODES = ("overwrite", "append_empty", "append_rows", "merge", "replace_window")


@dataclass(frozen=True)
class Contender:
    """One timed run: ``prepare`` (untimed) builds its table, ``run`` loads the file, ``rows`` it must hold."""

    prepare: Callable[[str, int], None]
    run: Callable[[Path, str], None]
    rows: Callable[[int], int] | None  # from the file's rows; None: writes nothing to check


def make_parquet(path: Path, rows: int) -> None:
    """A deterministic Parquet file of `rows` rows in row groups of 250,000 (so Spark can split it)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    for start in range(0, rows, 250_000):
        ids = np.arange(start, min(start + 250_000, rows), dtype=np.int64)
        batch = pa.table(
            {
                "id": ids,
                "name": pa.array([f"item {i} \u00fcn\u00ef \u20ac" for i in ids.tolist()]),
                "day": pa.array(np.datetime64("2024-01-01", "D") + (ids % 365).astype("timedelta64[D]")),
                "amount": ids * 0.25,
                "price": pa.array((ids % 100_000).astype(np.int32)).cast(pa.decimal128(12, 2)),
                "ts": pa.array(ids * 1_000_000, pa.timestamp("us", tz="UTC")),
                "flag": pa.array(ids % 3 == 0),
            }
        )
        writer = writer or pq.ParquetWriter(path, batch.schema)
        writer.write_table(batch)
    if writer is not None:
        writer.close()


def raw_copy(path: Path, conninfo: str, table: str) -> None:
    """Read the Parquet file with pyarrow and stream it through one binary COPY into the table, no Spark."""
    import psycopg
    import pyarrow.parquet as pq

    from dwh.strategies.loaders.postgres.binary import HEADER, TRAILER, encode_batch

    with psycopg.connect(conninfo) as conn:
        cursor = conn.cursor()
        with cursor.copy(f"COPY public.{table} FROM STDIN (FORMAT binary)") as copy:
            copy.write(HEADER)
            for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
                copy.write(encode_batch(batch))
            copy.write(TRAILER)
        conn.commit()


def contenders(spark: Any, server: Any, old_rows: int) -> dict[str, Contender]:
    """name -> how to prepare its table and load a Parquet file into it."""
    import datetime as dt

    from dwh.platforms.context import RunContext
    from dwh.platforms.detect import ServiceProvider
    from dwh.strategies.loaders.postgres import PostgresLoader

    context = RunContext(
        job_name="bench",
        service_provider=ServiceProvider.LOCAL,
        run_ids={"run_id": "bench"},
        start_date=dt.date(2024, 1, 1),
        end_date=dt.date(2025, 1, 1),
    )

    def loader(label: str, mode: str, **extra: Any) -> Callable[[Path, str], None]:
        def run(path: Path, table: str) -> None:
            block = {
                "strategy": "POSTGRES",
                "jdbc_url": server.jdbc_url,
                "properties": {"user": server.user},
                "table": f"public.{table}",
                "mode": mode,
                **extra,
            }
            result = PostgresLoader.model_validate(block).load(spark.read.parquet(str(path)), context)
            COMMITS[label] = result.detail.get("commit", "?")

        return run

    def jdbc(mode: str) -> Callable[[Path, str], None]:
        def run(path: Path, table: str) -> None:
            properties = {"user": server.user, "driver": "org.postgresql.Driver", "batchsize": "10000"}
            if mode == "overwrite":
                properties["truncate"] = "true"
            spark.read.parquet(str(path)).write.jdbc(server.jdbc_url, f"public.{table}", mode, properties)

        return run

    def spark_copy(path: Path, table: str) -> None:
        conninfo = server.conninfo

        def copy_straight(batches: Any) -> Any:
            return _copy_partition_straight(batches, conninfo, table)

        spark.read.parquet(str(path)).mapInArrow(copy_straight, "rows long").collect()

    def spark_floor(path: Path, table: str) -> None:
        spark.read.parquet(str(path)).mapInArrow(_count_rows, "rows long").collect()

    def table(old: int | Callable[[int], int] = 0, day: int = 0, key: bool = False) -> Callable[[str, int], None]:
        return lambda name, rows: fresh_table(server, name, old(rows) if callable(old) else old, day, key)

    def merge_old(rows: int) -> int:
        return rows // 2

    return {
        "overwrite": Contender(table(old_rows), loader("overwrite", "overwrite"), lambda rows: rows),
        "jdbc_overwrite": Contender(table(old_rows), jdbc("overwrite"), lambda rows: rows),
        "append_empty": Contender(table(), loader("append_empty", "append"), lambda rows: rows),
        "jdbc_append": Contender(table(), jdbc("append"), lambda rows: rows),
        "append_rows": Contender(table(old_rows), loader("append_rows", "append"), lambda rows: rows + old_rows),
        "merge": Contender(table(merge_old, key=True), loader("merge", "merge", keys=["id"]), lambda rows: rows),
        "replace_window": Contender(
            table(old_rows, day=-365),
            loader("replace_window", "replace_window", window_column="day"),
            lambda rows: rows + old_rows,
        ),
        "spark_copy": Contender(table(), spark_copy, lambda rows: rows),
        "spark_copy_keyed": Contender(table(key=True), spark_copy, lambda rows: rows),
        "spark_floor": Contender(lambda name, rows: None, spark_floor, None),
        "raw_copy": Contender(table(), lambda path, name: raw_copy(path, server.conninfo, name), lambda rows: rows),
        "merge_on_conflict_sql": Contender(table(merge_old, key=True), merge_sql(server, "on_conflict"), lambda r: r),
        "merge_merge_sql": Contender(table(merge_old, key=True), merge_sql(server, "merge"), lambda r: r),
    }


#: contender -> the commit path the loader took in its last run (printed with the figures)
COMMITS: dict[str, str] = {}


def merge_sql(server: Any, statement: str) -> Callable[[Path, str], None]:
    """Run one merge statement from the staged copy of the file (``bench_merge_source``) into the table."""

    def run(path: Path, table: str) -> None:
        import psycopg

        from dwh.strategies.loaders.postgres import sql as q

        columns = ["id", "name", "day", "amount", "price", "ts", "flag"]
        source = q.staged_rows("public", [f"bench_merge_source_{_size(path)}"], columns)
        target = q.qualified("public", table)
        if statement == "merge":
            query = q.merge_rows(target, columns, source, ["id"])
        else:
            query = q.insert_rows(target, columns, source, merge_keys=["id"])
        with psycopg.connect(server.conninfo) as conn:
            conn.execute(query)
            conn.commit()

    return run


def _size(path: Path) -> str:
    return path.stem.replace("-", "_")


def stage_merge_sources(server: Any, paths: list[Path]) -> None:
    """Each file once in an UNLOGGED table, the source of the merge_*_sql contenders."""
    for path in paths:
        name = f"bench_merge_source_{_size(path)}"
        fresh_table(server, name, 0, 0, False, unlogged=True)
        raw_copy(path, server.conninfo, name)


def fresh_table(server: Any, table: str, old: int, day: int, key: bool, *, unlogged: bool = False) -> None:
    """Drop and create the table, fill it with `old` rows (days from 2024-01-01 + `day`), then checkpoint."""
    import psycopg

    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS public.{table}")
        conn.execute(
            TABLE_SQL.format(name=table, key=" PRIMARY KEY" if key else "", unlogged="UNLOGGED " if unlogged else "")
        )
        if old:
            day_expr = f"({day} + i % 365)"
            conn.execute(FILL_SQL.format(name=table, day=day_expr, start=0, stop=old))
            conn.execute(f"VACUUM ANALYZE public.{table}")
        conn.execute("CHECKPOINT")


def run_rounds(runs: dict[str, Contender], server: Any, path: Path, rows: int, repeats: int) -> dict[str, list[float]]:
    """Alternate the contenders (order rotated per round); each run gets a freshly prepared table."""
    names = list(runs)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(repeats):
        order = names[round_index % len(names) :] + names[: round_index % len(names)]
        for name in order:
            seconds[name].append(run_one(runs[name], server, name, path, rows))
            print(f"  round {round_index + 1} {name:<22} {seconds[name][-1]:7.2f} s", flush=True)
    return seconds


def run_one(contender: Contender, server: Any, name: str, path: Path, rows: int) -> float:
    """Prepare, time the run, check the rows."""
    table = f"bench_{name}"
    contender.prepare(table, rows)
    started = time.perf_counter()
    contender.run(path, table)
    elapsed = time.perf_counter() - started
    if contender.rows is not None:
        check_rows(server, name, table, contender.rows(rows))
    import psycopg

    with psycopg.connect(server.conninfo, autocommit=True) as conn:  # no autovacuum of it during the next run
        conn.execute(f"DROP TABLE IF EXISTS public.{table}")
    return elapsed


def _copy_partition_straight(batches: Any, conninfo: str, table: str) -> Any:
    """Executor side of ``spark_copy``: one binary COPY of this partition into the table, committed alone."""
    import psycopg
    import pyarrow as pa

    from dwh.strategies.loaders.postgres.binary import HEADER, TRAILER, encode_batch

    rows = 0
    with psycopg.connect(conninfo) as conn:
        with conn.cursor().copy(f"COPY public.{table} FROM STDIN (FORMAT binary)") as copy:
            copy.write(HEADER)
            for batch in batches:
                copy.write(encode_batch(batch))
                rows += batch.num_rows
            copy.write(TRAILER)
        conn.commit()
    yield pa.RecordBatch.from_pydict({"rows": [rows]}, schema=pa.schema([("rows", pa.int64())]))


def _count_rows(batches: Any) -> Any:
    """Executor side of ``spark_floor``: consume the Arrow batches, yield one row with their row count."""
    import pyarrow as pa

    rows = sum(batch.num_rows for batch in batches)
    yield pa.RecordBatch.from_pydict({"rows": [rows]}, schema=pa.schema([("rows", pa.int64())]))


def check_rows(server: Any, name: str, table: str, rows: int) -> None:
    """A contender that wrote the wrong number of rows invalidates the run."""
    import psycopg

    with psycopg.connect(server.conninfo) as conn:
        count = conn.execute(f"SELECT count(*) FROM public.{table}").fetchone()
    if count is None or count[0] != rows:
        raise RuntimeError(f"{name} wrote {count} rows, expected {rows}")


def report(seconds: dict[str, list[float]], rows: int, load: str) -> dict[str, Any]:
    """Print the table and every ratio against its goal; return the JSON result."""
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    ratios = {f"{mode}_vs_spark_copy": medians["spark_copy"] / medians[mode] for mode in MODES}
    ratios.update(
        overwrite_vs_jdbc=medians["jdbc_overwrite"] / medians["overwrite"],
        append_empty_vs_jdbc=medians["jdbc_append"] / medians["append_empty"],
        append_empty_vs_raw_copy=medians["raw_copy"] / medians["append_empty"],
        spark_copy_vs_raw_copy=medians["raw_copy"] / medians["spark_copy"],
        spark_floor_vs_raw_copy=medians["raw_copy"] / medians["spark_floor"],
        merge_vs_spark_copy_keyed=medians["spark_copy_keyed"] / medians["merge"],
        merge_sql_on_conflict_vs_merge=medians["merge_merge_sql"] / medians["merge_on_conflict_sql"],
    )
    print(f"\n{'contender':<22} {'median s':>9} {'rows/s':>11}   runs")
    for name, median in medians.items():
        runs = ", ".join(f"{value:.2f}" for value in seconds[name])
        print(f"{name:<22} {median:9.2f} {rows / median:11,.0f}   {runs}")
    for name, value in ratios.items():
        goal = (
            f"(goal >= {GOALS[name]}x: {'met' if value >= GOALS[name] else 'NOT met'})"
            if name in GOALS
            else "(reference)"
        )
        print(f"{name:<32} {value:5.2f}x   {goal}")
    print(f"loader commit paths: {COMMITS}; load average during the run: {load}")
    return {
        "rows": rows,
        "seconds": seconds,
        "medians": medians,
        "ratios": ratios,
        "goals": GOALS,
        "commits": dict(COMMITS),
        "load_average": load,
    }


def load_average() -> str:
    """``uptime``'s three load averages (the machine may be shared)."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0 (the figures are the result, goals are reported, not enforced)."""
    parser = argparse.ArgumentParser(prog="bench_postgres_loader", description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--old-rows", type=int, default=100_000, help="rows the overwrite/append/window targets hold")
    parser.add_argument("--warm-rows", type=int, default=None, help="rows of the untimed warm-up (default rows/4)")
    parser.add_argument("--only", action="append", default=[], help="run only these contenders (repeatable)")
    args = parser.parse_args(argv)
    os.environ["DWH_SPARK_MASTER"] = "local[2]"
    from dwh.devtools.local_postgres import start_local_postgres
    from dwh.platforms.spark import local_session_builder

    work = Path(tempfile.mkdtemp(prefix="dwh-bench-pg-"))
    work.chmod(0o755)
    server = start_local_postgres(work / "pgdata")
    spark = local_session_builder("bench-postgres-loader").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        path, small = work / "data.parquet", work / "warm-up.parquet"
        warm_rows = args.warm_rows if args.warm_rows is not None else max(args.rows // 4, 1)
        make_parquet(path, args.rows)
        make_parquet(small, warm_rows)
        stage_merge_sources(server, [path, small])
        print(f"{args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB Parquet, local[2], load {load_average()}")
        runs = contenders(spark, server, args.old_rows)
        if args.only:
            runs = {name: runs[name] for name in args.only}
        for name, contender in runs.items():  # warm-up: JVM, JIT and Python workers start warm
            run_one(contender, server, name, small, warm_rows)
        seconds = run_rounds(runs, server, path, args.rows, args.repeats)
        load = load_average()
        result = report(seconds, args.rows, load) if not args.only else {"seconds": seconds, "load_average": load}
        if args.only:
            for name, values in seconds.items():
                print(f"{name:<22} median {statistics.median(values):7.2f} s   {', '.join(f'{v:.2f}' for v in values)}")
    finally:
        spark.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    if not args.only:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "postgres_loader.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
