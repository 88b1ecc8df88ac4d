"""Loaders, selected by ``strategy``: DELTA, PARQUET, POSTGRES, REDSHIFT.

A new loader is one new module with a `Loader` subclass plus one line in `registry.py`.
"""
