"""Loaders, selected by ``strategy``: DELTA, PARQUET, POSTGRES, REDSHIFT; one package per family.

    base.py      the contract: `Loader`, `LoadResult`, the write modes
    registry.py  `LoaderConfig`, the discriminated union of every loader
    delta/       DELTA: Spark Delta, or delta-rs commits over files Spark tasks wrote
    parquet/     PARQUET: a staged directory moved in with journalled renames
    postgres/    POSTGRES: binary COPY per Spark partition, then one transaction
    redshift/    REDSHIFT: Parquet on S3, COPY, then one transaction (PostgreSQL's type mapping)

Each family's ``__init__`` names its loader class. A new loader is one new module (or package)
with a `Loader` subclass plus one line in `registry.py`.
"""
