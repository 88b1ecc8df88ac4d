"""Type coverage of the staging encoders on a real PostgreSQL: ours (`binary`), pgpq and ADBC's ``adbc_ingest``.

Every Spark type the POSTGRES loader supports, as the Arrow batch ``mapInArrow`` hands a task (Arrow types from
pyspark's own ``to_arrow_type``, through `spark_compat.arrow_type`), with its edge values (each width's min/max,
NaN/inf, big and small decimals, non-ASCII and long strings, empty strings and bytes, the year 1 and 9999,
a NULL in every column), is staged column by column into the loader's staging column type
(`types.staging_types`) and read back with psycopg. Ours must hold every value; for the two
libraries the test pins what each loses, so a library release that fixes or breaks a type fails it.
pgpq and ADBC are not dependencies of the wheel: their tests skip when they are not installed.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Callable
from typing import Any

import pytest
from pyspark.sql import types as T

from dwh.devtools.local_postgres import LocalPostgres
from tests.strategies.loaders.postgres.database import query

pytestmark = [pytest.mark.integration, pytest.mark.spark]

UTC = dt.timezone.utc
D = decimal.Decimal
decimal.getcontext().prec = 60
WIDE = D(10**38 - 1)
#: column -> (Spark type, the Arrow time zone Spark would use, values; the last row is all NULL)
COLUMNS: dict[str, tuple[T.DataType, str, list[Any]]] = {
    "i8": (T.ByteType(), "UTC", [0, -128, 127, 1, -1, None]),
    "i16": (T.ShortType(), "UTC", [0, -(2**15), 2**15 - 1, 1, -1, None]),
    "i32": (T.IntegerType(), "UTC", [0, -(2**31), 2**31 - 1, 1, -1, None]),
    "i64": (T.LongType(), "UTC", [0, -(2**63), 2**63 - 1, 1, -1, None]),
    "f32": (T.FloatType(), "UTC", [1.5, math.nan, math.inf, -math.inf, 3.4028234663852886e38, None]),
    "f64": (T.DoubleType(), "UTC", [-0.0, math.nan, -math.inf, 1.7976931348623157e308, 5e-324, None]),
    "d_12_2": (T.DecimalType(12, 2), "UTC", [D("12222.00"), D("-0.01"), D("9999999999.99"), D("10000.50"), D(0), None]),
    "d_10_6": (
        T.DecimalType(10, 6),
        "UTC",
        [D("44.123456"), D("-0.000001"), D("9999.999999"), D("10.000100"), D(0), None],
    ),
    "d_18_0": (T.DecimalType(18, 0), "UTC", [D(10**18 - 1), D(1 - 10**18), D(10000), D(100000000), D(0), None]),
    "d_18_18": (
        T.DecimalType(18, 18),
        "UTC",
        [D("1E-18"), D("-0.999999999999999999"), D("0.0001"), D(0), D("0.5"), None],
    ),
    "d_38_10": (
        T.DecimalType(38, 10),
        "UTC",
        [WIDE.scaleb(-10), D("-1E-10"), D("100000000.0001"), D("10000.5"), D(0), None],
    ),
    "d_38_0": (T.DecimalType(38, 0), "UTC", [WIDE, -WIDE, D(10**20), D(1), D(0), None]),
    "s": (T.StringType(), "UTC", ["", "ünï € ß", "😀 𝄞 four-byte", "tab\t nl\n bs\\ q\"' ,;|", "x" * 100_000, None]),
    "b": (T.BinaryType(), "UTC", [b"", b"\x00", b"\xff\x00\xfe", bytes(range(256)), b"y" * 100_000, None]),
    "flag": (T.BooleanType(), "UTC", [True, False, True, False, True, None]),
    "day": (
        T.DateType(),
        "UTC",
        [
            dt.date(1, 1, 1),
            dt.date(9999, 12, 31),
            dt.date(2000, 1, 1),
            dt.date(1969, 12, 31),
            dt.date(2024, 2, 29),
            None,
        ],
    ),
    "ts": (
        T.TimestampType(),
        "UTC",
        [
            dt.datetime(1, 1, 1, tzinfo=UTC),
            dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            dt.datetime(1970, 1, 1, tzinfo=UTC),
            dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            dt.datetime(2000, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
            None,
        ],
    ),
    # A session time zone other than UTC: Spark's Arrow type carries it, the instants are the same.
    "ts_ny": (
        T.TimestampType(),
        "America/New_York",
        [
            dt.datetime(1, 1, 2, tzinfo=UTC),
            dt.datetime(9999, 12, 30, tzinfo=UTC),
            dt.datetime(2024, 3, 10, 7, 30, tzinfo=UTC),
            dt.datetime(1960, 6, 1, 12, tzinfo=UTC),
            dt.datetime(2024, 11, 3, 6, 0, 0, 500000, tzinfo=UTC),
            None,
        ],
    ),
    "ntz": (
        T.TimestampNTZType(),
        "UTC",
        [
            dt.datetime(1, 1, 1),
            dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
            dt.datetime(1970, 1, 1),
            dt.datetime(1999, 12, 31, 23, 59, 59, 999999),
            dt.datetime(2024, 2, 29, 12, 0, 0, 1),
            None,
        ],
    ),
}
#: What each library does not hold in the loader's staging columns (column -> why). Ours: nothing.
WIDE_DECIMAL = "sends numeric's binary form; the staging column of a decimal wider than 18 digits is text"
KNOWN_LOSSES = {
    "ours": {},
    "pgpq": {"d_38_10": WIDE_DECIMAL, "d_38_0": WIDE_DECIMAL},
    "adbc": {"d_38_10": WIDE_DECIMAL, "d_38_0": WIDE_DECIMAL},
}


def arrow_column(name: str) -> Any:
    """The column as the Arrow array Spark's ``mapInArrow`` would hand a task."""
    import pyarrow as pa

    from dwh.platforms.spark_compat import arrow_type

    spark_type, zone, values = COLUMNS[name]
    return pa.array(values, arrow_type(spark_type, timezone=zone))


@pytest.fixture(scope="module")
def staging_types(spark: Any) -> dict[str, str]:
    """Column -> the loader's staging column type (`types.staging_types` on a DataFrame of the same schema)."""
    from dwh.strategies.loaders.postgres.types import staging_types as loader_staging_types

    schema = T.StructType([T.StructField(name, spark_type) for name, (spark_type, _zone, _values) in COLUMNS.items()])
    return loader_staging_types(spark.createDataFrame([], schema))


def stage_ours(db: LocalPostgres, table: str, batches: list[Any]) -> None:
    """`binary` (what copy.py sends) through one psycopg binary COPY."""
    import psycopg

    from dwh.strategies.loaders.postgres.binary import HEADER, TRAILER, encode_batch

    columns = ", ".join(f'"{name}"' for name in batches[0].schema.names)
    with (
        psycopg.connect(db.conninfo) as conn,
        conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT binary)") as copy,
    ):
        copy.write(HEADER)
        for batch in batches:
            copy.write(encode_batch(batch))
        copy.write(TRAILER)


def stage_pgpq(db: LocalPostgres, table: str, batches: list[Any]) -> None:
    """pgpq's encoder through the same psycopg binary COPY."""
    import psycopg

    pgpq = pytest.importorskip("pgpq")
    encoder = pgpq.ArrowToPostgresBinaryEncoder(batches[0].schema)
    columns = ", ".join(f'"{name}"' for name in batches[0].schema.names)
    with (
        psycopg.connect(db.conninfo) as conn,
        conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT binary)") as copy,
    ):
        copy.write(encoder.write_header())
        for batch in batches:
            copy.write(encoder.write_batch(batch))
        copy.write(encoder.finish())


def stage_adbc(db: LocalPostgres, table: str, batches: list[Any]) -> None:
    """ADBC's ``adbc_ingest`` (mode append) into the existing table, committed."""
    import pyarrow as pa

    adbc = pytest.importorskip("adbc_driver_postgresql.dbapi")
    with adbc.connect(db.conninfo) as conn:
        with conn.cursor() as cursor:
            cursor.adbc_ingest(
                table, pa.RecordBatchReader.from_batches(batches[0].schema, iter(batches)), mode="append"
            )
        conn.commit()


STAGERS: dict[str, Callable[[LocalPostgres, str, list[Any]], None]] = {
    "ours": stage_ours,
    "pgpq": stage_pgpq,
    "adbc": stage_adbc,
}


def normalised(name: str, value: Any) -> Any:
    """A value comparable across Arrow and psycopg: NaN as a string, reals as float32, instants in UTC, decimals."""
    import numpy as np

    if isinstance(value, float):
        return "NaN" if math.isnan(value) else float(np.float32(value)) if name == "f32" else value
    if isinstance(value, str) and name.startswith("d_"):
        return D(value)  # a wide decimal staged as its text
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)  # PEP 495: an ambiguous local time never equals a time in another zone
    return value


def held(db: LocalPostgres, table: str, name: str) -> list[Any]:
    """What PostgreSQL holds in one column, in row order, normalised."""
    import psycopg

    with psycopg.connect(db.conninfo) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        rows = conn.execute(f'SELECT "{name}" FROM {table} ORDER BY row_number').fetchall()
    return [normalised(name, row[0]) for row in rows]


def expected(name: str) -> list[Any]:
    """The column's values as Arrow holds them, normalised."""
    return [normalised(name, value) for value in arrow_column(name).to_pylist()]


def fresh_table(db: LocalPostgres, table: str, columns: dict[str, str]) -> None:
    """An empty UNLOGGED table with a serial row number (COPY fills it in order) and the given columns."""
    body = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
    query(db, f"DROP TABLE IF EXISTS {table}")
    query(db, f"CREATE UNLOGGED TABLE {table} (row_number serial, {body})")


@pytest.mark.parametrize("stager", list(STAGERS))
def test_every_supported_type_column_by_column(
    stager: str, postgres_db: LocalPostgres, staging_types: dict[str, str]
) -> None:
    """Each column alone into its staging column type: PostgreSQL holds the Arrow values, or the loss is known."""
    import pyarrow as pa

    losses = {}
    for name in COLUMNS:
        table = f"stage_{name}"
        fresh_table(postgres_db, table, {name: staging_types[name]})
        try:
            STAGERS[stager](postgres_db, table, [pa.record_batch([arrow_column(name)], names=[name])])
        except Exception as exc:  # a library refusing or PostgreSQL rejecting its bytes is a loss
            if isinstance(exc, pytest.skip.Exception):
                raise
            losses[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
            continue
        got, want = held(postgres_db, table, name), expected(name)
        if got != want:
            losses[name] = f"differs: {[(g, w) for g, w in zip(got, want, strict=False) if g != w][:2]}"
    assert set(losses) == set(KNOWN_LOSSES[stager]), losses


@pytest.mark.parametrize("stager", ["pgpq", "adbc"])
def test_libraries_hold_wide_decimals_in_numeric_columns(stager: str, postgres_db: LocalPostgres) -> None:
    """The wide-decimal 'loss' is a mapping: into numeric(38, s) both libraries store every value exactly."""
    import pyarrow as pa

    for name in ("d_38_10", "d_38_0"):
        table = f"stage_{name}"
        fresh_table(postgres_db, table, {name: COLUMNS[name][0].simpleString().replace("decimal", "numeric")})
        STAGERS[stager](postgres_db, table, [pa.record_batch([arrow_column(name)], names=[name])])
        assert held(postgres_db, table, name) == expected(name)


def test_ours_stages_all_columns_together_across_batches(
    postgres_db: LocalPostgres, staging_types: dict[str, str]
) -> None:
    """All columns in one COPY, split into batches, one a slice with an offset: every row lands intact."""
    import pyarrow as pa

    whole = pa.record_batch([arrow_column(name) for name in COLUMNS], names=list(COLUMNS))
    fresh_table(postgres_db, "stage_all", staging_types)
    stage_ours(postgres_db, "stage_all", [whole.slice(0, 2), whole.slice(2, 3), whole.slice(5)])
    for name in COLUMNS:
        assert held(postgres_db, "stage_all", name) == expected(name), name
