"""load_promos: promotions from any source into the Unity/Delta table, a Parquet stage and Redshift/PostgreSQL.

Run it with ``generic_entry --module_name dwh.jobs.load_promos.load_promos_job_factory``; the
business rules are documented in `dwh.jobs.load_promos.load_promos_job`.
"""
