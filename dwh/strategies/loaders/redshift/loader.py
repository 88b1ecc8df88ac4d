"""REDSHIFT: Parquet to an S3 staging prefix, COPY into a staging table, the write mode in one transaction.

    {"strategy": "REDSHIFT", "table": "analytics.promos", "mode": "merge", "keys": ["promo_id"],
     "s3_staging": "s3://my-bucket/redshift-staging/",
     "iam_role": "arn:aws:iam::123456789012:role/RedshiftCopy",
     "connection": "data_api", "database": "dev", "workgroup_name": "analytics"}

1. Spark writes the DataFrame as Parquet under ``<s3_staging>dwh-<run>-<uuid>/`` (`staging`),
   plus a manifest listing exactly those files.
2. One transaction: ``CREATE TABLE`` staging (columns in the DataFrame's order, types per
   `dwh.strategies.loaders.postgres.types`) and
   ``COPY staging FROM '<manifest>' IAM_ROLE '<role>' FORMAT AS PARQUET MANIFEST``.
3. A check query: rows staged, and for merge duplicate or null keys, for replace_window rows outside the
   run window - either fails the load before the target is touched.
4. One transaction: create the target if missing, the mode's statements (`sql`), drop staging.
5. Always: drop the staging table and delete the run's S3 prefix.

``connection: data_api`` uses ``batch_execute_statement`` (``database`` + ``cluster_identifier`` or
``workgroup_name``, optionally ``secret_arn`` or ``db_user``); ``connection: dbapi`` uses a psycopg
connection from ``jdbc_url`` + ``properties`` (``jdbc:redshift://...:5439/dev``) or host/port/dbname.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator, model_validator

from dwh.platforms.context import RunContext
from dwh.strategies.connection import DatabaseConnection, Identifier, TableName, split_table_name
from dwh.strategies.loaders.base import Loader, LoadResult
from dwh.strategies.loaders.postgres.types import column_types
from dwh.strategies.loaders.redshift import sql as q
from dwh.strategies.loaders.redshift import staging as s3
from dwh.strategies.loaders.redshift.api import DataApiRunner, DbApiRunner, SqlRunner
from dwh.strategies.loaders.redshift.staging import S3Prefix

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)
IAM_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")


class RedshiftLoader(DatabaseConnection, Loader):
    """Loads a DataFrame into Amazon Redshift through S3 Parquet + COPY + one transaction."""

    kind: ClassVar[str] = "REDSHIFT"
    default_scheme: ClassVar[str] = "redshift"
    connection_required: ClassVar[bool] = False
    strategy: Literal["REDSHIFT"] = "REDSHIFT"
    table: TableName = Field(description="Target table: table or schema.table (schema defaults to public).")
    keys: list[Identifier] | None = Field(None, description="Key columns for mode merge.")
    window_column: Identifier | None = Field(None, description="Date/timestamp column for mode replace_window.")
    s3_staging: str = Field(description="s3://bucket/prefix/ for the staged Parquet (a sub-prefix per run).")
    iam_role: str = Field(description="ARN of the IAM role Redshift's COPY assumes to read the staging prefix.")
    connection: Literal["data_api", "dbapi"] = Field("data_api", description="Redshift Data API or DB-API.")
    database: str | None = Field(None, description="Data API: database name.")
    cluster_identifier: str | None = Field(None, description="Data API: provisioned cluster.")
    workgroup_name: str | None = Field(None, description="Data API: Redshift Serverless workgroup.")
    secret_arn: str | None = Field(None, description="Data API: Secrets Manager ARN holding the credentials.")
    db_user: str | None = Field(None, description="Data API: database user (temporary credentials).")
    region: str | None = Field(None, description="Data API: AWS region (default: the environment's).")
    staging_writer: Literal["spark", "arrow"] = Field("spark", description="Who writes the Parquet to S3.")
    staging_schema: Identifier | None = Field(None, description="Schema of the staging table (default: target's).")
    poll_seconds: PositiveFloat = Field(2.0, description="Data API: longest wait between status polls.")
    timeout_seconds: PositiveFloat = Field(3600, description="Data API: give up (and cancel) after this long.")
    retries: PositiveInt = Field(5, description="DB-API: attempts for a connection that fails transiently.")

    @field_validator("s3_staging")
    @classmethod
    def _s3_uri(cls, value: str) -> str:
        S3Prefix.parse(value)
        return value

    @field_validator("iam_role")
    @classmethod
    def _role_arn(cls, value: str) -> str:
        if not IAM_ROLE.match(value):
            raise ValueError(f"{value!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
        return value

    @model_validator(mode="after")
    def _connection_fields(self) -> RedshiftLoader:
        # A validator, not a sub-model discriminated on `connection`: the block is flat (the documented shape),
        # `connection` may be left out, and dbapi blocks may carry Data API keys today; a union would refuse those.
        if self.partition_by:
            raise ValueError("partition_by is not supported by REDSHIFT (use the table's sort/dist keys)")
        if self.connection == "dbapi":
            if not self.has_connection:
                raise ValueError("connection dbapi needs jdbc_url (+ properties) or host + dbname")
            return self
        if self.has_connection:
            raise ValueError("jdbc_url / host are for connection dbapi; the Data API uses database + cluster/workgroup")
        if not self.database:
            raise ValueError("connection data_api needs database")
        if bool(self.cluster_identifier) == bool(self.workgroup_name):
            raise ValueError("connection data_api needs exactly one of cluster_identifier or workgroup_name")
        if self.secret_arn and self.db_user:
            raise ValueError("give secret_arn or db_user, not both")
        return self

    def required_packages(self) -> dict[str, str]:
        """boto3 for the S3 staging (and the Data API); psycopg for ``connection: dbapi``."""
        return {"boto3": "aws", **({"psycopg": "postgres"} if self.connection == "dbapi" else {})}

    def describe(self) -> str:
        """``REDSHIFT(schema.table, mode via data_api)``."""
        return f"REDSHIFT({self.table}, {self.mode} via {self.connection})"

    def runner(self) -> SqlRunner:
        """The configured way to run SQL on Redshift."""
        if self.connection == "dbapi":
            return DbApiRunner(connect_kwargs=self.psycopg_kwargs(), attempts=self.retries)
        target = {"Database": self.database or ""}
        optional = {
            "ClusterIdentifier": self.cluster_identifier,
            "WorkgroupName": self.workgroup_name,
            "SecretArn": self.secret_arn,
            "DbUser": self.db_user,
        }
        target.update({key: value for key, value in optional.items() if value})
        return DataApiRunner(
            target=target, region=self.region, poll_seconds=self.poll_seconds, timeout_seconds=self.timeout_seconds
        )

    def load(self, frame: DataFrame, context: RunContext) -> LoadResult:
        """Stage in S3, COPY, check, apply the mode in one transaction; always clean up."""
        schema, table = split_table_name(self.table)
        stage_schema = self.staging_schema or schema
        run_name = f"dwh-{re.sub(r'[^A-Za-z0-9_-]', '-', context.run_id)[:40]}-{uuid.uuid4().hex[:8]}"
        staging = f"dwh_stage_{uuid.uuid4().hex[:16]}"
        location = S3Prefix.parse(self.s3_staging).child(run_name)
        types = column_types(frame, dialect="redshift")
        frame = s3.parquet_ready(frame)
        window = (self.window_column or "", self.window(context)) if self.mode == "replace_window" else None
        runner = self.runner()
        staging_dropped = False
        try:
            if self.staging_writer == "arrow":
                objects = s3.write_with_arrow(frame, location)
            else:
                objects = s3.write_with_spark(frame, location, self.s3_staging.split(":", 1)[0])
            staging_sql = [q.create_table(stage_schema, staging, types)]
            if objects:
                staging_sql.append(
                    q.copy_parquet(stage_schema, staging, s3.write_manifest(location, objects), self.iam_role)
                )
            runner.run_batch(staging_sql)
            staged = self._check(runner, stage_schema, staging, window)
            keys = self.keys if self.mode == "merge" and self.keys else ()
            final = [
                q.create_table(schema, table, types, primary_key=keys, if_not_exists=True),
                *q.apply_mode(
                    self.mode, (schema, table), (stage_schema, staging), frame.columns, keys=keys, window=window
                ),
                q.drop_table(stage_schema, staging),
            ]
            counts = runner.run_batch(final)
            staging_dropped = True
        finally:
            self._clean_up(runner, None if staging_dropped else (stage_schema, staging), location)
        rows_written = counts[-2] if len(counts) >= 2 else staged
        detail: dict[str, Any] = {"mode": self.mode, "rows_staged": staged, "staged_files": len(objects)}
        return LoadResult(target=f"{schema}.{table}", rows_written=rows_written, detail=detail)

    def _check(self, runner: SqlRunner, schema: str, staging: str, window: Any) -> int:
        """Rows staged; raises when merge keys repeat / are null or rows fall outside the window."""
        keys = self.keys if self.mode == "merge" and self.keys else ()
        row = runner.query_row(q.check_query(schema, staging, keys=keys, window=window))
        staged, bad = [*row, 0, 0][:2]
        if bad and keys:
            raise ValueError(
                f"REDSHIFT {self.table}: the batch has {bad} repeated or null merge key(s) on "
                f"({', '.join(keys)}); deduplicate first - nothing was written"
            )
        if bad:
            raise ValueError(
                f"REDSHIFT {self.table}: {bad} staged row(s) have {self.window_column} outside the "
                f"run window or null - nothing was written"
            )
        return staged

    def _clean_up(self, runner: SqlRunner, staging: tuple[str, str] | None, location: S3Prefix) -> None:
        """Drop the staging table (unless already dropped) and the run's S3 prefix; failures are only logged."""
        if staging is not None:
            try:
                runner.run_batch([q.drop_table(*staging)])
            except Exception:
                log.warning("could not drop the Redshift staging table %s.%s", *staging, exc_info=True)
        try:
            s3.delete_prefix(location)
        except Exception:
            log.warning("could not delete the staging prefix %s", location.url(), exc_info=True)
