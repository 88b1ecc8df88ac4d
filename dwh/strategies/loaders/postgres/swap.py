"""Committing a load by swapping the staged table in: what the swap carries, what stops it, the statements.

When the staged rows are one table with the target's column types (see `copy`, shared staging), the
final transaction can make them the target's rows without writing them again:

    LOCK target IN ACCESS EXCLUSIVE MODE        (before anything about it is read)
    build the target's indexes on the staged table (temporary names; PK/UNIQUE/EXCLUDE as constraints)
    ALTER SEQUENCE <owned serial sequence> OWNED BY staged.col   (its current value stays as it is)
    DROP TABLE target  (RESTRICT: whatever still depends on it makes the transaction fail, nothing changes)
    ALTER TABLE staged RENAME TO target; rename the indexes/constraints to the target's names
    owner, grants (table and column), comments (table, columns, indexes, constraints), replica
    identity, per-column statistics targets; then the outgoing foreign keys (validated)

The staged table was created ``LIKE target INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING
GENERATED INCLUDING STORAGE INCLUDING COMPRESSION`` with the target's persistence, reloptions and
tablespace, so NOT NULL, CHECK, defaults (``nextval`` of the same sequence), generated columns and
collations travel with the table, and COPY checked them row by row while staging. `carry.shape`
compares both tables' definitions under the lock; if the target changed after staging began the
load takes the insert path instead.

What the swap cannot carry faithfully blocks it (`carry.blockers`, one line each): dependent views and
materialized views, incoming foreign keys and any other object depending on the table or its row
type, inheritance and partitions, publications that list the table, triggers (they would not fire
for the loaded rows), rules, row-level security, identity columns, extended statistics, column
options, a typed table, and a target the loader's role does not own. Grants keep their grantee,
privilege and grant option; their grantor becomes the owner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dwh.strategies.loaders.postgres import sql as q
from dwh.strategies.loaders.postgres.carry import Carry

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql


def index_on(definition: str, name: str, target: str, staged: sql.Composable, temporary: str) -> sql.Composed | None:
    """`definition` (``pg_get_indexdef``) re-aimed at the staged table under a temporary name; None if unexpected."""
    from psycopg import sql

    for unique in ("CREATE UNIQUE INDEX ", "CREATE INDEX "):
        head = f"{unique}{name} ON {target} USING "
        if definition.startswith(head):
            tail = definition[len(head) :]
            return sql.SQL("{}{} ON {} USING {}").format(
                sql.SQL(unique), sql.Identifier(temporary), staged, sql.SQL(tail)
            )
    return None


def swap_in(conn: psycopg.Connection, schema: str, table: str, staged: str, carry: Carry) -> None:
    """Make `staged` the target `schema.table` (which must exist and be locked), re-creating what `carry` holds."""
    from psycopg import sql

    staged_name, target_name = q.qualified(schema, staged), q.qualified(schema, table)
    quoted = conn.execute("SELECT format('%%I.%%I', %s::text, %s::text)", [schema, table]).fetchone()
    renames: list[tuple[str, str, str | None]] = []
    # first: an owned sequence must have its table's owner, and the indexes get it too
    conn.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(staged_name, sql.Identifier(carry.owner)))
    for number, (name, definition, kind) in enumerate(carry.indexes):
        temporary = f"{staged}_i{number}"
        renames.append((temporary, name, kind))
        if kind:
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    staged_name, sql.Identifier(temporary), sql.SQL(definition)
                )
            )
            continue
        index_name = conn.execute("SELECT quote_ident(%s)", [name]).fetchone()
        statement = index_on(
            definition, index_name[0] if index_name else name, quoted[0] if quoted else "", staged_name, temporary
        )
        if statement is None:
            raise RuntimeError(f"POSTGRES {schema}.{table}: cannot re-create index {name} on the staged table")
        conn.execute(statement)
    for seq_schema, sequence, column in carry.sequences:
        conn.execute(
            sql.SQL("ALTER SEQUENCE {} OWNED BY {}").format(
                q.qualified(seq_schema, sequence), sql.Identifier(schema, staged, column)
            )
        )
    conn.execute(sql.SQL("DROP TABLE {}").format(target_name))
    conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(staged_name, sql.Identifier(table)))
    for temporary, name, kind in renames:
        if kind:
            conn.execute(
                sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                    target_name, sql.Identifier(temporary), sql.Identifier(name)
                )
            )
        else:
            conn.execute(
                sql.SQL("ALTER INDEX {} RENAME TO {}").format(q.qualified(schema, temporary), sql.Identifier(name))
            )
    for name, definition in carry.foreign_keys:  # validated here: the rows are checked once
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                target_name, sql.Identifier(name), sql.SQL(definition)
            )
        )
    _carry_metadata(conn, schema, target_name, carry)


def _carry_metadata(conn: psycopg.Connection, schema: str, target: sql.Identifier, carry: Carry) -> None:
    """Grants, comments, replica identity and statistics targets of the swapped-in table."""
    from psycopg import sql

    if carry.explicit_acl:  # the old ACL lists every entry, the owner's own too: start from none
        conn.execute(sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(target))
        conn.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(target, sql.Identifier(carry.owner)))
    for column, grantee, privilege, grantable in carry.grants:
        conn.execute(
            sql.SQL("GRANT {privilege}{columns} ON {target} TO {grantee}{option}").format(
                privilege=sql.SQL(privilege),
                columns=sql.SQL(" ({})").format(sql.Identifier(column)) if column else sql.SQL(""),
                target=target,
                grantee=sql.Identifier(grantee) if grantee else sql.SQL("PUBLIC"),
                option=sql.SQL(" WITH GRANT OPTION" if grantable else ""),
            )
        )
    if carry.comment is not None:
        conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(target, sql.Literal(carry.comment)))
    for kind, name, text in carry.comments:
        if kind == "COLUMN":
            conn.execute(
                sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(target, sql.Identifier(name), sql.Literal(text))
            )
        elif kind == "CONSTRAINT":
            conn.execute(
                sql.SQL("COMMENT ON CONSTRAINT {} ON {} IS {}").format(sql.Identifier(name), target, sql.Literal(text))
            )
        else:
            conn.execute(sql.SQL("COMMENT ON INDEX {} IS {}").format(q.qualified(schema, name), sql.Literal(text)))
    for column, target_value in carry.statistics:
        conn.execute(
            sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET STATISTICS {}").format(
                target, sql.Identifier(column), sql.Literal(target_value)
            )
        )
    identities = {"n": "NOTHING", "f": "FULL"}
    if carry.replica_identity in identities:
        conn.execute(sql.SQL("ALTER TABLE {} REPLICA IDENTITY " + identities[carry.replica_identity]).format(target))
    elif carry.replica_identity == "i" and carry.replica_index:
        conn.execute(
            sql.SQL("ALTER TABLE {} REPLICA IDENTITY USING INDEX {}").format(
                target, sql.Identifier(carry.replica_index)
            )
        )
