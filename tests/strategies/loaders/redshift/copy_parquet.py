"""COPY ... FORMAT AS PARQUET for the Redshift doubles: the staged files on S3 (moto) checked as Redshift checks them.

Following "COPY from columnar data formats" (Redshift Database Developer Guide):

* only the parameters documented for columnar COPY are accepted: FROM, IAM_ROLE, CREDENTIALS, FORMAT AS
  PARQUET, MANIFEST, ACCEPTINVCHARS, FILLRECORD, STATUPDATE, EXPLICIT_IDS; ``REGION`` is refused ("REGION
  argument is not supported for PARQUET based COPY"), MAXERROR too (a columnar COPY fails on any error);
* the IAM role must exist (moto's IAM) and the bucket must be in the cluster's region;
* a manifest lists each file with ``meta.content_length``, which must be the object's size; a missing
  mandatory file fails the COPY; without MANIFEST every object under the prefix is loaded;
* values go into the table's columns in the files' column order; the column counts must be equal and each
  Parquet type must be one the column accepts (`COMPATIBLE`); names are not looked at;
* CHAR/VARCHAR lengths are bytes: a longer value fails the load ("String length exceeds DDL length").
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from typing import Any

COPY = re.compile(
    r"^\s*COPY\s+(?P<table>(?:\"[^\"]+\"|\w+)(?:\.(?:\"[^\"]+\"|\w+))?)\s+FROM\s+'(?P<url>[^']*)'(?P<options>.*?);?\s*$",
    re.I | re.S,
)
OPTION = re.compile(r"\s*(?:'(?P<literal>[^']*)'|(?P<word>[A-Za-z0-9_.]+))", re.S)
#: Parameters a columnar COPY accepts (plus FORMAT AS PARQUET); the value-taking ones.
COLUMNAR = {"iam_role", "credentials", "manifest", "acceptinvchars", "fillrecord", "statupdate", "explicit_ids"}
WITH_VALUE = {"iam_role", "credentials", "statupdate"}
#: Redshift column type (without its length) -> the Arrow types of Parquet columns it loads.
COMPATIBLE = {
    "SMALLINT": ("int8", "int16"),
    "INTEGER": ("int32",),
    "BIGINT": ("int64",),
    "REAL": ("float",),
    "DOUBLE PRECISION": ("double",),
    "BOOLEAN": ("bool",),
    "CHAR": ("string", "large_string"),
    "VARCHAR": ("string", "large_string"),
    "VARBYTE": ("binary", "large_binary"),
    "DATE": ("date32[day]",),
    "TIMESTAMP": ("timestamp",),
    "TIMESTAMPTZ": ("timestamp",),
}


class CopyError(Exception):
    """COPY failed; the text is what Redshift reports (`redshift_sql` turns it into a RedshiftError)."""


@dataclass(frozen=True)
class CopyRequest:
    """A parsed ``COPY table FROM 's3://...' ...`` statement."""

    table: str
    url: str
    iam_role: str
    manifest: bool
    region: str

    @classmethod
    def parse(cls, folded: str, *, region: str) -> CopyRequest:
        """Parse a (folded) COPY statement; CopyError for anything a Parquet COPY does not take."""
        match = COPY.match(folded)
        if match is None:
            raise CopyError("syntax error at or near \"COPY\" (the double takes COPY table FROM 's3://...' ...)")
        options, rest, values = match.group("options"), [], {}
        position = 0
        while position < len(options.rstrip()):
            token = OPTION.match(options, position)
            if token is None:
                raise CopyError(f'syntax error at or near "{options[position:].strip()[:20]}"')
            position = token.end()
            rest.append(token.group("literal") if token.group("literal") is not None else token.group("word").lower())
        words = iter(rest)
        for word in words:
            if word == "format":
                kind = next(words, "")
                kind = next(words, "") if kind == "as" else kind
                if kind != "parquet":
                    raise CopyError(f"the double emulates FORMAT AS PARQUET only, not {kind!r}")
                values["format"] = kind
            elif word == "region":
                raise CopyError("REGION argument is not supported for PARQUET based COPY")
            elif word in COLUMNAR:
                values[word] = next(words, "") if word in WITH_VALUE else "on"
            else:
                raise CopyError(f"{word.upper()} argument is not supported for PARQUET based COPY")
        if values.get("format") != "parquet":
            raise CopyError("the double emulates FORMAT AS PARQUET only (no FORMAT given: that is a text COPY)")
        if "iam_role" not in values:
            raise CopyError("Missing authorization: IAM_ROLE or CREDENTIALS is required")
        table = ".".join(part.strip('"') for part in match.group("table").split("."))
        return cls(table, match.group("url"), values["iam_role"], "manifest" in values, region)


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    if not url.startswith("s3://"):
        raise CopyError(f"Invalid S3 URL {url!r}: COPY reads s3://bucket/key")
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


def check_access(request: CopyRequest, bucket: str) -> None:
    """The role exists (moto IAM) and the bucket is in the cluster's region."""
    import boto3

    try:
        role = boto3.client("iam").get_role(RoleName=request.iam_role.rpartition("/")[2])["Role"]
    except Exception:
        role = None
    if role is None or role["Arn"] != request.iam_role:
        raise CopyError(f"User is not authorized to assume IAM Role {request.iam_role}")
    try:
        location = boto3.client("s3").get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
    except Exception as exc:
        raise CopyError(f"S3ServiceException:The specified bucket does not exist ({bucket})") from exc
    if location != request.region:
        raise CopyError(
            "S3ServiceException:The bucket you are attempting to access must be addressed using the specified "
            f"endpoint. (bucket {bucket} is in {location}, the cluster in {request.region})"
        )


def files(request: CopyRequest) -> list[tuple[str, bytes]]:
    """(url, body) of every file the COPY loads: the manifest's entries, or every object under the prefix."""
    import boto3

    s3 = boto3.client("s3")
    bucket, key = split_url(request.url)
    check_access(request, bucket)
    if not request.manifest:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])
        if not listed:
            raise CopyError(f"The specified S3 prefix '{key}' does not exist")
        return [
            (f"s3://{bucket}/{o['Key']}", s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()) for o in listed
        ]
    try:
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception as exc:
        raise CopyError(f"Manifest file is not readable or not JSON: {request.url}") from exc
    loaded = []
    for entry in manifest.get("entries", []):
        entry_bucket, entry_key = split_url(entry["url"])
        check_access(request, entry_bucket)
        length = (entry.get("meta") or {}).get("content_length")
        if length is None:
            raise CopyError(f"Manifest entry {entry['url']} has no meta.content_length (required for Parquet)")
        try:
            body = s3.get_object(Bucket=entry_bucket, Key=entry_key)["Body"].read()
        except Exception as exc:
            if entry.get("mandatory"):
                raise CopyError(f"Manifest file is invalid: mandatory file {entry['url']} not found") from exc
            continue
        if len(body) != int(length):
            raise CopyError(f"File '{entry['url']}' is {len(body)} bytes but content_length is {length}")
        loaded.append((entry["url"], body))
    return loaded


def check_schema(url: str, schema: Any, columns: list[tuple[str, str]]) -> None:
    """Equal column counts and a compatible Parquet type at each position."""
    if len(schema) != len(columns):
        raise CopyError(
            "Unmatched number of columns between table and file. "
            f"Table columns: {len(columns)}, Data columns: {len(schema)}, File name: {url}"
        )
    for parquet_field, (column, redshift) in zip(schema, columns, strict=True):
        base = redshift.split("(")[0]
        arrow = str(parquet_field.type)
        family = "timestamp" if arrow.startswith("timestamp") else arrow
        accepted = COMPATIBLE.get(base, ())
        if base == "DECIMAL":
            accepted = (f"decimal128({redshift[8:-1].replace(',', ', ')})",)
        if family not in accepted:
            raise CopyError(
                f"File '{url}' has an incompatible Parquet schema for column '{column}'. "
                f"Column type: {redshift}, Parquet schema: {parquet_field.name} {arrow}"
            )


def load_parquet(
    request: CopyRequest, columns: list[tuple[str, str]], keep: list[Any] | None = None
) -> list[tuple[Any, ...]]:
    """The rows the COPY inserts, in table column order; CopyError as Redshift would fail it.

    Each Parquet file read is appended to `keep` (as a pyarrow table), so tests can see what was staged.
    """
    import pyarrow.parquet as pq

    rows: list[tuple[Any, ...]] = []
    for url, body in files(request):
        try:
            table = pq.read_table(io.BytesIO(body))
        except Exception as exc:
            raise CopyError(f"File '{url}' is not a valid Parquet file") from exc
        check_schema(url, table.schema, columns)
        if keep is not None:
            keep.append(table)
        for values in zip(*(column.to_pylist() for column in table.columns), strict=True):
            rows.append(tuple(_value(v, request.table, c) for v, c in zip(values, columns, strict=True)))
    return rows


def _value(value: Any, table: str, column: tuple[str, str]) -> Any:
    name, redshift = column
    limit = re.match(r"^(VARCHAR|CHAR|VARBYTE)\((\d+)\)$", redshift)
    if limit and value is not None:
        size = len(value.encode() if isinstance(value, str) else value)
        if size > int(limit.group(2)):
            raise CopyError(
                f"Load into table '{table}' failed: String length exceeds DDL length "
                f"(column {name} {redshift}: {size} bytes)"
            )
    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp, for Parquet INT96 / nanosecond timestamps
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        utc = value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
        return utc if redshift == "TIMESTAMPTZ" else utc.replace(tzinfo=None)
    return value
