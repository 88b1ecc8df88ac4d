"""POSTGRES loader: `PostgresLoader` COPYs every Spark partition into staging, then applies the mode in one transaction.

loader.py   the config model and the driver's steps (claim, prepare, stage, apply, clean up)
staging.py  the driver's staging housekeeping: prefix + advisory lock, sweeping dead runs, shared staging
copy.py     the executor side: each partition streams into the shared staging table or its own
commit.py   the final transaction: swap the staged table in, or insert the staged rows
swap.py     the swap's statements (indexes, sequences, DROP + RENAME, grants, comments, foreign keys)
carry.py    what a swap carries and what blocks it, read from the catalog
binary.py   Arrow batches -> PostgreSQL's binary COPY format
sql.py      the catalog look-ups and statements, every name quoted
types.py    Spark type -> PostgreSQL / Redshift column type (REDSHIFT uses it too)
"""

from dwh.strategies.loaders.postgres.loader import PostgresLoader

__all__ = ["PostgresLoader"]
