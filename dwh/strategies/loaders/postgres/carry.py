"""What a swap carries from the old target and what stops it: catalog reads for `swap` and `commit`.

`blockers` lists, one phrase each, what the swap cannot carry faithfully (see `swap`); `shape` is
what the staged table copied from the target with ``LIKE`` (compared under the lock); `read_carry`
reads, under the lock, everything `swap.swap_in` re-creates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dwh.strategies.loaders.postgres import sql as q

if TYPE_CHECKING:
    import psycopg

_PRIVILEGES = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"})


@dataclass
class Carry:
    """What the swap re-creates on the staged table, read from the target under its lock."""

    owner: str
    explicit_acl: bool = False  # False: the table had its default privileges (relacl NULL)
    grants: list[tuple[str | None, str, str, bool]] = field(default_factory=list)  # column, grantee, privilege, option
    comment: str | None = None
    comments: list[tuple[str, str, str]] = field(default_factory=list)  # kind (COLUMN/INDEX/CONSTRAINT), name, text
    indexes: list[tuple[str, str, str | None]] = field(default_factory=list)  # name, definition, constraint kind
    foreign_keys: list[tuple[str, str]] = field(default_factory=list)  # name, definition
    sequences: list[tuple[str, str, str]] = field(default_factory=list)  # schema, sequence, column
    replica_identity: str = "d"
    replica_index: str | None = None
    statistics: list[tuple[str, int]] = field(default_factory=list)  # column, statistics target


def table_oid(conn: psycopg.Connection, schema: str, table: str) -> int | None:
    """The oid of a table, None when there is none."""
    row = conn.execute(
        "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
        "AND c.relname = %s",
        [schema, table],
    ).fetchone()
    return int(row[0]) if row else None


def is_empty(conn: psycopg.Connection, schema: str, table: str) -> bool:
    """True when the table holds no row (visible to this transaction)."""
    row = conn.execute(q.statement("SELECT NOT EXISTS (SELECT 1 FROM {})", q.qualified(schema, table))).fetchone()
    return bool(row and row[0])


def blockers(conn: psycopg.Connection, oid: int) -> list[str]:
    """Why the table cannot be swapped out (empty when it can), one phrase each."""
    found = [
        f"{kind} {name} depends on it"
        for kind, name in conn.execute(
            """
            SELECT DISTINCT CASE WHEN d.classid = 'pg_rewrite'::regclass THEN
                        CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END
                   WHEN d.classid = 'pg_constraint'::regclass AND k.contype = 'f' THEN 'foreign key'
                   ELSE 'object' END,
                   CASE WHEN d.classid = 'pg_rewrite'::regclass THEN v.oid::regclass::text
                   WHEN d.classid = 'pg_constraint'::regclass THEN k.conname || ' of ' || k.conrelid::regclass::text
                   ELSE pg_describe_object(d.classid, d.objid, 0) END
              FROM pg_depend d
              LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
              LEFT JOIN pg_class v ON v.oid = r.ev_class
              LEFT JOIN pg_constraint k ON d.classid = 'pg_constraint'::regclass AND k.oid = d.objid
             WHERE d.deptype = 'n'
               AND ((d.refclassid = 'pg_class'::regclass AND d.refobjid = %(oid)s)
                    OR (d.refclassid = 'pg_type'::regclass
                        AND d.refobjid = (SELECT reltype FROM pg_class WHERE oid = %(oid)s)))
               AND NOT (d.classid = 'pg_constraint'::regclass AND k.conrelid = %(oid)s)
               AND NOT (d.classid = 'pg_rewrite'::regclass AND r.ev_class = %(oid)s)
             ORDER BY 1, 2
            """,
            {"oid": oid},
        ).fetchall()
    ]
    checks = conn.execute(
        """
        SELECT c.relkind <> 'r', c.relispartition, c.reloftype <> 0, c.relrowsecurity,
               NOT pg_has_role(current_user, c.relowner, 'USAGE'),
               EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = c.oid OR inhparent = c.oid),
               EXISTS (SELECT 1 FROM pg_publication_rel WHERE prrelid = c.oid),
               EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = c.oid AND NOT tgisinternal),
               EXISTS (SELECT 1 FROM pg_rewrite WHERE ev_class = c.oid),
               EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = c.oid),
               EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND attidentity <> ''),
               EXISTS (SELECT 1 FROM pg_statistic_ext WHERE stxrelid = c.oid),
               EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND attoptions IS NOT NULL),
               EXISTS (SELECT 1 FROM pg_class t WHERE t.oid = c.reltoastrelid AND t.reloptions IS NOT NULL)
          FROM pg_class c WHERE c.oid = %s
        """,
        [oid],
    ).fetchone()
    reasons = (
        "it is not a plain table",
        "it is a partition",
        "it is a typed table",
        "it has row-level security",
        "the loader's role does not own it",
        "it takes part in inheritance",
        "a publication lists it",
        "it has triggers (they would not fire for the loaded rows)",
        "it has rules",
        "it has row-level security policies",
        "it has an identity column",
        "it has extended statistics",
        "a column has options (n_distinct, ...)",
        "its TOAST table has storage options",
    )
    found += [reason for reason, hit in zip(reasons, checks or (), strict=False) if hit]
    return found


def shape(conn: psycopg.Connection, oid: int) -> tuple[Any, ...]:
    """What the staged table copied from the target: columns, types, NOT NULL, defaults, CHECKs, storage."""
    columns = conn.execute(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attgenerated, a.attcollation,
               a.attstorage, a.attcompression, pg_get_expr(d.adbin, d.adrelid)
          FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
        """,
        [oid],
    ).fetchall()
    checks = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s AND contype = 'c' "
        "ORDER BY conname",
        [oid],
    ).fetchall()
    table = conn.execute(
        "SELECT relpersistence, reloptions, reltablespace FROM pg_class WHERE oid = %s", [oid]
    ).fetchone()
    return tuple(columns), tuple(checks), table


def read_carry(conn: psycopg.Connection, oid: int) -> Carry:
    """Everything `swap_in` re-creates, read from the (locked) target."""
    owner, comment, identity = conn.execute(
        "SELECT pg_get_userbyid(relowner), obj_description(oid, 'pg_class'), relreplident FROM pg_class WHERE oid = %s",
        [oid],
    ).fetchone() or ("", None, "d")
    carry = Carry(owner=owner, comment=comment, replica_identity=identity)
    carry.grants = [
        (column, grantee, privilege, grantable)
        for column, grantee, privilege, grantable in conn.execute(
            """
            SELECT NULL::name, CASE a.grantee WHEN 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END,
                   a.privilege_type, a.is_grantable
              FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = %(oid)s
            UNION ALL
            SELECT t.attname, CASE a.grantee WHEN 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END,
                   a.privilege_type, a.is_grantable
              FROM pg_attribute t, aclexplode(t.attacl) a WHERE t.attrelid = %(oid)s AND t.attnum > 0
            """,
            {"oid": oid},
        ).fetchall()
        if privilege in _PRIVILEGES
    ]
    acl = conn.execute("SELECT relacl IS NOT NULL FROM pg_class WHERE oid = %s", [oid]).fetchone()
    carry.explicit_acl = bool(acl and acl[0])
    carry.comments = [
        (kind, name, text)
        for kind, name, text in conn.execute(
            """
            SELECT 'COLUMN', attname, col_description(attrelid, attnum) FROM pg_attribute
             WHERE attrelid = %(oid)s AND attnum > 0 AND NOT attisdropped
               AND col_description(attrelid, attnum) IS NOT NULL
            UNION ALL
            SELECT 'CONSTRAINT', conname, obj_description(oid, 'pg_constraint') FROM pg_constraint
             WHERE conrelid = %(oid)s AND obj_description(oid, 'pg_constraint') IS NOT NULL
            UNION ALL
            SELECT 'INDEX', c.relname, obj_description(c.oid, 'pg_class') FROM pg_index i JOIN pg_class c
                ON c.oid = i.indexrelid
             WHERE i.indrelid = %(oid)s AND obj_description(c.oid, 'pg_class') IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid AND k.conrelid = %(oid)s)
            """,
            {"oid": oid},
        ).fetchall()
    ]
    carry.indexes = conn.execute(
        """
        SELECT c.relname, CASE WHEN k.oid IS NULL THEN pg_get_indexdef(i.indexrelid)
                          ELSE pg_get_constraintdef(k.oid) END, k.contype::text
          FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid
               AND k.contype IN ('p', 'u', 'x')
         WHERE i.indrelid = %s ORDER BY k.contype NULLS LAST, c.relname
        """,
        [oid],
    ).fetchall()
    carry.replica_index = next(
        iter(
            name
            for (name,) in conn.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = %s AND i.indisreplident",
                [oid],
            ).fetchall()
        ),
        None,
    )
    carry.foreign_keys = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s AND contype = 'f' "
        "ORDER BY conname",
        [oid],
    ).fetchall()
    carry.sequences = conn.execute(
        """
        SELECT n.nspname, s.relname, a.attname FROM pg_depend d
          JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
          JOIN pg_namespace n ON n.oid = s.relnamespace
          JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = %s
           AND d.deptype = 'a'
        """,
        [oid],
    ).fetchall()
    carry.statistics = conn.execute(
        "SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped "
        "AND attstattarget >= 0",
        [oid],
    ).fetchall()
    return carry
