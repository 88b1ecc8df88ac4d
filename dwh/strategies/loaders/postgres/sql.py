"""The SQL the POSTGRES loader runs, built with `psycopg.sql` so every name is quoted.

Catalog look-ups (does the target exist, its column types, its unique keys, leftover staging
tables) and the statements of the final transaction for each write mode:

    append          INSERT INTO target (cols) SELECT cols FROM staging
    overwrite       TRUNCATE target; INSERT ...
    replace_window  DELETE FROM target WHERE w >= start AND w < end; INSERT ... WHERE w in window
    merge           INSERT ... ON CONFLICT (keys) DO UPDATE SET c = EXCLUDED.c
                    WHERE (target.c, ...) IS DISTINCT FROM (EXCLUDED.c, ...)

The staging data is the UNION ALL of one UNLOGGED table per Spark partition, or the one shared
staging table (`copy`); when that one can become the target, `swap` commits instead of an INSERT.
``merge_rows`` (PostgreSQL 15 ``MERGE``) is the alternative the benchmark measures against ON CONFLICT.

Staging tables of a run that died (SIGKILL, lost driver) are swept by the next load in the same
schema: every run holds a session advisory lock on its staging prefix while it loads, and a prefix
whose lock can be taken has no live owner (PostgreSQL releases the lock with the session).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql


def qualified(schema: str, name: str) -> sql.Identifier:
    """``"schema"."name"``."""
    from psycopg import sql

    return sql.Identifier(schema, name)


def statement(template: str, *parts: sql.Composable) -> sql.Composed:
    """``sql.SQL(template).format(*parts)``: a fixed statement with quoted names filled in."""
    from psycopg import sql

    return sql.SQL(template).format(*parts)


def column_list(columns: Sequence[str]) -> sql.Composed:
    """``"a", "b", "c"``."""
    from psycopg import sql

    return sql.SQL(", ").join(sql.Identifier(name) for name in columns)


def schema_exists(conn: psycopg.Connection, schema: str) -> bool:
    """True when the schema exists."""
    row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone()
    return row is not None


def table_columns(conn: psycopg.Connection, schema: str, table: str) -> dict[str, str] | None:
    """Column name -> SQL type of an existing table or view-like relation, None when it does not exist."""
    rows = conn.execute(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod)
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')
         ORDER BY a.attnum
        """,
        [schema, table],
    ).fetchall()
    return {name: type_text for name, type_text in rows} or None


def unique_key_sets(conn: psycopg.Connection, schema: str, table: str) -> list[frozenset[str]]:
    """The column sets of the table's valid, non-partial unique indexes (incl. the primary key)."""
    rows = conn.execute(
        """
        SELECT array_agg(a.attname::text)
          FROM pg_index i
          JOIN pg_class c ON c.oid = i.indrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
         WHERE n.nspname = %s AND c.relname = %s
           AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
         GROUP BY i.indexrelid
        """,
        [schema, table],
    ).fetchall()
    return [frozenset(names) for (names,) in rows]


def staging_tables(conn: psycopg.Connection, schema: str, prefix: str) -> list[str]:
    """Names of the tables in `schema` that start with a run's staging prefix."""
    rows = conn.execute(
        """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = %s AND starts_with(c.relname::text, %s) AND c.relkind = 'r'
        """,
        [schema, prefix],
    ).fetchall()
    return [name for (name,) in rows]


#: First key of the advisory locks that mark a live run's staging prefix (ASCII "dwhs").
STAGING_LOCK_CLASS = 0x64776873
#: ``dwh_stage_`` + 16 hex digits: what a run's staging table names start with.
STAGING_PREFIX_PATTERN = "^dwh_stage_[0-9a-f]{16}_"
STAGING_PREFIX_LENGTH = len("dwh_stage_") + 16


def hold_staging_lock(conn: psycopg.Connection, prefix: str) -> bool:
    """Mark `prefix` as live for as long as `conn`'s session lasts; False if its lock is taken (pick another)."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", [STAGING_LOCK_CLASS, prefix]).fetchone()
    return bool(row and row[0])


def stale_staging_prefixes(conn: psycopg.Connection, schema: str, own_prefix: str) -> list[str]:
    """Staging prefixes in `schema` whose run is gone, each left locked by `conn` until `release_staging_lock`."""
    rows = conn.execute(
        """
        SELECT DISTINCT left(c.relname, %s) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = %s AND c.relkind = 'r' AND c.relname ~ %s
        """,
        [STAGING_PREFIX_LENGTH, schema, STAGING_PREFIX_PATTERN],
    ).fetchall()
    stale = []
    for (prefix,) in rows:
        if prefix == own_prefix:
            continue
        taken = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", [STAGING_LOCK_CLASS, prefix]).fetchone()
        if taken and taken[0]:
            stale.append(prefix)
    return stale


def drop_staging(conn: psycopg.Connection, schema: str, prefix: str) -> bool:
    """Drop the tables of one run's staging prefix; True when there were any."""
    names = staging_tables(conn, schema, prefix)
    if names:
        conn.execute(drop_tables(schema, names))
    return bool(names)


def release_staging_lock(conn: psycopg.Connection, prefix: str) -> None:
    """Give back a lock `stale_staging_prefixes` took."""
    conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [STAGING_LOCK_CLASS, prefix])


def create_table(
    schema: str,
    name: str,
    types: dict[str, str],
    *,
    unlogged: bool = False,
    primary_key: Sequence[str] = (),
    if_not_exists: bool = False,
) -> sql.Composed:
    """``CREATE [UNLOGGED] TABLE [IF NOT EXISTS] schema.name (col type, ... [, PRIMARY KEY (...)])``."""
    from psycopg import sql

    items = [sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(type_text)) for column, type_text in types.items()]
    if primary_key:
        items.append(sql.SQL("PRIMARY KEY ({})").format(column_list(primary_key)))
    return sql.SQL("CREATE {unlogged}TABLE {exists}{table} ({items})").format(
        unlogged=sql.SQL("UNLOGGED " if unlogged else ""),
        exists=sql.SQL("IF NOT EXISTS " if if_not_exists else ""),
        table=qualified(schema, name),
        items=sql.SQL(", ").join(items),
    )


def create_like(
    schema: str, name: str, like: sql.Identifier, *, unlogged: bool, reloptions: Sequence[str], tablespace: str | None
) -> sql.Composed:
    """``CREATE [UNLOGGED] TABLE name (LIKE target INCLUDING ...) [WITH (...)] [TABLESPACE t]``: the swap staging.

    Defaults, CHECK constraints, generated columns, storage and compression come along (NOT NULL always
    does); indexes are built after the COPY, foreign keys and the rest in the final transaction (`swap`).
    """
    from psycopg import sql

    options: sql.Composable = sql.SQL("")
    if reloptions:  # pg_class.reloptions entries are "name=value" as PostgreSQL printed them
        options = sql.SQL(" WITH ({})").format(sql.SQL(", ").join(sql.SQL(option) for option in reloptions))
    return sql.SQL(
        "CREATE {unlogged}TABLE {table} (LIKE {like} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED "
        "INCLUDING STORAGE INCLUDING COMPRESSION){options}{tablespace}"
    ).format(
        unlogged=sql.SQL("UNLOGGED " if unlogged else ""),
        table=qualified(schema, name),
        like=like,
        options=options,
        tablespace=sql.SQL(" TABLESPACE {}").format(sql.Identifier(tablespace)) if tablespace else sql.SQL(""),
    )


def drop_tables(schema: str, names: Sequence[str]) -> sql.Composed:
    """``DROP TABLE IF EXISTS schema.a, schema.b``."""
    from psycopg import sql

    return sql.SQL("DROP TABLE IF EXISTS {}").format(sql.SQL(", ").join(qualified(schema, name) for name in names))


def staged_rows(schema: str, tables: Sequence[str], columns: Sequence[str]) -> sql.Composed:
    """``SELECT cols FROM p0 UNION ALL SELECT cols FROM p1 ...``: all staged rows."""
    from psycopg import sql

    return sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {} FROM {}").format(column_list(columns), qualified(schema, table)) for table in tables
    )


def window_condition(column: str) -> sql.Composed:
    """``"w" >= %s AND "w" < %s`` (parameters: window start, window end)."""
    from psycopg import sql

    return sql.SQL("{col} >= %s AND {col} < %s").format(col=sql.Identifier(column))


def insert_rows(
    target: sql.Identifier,
    columns: Sequence[str],
    source: sql.Composable,
    *,
    casts: dict[str, str] | None = None,
    window_column: str | None = None,
    merge_keys: Sequence[str] = (),
) -> sql.Composed:
    """``INSERT INTO target (cols) SELECT cols [::type] FROM (source) s [WHERE window] [ON CONFLICT ...]``.

    `casts` maps a column to the target type its staged text is explicitly cast to.
    """
    from psycopg import sql

    casts = casts or {}
    select = sql.SQL(", ").join(
        sql.SQL("{}::{}").format(sql.Identifier(column), sql.SQL(casts[column]))
        if column in casts
        else sql.Identifier(column)
        for column in columns
    )
    query = sql.SQL("INSERT INTO {target} AS t ({cols}) SELECT {select} FROM ({source}) AS s").format(
        target=target, cols=column_list(columns), select=select, source=source
    )
    if window_column:
        query = sql.SQL("{} WHERE {}").format(query, window_condition(window_column))
    if merge_keys:
        query = sql.SQL("{} {}").format(query, on_conflict_update(columns, merge_keys))
    return query


def on_conflict_update(columns: Sequence[str], keys: Sequence[str]) -> sql.Composed:
    """``ON CONFLICT (keys) DO UPDATE SET c = EXCLUDED.c ... WHERE changed`` (DO NOTHING without other columns)."""
    from psycopg import sql

    others = [column for column in columns if column not in keys]
    if not others:
        return sql.SQL("ON CONFLICT ({}) DO NOTHING").format(column_list(keys))
    assignments = sql.SQL(", ").join(
        sql.SQL("{col} = EXCLUDED.{col}").format(col=sql.Identifier(column)) for column in others
    )
    current = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(column)) for column in others)
    proposed = sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(column)) for column in others)
    return sql.SQL(
        "ON CONFLICT ({keys}) DO UPDATE SET {assignments} WHERE ({current}) IS DISTINCT FROM ({proposed})"
    ).format(keys=column_list(keys), assignments=assignments, current=current, proposed=proposed)


def identifier(name: str) -> sql.Identifier:
    """``"name"``."""
    from psycopg import sql

    return sql.Identifier(name)


def merge_rows(
    target: sql.Identifier, columns: Sequence[str], source: sql.Composable, keys: Sequence[str]
) -> sql.Composed:
    """PostgreSQL 15 ``MERGE INTO target t USING (source) s ON keys WHEN MATCHED AND changed THEN UPDATE
    WHEN NOT MATCHED THEN INSERT``: the same effect as `insert_rows` with `merge_keys`."""
    from psycopg import sql

    others = [column for column in columns if column not in keys]
    on = sql.SQL(" AND ").join(sql.SQL("t.{col} = s.{col}").format(col=sql.Identifier(column)) for column in keys)
    values = sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(column)) for column in columns)
    query = sql.SQL("MERGE INTO {target} AS t USING ({source}) AS s ON {on} ").format(
        target=target, source=source, on=on
    )
    if others:
        current = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(column)) for column in others)
        proposed = sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(column)) for column in others)
        assignments = sql.SQL(", ").join(
            sql.SQL("{col} = s.{col}").format(col=sql.Identifier(column)) for column in others
        )
        query = sql.SQL("{} WHEN MATCHED AND ({}) IS DISTINCT FROM ({}) THEN UPDATE SET {} ").format(
            query, current, proposed, assignments
        )
    return sql.SQL("{} WHEN NOT MATCHED THEN INSERT ({}) VALUES ({})").format(query, column_list(columns), values)
