"""A stand-in for the Redshift Data API that real boto3 talks to over HTTP, backed by a real PostgreSQL.

moto 5.2 records ``execute_statement`` only: it has no ``batch_execute_statement`` and its
statements never leave STARTED, so it cannot play Redshift for a loader that needs one transaction
per batch. This server speaks the Data API's JSON protocol (``X-Amz-Target: RedshiftData.<Op>``):
it records every SQL text it receives, runs each batch in ONE PostgreSQL transaction, reports
STARTED on the first ``describe_statement`` and then FINISHED / FAILED, and returns query results
in the Data API's record format. Redshift's ``COPY ... FROM '<manifest>' ... FORMAT AS PARQUET
MANIFEST`` is emulated: the manifest and the Parquet objects are read back from S3 (moto) with
boto3 + pyarrow and inserted by column position, as Redshift does; what was read is kept in
`copied` so tests can assert the staged Parquet content.
"""

from __future__ import annotations

import io
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

COPY = re.compile(
    r"^COPY (?P<table>\S+) FROM '(?P<url>s3://[^']+)' IAM_ROLE '(?P<role>[^']+)' FORMAT AS PARQUET MANIFEST$"
)


@dataclass
class Statement:
    """One submitted statement or batch and what happened to it."""

    id: str
    sqls: list[str]
    request: dict[str, Any]
    status: str = "STARTED"
    error: str | None = None
    result_rows: list[int] = field(default_factory=list)
    records: list[tuple[Any, ...]] = field(default_factory=list)
    polled: int = 0


class FakeRedshiftDataApi:
    """Records and runs Data API calls against PostgreSQL (see the module docstring)."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.statements: dict[str, Statement] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.copied: list[Any] = []  # pyarrow tables read by emulated COPYs
        self.fail_on: str | None = None  # a substring: a statement containing it fails
        self._lock = threading.Lock()

    @property
    def batches(self) -> list[list[str]]:
        """The SQL lists of every batch_execute_statement, in order."""
        return [request["Sqls"] for op, request in self.calls if op == "BatchExecuteStatement"]

    def handle(self, request: Any) -> Any:
        """werkzeug handler for pytest-httpserver."""
        from werkzeug import Response

        operation = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
        body = json.loads(request.get_data() or b"{}")
        with self._lock:
            self.calls.append((operation, body))
            try:
                answer = getattr(self, f"_op_{operation}")(body)
            except KeyError:
                return Response(json.dumps({"__type": "ResourceNotFoundException", "message": "no such id"}), 400)
        return Response(json.dumps(answer), 200, content_type="application/x-amz-json-1.1")

    def _op_BatchExecuteStatement(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._submit(body["Sqls"], body)

    def _op_ExecuteStatement(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._submit([body["Sql"]], body)

    def _op_DescribeStatement(self, body: dict[str, Any]) -> dict[str, Any]:
        statement = self.statements[body["Id"]]
        statement.polled += 1
        status = "STARTED" if statement.polled == 1 else statement.status  # one poll sees it still running
        subs = [
            {"Id": f"{statement.id}:{index}", "Status": status, "QueryString": sql, "ResultRows": rows}
            for index, (sql, rows) in enumerate(zip(statement.sqls, statement.result_rows, strict=True), start=1)
        ]
        answer = {"Id": statement.id, "Status": status, "SubStatements": subs if len(statement.sqls) > 1 else []}
        if status == "FAILED":
            answer["Error"] = statement.error
        return answer

    def _op_GetStatementResult(self, body: dict[str, Any]) -> dict[str, Any]:
        statement = self.statements[body["Id"]]
        records = [[{"isNull": True} if v is None else {"longValue": int(v)} for v in row] for row in statement.records]
        return {"Records": records, "TotalNumRows": len(records), "ColumnMetadata": []}

    def _submit(self, sqls: list[str], body: dict[str, Any]) -> dict[str, Any]:
        statement = Statement(id=str(uuid.uuid4()), sqls=list(sqls), request=body)
        self.statements[statement.id] = statement
        self._run(statement)
        return {"Id": statement.id, "Database": body.get("Database")}

    def _run(self, statement: Statement) -> None:
        """All statements in one transaction; any error rolls all of them back."""
        import psycopg

        try:
            with psycopg.connect(self.conninfo) as conn, conn.transaction():
                for sql in statement.sqls:
                    if self.fail_on and self.fail_on in sql:
                        raise RuntimeError(f"ERROR: injected failure in: {sql[:60]}")
                    match = COPY.match(sql)
                    if match:
                        statement.result_rows.append(self._copy(conn, match.group("table"), match.group("url")))
                        continue
                    cursor = conn.execute(sql)
                    statement.result_rows.append(cursor.rowcount)
                    if cursor.description:
                        statement.records = [tuple(row) for row in cursor.fetchall()]
            statement.status = "FINISHED"
        except Exception as exc:
            statement.status, statement.error = "FAILED", str(exc).splitlines()[0]
            statement.result_rows = [-1] * len(statement.sqls)

    def _copy(self, conn: Any, table: str, manifest_url: str) -> int:
        """Emulated COPY: load the manifest's Parquet objects (from moto S3) by column position."""
        import boto3
        import pyarrow as pa
        import pyarrow.parquet as pq

        s3 = boto3.client("s3")
        bucket, _, key = manifest_url.removeprefix("s3://").partition("/")
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        tables = []
        for entry in manifest["entries"]:
            bucket, _, key = entry["url"].removeprefix("s3://").partition("/")
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            assert len(body) == entry["meta"]["content_length"]
            tables.append(pq.read_table(io.BytesIO(body)))
        data = pa.concat_tables(tables) if tables else None
        if data is None:
            return 0
        self.copied.append(data)
        placeholders = ", ".join(["%s"] * data.num_columns)
        with conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} VALUES ({placeholders})", [tuple(r.values()) for r in data.to_pylist()]
            )
        return data.num_rows
