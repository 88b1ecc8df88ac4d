"""Test doubles that run through the real generic_entry: small AbstractJob subclasses that need no Spark.

Run them with ``DWH_ALLOWED_MODULE_PREFIXES=tests.fixture_jobs`` and the repository root importable,
e.g. ``generic_entry --module_name tests.fixture_jobs.notice_job_factory --notice_job '{...}'``.
"""
