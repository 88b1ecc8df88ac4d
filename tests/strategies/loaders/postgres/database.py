"""Reading a test's PostgreSQL server with psycopg directly (not through our loaders): POSTGRES and REDSHIFT tests."""

from __future__ import annotations

from typing import Any

from dwh.devtools.local_postgres import LocalPostgres


def query(db: LocalPostgres, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of `sql` on `db` (none for a statement that returns no rows); `params` fill ``%s`` placeholders."""
    import psycopg

    with psycopg.connect(db.conninfo, autocommit=True) as conn:
        cursor = conn.execute(sql, params or None)
        return cursor.fetchall() if cursor.description else []
