"""Fixtures for the launcher tests: the Databricks Jobs API stand-in (`jobs_api`)."""

from tests.stand_ins.jobs_api import jobs_api  # noqa: F401 - a fixture, found by name
