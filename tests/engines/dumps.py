"""A canonical dump of load_promos' three targets, compared byte for byte between engines and lanes.

Each target is read by its own client, independently of our loaders: the Delta table by delta-rs, the Parquet
stage by pyarrow (hive partitions typed), PostgreSQL by psycopg. The dump lists each target's column types,
then its rows as sorted JSON lines: timestamps in ISO form with their offset (a naive one shows as naive),
floats as Python writes them. ``loaded_at`` is the run's own clock: its type is dumped, and its value only as
whether it is one instant shared by every row and target (a naive value taken as UTC).

Every lane compares its dump with one committed golden file, `GOLDEN` (``golden/load_promos.dump``, made by the
default lane: local[2] + delta-rs), through `assert_matches_golden`. The input is the hand-built
``tests.jobs.load_promos.promo_cases.INPUT_ROWS`` and the window is passed explicitly (``job_kwargs``:
``--start_date 2025-01-01 --end_date 2025-01-08 --created_by tests``), so the golden depends on neither a seed nor
the run date. Regenerate it after an intended change: ``DWH_UPDATE_GOLDEN=1 pytest tests/engines/golden``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dwh.devtools.local_postgres import LocalPostgres

RUN_CLOCK = "loaded_at"
#: The canonical dump of load_promos' targets for the shared input, from the default lane.
GOLDEN = Path(__file__).parent / "golden" / "load_promos.dump"


def _value(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return value if value is None or isinstance(value, (str, int, bool)) else str(value)


def _section(title: str, types: dict[str, str], rows: list[dict[str, Any]]) -> tuple[list[str], set[Any]]:
    lines = [f"== {title}", "types " + json.dumps(types)]
    clocks = {row.get(RUN_CLOCK) for row in rows}
    body = [json.dumps({k: _value(v) for k, v in row.items() if k != RUN_CLOCK}, sort_keys=True) for row in rows]
    return [*lines, *sorted(body)], clocks


@dataclass(frozen=True)
class S3Access:
    """How the readers reach an S3 endpoint (moto's) for ``s3a://`` targets."""

    endpoint: str
    key: str = "testing"
    secret: str = "testing"
    region: str = "us-east-1"

    def delta_options(self) -> dict[str, str]:
        """delta-rs storage options."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": self.key,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_REGION": self.region,
        }

    def filesystem(self) -> Any:
        """A pyarrow S3 filesystem on the endpoint."""
        from pyarrow import fs

        scheme, host = self.endpoint.split("://", 1)
        return fs.S3FileSystem(
            access_key=self.key, secret_key=self.secret, region=self.region, endpoint_override=host, scheme=scheme
        )


def _s3(uri: str) -> str:
    return "s3://" + uri.split("://", 1)[1] if uri.startswith("s3a://") else uri


def delta_section(path: Path | str, s3: S3Access | None = None) -> tuple[list[str], set[Any]]:
    """The Delta table, read by delta-rs."""
    from deltalake import DeltaTable

    table = DeltaTable(_s3(str(path)), storage_options=s3.delta_options() if s3 else None).to_pyarrow_table()
    return _section("unity (DELTA)", {f.name: str(f.type) for f in table.schema}, table.to_pylist())


def parquet_section(
    path: Path | str, s3: S3Access | None = None, partition_column: str = "load_window_start"
) -> tuple[list[str], set[Any]]:
    """The Parquet stage, read by pyarrow with its hive partition column as a date (``_``/``.`` files skipped)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    partitioning = ds.partitioning(pa.schema([(partition_column, pa.date32())]), flavor="hive")
    source = str(path).split("://", 1)[1] if s3 else str(path)
    filesystem = s3.filesystem() if s3 else None
    table = ds.dataset(source, format="parquet", partitioning=partitioning, filesystem=filesystem).to_table()
    return _section("stage (PARQUET)", {f.name: str(f.type) for f in table.schema}, table.to_pylist())


def postgres_section(postgres: LocalPostgres, table: str) -> tuple[list[str], set[Any]]:
    """The PostgreSQL table, read by psycopg (types from information_schema)."""
    import psycopg
    from psycopg.rows import dict_row

    schema, name = table.split(".")
    with psycopg.connect(postgres.conninfo, row_factory=dict_row) as conn:
        columns = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (schema, name),
        ).fetchall()
        rows = list(conn.execute(f"SELECT * FROM {table}").fetchall())
    return _section("redshift (POSTGRES)", {c["column_name"]: c["data_type"] for c in columns}, rows)


def _utc(value: Any) -> Any:
    # A naive value is UTC wall time (Spark's INT96 Parquet timestamps read back naive); its type is in the dump.
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc) if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return value


def canonical_dump(
    unity: Path | str, stage: Path | str, postgres: LocalPostgres, table: str, s3: S3Access | None = None
) -> str:
    """The three targets as one text; the last line says whether ``loaded_at`` is one instant everywhere.

    `unity` and `stage` are local paths, or ``s3a://`` URIs read through `s3`.
    """
    lines: list[str] = []
    clocks: set[Any] = set()
    for section, section_clocks in (
        delta_section(unity, s3),
        parquet_section(stage, s3),
        postgres_section(postgres, table),
    ):
        lines += section
        clocks |= {_utc(clock) for clock in section_clocks}
    one_instant = len(clocks) == 1 and all(isinstance(clock, dt.datetime) for clock in clocks)
    lines.append(f"== {RUN_CLOCK}: one instant in every row and target: {one_instant}")
    return "\n".join(lines) + "\n"


def assert_matches_golden(dump: str, lane: str = "this lane") -> None:
    """Assert that `dump` equals `GOLDEN` byte for byte; the failure shows a unified diff (golden -> `lane`)."""
    golden = GOLDEN.read_text(encoding="utf-8")
    if dump == golden:
        return
    diff = difflib.unified_diff(
        golden.splitlines(keepends=True), dump.splitlines(keepends=True), str(GOLDEN.name), lane, n=1
    )
    raise AssertionError(
        f"{lane}: the canonical dump differs from {GOLDEN} (DWH_UPDATE_GOLDEN=1 pytest tests/engines/golden "
        "regenerates it from the default lane after an intended change):\n" + "".join(diff)
    )


def update_golden(dump: str) -> bool:
    """With ``DWH_UPDATE_GOLDEN=1``, write `dump` as the new `GOLDEN` and return True; else False."""
    if os.environ.get("DWH_UPDATE_GOLDEN") != "1":
        return False
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(dump, encoding="utf-8")
    return True
