"""The three Jobs API 2.2 calls the manager makes, through the one `WorkspaceClient`, with its retry rules.

    api = RunsApi(workspace, retry)                    # the client is built on first use
    api.run_now(job_id, parameters, token) -> run_id   # POST /api/2.2/jobs/run-now
    api.get_run(run_id) -> RunView                     # GET  /api/2.2/jobs/runs/get?include_history=true
    api.repair(run_id, latest_repair_id) -> repair_id  # POST /api/2.2/jobs/runs/repair, rerun_all_failed_tasks

Retries (PLATFORMS.md): the SDK itself retries 429 (sleeping Retry-After), 503 and connection errors
within ``retry_timeout_seconds``, which is set to the config's retry budget (`RetryConfig.budget_seconds`);
the SDK does not retry 500/502/504, so `RetryPolicy` does, ``retry.attempts`` times with backoff. A call
whose retries ran out is a `DeferredCall` (the row waits for the next run); any other error (400, 401, 403,
404, 409) is a `PermanentCallError` (the row goes to ERROR). Messages are one line, secrets masked.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from dwh.jobs.process_manager.config import DatabricksWorkspaceConfig, RetryConfig
from dwh.platforms.databricks import workspace_client
from dwh.platforms.launchers.base import RunState
from dwh.platforms.launchers.databricks import DATABRICKS_STATES, databricks_error_message, platform_state
from dwh.secrets import SCRUBBER

RUN_NOW = "POST /api/2.2/jobs/run-now"
RUNS_GET = "GET /api/2.2/jobs/runs/get"
RUNS_REPAIR = "POST /api/2.2/jobs/runs/repair"


class CallError(Exception):
    """A Jobs API call that did not succeed; the message is one scrubbed line."""


class PermanentCallError(CallError):
    """The service refused the call (400/401/403/404/409...): repeating it cannot help."""


class DeferredCall(CallError):
    """Throttling, unavailability, server errors or connection failures outlasted the retry budget."""


@dataclass(frozen=True)
class RunView:
    """What the manager needs of ``get_run(include_history=True)``."""

    run_id: int
    platform_state: str
    #: PENDING / RUNNING (in progress), SUCCEEDED, FAILED; None for a state this SDK does not know.
    state: RunState | None
    #: The ids of the REPAIR entries of repair_history, oldest first (ORIGINAL has none).
    repair_ids: tuple[int, ...]

    @property
    def latest_repair_id(self) -> int | None:
        """The last REPAIR entry's id; None when only ORIGINAL exists."""
        return self.repair_ids[-1] if self.repair_ids else None

    def repairs_after(self, repair_id: int | None) -> tuple[int, ...]:
        """The REPAIR ids newer than `repair_id` (all of them when it is None)."""
        if repair_id is None:
            return self.repair_ids
        if repair_id in self.repair_ids:
            return self.repair_ids[self.repair_ids.index(repair_id) + 1 :]
        return tuple(i for i in self.repair_ids if i > repair_id)


class RunsApi:
    """run_now / get_run / repair for the manager's workers (thread-safe; one client shared by all)."""

    def __init__(self, workspace: DatabricksWorkspaceConfig, retry: RetryConfig) -> None:
        self.workspace, self.retry = workspace, retry
        self._policy = retry.policy(is_server_error)
        self._jobs: Any = None
        self._lock = threading.Lock()

    def jobs(self) -> Any:
        """The Jobs API of the `WorkspaceClient` (built once, by dwh's one factory)."""
        with self._lock:
            if self._jobs is None:
                token = self.workspace.token.get_secret_value()
                SCRUBBER.register(token)
                client = self._call(
                    "client",
                    lambda: workspace_client(
                        host=self.workspace.host, token=token, retry_timeout_seconds=self.retry.budget_seconds
                    ),
                )
                self._jobs = client.jobs
            return self._jobs

    def run_now(self, job_id: int, parameters: dict[str, str] | None, token: str) -> int:
        """Trigger `job_id` with `token` as idempotency token; the run id (the old run for a token seen before)."""
        jobs = self.jobs()
        waiter = self._call(
            "run_now", lambda: jobs.run_now(job_id=job_id, job_parameters=parameters, idempotency_token=token)
        )
        return int(waiter.run_id)  # the service's answer; the Wait object is never waited on

    def get_run(self, run_id: int) -> RunView:
        """The run's state and repair history."""
        jobs = self.jobs()
        run = self._call("get_run", lambda: jobs.get_run(run_id, include_history=True))
        life_cycle = getattr(getattr(run.state, "life_cycle_state", None), "value", None)
        result = getattr(getattr(run.state, "result_state", None), "value", None)
        key = platform_state(str(life_cycle), result) if life_cycle else "UNKNOWN"
        repairs = tuple(
            int(item.id)
            for item in run.repair_history or []
            if getattr(item.type, "value", item.type) == "REPAIR" and item.id is not None
        )
        return RunView(run_id=run_id, platform_state=key, state=DATABRICKS_STATES.get(key), repair_ids=repairs)

    def repair(self, run_id: int, latest_repair_id: int | None) -> int:
        """Re-run the failed tasks of `run_id`; the new repair id."""
        jobs = self.jobs()
        waiter = self._call(
            "repair_run",
            lambda: jobs.repair_run(run_id, rerun_all_failed_tasks=True, latest_repair_id=latest_repair_id),
        )
        return int(waiter.response.repair_id)

    def _call(self, operation: str, call: Any) -> Any:
        try:
            return self._policy.call(call, what=f"DATABRICKS {operation}")
        except Exception as exc:
            message = databricks_error_message(exc, operation=operation)
            if is_permanent(exc):
                raise PermanentCallError(message) from None
            raise DeferredCall(message) from None


def is_server_error(error: BaseException) -> bool:
    """A 500/502/504 (or another 5xx the SDK maps to no class): retried by the manager, not by the SDK."""
    from databricks.sdk.errors import DatabricksError, DeadlineExceeded, InternalError

    return isinstance(error, (InternalError, DeadlineExceeded)) or type(error) is DatabricksError


def is_permanent(error: BaseException) -> bool:
    """An answer that repeating cannot change (the 4xx the SDK raises without retrying)."""
    from databricks.sdk.errors import DatabricksError, TemporarilyUnavailable, TooManyRequests

    if not isinstance(error, DatabricksError) or is_server_error(error):
        return False
    return not isinstance(error, (TooManyRequests, TemporarilyUnavailable))
