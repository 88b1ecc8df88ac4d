"""Fixtures for load_promos: the hand-built input in every source format, a config builder, target readers."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from tests.jobs.load_promos.promo_cases import INPUT_COLUMNS, INPUT_ROWS, WINDOW_END, WINDOW_START

PG_TARGET = "public.promos"


def arrow_input(rows: list[dict[str, Any]]) -> Any:
    """The rows as a pyarrow table in the source schema (UTC timestamps)."""
    import pyarrow as pa

    schema = pa.schema(
        [
            *((name, pa.string()) for name in INPUT_COLUMNS[:5]),
            ("regular_price", pa.float64()),
            ("discount_value", pa.float64()),
            ("start_date", pa.date32()),
            ("end_date", pa.date32()),
            ("updated_at", pa.timestamp("us", tz="UTC")),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def write_source(kind: str, rows: list[dict[str, Any]], directory: Path, postgres: LocalPostgres | None) -> dict:
    """Write `rows` as a PARQUET, DELTA, CSV or JDBC (PostgreSQL table) source; returns its extractor_config."""
    if kind == "PARQUET":
        import pyarrow.parquet as pq

        (directory / "source").mkdir()
        pq.write_table(arrow_input(rows), directory / "source" / "part-0.parquet")
        return {"strategy": "PARQUET", "source_table": str(directory / "source")}
    if kind == "DELTA":
        from deltalake import write_deltalake

        write_deltalake(str(directory / "source_delta"), arrow_input(rows))
        return {"strategy": "DELTA", "path": str(directory / "source_delta")}
    if kind == "CSV":
        path = directory / "source.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(INPUT_COLUMNS)
            for row in rows:
                writer.writerow([_csv_value(row[name]) for name in INPUT_COLUMNS])
        return {"strategy": "CSV", "path": str(path)}  # header, inferred types: the job casts what it needs
    if kind == "JDBC":
        assert postgres is not None
        _write_postgres_source(postgres, rows)
        return {
            "strategy": "JDBC",
            "jdbc_url": postgres.jdbc_url,
            "properties": {"user": postgres.user, "driver": "org.postgresql.Driver"},
            "table": "public.promo_source",
        }
    raise ValueError(kind)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _write_postgres_source(postgres: LocalPostgres, rows: list[dict[str, Any]]) -> None:
    import psycopg

    with psycopg.connect(postgres.conninfo) as conn:
        conn.execute(
            "CREATE TABLE public.promo_source (promo_id text, retailer text, store_id text, sku text, "
            "promo_type text, regular_price double precision, discount_value double precision, "
            "start_date date, end_date date, updated_at timestamptz)"
        )
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO public.promo_source VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [tuple(row[name] for name in INPUT_COLUMNS) for row in rows],
            )


@dataclass
class Targets:
    """Where one test's three targets live, and how to read each back without our own loaders."""

    unity: Path
    stage: Path
    postgres: LocalPostgres

    def config(self, extractor: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """A full --load_promos_job config writing to these targets."""
        return {
            "extractor_config": extractor,
            "unity_loader_config": {"strategy": "DELTA", "path": str(self.unity)},
            "stage_loader_config": {"strategy": "PARQUET", "path": str(self.stage)},
            "redshift_loader_config": {
                "strategy": "POSTGRES",
                "jdbc_url": self.postgres.jdbc_url,
                "properties": {"user": self.postgres.user, "driver": "org.postgresql.Driver"},
                "table": PG_TARGET,
            },
            **extra,
        }

    def delta_rows(self) -> list[dict[str, Any]]:
        """The Delta table's rows, read with delta-rs."""
        from deltalake import DeltaTable

        return list(DeltaTable(str(self.unity)).to_pyarrow_table().to_pylist())

    def stage_rows(self) -> list[dict[str, Any]]:
        """The Parquet stage's rows (hive partition load_window_start as a date), read with pyarrow."""
        import pyarrow as pa
        import pyarrow.dataset as ds

        partitioning = ds.partitioning(pa.schema([("load_window_start", pa.date32())]), flavor="hive")
        return list(ds.dataset(str(self.stage), format="parquet", partitioning=partitioning).to_table().to_pylist())

    def stage_partitions(self) -> list[str]:
        """The partition directories of the stage."""
        return sorted(p.name for p in self.stage.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))

    def postgres_rows(self) -> list[dict[str, Any]]:
        """The PostgreSQL table's rows, read with psycopg."""
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(self.postgres.conninfo, row_factory=dict_row) as conn:
            return list(conn.execute(f"SELECT * FROM {PG_TARGET}").fetchall())


@pytest.fixture
def targets(tmp_path: Path, postgres_db: LocalPostgres) -> Targets:
    """Fresh, empty targets: a Delta path, a Parquet path and a PostgreSQL database."""
    return Targets(unity=tmp_path / "unity" / "promos", stage=tmp_path / "stage" / "promos", postgres=postgres_db)


@pytest.fixture
def source(tmp_path: Path, postgres_db: LocalPostgres) -> Callable[..., dict[str, Any]]:
    """``source(kind, rows=INPUT_ROWS)`` writes the input and returns its extractor_config."""

    def make(kind: str, rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return write_source(kind, INPUT_ROWS if rows is None else rows, tmp_path, postgres_db)

    return make


def job_kwargs(config: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The keyword arguments generic_entry would hand to main(), for an in-process run."""
    return {
        "load_promos_job": json.dumps(config),
        "start_date": WINDOW_START.isoformat(),
        "end_date": WINDOW_END.isoformat(),
        "created_by": "tests",
        "service_provider": "LOCAL",
        "has_spark": True,
        **overrides,
    }


def email_channel(host: str, port: int) -> dict[str, Any]:
    """An EMAIL notification channel to the test SMTP server."""
    return {
        "notification_service": "EMAIL",
        "smtp_host": host,
        "smtp_port": port,
        "security": "none",
        "sender": "dwh@example.com",
        "recipients": ["data-team@example.com"],
    }
