"""DATABRICKS: start a run of a pre-deployed Databricks job through the Jobs API 2.2 and read its state.

    {"launcher": "DATABRICKS", "host": "https://adb-1234.5.azuredatabricks.net", "token": "databricks:pm/token",
     "job_id": 123}                                # or "job_ids": {"geo_analysis": 123, "sales": 456}

`launch` calls ``jobs.run_now(job_id=..., job_parameters=parameters, idempotency_token=<key>)`` and
returns as soon as the service has answered the run id (the SDK's waiter is not waited on); `state`
calls ``jobs.get_run(run_id)``. The service de-duplicates by token: a launch retried with the same key,
even after a crash, gets the run the first call started, finished or not (PLATFORMS.md). Tokens are at
most 64 characters, so a longer key is sent as `idempotency_token(key)`: its first 47 characters, ``-``
and 16 hex digits of its SHA-256 — the same key always gives the same token.

The `WorkspaceClient` comes from `dwh.platforms.databricks.workspace_client`, once per launcher, on
first use. The SDK itself retries 429 (sleeping ``Retry-After``), 503 and connection errors within
``retry_timeout_seconds``; anything else (400 INVALID_PARAMETER_VALUE, 403, 404, a 500) fails at once as
a `LaunchError` carrying the service's error code and message, secrets masked.

The run URL of `launch` is built (`dwh.platforms.databricks.run_page_url`) rather than read with a
second call; `state` returns the service's own ``run_page_url``.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import Field, PositiveInt, PrivateAttr, field_validator, model_validator

from dwh.config import Secret
from dwh.platforms.databricks import (
    DEFAULT_RETRY_SECONDS,
    DatabricksUnavailable,
    run_page_url,
    workspace_client,
    workspace_url,
)
from dwh.platforms.launchers.base import LaunchedRun, Launcher, LaunchError, LaunchState, RunState, map_state
from dwh.secrets import SCRUBBER, is_reference

T = TypeVar("T")

#: Databricks' limit on idempotency_token.
MAX_TOKEN_LENGTH = 64
#: Hosts that may be reached over plain http (local stand-ins); every other host must be https.

_SDK_CONFIG_SUFFIX = re.compile(r"\. Config: .*$", re.DOTALL)

#: Life-cycle states in which the run has ended: the result state decides.
ENDED = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")
#: Every documented ``result_state`` (PLATFORMS.md; databricks-sdk's RunResultState).
RESULT_STATES = (
    "SUCCESS",
    "SUCCESS_WITH_FAILURES",
    "FAILED",
    "TIMEDOUT",
    "CANCELED",
    "MAXIMUM_CONCURRENT_RUNS_REACHED",
    "EXCLUDED",
    "UPSTREAM_FAILED",
    "UPSTREAM_CANCELED",
    "DISABLED",
)

#: The one table: a run that has not ended is looked up by its life-cycle state alone (whatever result it
#: may already show); an ended one by ``LIFE_CYCLE/RESULT`` (or the bare life-cycle state when it has no result).
DATABRICKS_STATES: Mapping[str, RunState] = {
    "QUEUED": RunState.PENDING,
    "PENDING": RunState.PENDING,
    "BLOCKED": RunState.PENDING,  # waiting on an upstream dependency
    "WAITING_FOR_RETRY": RunState.PENDING,  # a task failed and its retry is scheduled: not over yet
    "RUNNING": RunState.RUNNING,
    "TERMINATING": RunState.RUNNING,  # still in progress (cannot be repaired yet)
    "TERMINATED/SUCCESS": RunState.SUCCEEDED,
    # Leaf tasks succeeded but some tasks failed: their output is missing, so the run is not a success
    # (rerun_all_failed_tasks repairs exactly those; Airflow's hook also counts only SUCCESS as success).
    "TERMINATED/SUCCESS_WITH_FAILURES": RunState.FAILED,
    "TERMINATED/FAILED": RunState.FAILED,
    "TERMINATED/TIMEDOUT": RunState.FAILED,
    "TERMINATED/CANCELED": RunState.FAILED,
    "TERMINATED/MAXIMUM_CONCURRENT_RUNS_REACHED": RunState.FAILED,
    "TERMINATED/EXCLUDED": RunState.FAILED,  # its conditions were not met: nothing ran
    "TERMINATED/UPSTREAM_FAILED": RunState.FAILED,
    "TERMINATED/UPSTREAM_CANCELED": RunState.FAILED,
    "TERMINATED/DISABLED": RunState.FAILED,
    # Ended without a result: the API promises one for a run with tasks, so this is not a success.
    "TERMINATED": RunState.FAILED,
    # SKIPPED (never ran) and INTERNAL_ERROR (the platform failed it; also a failed task's run) are failures,
    # whatever result they carry.
    "SKIPPED": RunState.FAILED,
    **{f"SKIPPED/{result}": RunState.FAILED for result in RESULT_STATES},
    "INTERNAL_ERROR": RunState.FAILED,
    **{f"INTERNAL_ERROR/{result}": RunState.FAILED for result in RESULT_STATES},
}


def platform_state(life_cycle_state: str, result_state: str | None) -> str:
    """The table key of a run state: ``TERMINATED/SUCCESS`` once ended, else the life-cycle state alone."""
    if life_cycle_state in ENDED and result_state:
        return f"{life_cycle_state}/{result_state}"
    return life_cycle_state


def idempotency_token(key: str) -> str:
    """`key` as an idempotency_token: itself up to 64 characters, else a deterministic 64-character digest form."""
    if len(key) <= MAX_TOKEN_LENGTH:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return f"{key[: MAX_TOKEN_LENGTH - 17]}-{digest}"


class DatabricksLauncher(Launcher):
    """Runs a deployed Databricks job (one ``job_id``, or one per module in ``job_ids``) with job parameters."""

    launcher: Literal["DATABRICKS"] = "DATABRICKS"
    host: str = Field(..., description="Workspace URL, https://<workspace host> (http:// only for 127.0.0.1).")
    token: Secret = Field(..., description="Personal access or service-principal token (a secret: literal or ref).")
    job_id: PositiveInt | None = Field(None, description="The job to run (give this or job_ids).")
    job_ids: dict[str, PositiveInt] | None = Field(
        None, description="Job id per job name (the module): launch(job) runs job_ids[job] (give this or job_id)."
    )
    retry_timeout_seconds: float = Field(
        DEFAULT_RETRY_SECONDS, ge=1, le=900, description="How long one call may retry 429/503/connection errors."
    )

    idempotent: ClassVar[bool] = True
    predeployed: ClassVar[bool] = True
    STATES: ClassVar[Mapping[str, RunState]] = DATABRICKS_STATES
    _client: Any = PrivateAttr(default=None)
    _client_token: str | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @field_validator("host")
    @classmethod
    def _workspace_url(cls, value: str) -> str:
        return workspace_url(value)

    @model_validator(mode="after")
    def _one_job_id(self) -> DatabricksLauncher:
        if (self.job_id is None) == (self.job_ids is None):
            raise ValueError("give exactly one of job_id or job_ids")
        if self.job_ids is not None and not self.job_ids:
            raise ValueError("job_ids is empty: map each job name to its job id")
        return self

    def required_packages(self) -> dict[str, str]:
        """databricks-sdk, from the ``databricks`` extra."""
        return {"databricks": "databricks"}  # the namespace package: find_spec("databricks.sdk") raises without it

    def job_id_for(self, job: str | None) -> int:
        """``job_id`` (whatever `job` is), or ``job_ids[job]`` (an unknown or missing `job` is a `LaunchError`)."""
        if self.job_id is not None:
            return self.job_id
        known = self.job_ids or {}
        if job not in known:
            raise LaunchError(f"DATABRICKS: job {job!r} is not in job_ids (known: {', '.join(sorted(known))})")
        return known[job]

    def launch(self, job: str | None, parameters: Mapping[str, str], key: str) -> LaunchedRun:
        """``run_now`` with the job parameters and `key` as idempotency token; returns once the run id is known."""
        job_id = self.job_id_for(job)
        if not key:
            raise LaunchError("DATABRICKS: an empty idempotency key would not protect against a second run")
        jobs = self._jobs()
        waiter = self._call(
            "run_now",
            lambda: jobs.run_now(
                job_id=job_id,
                job_parameters={str(name): str(value) for name, value in parameters.items()},
                idempotency_token=idempotency_token(key),
            ),
        )
        run_id = str(waiter.run_id)  # the service's answer; the Wait object is never waited on
        return LaunchedRun(
            launcher=self.launcher,
            run_id=run_id,
            run_url=run_page_url(self.host, job_id, run_id),
            detail={"job_id": str(job_id)},
        )

    def state(self, run: LaunchedRun) -> LaunchState:
        """``get_run``: its life-cycle and result state through `DATABRICKS_STATES`, ``state_message`` as message."""
        try:
            run_id = int(run.run_id)
        except ValueError:
            raise LaunchError(f"DATABRICKS: run id {run.run_id!r} is not a Databricks run id") from None
        jobs = self._jobs()
        answer = self._call("get_run", lambda: jobs.get_run(run_id))
        state = answer.state
        life_cycle = getattr(getattr(state, "life_cycle_state", None), "value", None)
        if life_cycle is None:
            raise LaunchError(f"DATABRICKS get_run: run {run_id} has no life_cycle_state this SDK knows")
        result = getattr(getattr(state, "result_state", None), "value", None)
        key = platform_state(str(life_cycle), result)
        url = answer.run_page_url or run_page_url(self.host, answer.job_id or run.detail.get("job_id", "0"), run_id)
        return LaunchState(
            state=map_state(self.STATES, key, launcher=self.launcher),
            platform_state=key,
            message=SCRUBBER.scrub(state.state_message) if state.state_message else None,
            run_url=url,
        )

    def _jobs(self) -> Any:
        """The Jobs API of this launcher's `WorkspaceClient` (built on first use, again only if the token changed)."""
        token = self.token.get_secret_value()
        if is_reference(token):
            raise LaunchError(
                "DATABRICKS: token is an unresolved secret reference (resolve the config's secrets first)"
            )
        with self._lock:
            if self._client is None or self._client_token != token:
                SCRUBBER.register(token)
                self._client = self._call(
                    "client",
                    lambda: workspace_client(
                        host=self.host, token=token, retry_timeout_seconds=self.retry_timeout_seconds
                    ),
                )
                self._client_token = token
            return self._client.jobs

    def _call(self, operation: str, call: Callable[[], T]) -> T:
        """`call()`, any SDK or network failure (after the SDK's own retries) as a one-line `LaunchError`."""
        try:
            return call()
        except DatabricksUnavailable as exc:
            raise LaunchError(f"DATABRICKS: {exc}") from None
        except (OSError, RuntimeError, ValueError) as exc:  # DatabricksError and requests' errors are OSErrors
            raise LaunchError(databricks_error_message(exc, operation=operation)) from None


def databricks_error_message(error: BaseException, *, operation: str) -> str:
    """``DATABRICKS run_now: INVALID_PARAMETER_VALUE: Job 7 does not exist.`` (one line, secrets masked)."""
    code = getattr(error, "error_code", None)
    # On 401/403 the SDK drops the final "." and appends its config (". Config: host=..., token=***"): cut it.
    text = _SDK_CONFIG_SUFFIX.sub("", str(error))
    if isinstance(error, TimeoutError) and error.__cause__ is not None:
        # The SDK's retry budget ran out: say so, with what the last attempt got.
        detail = f"{text} retrying: {databricks_error_message(error.__cause__, operation=operation)}"
        detail = detail.replace(f"DATABRICKS {operation}: ", "")
    elif code:
        detail = f"{code}: {text}"
    else:
        detail = f"{type(error).__name__}: {text}"
    return SCRUBBER.scrub(f"DATABRICKS {operation}: {' '.join(detail.split())}")[:1000]
