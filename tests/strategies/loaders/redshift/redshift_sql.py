"""The SQL half of the Redshift doubles: Redshift SQL in, PostgreSQL SQL out, or the error Redshift would give.

Both doubles (`fake_data_api`, the Data API over HTTP, and `fake_wire`, a PostgreSQL-protocol endpoint
for DB-API clients) pass every statement through `RedshiftSession.translate` before PostgreSQL runs it.
What it models, from AWS's Redshift Database Developer Guide:

* identifiers: unquoted AND double-quoted names are folded to lower case (Redshift's default,
  ``enable_case_sensitive_identifier`` off), so ``"PromoId"`` is the column ``promoid``;
* statements Redshift does not accept are refused: ``INSERT ... ON CONFLICT``, ``RETURNING``,
  ``COPY ... FROM STDIN``, ``CREATE INDEX``, ``UNLOGGED`` / ``CHECK`` / PostgreSQL-only table options,
  column types Redshift lacks (``jsonb``, ``bytea``, ``text[]``, ``serial`` ...); ``TRUNCATE`` inside a
  transaction is refused too (Redshift commits the open transaction on TRUNCATE, so a loader that sends
  it inside its one transaction would lose its atomicity: the double makes that visible);
* ``CREATE TABLE``: Redshift's types become PostgreSQL's, CHAR/VARCHAR/VARBYTE lengths are counted in
  BYTES (an ``octet_length`` check; limits 4096 / 65535 / 16777216), ``TEXT`` is ``VARCHAR(256)``,
  ``DECIMAL`` defaults to (18, 0) and stops at precision 38, and the table's Redshift column types are
  kept in the session catalog for COPY;
* ``COPY ... FORMAT AS PARQUET``: see `copy_parquet`; it becomes an INSERT of the checked rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql as pgsql

from tests.strategies.loaders.redshift.copy_parquet import CopyError, CopyRequest, load_parquet

#: A table's columns as (name, Redshift type) in table order.
Columns = list[tuple[str, str]]


class RedshiftError(Exception):
    """An error Redshift reports for a statement (its text is what the client sees)."""

    def __init__(self, message: str, sqlstate: str = "XX000") -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def fold(text: str) -> tuple[str, str]:
    """(`text` with quoted identifiers lower-cased, the same with literals and comments blanked for rule checks)."""
    out, masked, i = [], [], 0
    while i < len(text):
        char = text[i]
        if char in "'\"":
            end = i + 1
            while end < len(text):
                if text[end] == char:
                    if end + 1 < len(text) and text[end + 1] == char:
                        end += 2
                        continue
                    break
                end += 1
            token = text[i : end + 1]
            out.append(token.lower() if char == '"' else token)
            masked.append(token.lower() if char == '"' else "''")
            i = end + 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        else:
            out.append(char)
            masked.append(char)
            i += 1
    return "".join(out), "".join(masked)


_REFUSED: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bON\s+CONFLICT\b", re.I), 'syntax error at or near "ON" (Redshift has no INSERT ... ON CONFLICT)'),
    (re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b.*\bRETURNING\b", re.I | re.S), 'syntax error at or near "RETURNING"'),
    (re.compile(r"^\s*COPY\b.*\bFROM\s+STDIN\b", re.I | re.S), "COPY from STDIN is not supported"),
    (re.compile(r"^\s*CREATE\s+(UNIQUE\s+)?INDEX\b", re.I), "CREATE INDEX is not supported"),
    (re.compile(r"^\s*CREATE\s+UNLOGGED\b", re.I), 'syntax error at or near "UNLOGGED"'),
    (re.compile(r"\bWITH\s*\(\s*FORCE\s*\)", re.I), 'syntax error at or near "WITH"'),
]
_CREATE = re.compile(
    r"^\s*CREATE\s+(?:(?:TEMP|TEMPORARY)\s+)?TABLE\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?"
    r"(?P<name>(?:\"[^\"]+\"|\w+)(?:\.(?:\"[^\"]+\"|\w+))?)\s*\((?P<body>.*)\)(?P<attrs>[^)]*)$",
    re.I | re.S,
)
_TABLE_ATTRS = re.compile(
    r"^(\s+(DISTSTYLE\s+\w+|DISTKEY\s*\([^)]*\)|(COMPOUND\s+|INTERLEAVED\s+)?SORTKEY\s*\([^)]*\)|BACKUP\s+\w+"
    r"|ENCODE\s+AUTO))*\s*;?\s*$",
    re.I,
)
_COLUMN_OPTIONS = re.compile(r"\s+(ENCODE\s+\w+|DISTKEY|SORTKEY)\b", re.I)
_TYPE = re.compile(
    r"^(?P<type>double\s+precision|character\s+varying|binary\s+varying|timestamp\s+with(?:out)?\s+time\s+zone"
    r"|[a-z_][a-z0-9_]*)\s*(?:\(\s*(?P<args>[^)]*)\))?(?P<array>\s*\[\s*\])?(?P<rest>.*)$",
    re.I | re.S,
)
#: Redshift type (and aliases) -> (canonical name, PostgreSQL type, default length, maximum length).
_TYPES: dict[str, tuple[str, str, int | None, int | None]] = {
    **dict.fromkeys(("smallint", "int2"), ("SMALLINT", "smallint", None, None)),
    **dict.fromkeys(("integer", "int", "int4"), ("INTEGER", "integer", None, None)),
    **dict.fromkeys(("bigint", "int8"), ("BIGINT", "bigint", None, None)),
    **dict.fromkeys(("real", "float4"), ("REAL", "real", None, None)),
    **dict.fromkeys(("double precision", "float8", "float"), ("DOUBLE PRECISION", "double precision", None, None)),
    **dict.fromkeys(("boolean", "bool"), ("BOOLEAN", "boolean", None, None)),
    **dict.fromkeys(("char", "character", "nchar", "bpchar"), ("CHAR", "char", 1, 4096)),
    **dict.fromkeys(("varchar", "character varying", "nvarchar"), ("VARCHAR", "varchar", 256, 65535)),
    "text": ("VARCHAR", "varchar", 256, 256),
    **dict.fromkeys(("varbyte", "varbinary", "binary varying"), ("VARBYTE", "bytea", 64000, 16777216)),
    "date": ("DATE", "date", None, None),
    **dict.fromkeys(("timestamp", "timestamp without time zone"), ("TIMESTAMP", "timestamp", None, None)),
    **dict.fromkeys(("timestamptz", "timestamp with time zone"), ("TIMESTAMPTZ", "timestamptz", None, None)),
}


def split_top_level(body: str) -> list[str]:
    """`body` split at commas outside parentheses."""
    items, depth, start = [], 0, 0
    for index, char in enumerate(body):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(body[start:index].strip())
            start = index + 1
    items.append(body[start:].strip())
    return [item for item in items if item]


def unquote(name: str) -> str:
    """``"a"."b"`` -> ``a.b`` (names are folded already)."""
    return ".".join(part.strip('"') for part in name.split("."))


def column_type(text: str, column: str) -> tuple[str, str, int | None, str]:
    """(Redshift type, PostgreSQL type, byte limit or None, the rest of the definition) of a column definition."""
    match = _TYPE.match(text.strip())
    if match is None:
        raise RedshiftError(f'syntax error at or near "{text.strip()[:20]}"', "42601")
    name = " ".join(match.group("type").lower().split())
    if match.group("array") or name not in _TYPES:
        shown = match.group("type") + ("[]" if match.group("array") else "")
        raise RedshiftError(f'Column "{column}" has unsupported type "{shown}".', "0A000")
    canonical, postgres, default, maximum = _TYPES[name]
    args = [arg.strip() for arg in (match.group("args") or "").split(",") if arg.strip()]
    limit: int | None = None
    if default is not None and maximum is not None:
        size = maximum if args and args[0].lower() == "max" else int(args[0]) if args else default
        if not 1 <= size <= maximum:
            raise RedshiftError(f"length for type {canonical.lower()} cannot exceed {maximum}", "22023")
        limit = size
        canonical = f"{canonical}({size})"
        postgres = "bytea" if postgres == "bytea" else f"{postgres}({size})"
    elif args:
        raise RedshiftError(f'syntax error at or near "(" (type {canonical} takes no length)', "42601")
    return canonical, postgres, limit, match.group("rest")


def decimal_type(text: str) -> tuple[str, str, str] | None:
    """(Redshift type, PostgreSQL type, rest) for DECIMAL/NUMERIC definitions, else None."""
    match = re.match(r"^(decimal|numeric)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?(.*)$", text.strip(), re.I | re.S)
    if match is None:
        return None
    precision, scale = int(match.group(2) or 18), int(match.group(3) or 0)
    if not 1 <= precision <= 38 or scale > precision:
        raise RedshiftError(f"DECIMAL precision {precision} must be between 1 and 38", "22023")
    return f"DECIMAL({precision},{scale})", f"numeric({precision},{scale})", match.group(4)


_FROM_POSTGRES = {
    "smallint": "SMALLINT", "integer": "INTEGER", "bigint": "BIGINT", "real": "REAL",
    "double precision": "DOUBLE PRECISION", "boolean": "BOOLEAN", "date": "DATE", "bytea": "VARBYTE(64000)",
    "timestamp without time zone": "TIMESTAMP", "timestamp with time zone": "TIMESTAMPTZ",
}  # fmt: skip


def committed_columns(conninfo: str, table: str) -> Columns | None:
    """A committed table's columns as Redshift types (PostgreSQL's ``format_type`` mapped back), or None."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            (".".join(pgsql.Identifier(part).as_string(None) for part in table.split(".")),),
        ).fetchall()
    columns = []
    for name, postgres in rows:
        sized = re.match(r"^(character varying|character|numeric)\((\d+)(?:,(\d+))?\)$", postgres)
        if sized:
            kind = {"character varying": "VARCHAR", "character": "CHAR", "numeric": "DECIMAL"}[sized.group(1)]
            size = sized.group(2) + (f",{sized.group(3)}" if sized.group(3) else "")
            columns.append((name, f"{kind}({size})"))
        else:
            columns.append((name, _FROM_POSTGRES.get(postgres, postgres.upper())))
    return columns or None


@dataclass
class RedshiftSession:
    """One session's view of Redshift: the catalog of tables it created, and how to reach S3 for COPY.

    ``describe(table)`` gives the Redshift columns of a table not created in this session (committed ones).
    """

    region: str
    describe: Callable[[str], Columns | None]
    catalog: dict[str, Columns] = field(default_factory=dict)
    received: list[str] = field(default_factory=list)
    copied: list[Any] = field(default_factory=list)

    def translate(self, statement: str, *, in_transaction: bool) -> str:
        """The PostgreSQL statement that does what Redshift would do with `statement`; RedshiftError if refused."""
        self.received.append(statement)
        folded, masked = fold(statement)
        for pattern, message in _REFUSED:
            if pattern.search(masked):
                raise RedshiftError(message, "42601")
        if re.match(r"^\s*TRUNCATE\b", masked, re.I) and in_transaction:
            raise RedshiftError(
                "TRUNCATE commits the open transaction in Redshift: this double refuses it inside one", "25001"
            )
        if re.match(r"^\s*CREATE\s+(TEMP\w*\s+)?TABLE\b", masked, re.I) and not re.search(r"\bAS\s+SELECT\b", masked):
            return self._create_table(folded)
        if re.match(r"^\s*COPY\b", masked, re.I):
            try:
                return self._copy(folded)
            except CopyError as exc:
                raise RedshiftError(str(exc), "XX000") from exc
        return folded

    def columns(self, table: str) -> Columns | None:
        """The Redshift columns of `table` (``schema.table`` or ``table``, public by default)."""
        key = table if "." in table else f"public.{table}"
        return self.catalog.get(key) or self.describe(key)

    def _create_table(self, folded: str) -> str:
        match = _CREATE.match(folded.rstrip().rstrip(";"))
        if match is None:
            raise RedshiftError("syntax error in CREATE TABLE (the double parses one column list)", "42601")
        if not _TABLE_ATTRS.match(match.group("attrs")):
            raise RedshiftError(f'syntax error at or near "{match.group("attrs").strip()[:30]}"', "42601")
        items: list[str] = []
        columns: Columns = []
        for item in split_top_level(match.group("body")):
            if re.match(
                r"^(PRIMARY\s+KEY|UNIQUE|FOREIGN\s+KEY|CONSTRAINT\s+\S+\s+(PRIMARY|UNIQUE|FOREIGN))\b", item, re.I
            ):
                items.append(item)
                continue
            if re.match(r"^(CHECK|EXCLUDE|LIKE)\b", item, re.I):
                raise RedshiftError(f'syntax error at or near "{item.split()[0]}"', "42601")
            name_match = re.match(r'^("[^"]+"|\w+)\s+(.*)$', item, re.S)
            if name_match is None:
                raise RedshiftError(f'syntax error at or near "{item[:20]}"', "42601")
            column = name_match.group(1).strip('"')
            if any(existing == column for existing, _ in columns):
                raise RedshiftError(f'column "{column}" specified more than once', "42701")
            decimal = decimal_type(name_match.group(2))
            if decimal:
                (redshift, postgres, rest), limit = decimal, None
            else:
                redshift, postgres, limit, rest = column_type(name_match.group(2), column)
            if re.search(r"\b(CHECK|GENERATED|COLLATE)\b", rest, re.I):
                raise RedshiftError(f'syntax error at or near "{rest.strip()[:20]}"', "42601")
            quoted = pgsql.Identifier(column).as_string(None)
            check = f" CHECK (octet_length({quoted}) <= {limit})" if limit else ""
            items.append(f"{quoted} {postgres}{_COLUMN_OPTIONS.sub('', rest)}{check}")
            columns.append((column, redshift))
        table = unquote(match.group("name"))
        key = table if "." in table else f"public.{table}"
        if not (match.group("exists") and self.columns(key) is not None):
            self.catalog[key] = columns
        exists = "IF NOT EXISTS " if match.group("exists") else ""
        return f"CREATE TABLE {exists}{match.group('name')} ({', '.join(items)})"

    def _copy(self, folded: str) -> str:
        request = CopyRequest.parse(folded, region=self.region)
        columns = self.columns(request.table)
        if columns is None:
            raise RedshiftError(f'relation "{request.table}" does not exist', "42P01")
        rows = load_parquet(request, columns, self.copied)
        target = ".".join(pgsql.Identifier(part).as_string(None) for part in request.table.split("."))
        if not rows:
            return f"INSERT INTO {target} SELECT * FROM {target} WHERE false"
        values = ", ".join("(" + ", ".join(pgsql.Literal(value).as_string(None) for value in row) + ")" for row in rows)
        return f"INSERT INTO {target} VALUES {values}"
