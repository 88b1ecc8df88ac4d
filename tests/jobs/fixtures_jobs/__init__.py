"""Spark-free test-double jobs for the framework-core tests (import them with DWH_ALLOWED_MODULE_PREFIXES)."""
