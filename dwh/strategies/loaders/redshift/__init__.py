"""REDSHIFT loader: `RedshiftLoader` stages Parquet on S3, COPYs it, then applies the mode in one transaction.

loader.py   the config model and the load's steps
staging.py  the S3 half: Parquet under a per-run prefix, a manifest, cleanup
api.py      how SQL reaches Redshift: the Data API or a DB-API connection
sql.py      the SQL text sent (column types from `dwh.strategies.loaders.postgres.types`)
"""

from dwh.strategies.loaders.redshift.loader import RedshiftLoader

__all__ = ["RedshiftLoader"]
