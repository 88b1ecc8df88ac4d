"""Secret references: resolved once per run, before the job starts; every value registered with the scrubber.

A secret-bearing config field accepts either a literal or a reference:
``env:NAME``, ``file:/path``, ``databricks:scope/key``, ``aws-secretsmanager:name[#json_key]``,
``aws-ssm:/param/name``. References are resolved once per run, before the job starts
(`resolve_secrets`, which returns a resolved copy of the config and leaves the validated one as it
was); an unresolvable reference is a `ConfigError` naming the field, and its message
never contains a secret value. Every resolved value, and every literal secret, is registered with
the process-wide `SCRUBBER`, which log handlers and notifications run their text through.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr

from dwh.config_tree import replace_leaves
from dwh.errors import ConfigError
from dwh.scrubber import SCRUBBER

ModelT = TypeVar("ModelT", bound=BaseModel)

_REFERENCE = re.compile(r"^(env|file|databricks|aws-secretsmanager|aws-ssm):(.+)$")
#: How long a databricks: lookup may retry transient errors before it counts as unresolvable.
DATABRICKS_RETRY_SECONDS = 60


def is_reference(value: str) -> bool:
    """True when `value` is a secret reference rather than a literal."""
    return _REFERENCE.match(value) is not None


def _from_env(name: str) -> str:
    if name not in os.environ:
        raise LookupError(f"environment variable {name} is not set")
    return os.environ[name]


def _from_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise LookupError(f"cannot read secret file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise LookupError(f"secret file {path} is not UTF-8 text") from None


def _from_databricks(spec: str) -> str:
    scope, sep, key = spec.partition("/")
    if not sep or not scope or not key:
        raise LookupError("expected databricks:scope/key")
    from dwh.platforms.databricks import workspace_client

    try:
        # On a cluster this is the runtime's own dbutils; elsewhere the SDK reads the secret over REST.
        # (databricks.sdk.runtime would import pyspark off-cluster, and an unconfigured client raises here.)
        # A bounded retry budget: an unreachable workspace is a config error in a minute, not five.
        client = workspace_client(retry_timeout_seconds=DATABRICKS_RETRY_SECONDS)
        return str(client.dbutils.secrets.get(scope=scope, key=key))
    except LookupError:
        raise
    except Exception as exc:
        raise LookupError(f"Databricks secret {scope}/{key} not readable ({type(exc).__name__})") from None


def _boto3_client(service: str) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise LookupError("needs boto3: pip install 'dwh-business-logic[aws]'") from None
    return boto3.client(service, config=Config(connect_timeout=10, read_timeout=20, retries={"max_attempts": 3}))


def _from_secretsmanager(spec: str) -> str:
    name, _, json_key = spec.partition("#")
    try:
        value = _boto3_client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    except LookupError:
        raise
    except Exception as exc:
        raise LookupError(f"AWS secret {name} not readable ({type(exc).__name__})") from None
    if not json_key:
        return str(value)
    try:
        return str(json.loads(value)[json_key])
    except (ValueError, KeyError, TypeError):
        # Never echo the secret's content: name only the key we looked for.
        raise LookupError(f"AWS secret {name} has no JSON key {json_key!r}") from None


def _from_ssm(name: str) -> str:
    try:
        response = _boto3_client("ssm").get_parameter(Name=name, WithDecryption=True)
    except LookupError:
        raise
    except Exception as exc:
        raise LookupError(f"SSM parameter {name} not readable ({type(exc).__name__})") from None
    return str(response["Parameter"]["Value"])


RESOLVERS: dict[str, Callable[[str], str]] = {
    "env": _from_env,
    "file": _from_file,
    "databricks": _from_databricks,
    "aws-secretsmanager": _from_secretsmanager,
    "aws-ssm": _from_ssm,
}


def resolve_reference(value: str, *, field: str) -> str:
    """Resolve one secret value: a literal comes back as is, a reference is looked up."""
    match = _REFERENCE.match(value)
    if match is None:
        SCRUBBER.register(value)
        return value
    scheme, spec = match.groups()
    try:
        resolved = RESOLVERS[scheme](spec)
    except LookupError as exc:
        raise ConfigError(f"cannot resolve secret reference {scheme}:{spec}: {exc}", field=field) from None
    SCRUBBER.register(resolved)
    return resolved


def resolve_secrets(model: ModelT, *, prefix: str = "") -> ModelT:
    """A copy of `model` with every `SecretStr` anywhere in it resolved, each value registered for scrubbing."""

    def resolve(value: Any, path: str) -> Any:
        if isinstance(value, SecretStr):
            return SecretStr(resolve_reference(value.get_secret_value(), field=path))
        return value

    resolved: ModelT = replace_leaves(model, resolve, prefix)
    return resolved
