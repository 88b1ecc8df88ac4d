"""The monitor's two halves: reconcile tracking rows with their launchers, and word the completion notice.

A row that is not terminal is failed when its release run has ended without recording an outcome (a
process that died, a platform run that ended FAILED), or when it is past ``release_timeout_seconds``
(plus two polls of grace: the release job times itself out first). Everything else is left as it is.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from dwh.control.tracking import COMPLETED, FAILED, BatchRow, FreeportTracking, TrackingRow
from dwh.jobs.freeport.config import FreeportConfig
from dwh.platforms.launchers.base import RunState
from dwh.run_report import summarize_error
from dwh.strategies.notifications import Notice

log = logging.getLogger(__name__)


def reconcile(tracking: FreeportTracking, freeport: FreeportConfig, batch: BatchRow) -> list[TrackingRow]:
    """Fail every open row whose run ended without an outcome or that is past its timeout; return the rows."""
    now = dt.datetime.now(dt.timezone.utc)
    limit = dt.timedelta(seconds=freeport.release_timeout_seconds + 2 * freeport.poll_seconds)
    for row in tracking.rows(batch.batch_id):
        if row.terminal:
            continue
        reason = _ended_without_outcome(freeport, row)
        if reason is None and row.triggered_at is not None and now - row.triggered_at > limit:
            reason = f"no outcome within {freeport.release_timeout_seconds:g} s of its trigger"
        if reason:
            log.warning("release of %s in batch %s: %s", row.module_name, batch.batch_id, reason)
            tracking.finish(batch.batch_id, row.module_name, FAILED, reason)
    return tracking.rows(batch.batch_id)


def _ended_without_outcome(freeport: FreeportConfig, row: TrackingRow) -> str | None:
    run = row.run()
    if run is None:
        return None
    if run.launcher != getattr(freeport.launcher, "launcher", run.launcher):
        return None  # launched through another launcher than the one configured now: only the timeout applies
    try:
        state = freeport.launcher.state(run)
    except Exception as error:  # can't ask now (network): try again at the next check
        log.warning("cannot read the state of run %s: %s", run.run_id, summarize_error(error))
        return None
    if state.state is RunState.FAILED:
        detail = f": {state.message}" if state.message else ""
        return f"release run {run.run_id} ended {state.platform_state}{detail}"
    if state.state is RunState.SUCCEEDED:
        # The release job ends its row before it exits; a run that ended without doing so lost its outcome.
        latest = row.status
        return f"release run {run.run_id} ended {state.platform_state} but its row stayed {latest}"
    return None


def batch_finished(batch: BatchRow, rows: list[TrackingRow]) -> bool:
    """True when the main job finished triggering and every release row is terminal."""
    return batch.triggering_done_at is not None and all(row.terminal for row in rows)


@dataclass(frozen=True)
class CompletionSummary:
    """What the completion notice says, as numbers and lines."""

    completed: int
    failed: int
    not_built: list[str]
    lines: list[str]

    @property
    def has_failures(self) -> bool:
        """True when any release failed or any expected module never built."""
        return bool(self.failed or self.not_built)


def summarize(batch: BatchRow, rows: list[TrackingRow]) -> CompletionSummary:
    """Counts and one line per module: outcome, duration, run URL, error."""
    by_module = {row.module_name: row for row in rows}
    not_built = [module for module in batch.modules_expected if module not in by_module]
    lines = []
    for row in sorted(rows, key=lambda r: r.module_name):
        seconds = (
            f"{(row.completed_at - row.triggered_at).total_seconds():.0f} s"
            if row.completed_at and row.triggered_at
            else "-"
        )
        line = f"{row.module_name}: {row.status} in {seconds}; run {row.run_url or row.run_id or '-'}"
        if row.error_message:
            line += f"; error: {row.error_message}"
        lines.append(line)
    lines += [f"{module}: not built (no release)" for module in not_built]
    completed = sum(row.status == COMPLETED for row in rows)
    failed = sum(row.status == FAILED for row in rows)
    return CompletionSummary(completed=completed, failed=failed, not_built=not_built, lines=lines)


def completion_notice(batch: BatchRow, summary: CompletionSummary, freeport: FreeportConfig) -> Notice:
    """The one notice a batch gets."""
    failed = summary.failed + len(summary.not_built)
    subject = f"Freeport {batch.demo_name} batch {batch.batch_id}: {summary.completed} completed, {failed} failed"
    text = "\n".join(
        [
            subject,
            "",
            f"sandbox schema: {freeport.sandbox_schema}    prod schema: {freeport.prod_schema}",
            *summary.lines,
        ]
    )
    report = {
        "batch_id": batch.batch_id,
        "demo_name": batch.demo_name,
        "completed": summary.completed,
        "failed": failed,
        "modules": summary.lines,
    }
    return Notice(kind="completion", subject=subject, text=text, report=report)
