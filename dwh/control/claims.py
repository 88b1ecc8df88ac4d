"""Claims two processes can't both win, and rows inserted at most once (PLATFORMS.md, "Control tables").

    with store.transaction() as conn:
        row = claim(conn, table, {"id": 7}, expected={"state": "WAITING"}, values={"state": "CLAIMED"})
        # row is the updated row when this caller won, None when someone else had it first

`claim` is a conditional ``UPDATE ... WHERE <key> AND <expected> RETURNING *``: the database applies
it to a row once, so only one caller gets the row back (SQLite >= 3.35 and PostgreSQL both honour
it). `claim_many` takes up to `limit` matching rows: on PostgreSQL it locks them with ``SELECT ...
FOR UPDATE SKIP LOCKED`` (so two claimers take different rows instead of waiting), on SQLite the
store's ``BEGIN IMMEDIATE`` already serializes the select and the update. `insert_once` is
``INSERT ... ON CONFLICT DO NOTHING RETURNING``: True only for the caller whose row went in.

In `expected`, a value of None means ``IS NULL`` and a tuple, list or set means "one of these".
Call these inside `ControlStore.transaction()`; the claim holds once the transaction commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Table
    from sqlalchemy.engine import Connection

# Keys per UPDATE of claim_many: far below SQLite's bound-parameter limit, whatever the key width.
_CHUNK = 500


def conditions(table: Table, match: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    """``column = value`` for each item (``IS NULL`` for None, ``IN`` for a tuple, list or set)."""
    found: list[ColumnElement[bool]] = []
    for name, value in match.items():
        column = table.c[name]
        if value is None:
            found.append(column.is_(None))
        elif isinstance(value, (tuple, list, set, frozenset)):
            found.append(column.in_(list(value)))
        else:
            found.append(column == value)
    return found


def claim(
    conn: Connection, table: Table, key: Mapping[str, Any], *, expected: Mapping[str, Any], values: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Set `values` on the row `key` if it still matches `expected`; the updated row when this caller won."""
    from sqlalchemy import update

    if not key:
        raise ValueError("claim needs a key naming one row")
    statement = (
        update(table)
        .where(*conditions(table, key), *conditions(table, expected))
        .values(dict(values))
        .returning(*table.c)
    )
    rows = conn.execute(statement).mappings().all()
    if len(rows) > 1:
        raise ValueError(f"claim key {dict(key)} matched {len(rows)} rows of {table.name}; it must name one row")
    return dict(rows[0]) if rows else None


def claim_many(
    conn: Connection,
    table: Table,
    *,
    expected: Mapping[str, Any],
    values: Mapping[str, Any],
    limit: int | None = None,
    order_by: Any = None,
) -> list[dict[str, Any]]:
    """Claim up to `limit` rows matching `expected` (in `order_by` order); each row goes to one caller only."""
    from sqlalchemy import select, tuple_, update

    keys = list(table.primary_key.columns)
    if not keys:
        raise ValueError(f"claim_many needs a primary key on {table.name}")
    query = select(*keys).where(*conditions(table, expected))
    if order_by is not None:
        query = query.order_by(*(order_by if isinstance(order_by, Sequence) else [order_by]))
    if limit is not None:
        query = query.limit(limit)
    # FOR UPDATE SKIP LOCKED on PostgreSQL; rendered as nothing on SQLite, where BEGIN IMMEDIATE holds the lock.
    found = [tuple(row) for row in conn.execute(query.with_for_update(skip_locked=True))]
    claimed: dict[tuple[Any, ...], dict[str, Any]] = {}
    for start in range(0, len(found), _CHUNK):
        chunk = found[start : start + _CHUNK]
        match = keys[0].in_([k[0] for k in chunk]) if len(keys) == 1 else tuple_(*keys).in_(chunk)
        statement = update(table).where(match, *conditions(table, expected)).values(dict(values)).returning(*table.c)
        for row in conn.execute(statement).mappings():
            claimed[tuple(row[column.name] for column in keys)] = dict(row)
    # RETURNING has no order: give the rows back in the order they were selected.
    return [claimed[k] for k in found if k in claimed]


def insert_once(conn: Connection, table: Table, row: Mapping[str, Any]) -> bool:
    """Insert `row` unless one with the same key exists; True when this call inserted it."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    keys = list(table.primary_key.columns) or list(table.c)[:1]
    statement = insert(table).values(dict(row)).on_conflict_do_nothing().returning(*keys)
    return conn.execute(statement).first() is not None
