"""The one place that builds a databricks-sdk `WorkspaceClient`.

Host and token come from the caller's config (a launcher's ``host``/``token``, already resolved from
a secret reference) or, when absent, from the platform: on a Databricks cluster the SDK finds its
own credentials, elsewhere ``DATABRICKS_HOST``/``DATABRICKS_TOKEN`` or a profile. The retry budget is
always bounded (`DEFAULT_RETRY_SECONDS`), because the SDK's own default retries an unreachable
host for five minutes before it says anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

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
