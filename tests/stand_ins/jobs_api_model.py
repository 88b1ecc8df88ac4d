"""The Jobs API stand-in's data: runs and their attempts (ORIGINAL, REPAIRs), recorded requests, faults, errors.

`tests.stand_ins.jobs_api` serves these over HTTP; tests read them through its `JobsApi` methods.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

#: Life-cycle states of a run that has ended (a repair is allowed only then).
ENDED_LIFE_CYCLE_STATES = frozenset({"TERMINATED", "SKIPPED", "INTERNAL_ERROR"})
#: The error_code a scripted fault of each status carries unless the test names one.
DEFAULT_ERROR_CODES = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    429: "REQUEST_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    503: "TEMPORARILY_UNAVAILABLE",
}


class ApiError(Exception):
    """An error answer: HTTP status and the body ``{"error_code", "message"}``."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message

    def body(self) -> dict[str, str]:
        """The JSON body the service sends."""
        return {"error_code": self.error_code, "message": self.message}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received: lower-case header names, the query as a dict, the JSON body (None when empty).

    ``status`` is what the stand-in answered (0: the connection was closed without an answer).
    """

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    status: int


@dataclass(frozen=True)
class Fault:
    """A scripted answer: an error `status` (with Retry-After when not None), or a dropped connection (None)."""

    status: int | None
    retry_after: int | str | None = None
    error_code: str | None = None
    message: str | None = None
    after_processing: bool = False

    def error(self) -> ApiError:
        """The error this fault answers."""
        status = self.status or 500
        code = self.error_code or DEFAULT_ERROR_CODES.get(status, "UNKNOWN")
        return ApiError(status, code, self.message or f"scripted {status} from the Jobs API stand-in")


@dataclass
class Attempt:
    """The original run or one repair of it: a ``repair_history`` item."""

    type: str  # ORIGINAL | REPAIR
    id: int | None  # the repair id (REPAIR items only)
    life_cycle_state: str
    result_state: str | None
    state_message: str
    start_time: int
    end_time: int | None = None
    #: The runs/repair body that made this REPAIR (None for ORIGINAL and seeded repairs).
    request: dict[str, Any] | None = None

    def set_state(self, life_cycle_state: str, result_state: str | None, state_message: str = "") -> None:
        """Move this attempt to a state; an ended one gets an end time."""
        self.life_cycle_state, self.result_state, self.state_message = life_cycle_state, result_state, state_message
        self.end_time = _now_ms() if life_cycle_state in ENDED_LIFE_CYCLE_STATES else None

    def state(self) -> dict[str, Any]:
        """The ``state`` object of the API."""
        state: dict[str, Any] = {
            "life_cycle_state": self.life_cycle_state,
            "state_message": self.state_message,
            "user_cancelled_or_timedout": False,
        }
        if self.result_state is not None:
            state["result_state"] = self.result_state
        return state

    def history_item(self) -> dict[str, Any]:
        """The ``repair_history`` item."""
        item: dict[str, Any] = {"type": self.type, "start_time": self.start_time, "state": self.state()}
        if self.id is not None:
            item["id"] = self.id
        if self.end_time is not None:
            item["end_time"] = self.end_time
        return item


def new_attempt(kind: str, repair_id: int | None, state: tuple[str, str | None, str]) -> Attempt:
    """An ORIGINAL or REPAIR attempt starting now in `state` (life_cycle_state, result_state, state_message)."""
    attempt = Attempt(kind, repair_id, state[0], state[1], state[2], start_time=_now_ms())
    attempt.set_state(*state)
    return attempt


@dataclass
class StandInRun:
    """A job run as the stand-in holds it; its state is the state of its last attempt."""

    run_id: int
    job_id: int
    job_parameters: dict[str, str]
    idempotency_token: str | None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def life_cycle_state(self) -> str:
        """The current life-cycle state."""
        return self.attempts[-1].life_cycle_state

    @property
    def result_state(self) -> str | None:
        """The current result state (None while it has none)."""
        return self.attempts[-1].result_state

    @property
    def repair_ids(self) -> list[int]:
        """The ids of its REPAIR entries, oldest first."""
        return [a.id for a in self.attempts if a.id is not None]

    @property
    def latest_repair_id(self) -> int | None:
        """The last REPAIR entry's id (None when only the ORIGINAL exists)."""
        ids = self.repair_ids
        return ids[-1] if ids else None

    @property
    def repair_requests(self) -> list[dict[str, Any]]:
        """The runs/repair bodies that made its repairs (seeded repairs have none)."""
        return [a.request for a in self.attempts if a.request is not None]

    def copy(self) -> StandInRun:
        """A deep copy, safe to read while the server goes on."""
        return copy.deepcopy(self)

    def answer(self, host: str, *, include_history: bool) -> dict[str, Any]:
        """The runs/get answer."""
        current = self.attempts[-1]
        answer: dict[str, Any] = {
            "job_id": self.job_id,
            "run_id": self.run_id,
            "number_in_job": self.run_id,
            "original_attempt_run_id": self.run_id,
            "run_name": f"job-{self.job_id}",
            "run_type": "JOB_RUN",
            "trigger": "ONE_TIME",
            "run_page_url": f"{host}/?o=0#job/{self.job_id}/run/{self.run_id}",
            "start_time": self.attempts[0].start_time,
            "state": current.state(),
            "job_parameters": [{"name": k, "value": v} for k, v in self.job_parameters.items()],
        }
        if current.end_time is not None:
            answer["end_time"] = current.end_time
        if include_history:
            answer["repair_history"] = [attempt.history_item() for attempt in self.attempts]
        return answer


def _now_ms() -> int:
    return int(time.time() * 1000)
