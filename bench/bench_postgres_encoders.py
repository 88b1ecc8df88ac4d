"""Staging one Spark partition into PostgreSQL: our numpy encoder vs pgpq vs ADBC's ``adbc_ingest``.

    python -m bench.bench_postgres_encoders --rows 2000000

The same Arrow record batches a Spark task receives from ``mapInArrow`` (10,000-row batches, the
schema of `bench.bench_postgres_loader`: id bigint, name text, day date, amount double, price
decimal(12, 2), ts timestamp UTC, flag boolean) are split into ``--partitions`` partitions (default 2)
and each partition is staged the way `copy.copy_partition` does it: connect, one transaction that
drops and re-creates the partition's UNLOGGED table from a template, COPYs the batches, commits.

* ``ours`` - `binary.encode_batch` (numpy) + psycopg ``COPY ... (FORMAT binary, FREEZE)``, queued writer
* ``pgpq`` - pgpq's ``ArrowToPostgresBinaryEncoder`` (Rust) + the same psycopg COPY
* ``adbc`` - adbc-driver-postgresql (C++): ``cursor.adbc_ingest(mode="append")`` into the table just
  created in the same ADBC transaction (ADBC's COPY cannot ask for FREEZE)
* ``encode_ours`` / ``encode_pgpq`` - encoding only, the bytes thrown away (no database)

``--repeats`` rounds (default 5), the order rotated each round; a partition's time is one sample, so a
median is over repeats x partitions samples. Before timing, one untimed round also checks that the
three staged tables hold the same rows (an md5 over every row's text). Prints medians and ratios and
writes ``bench/.results/postgres_encoders.json``; the machine's load average goes with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / ".results"
BATCH_ROWS = 10_000
TEMPLATE_SQL = (
    "CREATE UNLOGGED TABLE public.bench_template (id bigint, name text, day date, amount double precision, "
    "price numeric(12, 2), ts timestamp with time zone, flag boolean)"
)
COLUMNS = ("id", "name", "day", "amount", "price", "ts", "flag")
#: A staging function: (server, table, batches) -> rows staged.
Stager = Callable[[Any, str, list[Any]], int]


def make_partitions(work: Path, rows: int, partitions: int) -> list[list[Any]]:
    """The bench rows as 10k-row Arrow batches, split into `partitions` contiguous partitions."""
    import pyarrow.parquet as pq

    from bench.bench_postgres_loader import make_parquet

    path = work / "data.parquet"
    make_parquet(path, rows)
    batches = list(pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS))
    size = -(-len(batches) // partitions)
    return [batches[start : start + size] for start in range(0, len(batches), size)]


def _psycopg_stage(server: Any, table: str, batches: list[Any], encoder: Callable[[Any], Any]) -> int:
    """copy.copy_partition's transaction with a pluggable encoder: (header, [batch bytes], trailer)."""
    import psycopg
    from psycopg.copy import QueuedLibpqWriter

    header, encode, trailer = encoder(batches[0].schema)
    rows = 0
    with psycopg.connect(server.conninfo) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("SET LOCAL synchronous_commit = off")
        conn.execute(f"DROP TABLE IF EXISTS public.{table}")
        conn.execute(f"CREATE UNLOGGED TABLE public.{table} (LIKE public.bench_template)")
        cursor = conn.cursor()
        statement = f"COPY public.{table} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT binary, FREEZE true)"
        with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
            copy.write(header)
            for batch in batches:
                copy.write(encode(batch))
                rows += batch.num_rows
            copy.write(trailer())
        conn.commit()
    return rows


def ours_encoder(schema: Any) -> tuple[bytes, Callable[[Any], Any], Callable[[], bytes]]:
    """Our numpy encoder behind the (header, encode, trailer) triple."""
    from dwh.strategies.loaders.postgres.binary import HEADER, TRAILER, encode_batch

    return HEADER, encode_batch, lambda: TRAILER


def pgpq_encoder(schema: Any) -> tuple[bytes, Callable[[Any], Any], Callable[[], bytes]]:
    """pgpq's encoder (one per stream: it checks header -> batches -> finish)."""
    from pgpq import ArrowToPostgresBinaryEncoder

    encoder = ArrowToPostgresBinaryEncoder(schema)
    return encoder.write_header(), encoder.write_batch, encoder.finish


def stage_ours(server: Any, table: str, batches: list[Any]) -> int:
    """(a) numpy encoder + psycopg binary COPY (what copy.py does today)."""
    return _psycopg_stage(server, table, batches, ours_encoder)


def stage_pgpq(server: Any, table: str, batches: list[Any]) -> int:
    """(b) pgpq encoder + psycopg binary COPY."""
    return _psycopg_stage(server, table, batches, pgpq_encoder)


def stage_adbc(server: Any, table: str, batches: list[Any]) -> int:
    """(c) ADBC: the same transaction on an ADBC connection, ``adbc_ingest`` append into the new table."""
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa

    reader = pa.RecordBatchReader.from_batches(batches[0].schema, iter(batches))
    with adbc.connect(server.conninfo) as conn:
        with conn.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute(f"DROP TABLE IF EXISTS public.{table}")
            cursor.execute(f"CREATE UNLOGGED TABLE public.{table} (LIKE public.bench_template)")
            rows = cursor.adbc_ingest(table, reader, mode="append", db_schema_name="public")
        conn.commit()
    return int(rows)


def encode_only(encoder: Callable[[Any], tuple[bytes, Callable[[Any], Any], Callable[[], bytes]]]) -> Stager:
    """A contender that encodes a partition and throws the bytes away; returns the rows encoded."""

    def run(server: Any, table: str, batches: list[Any]) -> int:
        header, encode, trailer = encoder(batches[0].schema)
        size = len(header)
        for batch in batches:
            size += len(encode(batch))
        size += len(trailer())
        return sum(batch.num_rows for batch in batches) if size else 0

    return run


CONTENDERS: dict[str, Stager] = {
    "ours": stage_ours,
    "pgpq": stage_pgpq,
    "adbc": stage_adbc,
    "encode_ours": encode_only(ours_encoder),
    "encode_pgpq": encode_only(pgpq_encoder),
}
STAGERS = ("ours", "pgpq", "adbc")


def table_digest(server: Any, table: str) -> tuple[int, str]:
    """Row count and md5 of every row's text in id order: equal digests mean equal staged rows."""
    import psycopg

    with psycopg.connect(server.conninfo) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        row = conn.execute(
            f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t.id)) FROM public.{table} t"
        ).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def check_same_rows(server: Any, partitions: list[list[Any]]) -> None:
    """Untimed round: every stager stages partition 0; the staged rows must be identical."""
    digests = {}
    for name in STAGERS:
        table = f"stage_{name}_p0"
        CONTENDERS[name](server, table, partitions[0])
        digests[name] = table_digest(server, table)
    expected = sum(batch.num_rows for batch in partitions[0])
    if len(set(digests.values())) != 1 or digests["ours"][0] != expected:
        raise RuntimeError(f"stagers disagree on partition 0 ({expected} rows): {digests}")
    print(f"check: the three stagers staged the same {expected:,} rows (md5 {digests['ours'][1][:12]})", flush=True)


def run_rounds(server: Any, partitions: list[list[Any]], repeats: int) -> dict[str, list[float]]:
    """Alternate the contenders (order rotated each round); one sample per partition per round."""
    import psycopg

    names = list(CONTENDERS)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            for index, batches in enumerate(partitions):
                table = f"stage_{name}_p{index}"
                started = time.perf_counter()
                rows = CONTENDERS[name](server, table, batches)
                seconds[name].append(time.perf_counter() - started)
                if rows != sum(batch.num_rows for batch in batches):
                    raise RuntimeError(f"{name} staged {rows} rows into {table}")
            with psycopg.connect(server.conninfo, autocommit=True) as conn:
                conn.execute("CHECKPOINT")  # no contender pays for another's dirty pages
            times = ", ".join(f"{value:.2f}" for value in seconds[name][-len(partitions) :])
            print(f"  round {round_index + 1} {name:<12} {times} s", flush=True)
    return seconds


def report(seconds: dict[str, list[float]], rows: int, partitions: int, load: str) -> dict[str, Any]:
    """Print medians per partition and the ratios; return the JSON result."""
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    ratios = {
        "pgpq_vs_ours": medians["ours"] / medians["pgpq"],
        "adbc_vs_ours": medians["ours"] / medians["adbc"],
        "adbc_vs_pgpq": medians["pgpq"] / medians["adbc"],
        "encode_pgpq_vs_ours": medians["encode_ours"] / medians["encode_pgpq"],
        "encode_share_ours": medians["encode_ours"] / medians["ours"],
        "encode_share_pgpq": medians["encode_pgpq"] / medians["pgpq"],
    }
    per_partition = rows // partitions
    print(f"\nper partition ({per_partition:,} rows, {per_partition // BATCH_ROWS} batches); load: {load}")
    print(f"{'contender':<12} {'median s':>9} {'rows/s':>11}   samples")
    for name, median in medians.items():
        samples = ", ".join(f"{value:.2f}" for value in seconds[name])
        print(f"{name:<12} {median:9.3f} {per_partition / median:11,.0f}   {samples}")
    for name, value in ratios.items():
        print(f"{name:<20} {value:5.2f}x" if "share" not in name else f"{name:<20} {value:5.0%}")
    return {
        "rows": rows,
        "partitions": partitions,
        "batch_rows": BATCH_ROWS,
        "load_average": load,
        "versions": _versions(),
        "seconds": seconds,
        "medians": medians,
        "ratios": ratios,
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("pyarrow", "numpy", "psycopg", "pgpq", "adbc-driver-postgresql")
    return {name: version(name) for name in names}


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0 (the figures are the result)."""
    parser = argparse.ArgumentParser(prog="bench_postgres_encoders", description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    import importlib.util

    missing = [name for name in ("pgpq", "adbc_driver_postgresql") if importlib.util.find_spec(name) is None]
    if missing:
        wanted = "pip install 'pgpq>=0.12' 'adbc-driver-postgresql>=1.13'"
        print(f"bench_postgres_encoders: needs {', '.join(missing)} ({wanted})")
        return 1
    from dwh.devtools.local_postgres import start_local_postgres

    work = Path(tempfile.mkdtemp(prefix="dwh-bench-enc-"))
    work.chmod(0o755)
    server = start_local_postgres(work / "pgdata")
    try:
        import psycopg

        with psycopg.connect(server.conninfo, autocommit=True) as conn:
            conn.execute(TEMPLATE_SQL)
        partitions = make_partitions(work, args.rows, args.partitions)
        print(f"{args.rows:,} rows in {len(partitions)} partitions of 10k-row batches; load {_load()}", flush=True)
        check_same_rows(server, partitions)
        seconds = run_rounds(server, partitions, args.repeats)
        result = report(seconds, args.rows, len(partitions), _load())
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "postgres_encoders.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
