"""Helpers for running the framework on a laptop or in CI: a throwaway local PostgreSQL server."""
