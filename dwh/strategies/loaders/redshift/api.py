"""How the REDSHIFT loader talks to Redshift: the Data API or a DB-API connection, one interface.

`DataApiRunner` sends a list of statements with ``batch_execute_statement``, which Redshift runs as
ONE transaction, and polls ``describe_statement`` until it is FINISHED (or FAILED / ABORTED, which
raise with Redshift's error text); one still running after ``timeout_seconds`` is cancelled and
waited for until it ended (ABORTED raises TimeoutError; FINISHED in the meantime counts as done).
`DbApiRunner` runs the same list on a psycopg connection inside one transaction (Redshift speaks the
PostgreSQL protocol). Both return the affected rows of each
statement, so the loader can report the rows its INSERT wrote.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

from dwh.retry import RetryPolicy
from dwh.secrets import SCRUBBER

TERMINAL = {"FINISHED", "FAILED", "ABORTED"}
#: How long to wait, after cancelling a statement, for Redshift to report it ended.
CANCEL_WAIT_SECONDS = 60.0
log = logging.getLogger(__name__)


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
                raise RuntimeError(f"Redshift statement {status}: {_first_line(described)}")
            if time.monotonic() > deadline:
                return self._cancel(statement_id, str(status))
            time.sleep(delay)
            delay = min(delay * 2, self.poll_seconds)

    def _cancel(self, statement_id: str, status: str) -> dict[str, Any]:
        """Cancel a statement that outlived `timeout_seconds`, then wait until Redshift says how it ended.

        A statement can finish between the last poll and the cancel (the service then refuses the cancel):
        its work is committed, so it is returned as finished rather than reported as a timeout.
        """
        from botocore.exceptions import ClientError

        try:
            self.client.cancel_statement(Id=statement_id)
        except ClientError as error:
            log.info("cancel_statement refused (%s); reading the statement's end", error.response["Error"]["Code"])
        deadline = time.monotonic() + CANCEL_WAIT_SECONDS
        while True:
            described: dict[str, Any] = self.client.describe_statement(Id=statement_id)
            ended = described.get("Status")
            if ended == "FINISHED":
                return described
            if ended in TERMINAL or time.monotonic() > deadline:
                state = f"{ended}: {_first_line(described)}" if ended in TERMINAL else f"still {ended}"
                raise TimeoutError(
                    f"Redshift statement still {status} after {self.timeout_seconds:g} s; cancelled ({state})"
                )
            time.sleep(min(0.2, self.poll_seconds))


def _first_line(described: dict[str, Any]) -> str:
    """The first line of a described statement's error, secrets scrubbed."""
    error = SCRUBBER.scrub(str(described.get("Error") or "no error text"))
    return error.splitlines()[0] if error else ""


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
