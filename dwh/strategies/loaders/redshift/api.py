"""How the REDSHIFT loader talks to Redshift: the Data API or a DB-API connection, one interface.

`DataApiRunner` sends a list of statements with ``batch_execute_statement``, which Redshift runs as
ONE transaction, and polls ``describe_statement`` until it is FINISHED (or FAILED / ABORTED, which
raise with Redshift's error text). `DbApiRunner` runs the same list on a psycopg connection inside
one transaction (Redshift speaks the PostgreSQL protocol). Both return the affected rows of each
statement, so the loader can report the rows its INSERT wrote.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

from dwh.retry import RetryPolicy
from dwh.secrets import SCRUBBER

TERMINAL = {"FINISHED", "FAILED", "ABORTED"}


class SqlRunner(Protocol):
    """Runs statements on Redshift."""

    def run_batch(self, statements: Sequence[str]) -> list[int]:
        """Run `statements` as one transaction; returns the affected rows of each."""

    def query_row(self, statement: str) -> list[int]:
        """Run one query and return its single row of integers."""


class DataApiRunner:
    """The Redshift Data API (boto3 ``redshift-data``): provisioned cluster or serverless workgroup."""

    def __init__(
        self, *, target: dict[str, str], region: str | None, poll_seconds: float, timeout_seconds: float
    ) -> None:
        import boto3

        self.client: Any = boto3.client("redshift-data", region_name=region)
        self.target = target
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds

    def run_batch(self, statements: Sequence[str]) -> list[int]:
        """``batch_execute_statement`` (one transaction), then wait for it."""
        response = self.client.batch_execute_statement(Sqls=list(statements), StatementName="dwh-loader", **self.target)
        described = self._wait(response["Id"])
        subs = sorted(described.get("SubStatements") or [], key=lambda sub: _sub_index(sub.get("Id", "")))
        return [max(int(sub.get("ResultRows", 0) or 0), 0) for sub in subs] or [0] * len(statements)

    def query_row(self, statement: str) -> list[int]:
        """``execute_statement`` + ``get_statement_result``: the first row as integers."""
        response = self.client.execute_statement(Sql=statement, StatementName="dwh-loader-check", **self.target)
        self._wait(response["Id"])
        records = self.client.get_statement_result(Id=response["Id"]).get("Records") or [[]]
        return [int(next(iter(field.values()))) if "isNull" not in field else 0 for field in records[0]]

    def _wait(self, statement_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_seconds
        delay = min(0.2, self.poll_seconds)
        while True:
            described: dict[str, Any] = self.client.describe_statement(Id=statement_id)
            status = described.get("Status")
            if status == "FINISHED":
                return described
            if status in TERMINAL:
                error = SCRUBBER.scrub(str(described.get("Error") or "no error text"))
                raise RuntimeError(f"Redshift statement {status}: {error.splitlines()[0] if error else ''}")
            if time.monotonic() > deadline:
                self.client.cancel_statement(Id=statement_id)
                raise TimeoutError(f"Redshift statement still {status} after {self.timeout_seconds:.0f} s; cancelled")
            time.sleep(delay)
            delay = min(delay * 2, self.poll_seconds)


def _sub_index(sub_id: str) -> int:
    """Sub-statement ids end in ``:<n>`` (1-based order in the batch)."""
    tail = sub_id.rpartition(":")[2]
    return int(tail) if tail.isdigit() else 0


class DbApiRunner:
    """A psycopg connection to Redshift (or any PostgreSQL-compatible server)."""

    def __init__(self, *, connect_kwargs: dict[str, Any], attempts: int) -> None:
        self.connect_kwargs = connect_kwargs
        self.retry = RetryPolicy(attempts=attempts)

    def _connect(self) -> Any:
        import psycopg

        return self.retry.call(lambda: psycopg.connect(**self.connect_kwargs), what="REDSHIFT connect")

    def run_batch(self, statements: Sequence[str]) -> list[int]:
        """Run `statements` in one transaction (committed at the end, rolled back on any error)."""
        counts: list[int] = []
        with self._connect() as conn, conn.transaction():
            for statement in statements:
                cursor = conn.execute(statement)
                counts.append(max(cursor.rowcount, 0))
        return counts

    def query_row(self, statement: str) -> list[int]:
        """Run one query; its first row as integers."""
        with self._connect() as conn:
            row = conn.execute(statement).fetchone() or ()
        return [int(value or 0) for value in row]
