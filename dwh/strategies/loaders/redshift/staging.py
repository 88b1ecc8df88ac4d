"""The S3 half of the REDSHIFT loader: Parquet files under a per-run prefix, a manifest, cleanup.

Two writers, chosen by ``staging_writer``:

* ``spark`` - ``DataFrame.write.parquet`` to the prefix through the cluster's own S3 filesystem
  (EMRFS on EMR and Glue, Databricks' S3 client); the data files are then listed.
* ``arrow`` - for Spark without an S3 filesystem (local Spark has no hadoop-aws): each task gets its
  partition as Arrow batches (``mapInArrow``) and puts Parquet objects of at most ~128 MB with
  boto3. The tasks report exactly which objects they wrote, so files of failed task attempts are
  never loaded. The driver's AWS settings from the environment (endpoint, region, credentials when
  given as variables) are handed to the tasks; otherwise they use their own credential chain.

Either way COPY reads a manifest listing exactly the data files (with ``content_length``, which
Parquet needs), and the whole run prefix is deleted afterwards.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dwh.strategies.loaders.postgres.types import sql_type

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame

S3_URI = re.compile(r"^s3a?://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/([A-Za-z0-9!_.*()/=-]*)$")
OBJECT_BYTES = 128 * 1024 * 1024
_AWS_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@dataclass(frozen=True)
class S3Prefix:
    """A bucket and a key prefix ending in ``/``."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> S3Prefix:
        """``s3://bucket/some/prefix/`` (or ``s3a://``) -> S3Prefix; a ValueError when malformed."""
        match = S3_URI.match(uri)
        if match is None:
            raise ValueError(f"{uri!r} is not an s3://bucket/prefix/ URI (letters, digits and !_.*()/=- in keys)")
        prefix = match.group(2)
        return cls(bucket=match.group(1), prefix=prefix if not prefix or prefix.endswith("/") else prefix + "/")

    def child(self, name: str) -> S3Prefix:
        """The sub-prefix ``<prefix><name>/``."""
        return S3Prefix(self.bucket, f"{self.prefix}{name}/")

    def url(self, key: str = "", scheme: str = "s3") -> str:
        """``s3://bucket/key`` (the prefix itself without `key`)."""
        return f"{scheme}://{self.bucket}/{key or self.prefix}"


def aws_settings() -> dict[str, str]:
    """The driver's AWS environment that tasks need to reach the same S3 (endpoints, region, keys)."""
    return {
        name: value
        for name, value in os.environ.items()
        if name.startswith("AWS_ENDPOINT_URL") or (name in _AWS_VARIABLES)
    }


def s3_client(settings: dict[str, str] | None = None) -> Any:
    """A boto3 S3 client; `settings` (from `aws_settings`) override the process environment."""
    import boto3

    env = settings if settings is not None else aws_settings()
    return boto3.client(
        "s3",
        endpoint_url=env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL"),
        region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
    )


def write_with_arrow(frame: DataFrame, location: S3Prefix) -> list[tuple[str, int]]:
    """Tasks write their partitions as Parquet objects; returns (key, size) of every object written."""
    settings = aws_settings()

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return put_partition(batches, location, settings)

    rows = frame.mapInArrow(run, "key string, size long").collect()
    return sorted((str(row["key"]), int(row["size"])) for row in rows)


def put_partition(
    batches: Iterator[pa.RecordBatch], location: S3Prefix, settings: dict[str, str]
) -> Iterator[pa.RecordBatch]:
    """Executor side: this partition's batches as Parquet objects; yields (key, size) per object."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark import TaskContext

    context = TaskContext.get()
    part, attempt = (context.partitionId(), context.attemptNumber()) if context is not None else (0, 0)
    client = s3_client(settings)
    written: list[tuple[str, int]] = []
    sink: pa.BufferOutputStream | None = None
    writer: pq.ParquetWriter | None = None
    for batch in batches:
        if not batch.num_rows:
            continue
        if writer is None:
            sink = pa.BufferOutputStream()
            writer = pq.ParquetWriter(sink, batch.schema, compression="snappy")
        writer.write_batch(batch)
        if sink is not None and sink.tell() >= OBJECT_BYTES:
            writer.close()
            written.append(_put(client, location, part, attempt, len(written), sink))
            writer = None
    if writer is not None and sink is not None:
        writer.close()
        written.append(_put(client, location, part, attempt, len(written), sink))
    yield pa.RecordBatch.from_pydict(
        {"key": [key for key, _ in written], "size": [size for _, size in written]},
        schema=pa.schema([("key", pa.string()), ("size", pa.int64())]),
    )


def _put(
    client: Any, location: S3Prefix, part: int, attempt: int, index: int, sink: pa.BufferOutputStream
) -> tuple[str, int]:
    body = sink.getvalue().to_pybytes()
    key = f"{location.prefix}part-{part:05d}-{attempt}-{index:03d}.parquet"
    client.put_object(Bucket=location.bucket, Key=key, Body=body)
    return key, len(body)


def write_with_spark(frame: DataFrame, location: S3Prefix, scheme: str) -> list[tuple[str, int]]:
    """Spark writes Parquet to the prefix; returns (key, size) of the data files it left there."""
    frame.write.mode("error").parquet(location.url(scheme=scheme))  # errorifexists; Connect knows only "error"
    client = s3_client()
    found: list[tuple[str, int]] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=location.prefix):
        for item in page.get("Contents", []):
            name = item["Key"].rpartition("/")[2]
            if name.endswith(".parquet") and not name.startswith(("_", ".")) and item["Size"] > 0:
                found.append((item["Key"], int(item["Size"])))
    return sorted(found)


def write_manifest(location: S3Prefix, objects: list[tuple[str, int]]) -> str:
    """Put ``manifest.json`` listing `objects` (url + content_length) and return its s3:// URL."""
    entries = [{"url": location.url(key), "mandatory": True, "meta": {"content_length": size}} for key, size in objects]
    key = f"{location.prefix}manifest.json"
    s3_client().put_object(Bucket=location.bucket, Key=key, Body=json.dumps({"entries": entries}).encode())
    return location.url(key)


def delete_prefix(location: S3Prefix) -> int:
    """Delete every object under the prefix; returns how many."""
    client = s3_client()
    deleted = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=location.prefix):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=location.bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted


def parquet_ready(frame: DataFrame) -> DataFrame:
    """`frame` with nested columns as JSON text and all-null columns as strings (see `postgres.types`)."""
    from pyspark.sql import functions as F

    columns = []
    for field in frame.schema.fields:
        sql_type(field.dataType, column=field.name, dialect="redshift")
        column = F.col("`" + field.name.replace("`", "``") + "`")
        if field.dataType.typeName() in ("array", "map", "struct"):
            column = F.to_json(column)
        elif field.dataType.typeName() == "void":
            column = column.cast("string")
        columns.append(column.alias(field.name))
    return frame.select(*columns)
