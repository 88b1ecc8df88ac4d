"""The SQL text the REDSHIFT loader sends (the Data API takes plain text, no bind parameters in a batch).

Every name in it was checked as a plain identifier when the config was parsed and is double-quoted
here; the only literals are the S3 manifest URL and the IAM role ARN (both checked against strict
patterns) and the run window's dates (ISO dates we format ourselves).

Redshift has no ``ON CONFLICT`` and its ``TRUNCATE`` commits the open transaction, so:

    append          INSERT INTO target (cols) SELECT cols FROM staging
    overwrite       DELETE FROM target; INSERT ...
    replace_window  DELETE FROM target WHERE w >= 'start' AND w < 'end'; INSERT ...
    merge           DELETE FROM target USING staging WHERE target.k = staging.k AND ...; INSERT ...
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence


def quote(name: str) -> str:
    """``"name"`` (names are plain identifiers already; embedded quotes are doubled anyway)."""
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    """``"schema"."table"``."""
    return f"{quote(schema)}.{quote(table)}"


def columns_sql(columns: Sequence[str]) -> str:
    """``"a", "b"``."""
    return ", ".join(quote(column) for column in columns)


def create_table(
    schema: str, table: str, types: dict[str, str], *, primary_key: Sequence[str] = (), if_not_exists: bool = False
) -> str:
    """``CREATE TABLE [IF NOT EXISTS] "s"."t" ("c" TYPE, ... [, PRIMARY KEY (...)])``."""
    items = [f"{quote(column)} {type_text}" for column, type_text in types.items()]
    if primary_key:
        items.append(f"PRIMARY KEY ({columns_sql(primary_key)})")
    exists = "IF NOT EXISTS " if if_not_exists else ""
    return f"CREATE TABLE {exists}{qualified(schema, table)} ({', '.join(items)})"


def copy_parquet(schema: str, table: str, manifest_url: str, iam_role: str) -> str:
    """``COPY "s"."t" FROM 's3://.../manifest.json' IAM_ROLE 'arn:...' FORMAT AS PARQUET MANIFEST``."""
    return f"COPY {qualified(schema, table)} FROM '{manifest_url}' IAM_ROLE '{iam_role}' FORMAT AS PARQUET MANIFEST"


def date_literal(value: dt.date) -> str:
    """``'2025-01-01'`` (from a date object only, never from user text)."""
    return f"'{dt.date.fromisoformat(value.isoformat()).isoformat()}'"


def window_condition(column: str, window: tuple[dt.date, dt.date]) -> str:
    """``"w" >= 'start' AND "w" < 'end'``."""
    return f"{quote(column)} >= {date_literal(window[0])} AND {quote(column)} < {date_literal(window[1])}"


def check_query(
    schema: str, staging: str, *, keys: Sequence[str] = (), window: tuple[str, tuple[dt.date, dt.date]] | None = None
) -> str:
    """``SELECT staged rows, offending rows``: duplicate or null merge keys, or rows outside the window."""
    stage = qualified(schema, staging)
    bad = "0"
    if keys:
        key_list = columns_sql(keys)
        null_keys = " OR ".join(f"{quote(key)} IS NULL" for key in keys)
        bad = (
            f"(SELECT COUNT(*) FROM (SELECT {key_list} FROM {stage} GROUP BY {key_list} HAVING COUNT(*) > 1) d)"
            f" + (SELECT COUNT(*) FROM {stage} WHERE {null_keys})"
        )
    elif window is not None:
        column, dates = window
        bad = f"(SELECT COUNT(*) FROM {stage} WHERE NOT ({window_condition(column, dates)}) OR {quote(column)} IS NULL)"
    return f"SELECT (SELECT COUNT(*) FROM {stage}) AS staged_rows, {bad} AS bad_rows"


def apply_mode(
    mode: str,
    target: tuple[str, str],
    staging: tuple[str, str],
    columns: Sequence[str],
    *,
    keys: Sequence[str] = (),
    window: tuple[str, tuple[dt.date, dt.date]] | None = None,
) -> list[str]:
    """The statements of the final transaction; the INSERT is always the last one."""
    target_sql, staging_sql = qualified(*target), qualified(*staging)
    statements: list[str] = []
    if mode == "overwrite":
        statements.append(f"DELETE FROM {target_sql}")
    elif mode == "replace_window" and window is not None:
        statements.append(f"DELETE FROM {target_sql} WHERE {window_condition(*window)}")
    elif mode == "merge":
        match = " AND ".join(f"{quote(target[1])}.{quote(key)} = {quote(staging[1])}.{quote(key)}" for key in keys)
        statements.append(f"DELETE FROM {target_sql} USING {staging_sql} WHERE {match}")
    cols = columns_sql(columns)
    statements.append(f"INSERT INTO {target_sql} ({cols}) SELECT {cols} FROM {staging_sql}")
    return statements


def drop_table(schema: str, table: str) -> str:
    """``DROP TABLE IF EXISTS "s"."t"``."""
    return f"DROP TABLE IF EXISTS {qualified(schema, table)}"
