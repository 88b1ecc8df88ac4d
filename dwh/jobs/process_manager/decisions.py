"""The decision for one claimed row (DESIGN.md "Process manager"), and the API call that carries it out.

    no run_id                          -> run_now(job_id, job_parameters, token(attempts))      SCHEDULED, run_id
    a REPAIR entry newer than repair_id-> adopt it (a manager died after repairing)             SCHEDULED, repair_id
    run in progress                    -> no call                                              WAITING
    run ended unsuccessfully           -> repair_run(run_id, rerun_all_failed_tasks=True,
                                          latest_repair_id=<last REPAIR id, none if only ORIGINAL>) SCHEDULED, repair_id
    run succeeded                      -> attempts + 1, run_now(..., token(attempts + 1))        SCHEDULED, run_id
    a permanent API error              ->                                                      ERROR, last_error
    retries ran out (429/503/5xx/...)  ->                                                      WAITING, last_error

The token is ``dwh-pm-<control_id>-<attempts>`` (`run_token`): a manager that died after run_now
re-sends the same token and Databricks answers the run it started. A repair whose answer was lost, or
that a dead manager made, shows as a REPAIR entry newer than the row's repair_id and is adopted instead
of repaired again; a repair the service refuses is checked for exactly that before the row goes to ERROR.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dwh.jobs.process_manager.control_table import ERROR, SCHEDULED, WAITING, ControlRow, job_parameters
from dwh.jobs.process_manager.runs_api import (
    RUN_NOW,
    RUNS_GET,
    RUNS_REPAIR,
    CallError,
    DeferredCall,
    RunsApi,
    RunView,
)
from dwh.platforms.launchers.base import RunState
from dwh.platforms.launchers.databricks import idempotency_token
from dwh.secrets import SCRUBBER

RUN_NOW_DECISION = "run_now"
RERUN = "run_now_after_success"
REPAIR = "repair"
ADOPT_REPAIR = "adopt_repair"
IN_PROGRESS = "left_waiting"
FAILED_CALL = "error"
DEFERRED = "deferred"
DECISIONS = (RUN_NOW_DECISION, RERUN, REPAIR, ADOPT_REPAIR, IN_PROGRESS, FAILED_CALL, DEFERRED)


def run_token(control_id: str, attempts: int) -> str:
    """``dwh-pm-<control_id>-<attempts>`` (over 64 characters: its stable digest form, as the launcher does)."""
    return idempotency_token(f"dwh-pm-{control_id}-{attempts}")


@dataclass
class Outcome:
    """What became of one row: the decision, the row's new values, and the call made (or planned)."""

    control_id: str
    job_id: int
    decision: str
    state: str
    run_id: int | None = None
    repair_id: int | None = None
    attempts: int = 0
    error: str | None = None
    calls: list[str] = field(default_factory=list)
    note: str | None = None

    def row_values(self) -> dict[str, Any]:
        """The control-table values this outcome writes."""
        values: dict[str, Any] = {"state": self.state}
        if self.state == SCHEDULED:
            values.update(run_id=self.run_id, repair_id=self.repair_id, attempts=self.attempts, last_error=None)
        elif self.error is not None:
            values["last_error"] = self.error
        return values

    def describe(self) -> dict[str, Any]:
        """The run report's entry for this row."""
        shown = {key: getattr(self, key) for key in ("job_id", "decision", "state", "run_id", "repair_id", "attempts")}
        for key in ("error", "note"):
            if getattr(self, key):
                shown[key] = getattr(self, key)
        if self.calls:
            shown["calls"] = self.calls
        return shown


def call_text(endpoint: str, body: dict[str, Any]) -> str:
    """The exact request: ``POST /api/2.2/jobs/run-now {"idempotency_token": ..., ...}`` (secrets masked)."""
    shown = {key: value for key, value in body.items() if value is not None}
    if endpoint == RUNS_GET:
        return SCRUBBER.scrub(f"{endpoint}?include_history=true&run_id={body['run_id']}")
    return SCRUBBER.scrub(f"{endpoint} {json.dumps(shown, sort_keys=True)}")


class Decider:
    """Decides and acts for one row at a time (called from the pool's threads); `dry_run` only reads."""

    def __init__(self, api: RunsApi, *, dry_run: bool = False) -> None:
        self.api, self.dry_run = api, dry_run

    def process(self, row: ControlRow) -> Outcome:
        """The outcome of one row; API errors become ERROR (permanent) or WAITING (deferred) outcomes."""
        outcome = Outcome(
            row.control_id, row.job_id, RUN_NOW_DECISION, WAITING, row.run_id, row.repair_id, row.attempts
        )
        try:
            if row.run_id is None:
                return self._run_now(row, outcome, row.attempts, RUN_NOW_DECISION)
            outcome.calls.append(call_text(RUNS_GET, {"run_id": row.run_id}))
            return self._decide_on_run(row, outcome, self.api.get_run(row.run_id))
        except (CallError, ValueError) as exc:
            outcome.error = SCRUBBER.scrub(str(exc))
            if isinstance(exc, DeferredCall):
                outcome.decision, outcome.state = DEFERRED, WAITING
            else:
                outcome.decision, outcome.state = FAILED_CALL, ERROR
            return outcome

    def _decide_on_run(self, row: ControlRow, outcome: Outcome, run: RunView) -> Outcome:
        newer = run.repairs_after(row.repair_id)
        if newer:
            return self._adopt(outcome, newer[-1], run)
        if run.state in (RunState.PENDING, RunState.RUNNING, None):
            outcome.decision, outcome.state = IN_PROGRESS, WAITING
            known = "in progress" if run.state is not None else "in a state this SDK does not know"
            outcome.note = f"run {run.run_id} is {run.platform_state} ({known})"
            return outcome
        if run.state is RunState.SUCCEEDED:
            return self._run_now(row, outcome, row.attempts + 1, RERUN)
        return self._repair(outcome, run)

    def _run_now(self, row: ControlRow, outcome: Outcome, attempts: int, decision: str) -> Outcome:
        parameters = job_parameters(row.job_parameters)
        token = run_token(row.control_id, attempts)
        body = {"job_id": row.job_id, "job_parameters": parameters, "idempotency_token": token}
        outcome.calls.append(call_text(RUN_NOW, body))
        outcome.decision = decision
        if not self.dry_run:
            outcome.run_id = self.api.run_now(row.job_id, parameters, token)
            outcome.repair_id, outcome.state = None, SCHEDULED
        outcome.attempts = attempts
        return outcome

    def _repair(self, outcome: Outcome, run: RunView) -> Outcome:
        latest = run.latest_repair_id
        body = {"latest_repair_id": latest, "rerun_all_failed_tasks": True, "run_id": run.run_id}
        outcome.calls.append(call_text(RUNS_REPAIR, body))
        outcome.decision = REPAIR
        if self.dry_run:
            return outcome
        try:
            repair_id = self.api.repair(run.run_id, latest)
        except CallError as refused:
            # Refused or unanswered: maybe the repair happened and only its answer was lost. Adopt it if so.
            outcome.calls.append(call_text(RUNS_GET, {"run_id": run.run_id}))
            try:
                newer = self.api.get_run(run.run_id).repairs_after(latest)
            except CallError:
                raise refused from None
            if not newer:
                raise
            return self._adopt(outcome, newer[-1], run, note=f"adopted after the repair call failed: {refused}")
        outcome.repair_id, outcome.state = repair_id, SCHEDULED
        return outcome

    def _adopt(self, outcome: Outcome, repair_id: int, run: RunView, note: str | None = None) -> Outcome:
        outcome.decision, outcome.repair_id = ADOPT_REPAIR, repair_id
        outcome.note = note or f"repair {repair_id} of run {run.run_id} is newer than the row's repair_id"
        if not self.dry_run:
            outcome.state = SCHEDULED
        return outcome
