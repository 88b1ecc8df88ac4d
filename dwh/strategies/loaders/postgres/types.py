"""Spark type -> database column type, for tables the POSTGRES and REDSHIFT loaders create.

=========================================  ===========================  ==========================
Spark                                      PostgreSQL                   Redshift
=========================================  ===========================  ==========================
BooleanType                                boolean                      BOOLEAN
ByteType, ShortType                        smallint                     SMALLINT
IntegerType                                integer                      INTEGER
LongType                                   bigint                       BIGINT
FloatType                                  real                         REAL
DoubleType                                 double precision             DOUBLE PRECISION
DecimalType(p, s)                          numeric(p, s)                DECIMAL(p, s)
StringType, VarcharType, CharType          text                         VARCHAR(65535)
DateType                                   date                         DATE
TimestampType (an instant)                 timestamp with time zone     TIMESTAMPTZ
TimestampNTZType (a wall-clock time)       timestamp without time zone  TIMESTAMP
BinaryType                                 bytea                        VARBYTE
ArrayType, MapType, StructType             jsonb (Spark's to_json)      VARCHAR(65535) (JSON text)
NullType (an all-null column)              text                         VARCHAR(256)
=========================================  ===========================  ==========================

Other types (intervals, variant, ...) are refused with a message naming the column. Created columns
are nullable, except the ``keys`` of a merge target, which become its primary key.

Staging tables (binary COPY, see `binary`) hold each column in the type its Arrow form is
sent as: the PostgreSQL column above, except nested values and decimals wider than 18 digits, which
travel as text. The
final INSERT converts into the target's own column types: by assignment where PostgreSQL has an
assignment cast (so a too-long value for ``varchar(n)`` or an out-of-range integer fails instead of
being cut), and with an explicit cast from text otherwise (``numeric(p, s)``, ``jsonb``, ``uuid``,
enums, dates from strings ... are parsed by their input functions, as a text COPY would).

The swap path (`swap`) stages straight into the target's column types, so it needs every staged
type to be one binary COPY can write into the target column as is (`binary_ready`): the same type,
``numeric`` into ``numeric(p, s)``, or text into ``varchar(n)`` / ``char(n)`` (their receive functions
apply the type modifier as an assignment would: a too-long value or a numeric overflow fails). Any
other pair (text into ``jsonb``/``uuid``/enums, ``bigint`` into ``integer`` ...) takes the insert path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from dwh.strategies.loaders.postgres.binary import MAX_BINARY_DECIMAL_PRECISION

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.types import DataType

Dialect = Literal["postgres", "redshift"]

_SIMPLE = {
    # Spark typeName -> (PostgreSQL, Redshift)
    "boolean": ("boolean", "BOOLEAN"),
    "byte": ("smallint", "SMALLINT"),
    "short": ("smallint", "SMALLINT"),
    "integer": ("integer", "INTEGER"),
    "long": ("bigint", "BIGINT"),
    "float": ("real", "REAL"),
    "double": ("double precision", "DOUBLE PRECISION"),
    "string": ("text", "VARCHAR(65535)"),
    "varchar": ("text", "VARCHAR(65535)"),
    "char": ("text", "VARCHAR(65535)"),
    "date": ("date", "DATE"),
    "timestamp": ("timestamp with time zone", "TIMESTAMPTZ"),
    "timestamp_ntz": ("timestamp without time zone", "TIMESTAMP"),
    "binary": ("bytea", "VARBYTE"),
    "array": ("jsonb", "VARCHAR(65535)"),
    "map": ("jsonb", "VARCHAR(65535)"),
    "struct": ("jsonb", "VARCHAR(65535)"),
    "void": ("text", "VARCHAR(256)"),
}


#: Staging column type per Spark typeName (what binary COPY sends; decimals and JSON as text).
_STAGING = {
    **{name: types[0] for name, types in _SIMPLE.items()},
    "array": "text",
    "map": "text",
    "struct": "text",
}
#: Target types a text value reaches by assignment (no explicit cast, so length limits are enforced).
_TEXT_LIKE = ("text", "character varying", "character", "name", "citext", '"char"')


class UnsupportedTypeError(TypeError):
    """A DataFrame column has a Spark type the database loaders cannot store."""


def sql_type(data_type: DataType, *, column: str, dialect: Dialect = "postgres") -> str:
    """The column type a created table gets for a Spark type (see the table above)."""
    from pyspark.sql.types import DecimalType

    if isinstance(data_type, DecimalType):
        name = "numeric" if dialect == "postgres" else "DECIMAL"
        return f"{name}({data_type.precision}, {data_type.scale})"
    type_name = data_type.typeName()
    if type_name.startswith(("varchar", "char")):
        type_name = type_name.split("(")[0]
    if type_name not in _SIMPLE:
        raise UnsupportedTypeError(
            f"column {column!r} has Spark type {data_type.simpleString()}, which is not supported"
        )
    postgres, redshift = _SIMPLE[type_name]
    return postgres if dialect == "postgres" else redshift


def column_types(frame: DataFrame, *, dialect: Dialect = "postgres") -> dict[str, str]:
    """Column name -> created column type for every column of `frame`."""
    return {field.name: sql_type(field.dataType, column=field.name, dialect=dialect) for field in frame.schema.fields}


def staging_types(frame: DataFrame) -> dict[str, str]:
    """Column name -> staging column type (decimals wider than 18 digits as text, see `binary`)."""
    types = {}
    for field in frame.schema.fields:
        created = sql_type(field.dataType, column=field.name)  # refuses unsupported types by column name
        name = field.dataType.typeName().split("(")[0]
        if name == "decimal":
            narrow = field.dataType.precision <= MAX_BINARY_DECIMAL_PRECISION  # type: ignore[attr-defined]
            types[field.name] = created if narrow else "text"
        else:
            types[field.name] = _STAGING[name]
    return types


def needs_text_cast(staging: str, target: str) -> bool:
    """True when a staged text value must be cast explicitly to reach the target column type."""
    return staging == "text" and not target.startswith(_TEXT_LIKE)


def binary_ready(staged: str, target: str) -> bool:
    """True when binary COPY of a value staged as `staged` can go straight into a `target` column."""
    base_staged, base_target = staged.split("(")[0], target.split("(")[0]
    if staged == target or (base_staged == "numeric" and base_target == "numeric"):
        return True
    return staged == "text" and base_target in ("character varying", "character")


def copy_ready(frame: DataFrame) -> DataFrame:
    """`frame` with nested columns as JSON text (Spark's ``to_json``) and all-null columns as strings."""
    from pyspark.sql import functions as F

    columns = []
    for field in frame.schema.fields:
        column = F.col("`" + field.name.replace("`", "``") + "`")
        type_name = field.dataType.typeName()
        sql_type(field.dataType, column=field.name)  # refuse unsupported types before any work
        if type_name in ("array", "map", "struct"):
            column = F.to_json(column)
        elif type_name == "void":
            column = column.cast("string")
        columns.append(column.alias(field.name))
    return frame.select(*columns)
