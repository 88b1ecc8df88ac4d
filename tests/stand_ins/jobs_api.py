"""A local stand-in of the Databricks Jobs API 2.2 (PLATFORMS.md) on a real socket, for the real databricks-sdk.

Shared by the DATABRICKS launcher tests and the process manager's tests and benchmark. Thread-safe;
it records every request it receives, the faulted ones included.

    api = JobsApi().start()                         # or the `jobs_api` fixture (stopped after the test)
    api.host, api.token                             # http://127.0.0.1:<port>, the bearer token it accepts
    client = api.client()                           # a WorkspaceClient from dwh's factory (retry budget 5 s)
    api.fail_next(RUN_NOW, 2, status=429, retry_after=0)   # the next 2 run-now calls: 429 (or 503, 500, ...)
    api.drop_next(RUNS_GET)                         # close the connection without an answer
    api.drop_next(RUN_NOW, after_processing=True)   # start the run, then lose the answer
    api.fail_job(77)                                # every call about job 77: 400 "Job 77 does not exist."
    api.latency_seconds = 0.05                      # every request answered 50 ms late
    api.start_state = ("RUNNING", None, "")         # the state new runs and new repairs start in
    run_id = api.add_run(5, result_state="FAILED")  # seed a run that ended (TERMINATED/FAILED)
    api.add_repair(run_id)                          # seed a REPAIR entry; returns its repair id
    api.set_run_state(run_id, "TERMINATED", "SUCCESS")
    api.run(run_id), api.runs                       # StandInRun copies: state, token, repair_ids, repair_requests
    api.requests_to(RUN_NOW)                        # RecordedRequests (method, path, query, body, headers, status)

Service behaviour it keeps (PLATFORMS.md): ``run-now`` with an ``idempotency_token`` seen before answers
the run that token started, finished or not, and starts nothing; ``runs/get`` carries ``repair_history``
(ORIGINAL first, then one REPAIR item per repair, with its ``id``) only with ``include_history=true``;
``runs/repair`` refuses a run still in progress, needs ``rerun_all_failed_tasks`` or ``rerun_tasks``,
needs ``latest_repair_id`` from the second repair on (the service's message) and refuses one that is
not the latest. A new run, and a repair, start in `start_state` (PENDING) until a test sets another.
Errors answer ``{"error_code", "message"}``: a missing bearer token 401, a wrong one 403, a bad
parameter 400 INVALID_PARAMETER_VALUE, an unknown run 404 RESOURCE_DOES_NOT_EXIST (the stand-in's
choice), an unknown route 404 ENDPOINT_NOT_FOUND. ``GET /.well-known/databricks-config`` answers 404
(the SDK then only warns).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest

from tests.stand_ins.jobs_api_http import JobsApiServer, serve
from tests.stand_ins.jobs_api_model import (
    ENDED_LIFE_CYCLE_STATES,
    ApiError,
    Fault,
    RecordedRequest,
    StandInRun,
    new_attempt,
)

DEFAULT_TOKEN = "dapi-stand-in-token-5c1e9a7b"
RUN_NOW = "/api/2.2/jobs/run-now"
RUNS_GET = "/api/2.2/jobs/runs/get"
RUNS_REPAIR = "/api/2.2/jobs/runs/repair"
MAX_IDEMPOTENCY_TOKEN = 64
LATEST_REPAIR_REQUIRED = "The latest repair ID needs to be provided in order to create a new repair"


class JobsApi:
    """The stand-in: runs, tokens and repairs in memory, scripted faults, latency, and the request log."""

    def __init__(self, *, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        #: Seconds every request waits before it is answered (a benchmark's service time).
        self.latency_seconds = 0.0
        #: (life_cycle_state, result_state, state_message) of every new run and new repair.
        self.start_state: tuple[str, str | None, str] = ("PENDING", None, "")
        self._lock = threading.RLock()
        self._runs: dict[int, StandInRun] = {}
        self._tokens: dict[str, int] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._failing_jobs: dict[int, ApiError] = {}
        self._requests: list[RecordedRequest] = []
        self._next_run_id = 100_001
        self._next_repair_id = 700_001
        self._server: JobsApiServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> JobsApi:
        """Serve on a free port of 127.0.0.1 in a background thread."""
        server = serve(self)
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), name="jobs-api-stand-in", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def host(self) -> str:
        """The workspace URL clients are given."""
        assert self._server is not None, "start() the stand-in first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def client(self, *, retry_timeout_seconds: float = 5, token: str | None = None) -> Any:
        """A real `WorkspaceClient` for this stand-in, built by dwh's one factory."""
        from dwh.platforms.databricks import workspace_client

        return workspace_client(host=self.host, token=token or self.token, retry_timeout_seconds=retry_timeout_seconds)

    # -- scripting ---------------------------------------------------------------------------------------
    def fail_next(
        self,
        path: str,
        times: int = 1,
        *,
        status: int = 429,
        retry_after: int | str | None = 0,
        error_code: str | None = None,
        message: str | None = None,
    ) -> None:
        """The next `times` requests to `path` answer `status` (with ``Retry-After`` unless None) and do nothing."""
        fault = Fault(status=status, retry_after=retry_after, error_code=error_code, message=message)
        with self._lock:
            self._faults.setdefault(path, deque()).extend([fault] * times)

    def drop_next(self, path: str, times: int = 1, *, after_processing: bool = False) -> None:
        """The next `times` requests to `path` get their connection closed without an answer; with
        `after_processing` the request takes effect first (a run started, a repair made): a lost response."""
        with self._lock:
            self._faults.setdefault(path, deque()).extend(
                [Fault(status=None, after_processing=after_processing)] * times
            )

    def fail_job(
        self, job_id: int, *, status: int = 400, error_code: str = "INVALID_PARAMETER_VALUE", message: str | None = None
    ) -> None:
        """Every run-now, runs/get and runs/repair about `job_id` answers this error (default: it does not exist)."""
        with self._lock:
            self._failing_jobs[job_id] = ApiError(status, error_code, message or f"Job {job_id} does not exist.")

    def clear_faults(self) -> None:
        """Forget every scripted fault and failing job."""
        with self._lock:
            self._faults.clear()
            self._failing_jobs.clear()

    # -- runs --------------------------------------------------------------------------------------------
    def add_run(
        self,
        job_id: int,
        *,
        job_parameters: dict[str, str] | None = None,
        life_cycle_state: str = "TERMINATED",
        result_state: str | None = "FAILED",
        state_message: str = "",
        idempotency_token: str | None = None,
    ) -> int:
        """Seed a run (as if started earlier, by us or by someone else); returns its run id."""
        with self._lock:
            run = self._new_run(job_id, job_parameters or {}, idempotency_token)
            run.attempts[-1].set_state(life_cycle_state, result_state, state_message)
            return run.run_id

    def add_repair(
        self, run_id: int, *, life_cycle_state: str = "TERMINATED", result_state: str | None = "FAILED"
    ) -> int:
        """Seed a REPAIR entry on a run (no checks); returns its repair id."""
        with self._lock:
            repair_id = self._next_repair_id
            self._next_repair_id += 1
            attempt = new_attempt("REPAIR", repair_id, (life_cycle_state, result_state, ""))
            self._run(run_id).attempts.append(attempt)
            return repair_id

    def set_run_state(
        self, run_id: int, life_cycle_state: str, result_state: str | None = None, state_message: str = ""
    ) -> None:
        """Set the state of the run's current attempt (the last repair, else the original run)."""
        with self._lock:
            self._run(run_id).attempts[-1].set_state(life_cycle_state, result_state, state_message)

    def run(self, run_id: int) -> StandInRun:
        """A copy of one run (KeyError when unknown)."""
        with self._lock:
            return self._runs[run_id].copy()

    @property
    def runs(self) -> list[StandInRun]:
        """Copies of every run, in the order they were started or seeded."""
        with self._lock:
            return [run.copy() for run in self._runs.values()]

    # -- the request log ---------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        """The requests to `path` (and `method`), in arrival order."""
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    # -- the service -------------------------------------------------------------------------------------
    def _new_run(self, job_id: int, job_parameters: dict[str, str], token: str | None) -> StandInRun:
        run = StandInRun(
            self._next_run_id, job_id, dict(job_parameters), token, [new_attempt("ORIGINAL", None, self.start_state)]
        )
        self._next_run_id += 1
        self._runs[run.run_id] = run
        if token is not None:
            self._tokens[token] = run.run_id
        return run

    def _run(self, run_id: Any) -> StandInRun:
        if not isinstance(run_id, int) or isinstance(run_id, bool):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Invalid run_id: {run_id!r}")
        if run_id not in self._runs:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Run {run_id} does not exist.")
        run = self._runs[run_id]
        self._check_job(run.job_id)
        return run

    def _check_job(self, job_id: int) -> None:
        if job_id in self._failing_jobs:
            raise self._failing_jobs[job_id]

    def take_fault(self, path: str) -> Fault | None:
        """The next scripted fault for `path`, if any (used by the handler)."""
        with self._lock:
            queue = self._faults.get(path)
            return queue.popleft() if queue else None

    def record(self, request: RecordedRequest) -> None:
        """Append a request to the log (used by the handler)."""
        with self._lock:
            self._requests.append(request)

    def answer(self, method: str, path: str, query: dict[str, str], body: Any) -> dict[str, Any]:
        """The JSON answer to an authenticated request, or an `ApiError`."""
        with self._lock:
            if (method, path) == ("POST", RUN_NOW):
                return self._run_now(_object(body))
            if (method, path) == ("GET", RUNS_GET):
                return self._get_run(query)
            if (method, path) == ("POST", RUNS_REPAIR):
                return self._repair(_object(body))
        raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")

    def _run_now(self, body: dict[str, Any]) -> dict[str, Any]:
        job_id = body.get("job_id")
        if not isinstance(job_id, int) or isinstance(job_id, bool):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "Missing required field: job_id")
        self._check_job(job_id)
        token = body.get("idempotency_token")
        if token is not None and (not isinstance(token, str) or len(token) > MAX_IDEMPOTENCY_TOKEN):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "idempotency_token must be at most 64 characters")
        parameters = body.get("job_parameters") or {}
        if not isinstance(parameters, dict) or not all(isinstance(v, str) for v in parameters.values()):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "job_parameters must map names to strings")
        if token is not None and token in self._tokens:
            run = self._runs[self._tokens[token]]
        else:
            run = self._new_run(job_id, parameters, token)
        return {"run_id": run.run_id, "number_in_job": run.run_id}

    def _get_run(self, query: dict[str, str]) -> dict[str, Any]:
        try:
            run_id = int(query.get("run_id", ""))
        except ValueError:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "Missing required field: run_id") from None
        return self._run(run_id).answer(self.host, include_history=query.get("include_history") == "true")

    def _repair(self, body: dict[str, Any]) -> dict[str, Any]:
        run = self._run(body.get("run_id"))
        if not body.get("rerun_all_failed_tasks") and not body.get("rerun_tasks"):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "Either rerun_tasks or rerun_all_failed_tasks must be set")
        if run.attempts[-1].life_cycle_state not in ENDED_LIFE_CYCLE_STATES:
            raise ApiError(
                400, "INVALID_PARAMETER_VALUE", f"Run {run.run_id} is still in progress and cannot be repaired"
            )
        latest, given = run.latest_repair_id, body.get("latest_repair_id")
        if latest is not None and given is None:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", LATEST_REPAIR_REQUIRED)
        if given is not None and given != latest:
            raise ApiError(
                400, "INVALID_PARAMETER_VALUE", f"latest_repair_id {given} is not the latest repair of run {run.run_id}"
            )
        repair_id = self._next_repair_id
        self._next_repair_id += 1
        attempt = new_attempt("REPAIR", repair_id, self.start_state)
        attempt.request = dict(body)
        run.attempts.append(attempt)
        return {"repair_id": repair_id}


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "MALFORMED_REQUEST", "The request body must be a JSON object")
    return body


@pytest.fixture
def jobs_api() -> Iterator[JobsApi]:
    """A running Jobs API stand-in for one test, stopped afterwards."""
    api = JobsApi().start()
    try:
        yield api
    finally:
        api.stop()
