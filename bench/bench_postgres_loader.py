"""POSTGRES loader vs Spark's JDBC writer vs raw psycopg COPY, same Parquet file, same empty table.

    python -m bench.bench_postgres_loader --rows 2000000

Starts its own PostgreSQL (`dwh.devtools.local_postgres`) and a ``local[2]`` Spark session, writes
a deterministic Parquet file (id, name, day, amount, price, ts, flag), then alternates the three
contenders for ``--repeats`` rounds (order rotated each round), each into a freshly created empty
table with identical columns:

* ``loader``   - `PostgresLoader` mode append (COPY per partition into staging + one INSERT)
* ``jdbc``     - ``DataFrame.write.jdbc`` with ``batchsize=10000``
* ``raw_copy`` - pyarrow reads the file, one psycopg ``COPY ... (FORMAT binary)`` stream straight into
  the table (the loader's own encoder, so the ratio is the price of Spark + staging + atomicity)
* ``raw_copy_csv`` - the common recipe, for reference: pyarrow ``write_csv`` per batch + ``COPY (FORMAT csv)``
* ``spark_copy`` - reference, not atomic: every Spark task COPYs its partition straight into the
  table and commits on its own (a killed run leaves part of the rows); the loader minus this is
  the price of staging + one final transaction
* ``spark_floor`` - reference, writes nothing: Spark scans the file and hands it to Python as Arrow
  (``mapInArrow``), the part every Spark-fed loader pays before it talks to the database

Every contender first runs once untimed on ``--warm-rows`` rows (default a quarter of ``--rows``) so
the JVM has compiled its hot paths; a cold first run would otherwise cost the Spark contenders ~2x.

Prints medians and the ratios (goals: loader >= 3x JDBC, loader >= 0.7x raw COPY) and writes them
to ``bench/.results/postgres_loader.json``.
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
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / ".results"
TABLE_SQL = (
    "CREATE TABLE public.{name} (id bigint, name text, day date, amount double precision, "
    "price numeric(12, 2), ts timestamp with time zone, flag boolean)"
)
GOALS = {"loader_vs_jdbc": 3.0, "loader_vs_raw_copy": 0.7}
#: Contenders that write nothing (their row count is not checked).
REFERENCE_ONLY = {"spark_floor"}


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


def raw_copy_csv(path: Path, conninfo: str, table: str) -> None:
    """The usual hand-written path: pyarrow renders CSV, one COPY (FORMAT csv) into the table."""
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    with psycopg.connect(conninfo) as conn:
        with conn.cursor().copy(f"COPY public.{table} FROM STDIN (FORMAT csv)") as copy:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
                sink = pa.BufferOutputStream()
                pacsv.write_csv(batch, sink, pacsv.WriteOptions(include_header=False))
                copy.write(memoryview(sink.getvalue()))
        conn.commit()


def contenders(spark: Any, server: Any) -> dict[str, Callable[[Path, str], None]]:
    """name -> a function loading a Parquet file into the given empty table."""
    from dwh.platforms.context import RunContext
    from dwh.platforms.detect import ServiceProvider
    from dwh.strategies.loaders.postgres import PostgresLoader

    context = RunContext(job_name="bench", service_provider=ServiceProvider.LOCAL, run_ids={"run_id": "bench"})

    def loader(path: Path, table: str) -> None:
        block = {
            "strategy": "POSTGRES",
            "jdbc_url": server.jdbc_url,
            "properties": {"user": server.user},
            "table": f"public.{table}",
            "mode": "append",
        }
        PostgresLoader.model_validate(block).load(spark.read.parquet(str(path)), context)

    def jdbc(path: Path, table: str) -> None:
        properties = {"user": server.user, "driver": "org.postgresql.Driver", "batchsize": "10000"}
        spark.read.parquet(str(path)).write.jdbc(server.jdbc_url, f"public.{table}", "append", properties)

    def spark_floor(path: Path, table: str) -> None:
        spark.read.parquet(str(path)).mapInArrow(_count_rows, "rows long").collect()

    def spark_copy(path: Path, table: str) -> None:
        conninfo = server.conninfo

        def copy_straight(batches: Any) -> Any:
            return _copy_partition_straight(batches, conninfo, table)

        spark.read.parquet(str(path)).mapInArrow(copy_straight, "rows long").collect()

    return {
        "loader": loader,
        "jdbc": jdbc,
        "spark_copy": spark_copy,
        "spark_floor": spark_floor,
        "raw_copy": lambda path, table: raw_copy(path, server.conninfo, table),
        "raw_copy_csv": lambda path, table: raw_copy_csv(path, server.conninfo, table),
    }


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


def fresh_table(server: Any, table: str) -> None:
    """Drop and create the contender's empty table, then checkpoint so no run pays for another's writes."""
    import psycopg

    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS public.{table}")
        conn.execute(TABLE_SQL.format(name=table))
        conn.execute("CHECKPOINT")


def run_rounds(
    runs: dict[str, Callable[[Path, str], None]], server: Any, path: Path, rows: int, repeats: int
) -> dict[str, list[float]]:
    """Alternate the contenders (order rotated per round); each run gets a fresh empty table."""
    names = list(runs)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(repeats):
        order = names[round_index % len(names) :] + names[: round_index % len(names)]
        for name in order:
            table = f"bench_{name}"
            fresh_table(server, table)
            started = time.perf_counter()
            runs[name](path, table)
            seconds[name].append(time.perf_counter() - started)
            if name not in REFERENCE_ONLY:
                check_rows(server, name, table, rows)
            print(f"  round {round_index + 1} {name:<12} {seconds[name][-1]:7.2f} s", flush=True)
    return seconds


def check_rows(server: Any, name: str, table: str, rows: int) -> None:
    """A contender that wrote the wrong number of rows invalidates the run."""
    import psycopg

    with psycopg.connect(server.conninfo) as conn:
        count = conn.execute(f"SELECT count(*) FROM public.{table}").fetchone()
    if count is None or count[0] != rows:
        raise RuntimeError(f"{name} wrote {count} rows, expected {rows}")


def warm_up(runs: dict[str, Callable[[Path, str], None]], server: Any, path: Path) -> None:
    """One untimed run of each contender: JVM, JIT and Python workers start warm."""
    for name, run in runs.items():
        fresh_table(server, f"bench_{name}")
        run(path, f"bench_{name}")


def report(seconds: dict[str, list[float]], rows: int) -> dict[str, Any]:
    """Print the table and return the JSON result."""
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    ratios = {
        "loader_vs_jdbc": medians["jdbc"] / medians["loader"],
        "loader_vs_raw_copy": medians["raw_copy"] / medians["loader"],
        "loader_vs_raw_copy_csv": medians["raw_copy_csv"] / medians["loader"],
        "loader_vs_spark_copy": medians["spark_copy"] / medians["loader"],
        "spark_copy_vs_raw_copy": medians["raw_copy"] / medians["spark_copy"],
        "spark_floor_vs_raw_copy": medians["raw_copy"] / medians["spark_floor"],
    }
    print(f"\n{'contender':<13} {'median s':>9} {'rows/s':>11}   runs")
    for name, median in medians.items():
        runs = ", ".join(f"{value:.2f}" for value in seconds[name])
        print(f"{name:<13} {median:9.2f} {rows / median:11,.0f}   {runs}")
    for name, value in ratios.items():
        goal = (
            f"(goal >= {GOALS[name]}x: {'met' if value >= GOALS[name] else 'NOT met'})"
            if name in GOALS
            else "(reference)"
        )
        print(f"{name:<24} {value:5.2f}x   {goal}")
    return {"rows": rows, "seconds": seconds, "medians": medians, "ratios": ratios, "goals": GOALS}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0 (the figures are the result, goals are reported, not enforced)."""
    parser = argparse.ArgumentParser(prog="bench_postgres_loader", description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warm-rows", type=int, default=None, help="rows of the untimed warm-up (default rows/4)")
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
        make_parquet(path, args.rows)
        make_parquet(small, args.warm_rows if args.warm_rows is not None else max(args.rows // 4, 1))
        print(f"{args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB Parquet, local[2]", flush=True)
        runs = contenders(spark, server)
        warm_up(runs, server, small)
        seconds = run_rounds(runs, server, path, args.rows, args.repeats)
        result = report(seconds, args.rows)
    finally:
        spark.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "postgres_loader.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
