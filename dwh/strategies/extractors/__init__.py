"""Extractors, selected by ``strategy``: PARQUET, DELTA, CSV, JDBC.

A new extractor is one new module with an `Extractor` subclass plus one line in `registry.py`.
"""
