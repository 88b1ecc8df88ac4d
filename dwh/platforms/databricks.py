"""The one place that builds a databricks-sdk `WorkspaceClient`.

Host and token come from the caller's config (a launcher's ``host``/``token``, already resolved from
a secret reference) or, when absent, from the platform: on a Databricks cluster the SDK finds its
own credentials, elsewhere ``DATABRICKS_HOST``/``DATABRICKS_TOKEN`` or a profile. The retry budget is
always bounded (`DEFAULT_RETRY_SECONDS`), because the SDK's own default retries an unreachable
host for five minutes before it says anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

#: Hosts a workspace URL may name over plain http:// (local stand-ins in tests).
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: How long the SDK may retry 429/503/connection errors of one call before giving up.
DEFAULT_RETRY_SECONDS = 60


class DatabricksUnavailable(LookupError):
    """databricks-sdk is not installed (the `databricks` extra)."""


def workspace_client(
    *, host: str | None = None, token: str | None = None, retry_timeout_seconds: float = DEFAULT_RETRY_SECONDS
) -> WorkspaceClient:
    """A `WorkspaceClient` for `host`/`token` (the platform's own credentials when both are None)."""
    try:
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.config import Config
    except ImportError:
        raise DatabricksUnavailable("needs databricks-sdk: pip install 'dwh-business-logic[databricks]'") from None
    options: dict[str, Any] = {"retry_timeout_seconds": int(max(1, retry_timeout_seconds))}
    if host:
        options["host"] = host
    if token:
        options["token"] = token
    return WorkspaceClient(config=Config(**options))


def run_page_url(host: str, job_id: int | str, run_id: int | str) -> str:
    """The UI link of a job run, for run reports and notices when the API gave none."""
    return f"{host.rstrip('/')}/jobs/{job_id}/runs/{run_id}"


def workspace_url(value: str) -> str:
    """``https://<workspace host>`` (http:// only for a local host) without path or query, else `ValueError`."""
    parts = urlsplit(value.strip())
    local = parts.scheme == "http" and parts.hostname in LOCAL_HOSTS
    if not (parts.scheme == "https" or local) or not parts.hostname or parts.path.strip("/") or parts.query:
        raise ValueError(f"{value!r} is not a workspace URL (https://<workspace host>)")
    return f"{parts.scheme}://{parts.netloc}"
