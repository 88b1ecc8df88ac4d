"""The load_promos job written by hand in plain PySpark (no dwh), the baseline of bench_load_promos.

    python bench/load_promos_handwritten.py --input DIR --delta DIR --stage DIR [--pg-conninfo '...'] \\
        --start_date 2025-01-01 --end_date 2025-01-08

Same reads, rules, checks and writes as ``dwh.jobs.load_promos`` with the same engines: Spark reads the
Parquet input; the rules are the same column expressions; the data-quality counts are one aggregation
over the cached result; Delta is written as Parquet files by Spark tasks (``mapInArrow``) and committed
with delta-rs; the stage is Spark's partitioned Parquet writer with dynamic partition overwrite; the
PostgreSQL copy is COPY (CSV rendered by pyarrow) from every task into an UNLOGGED staging table, then
one ``INSERT ... ON CONFLICT (promo_id) DO UPDATE``. Prints ``seconds <n>`` (job time without start-up).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

COLUMNS = [
    "promo_id",
    "retailer",
    "store_id",
    "sku",
    "promo_type",
    "regular_price",
    "discount_value",
    "start_date",
    "end_date",
    "updated_at",
]
OUTPUT = [
    *COLUMNS[:7], "promo_price", "discount_pct", "start_date", "end_date", "promo_days", "updated_at",
    "load_window_start", "created_by", "loaded_at",
]  # fmt: skip


def transform(frame: DataFrame, start: dt.date, end: dt.date, loaded_at: dt.datetime) -> DataFrame:
    """Normalise, window, dedupe, derive, audit: the business rules."""
    for name in ("promo_id", "retailer", "store_id", "sku", "promo_type"):
        trimmed = F.btrim(F.col(name), F.lit(" \t\r\n"))
        frame = frame.withColumn(name, F.upper(trimmed) if name in ("retailer", "promo_type") else trimmed)
    frame = frame.where((F.col("start_date") < F.lit(end)) & (F.col("end_date") >= F.lit(start)))
    order = [F.col("updated_at").desc_nulls_last()] + [F.col(c).asc_nulls_last() for c in COLUMNS[1:9]]
    frame = frame.withColumn("rn", F.row_number().over(Window.partitionBy("promo_id").orderBy(*order)))
    frame = frame.where((F.col("rn") == 1) | F.col("promo_id").isNull()).drop("rn")
    price, value, kind = F.col("regular_price"), F.col("discount_value"), F.col("promo_type")
    promo_price = (
        F.when(kind == "PCT_OFF", price * (1.0 - value / 100.0))
        .when(kind == "AMOUNT_OFF", price - value)
        .when(kind == "BOGO", price / 2.0)
    )
    frame = frame.withColumn("promo_price", F.round(promo_price, 2))
    frame = frame.withColumn("discount_pct", F.round(100.0 * (1.0 - F.try_divide(F.col("promo_price"), price)), 2))
    frame = frame.withColumn("promo_days", (F.datediff("end_date", "start_date") + 1).cast("int"))
    frame = frame.withColumn("load_window_start", F.lit(start))
    frame = frame.withColumn("created_by", F.lit("bench")).withColumn("loaded_at", F.lit(loaded_at).cast("timestamp"))
    return frame.select(*OUTPUT)


def validate(frame: DataFrame) -> DataFrame:
    """The six default checks, counted in one aggregation over the cached rows; drop rules applied."""
    checks = {
        "promo_id_not_null": F.col("promo_id").isNotNull(),
        "promo_type_accepted": F.col("promo_type").isin("PCT_OFF", "AMOUNT_OFF", "BOGO"),
        "regular_price_positive": F.col("regular_price") > 0,
        "promo_price_in_range": (F.col("promo_price") >= 0) & (F.col("promo_price") <= F.col("regular_price")),
        "end_not_before_start": F.col("end_date") >= F.col("start_date"),
    }
    flagged = frame.withColumns({name: F.coalesce(check, F.lit(False)) for name, check in checks.items()})
    keep = F.col("promo_type_accepted") & F.col("regular_price_positive") & F.col("promo_price_in_range")
    keep = keep & F.col("end_not_before_start")
    flagged = flagged.withColumn("keep", keep).cache()
    counts = flagged.agg(*(F.sum(F.when(~F.col(n), 1).otherwise(0)).alias(n) for n in [*checks, "keep"])).first()
    if counts and counts["promo_id_not_null"]:
        raise SystemExit(f"promo_id_not_null failed on {counts['promo_id_not_null']} rows")
    print("quality", json.dumps(counts.asDict() if counts else {}), flush=True)
    return flagged.where("keep").drop(*checks, "keep")


def write_delta(frame: DataFrame, path: str) -> None:
    """Spark tasks write Parquet files into the table directory; the driver commits them with delta-rs."""
    import pyarrow as pa
    from deltalake import Schema
    from deltalake.transaction import AddAction, create_table_with_add_actions

    from dwh.platforms.spark_compat import to_arrow

    os.makedirs(path, exist_ok=True)

    def write(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow.parquet as pq

        name, writer, rows = f"part-{uuid.uuid4().hex}.parquet", None, 0
        for batch in batches:
            if writer is None:
                writer = pq.ParquetWriter(os.path.join(path, name), batch.schema)
            writer.write_batch(batch)
            rows += batch.num_rows
        if writer is not None:
            writer.close()
            size = os.path.getsize(os.path.join(path, name))
            yield pa.RecordBatch.from_pylist([{"path": name, "size": size, "rows": rows}])

    files = frame.mapInArrow(write, "path string, size long, rows long").collect()
    schema = Schema.from_arrow(to_arrow(frame.limit(0)).schema)
    now = int(time.time() * 1000)
    stats = [json.dumps({"numRecords": f.rows}) for f in files]
    actions = [AddAction(f.path, f.size, {}, now, True, s) for f, s in zip(files, stats, strict=True)]
    create_table_with_add_actions(path, schema, actions, mode="error")


def write_postgres(frame: DataFrame, conninfo: str, table: str) -> None:
    """COPY from every task into one UNLOGGED staging table, then one upsert transaction."""
    import psycopg

    staging = f"stage_{uuid.uuid4().hex[:12]}"
    ddl = (
        "promo_id text, retailer text, store_id text, sku text, promo_type text, regular_price double precision, "
        "discount_value double precision, promo_price double precision, discount_pct double precision, "
        "start_date date, end_date date, promo_days integer, updated_at timestamptz, load_window_start date, "
        "created_by text, loaded_at timestamptz"
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE UNLOGGED TABLE {staging} ({ddl})")

    def copy(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        rows = 0
        with psycopg.connect(conninfo) as conn, conn.cursor().copy(f"COPY {staging} FROM STDIN (FORMAT csv)") as out:
            for batch in batches:
                sink = pa.BufferOutputStream()
                pcsv.write_csv(batch, sink, pcsv.WriteOptions(include_header=False, quoting_style="all_valid"))
                out.write(sink.getvalue().to_pybytes())
                rows += batch.num_rows
        yield pa.RecordBatch.from_pylist([{"rows": rows}])

    frame.mapInArrow(copy, "rows long").collect()
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in OUTPUT if c != "promo_id")
    with psycopg.connect(conninfo) as conn, conn.transaction():
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({ddl}, PRIMARY KEY (promo_id))")
        conn.execute(f"INSERT INTO {table} SELECT * FROM {staging} ON CONFLICT (promo_id) DO UPDATE SET {updates}")
        conn.execute(f"DROP TABLE {staging}")


def main() -> None:
    """Parse the arguments, run the job, print its seconds."""
    parser = argparse.ArgumentParser()
    for name in ("--input", "--delta", "--stage", "--start_date", "--end_date"):
        parser.add_argument(name, required=True)
    parser.add_argument("--pg-conninfo")
    parser.add_argument("--pg-table", default="public.promos")
    args = parser.parse_args()
    spark = (
        SparkSession.builder.master(os.environ.get("DWH_SPARK_MASTER", "local[2]"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", os.environ.get("DWH_SHUFFLE_PARTITIONS", "8"))
        .config("spark.driver.memory", os.environ.get("DWH_DRIVER_MEMORY", "2g"))
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .getOrCreate()
    )
    started = time.perf_counter()
    start, end = dt.date.fromisoformat(args.start_date), dt.date.fromisoformat(args.end_date)
    source = spark.read.parquet(args.input)
    phases = {}
    valid = validate(transform(source, start, end, dt.datetime.now(dt.timezone.utc)))
    phases["read_transform_validate"] = time.perf_counter() - started
    write_delta(valid, args.delta)
    phases["delta"] = time.perf_counter() - started - sum(phases.values())
    valid.write.mode("overwrite").partitionBy("load_window_start").parquet(args.stage)
    phases["stage"] = time.perf_counter() - started - sum(phases.values())
    if args.pg_conninfo:
        write_postgres(valid, args.pg_conninfo, args.pg_table)
        phases["postgres"] = time.perf_counter() - started - sum(phases.values())
    print("phases", json.dumps({name: round(value, 3) for name, value in phases.items()}), flush=True)
    print(f"seconds {time.perf_counter() - started:.3f}", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
