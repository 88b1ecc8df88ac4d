"""The launcher contract: start a job on a platform and read its state back in one vocabulary.

    run = launcher.launch(job, parameters, key)   # returns at once: a LaunchedRun (launcher, run id, URL)
    launcher.state(run)                            # LaunchState: PENDING | RUNNING | SUCCEEDED | FAILED

``job`` names what to start: the generic_entry module for LOCAL/EMR/EMR_SERVERLESS (their argv carries
``--module_name``), the key of ``job_ids`` (or nothing, with one ``job_id``) for DATABRICKS, nothing for
GLUE (``job_name`` is in the config). ``parameters`` are the job's arguments without ``--``.
``key`` is the idempotency key: platforms that take a token (Databricks' idempotency_token, EMR
Serverless' clientToken) carry it; for the others the caller's insert-once tracking row stops a
second launch.

Each launcher's config model is the launcher (as the strategies' are), selected by ``launcher``.
Every platform state maps to exactly one `RunState` through a table in the launcher's module.
"""

from __future__ import annotations

import enum
import json
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from dwh.config import StrictModel


class RunState(str, enum.Enum):
    """The four states every platform's run state maps to."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    @property
    def terminal(self) -> bool:
        """True once the run has ended (SUCCEEDED or FAILED)."""
        return self in (RunState.SUCCEEDED, RunState.FAILED)


class LaunchError(RuntimeError):
    """A launch or state call failed for good (after retrying what was transient); the message is the platform's."""


@dataclass(frozen=True)
class LaunchedRun:
    """A started run: which launcher, the platform's run id, a link, and what `state` needs to find it again."""

    launcher: str
    run_id: str
    run_url: str | None = None
    #: Platform handles besides the run id (job id, cluster id, pid, log file, ...), all strings.
    detail: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        """The run as one JSON object (stored in tracking tables)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LaunchedRun:
        """The inverse of `to_json`."""
        data = json.loads(text)
        return cls(
            launcher=str(data["launcher"]),
            run_id=str(data["run_id"]),
            run_url=data.get("run_url"),
            detail={str(k): str(v) for k, v in (data.get("detail") or {}).items()},
        )


@dataclass(frozen=True)
class LaunchState:
    """A run's state: one of the four, the platform's own words for it, and its message when it has one."""

    state: RunState
    platform_state: str
    message: str | None = None
    run_url: str | None = None


def map_state(table: Mapping[str, RunState], platform_state: str, *, launcher: str) -> RunState:
    """Look a platform state up in its launcher's table; a state the table lacks is an error, not a guess."""
    try:
        return table[platform_state]
    except KeyError:
        raise LaunchError(f"{launcher}: unknown run state {platform_state!r}") from None


def as_argv(job: str | None, parameters: Mapping[str, str]) -> list[str]:
    """``--module_name job --k v ...``: the generic_entry argv of a job (``job`` omitted when None)."""
    argv: list[str] = ["--module_name", job] if job else []
    for name, value in parameters.items():
        argv += [f"--{name}", str(value)]
    return argv


class Launcher(StrictModel):
    """Base of every launcher config; the config is the launcher."""

    #: True when the platform de-duplicates launches by `key` (Databricks' idempotency_token, EMR Serverless'
    #: clientToken): a launch retried after a crash can simply be sent again.
    idempotent: ClassVar[bool] = False
    #: True when the platform job is deployed with its own config, so `launch` passes only the run's parameters.
    predeployed: ClassVar[bool] = False
    #: The launcher's platform-state -> RunState table (every documented state; tested row by row).
    STATES: ClassVar[Mapping[str, RunState]] = {}

    @abstractmethod
    def launch(self, job: str | None, parameters: Mapping[str, str], key: str) -> LaunchedRun:
        """Start the job and return at once. A retried call with the same `key` must not start a second run
        where the platform has an idempotency token."""

    @abstractmethod
    def state(self, run: LaunchedRun) -> LaunchState:
        """The run's current state. Needs only ``run.launcher`` and ``run.run_id`` with this same config
        (tracking tables keep no more), ``run.detail`` being informational."""

    def describe(self) -> dict[str, Any]:
        """The launcher's config without secrets (for run reports)."""
        return self.model_dump(mode="json")
