"""A Redshift Data API double that real boto3 talks to over HTTP, as strict as AWS documents the service.

moto 5.2 records ``execute_statement`` only (no ``batch_execute_statement``, statements never leave
STARTED, no SQL runs), so it cannot play Redshift. This server speaks the Data API's JSON protocol
(``X-Amz-Target: RedshiftData.<Op>``) over a real PostgreSQL, with Redshift's SQL rules from
`redshift_sql` (COPY from Parquet on moto's S3 checked by `copy_parquet`):

* requests are validated as the service does: ``Database``; exactly one of ``ClusterIdentifier`` |
  ``WorkgroupName``, naming a cluster/workgroup this double hosts (else "Redshift endpoint doesn't exist
  in this region"); ``SecretArn`` (an existing Secrets Manager secret with username and password) or
  ``DbUser`` (clusters only), never both; 1-40 ``Sqls``; the request signed for the double's region;
* statements are asynchronous: each ``describe_statement`` moves a statement one step through
  SUBMITTED -> PICKED -> STARTED, the SQL runs in a worker thread from STARTED on, and it ends FINISHED,
  FAILED (with Redshift's error text) or ABORTED; a batch is ONE transaction (any failure rolls it all back);
* ``cancel_statement`` aborts a statement that has not ended (rolled back); one that has ended is a
  ValidationException; a statement whose SQL contains ``hold_on`` stays STARTED, before its commit, until
  cancelled or ``hold_on`` is cleared, so a client's timeout/cancel path can be driven;
* ``get_statement_result`` only for a FINISHED statement with a result set, in the Data API's record format.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.strategies.loaders.redshift.redshift_sql import RedshiftError, RedshiftSession, committed_columns


class ApiError(Exception):
    """A Data API error response (``__type`` and message)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Statement:
    """One submitted statement or batch and what happened to it."""

    id: str
    sqls: list[str]
    request: dict[str, Any]
    batch: bool
    status: str = "SUBMITTED"
    error: str | None = None
    failed_at: int | None = None
    result_rows: list[int] = field(default_factory=list)
    records: list[tuple[Any, ...]] = field(default_factory=list)
    column_names: list[str] = field(default_factory=list)
    served: list[str] = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)
    worker: threading.Thread | None = None
    outcome: str | None = None
    created: float = field(default_factory=time.time)


class FakeRedshiftDataApi:
    """The Data API double (see the module docstring); `handle` is the werkzeug handler."""

    def __init__(
        self,
        conninfo: str,
        *,
        region: str = "us-east-1",
        clusters: tuple[str, ...] = ("analytics-cluster",),
        workgroups: tuple[str, ...] = ("analytics",),
        database: str = "dev",
    ) -> None:
        self.conninfo = conninfo
        self.region, self.clusters, self.workgroups, self.database = region, clusters, workgroups, database
        self.statements: dict[str, Statement] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_on: str | None = None  # a substring: a statement containing it fails
        self.hold_on: str | None = None  # a substring: a statement containing it waits before its commit
        self.before_cancel: Any = None  # a test hook called with the Statement when CancelStatement arrives
        self.sessions: list[RedshiftSession] = []
        self._lock = threading.Lock()

    @property
    def batches(self) -> list[list[str]]:
        """The SQL lists of every batch_execute_statement, in order."""
        return [request["Sqls"] for op, request in self.calls if op == "BatchExecuteStatement"]

    @property
    def copied(self) -> list[Any]:
        """The Parquet files (pyarrow tables) every COPY read, in order."""
        return [table for session in self.sessions for table in session.copied]

    def statuses(self, statement_id: str) -> list[str]:
        """The statuses `describe_statement` answered for a statement, repeats collapsed."""
        served = self.statements[statement_id].served
        return [status for index, status in enumerate(served) if index == 0 or served[index - 1] != status]

    def handle(self, request: Any) -> Any:
        """werkzeug handler for pytest-httpserver."""
        from werkzeug import Response

        operation = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
        body = json.loads(request.get_data() or b"{}")
        with self._lock:
            self.calls.append((operation, body))
            try:
                self._check_region(request.headers.get("Authorization", ""))
                answer = getattr(self, f"_op_{operation}")(body)
            except ApiError as error:
                payload = {"__type": error.kind, "message": str(error)}
                return Response(json.dumps(payload), 400, content_type="application/x-amz-json-1.1")
        return Response(json.dumps(answer), 200, content_type="application/x-amz-json-1.1")

    def _check_region(self, authorization: str) -> None:
        signed = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/redshift-data/", authorization)
        if signed is None or signed.group(1) != self.region:
            raise ApiError("UnrecognizedClientException", f"request not signed for {self.region}/redshift-data")

    def _validate(self, body: dict[str, Any]) -> None:
        """The parameter rules of ExecuteStatement / BatchExecuteStatement."""
        if not body.get("Database"):
            raise ApiError("ValidationException", "Database is required")
        cluster, workgroup = body.get("ClusterIdentifier"), body.get("WorkgroupName")
        if bool(cluster) == bool(workgroup):
            raise ApiError("ValidationException", "Specify exactly one of ClusterIdentifier or WorkgroupName")
        if (cluster and cluster not in self.clusters) or (workgroup and workgroup not in self.workgroups):
            raise ApiError("ValidationException", "Redshift endpoint doesn't exist in this region.")
        if body.get("SecretArn") and body.get("DbUser"):
            raise ApiError("ValidationException", "SecretArn and DbUser cannot be specified together")
        if body.get("DbUser") and workgroup:
            raise ApiError("ValidationException", "DbUser is not supported for Redshift Serverless workgroups")
        if body.get("SecretArn"):
            self._check_secret(body["SecretArn"])
        if len(body.get("StatementName") or "") > 500:
            raise ApiError("ValidationException", "StatementName is longer than 500 characters")

    def _check_secret(self, arn: str) -> None:
        import boto3

        try:
            secret = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
        except Exception as exc:
            raise ApiError("ValidationException", f"could not read secret {arn}: {type(exc).__name__}") from exc
        if not {"username", "password"} <= set(secret):
            raise ApiError("ValidationException", f"secret {arn} has no username and password")

    def _op_BatchExecuteStatement(self, body: dict[str, Any]) -> dict[str, Any]:
        if not 1 <= len(body.get("Sqls") or []) <= 40:
            raise ApiError("ValidationException", "Sqls must hold 1 to 40 statements")
        return self._submit(body["Sqls"], body, batch=True)

    def _op_ExecuteStatement(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("Sql"):
            raise ApiError("ValidationException", "Sql is required")
        return self._submit([body["Sql"]], body, batch=False)

    def _submit(self, sqls: list[str], body: dict[str, Any], *, batch: bool) -> dict[str, Any]:
        self._validate(body)
        statement = Statement(id=str(uuid.uuid4()), sqls=list(sqls), request=body, batch=batch)
        self.statements[statement.id] = statement
        target = {k: body[k] for k in ("ClusterIdentifier", "WorkgroupName", "DbUser", "SecretArn") if body.get(k)}
        return {"Id": statement.id, "Database": body["Database"], "CreatedAt": statement.created, **target}

    def _find(self, statement_id: str) -> tuple[Statement, int | None]:
        base, _, index = statement_id.partition(":")
        if base not in self.statements:
            raise ApiError("ResourceNotFoundException", f"Query {statement_id} does not exist.")
        return self.statements[base], (int(index) if index else None)

    def _op_DescribeStatement(self, body: dict[str, Any]) -> dict[str, Any]:
        statement, _ = self._find(body["Id"])
        if statement.status == "STARTED" and statement.outcome is not None and statement.served[-1:] == ["STARTED"]:
            statement.status = statement.outcome  # a client sees STARTED at least once before the end
        status = statement.status
        statement.served.append(status)
        if status == "SUBMITTED":
            statement.status = "PICKED"
        elif status == "PICKED":
            statement.status = "STARTED"
            statement.worker = threading.Thread(target=self._run, args=(statement,), daemon=True)
            statement.worker.start()
        answer: dict[str, Any] = {
            "Id": statement.id,
            "Status": status,
            "Database": statement.request["Database"],
            "CreatedAt": statement.created,
            "UpdatedAt": time.time(),
            "HasResultSet": bool(statement.column_names) and status == "FINISHED",
        }
        if statement.batch:
            answer["SubStatements"] = [self._sub(statement, n, status) for n in range(1, len(statement.sqls) + 1)]
        else:
            answer["QueryString"] = statement.sqls[0]
            answer["ResultRows"] = statement.result_rows[0] if status == "FINISHED" and statement.result_rows else -1
        if status in ("FAILED", "ABORTED") and statement.error:
            answer["Error"] = statement.error
        return answer

    def _sub(self, statement: Statement, number: int, status: str) -> dict[str, Any]:
        if status == "FAILED" and statement.failed_at is not None:
            status = (
                "FINISHED"
                if number - 1 < statement.failed_at
                else "FAILED"
                if number - 1 == statement.failed_at
                else "ABORTED"
            )
        rows = statement.result_rows[number - 1] if status == "FINISHED" and statement.result_rows else -1
        return {
            "Id": f"{statement.id}:{number}",
            "Status": status,
            "QueryString": statement.sqls[number - 1],
            "ResultRows": rows,
        }

    def _op_CancelStatement(self, body: dict[str, Any]) -> dict[str, Any]:
        statement, _ = self._find(body["Id"])
        if self.before_cancel is not None:
            self.before_cancel(statement)
        if statement.status == "STARTED" and statement.outcome is not None:
            statement.status = statement.outcome
        if statement.status in ("FINISHED", "FAILED", "ABORTED"):
            raise ApiError(
                "ValidationException", f"Could not cancel a query that is already in {statement.status} status."
            )
        statement.cancelled.set()
        if statement.worker is None:
            statement.status = statement.outcome = "ABORTED"
        return {"Status": True}

    def _op_GetStatementResult(self, body: dict[str, Any]) -> dict[str, Any]:
        statement, _ = self._find(body["Id"])
        if statement.status != "FINISHED" or not statement.column_names:
            raise ApiError(
                "ValidationException", "Query does not have result. Please check query status with DescribeStatement."
            )
        records = [[_field(value) for value in row] for row in statement.records]
        metadata = [{"name": name, "label": name} for name in statement.column_names]
        return {"Records": records, "TotalNumRows": len(records), "ColumnMetadata": metadata}

    def _run(self, statement: Statement) -> None:
        """Worker: every statement in one transaction; held before its commit while it contains `hold_on`."""
        import psycopg

        session = RedshiftSession(region=self.region, describe=lambda table: committed_columns(self.conninfo, table))
        self.sessions.append(session)
        try:
            if statement.request["Database"] != self.database:
                raise RedshiftError(f'database "{statement.request["Database"]}" does not exist')
            with psycopg.connect(self.conninfo) as conn, conn.transaction():
                for index, sql in enumerate(statement.sqls):
                    statement.failed_at = index
                    if self.fail_on and self.fail_on in sql:
                        raise RedshiftError(f"ERROR: injected failure in: {sql[:60]}")
                    cursor = conn.execute(session.translate(sql, in_transaction=len(statement.sqls) > 1))
                    statement.result_rows.append(cursor.rowcount)
                    if cursor.description:
                        statement.column_names = [column.name for column in cursor.description]
                        statement.records = [tuple(row) for row in cursor.fetchall()]
                while self.hold_on and any(self.hold_on in sql for sql in statement.sqls):
                    if statement.cancelled.wait(0.02):
                        break
                if statement.cancelled.is_set():
                    raise RedshiftError("Query cancelled on user's request")
            statement.failed_at = None
            statement.outcome = "FINISHED"
        except Exception as exc:
            statement.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            statement.result_rows = []
            statement.outcome = "ABORTED" if statement.cancelled.is_set() else "FAILED"


def _field(value: Any) -> dict[str, Any]:
    """One value in the Data API's record format."""
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}
