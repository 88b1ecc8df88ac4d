"""POSTGRES loader: `PostgresLoader` COPYs every Spark partition into staging, then applies the mode in one transaction.

loader.py   the config model and the driver's steps (claim, prepare, stage, apply, clean up)
copy.py     the executor side: each partition streams into its own staging table
binary.py   Arrow batches -> PostgreSQL's binary COPY format
sql.py      the catalog look-ups and statements, every name quoted
types.py    Spark type -> PostgreSQL / Redshift column type (REDSHIFT uses it too)
"""

from dwh.strategies.loaders.postgres.loader import PostgresLoader

__all__ = ["PostgresLoader"]
