"""The Freeport monitor: reconcile the batch's rows, then send ONE completion notice per batch.

Without ``--wait_seconds`` it checks once (the seed's 5-minute schedule); with it, it polls every
``poll_seconds`` until its batches are notified or the time is up. The notice is claimed in the
tracking store before it is sent (`FreeportTracking.claim_notice`), so two monitors at once, or a
second run later, never send it twice; a notice no channel could deliver is released for the next run.
Exit 0 when done or still in progress; 1 when a notice it sent reports failures.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from dwh.control.store import ControlStore
from dwh.control.tracking import BatchRow, FreeportTracking
from dwh.jobs.abstract_job import AbstractJob
from dwh.jobs.freeport.config import MonitorJobConfig
from dwh.jobs.freeport.reconcile import batch_finished, completion_notice, reconcile, summarize
from dwh.strategies.notifications import send_notice

log = logging.getLogger(__name__)


class ReleasesFailed(RuntimeError):
    """A completion notice went out that reports failed releases or modules that never built."""


class MonitorJob(AbstractJob[MonitorJobConfig]):
    """Watches one batch (``--batch_id``) or every open batch of a demo."""

    def __init__(self, *, config: MonitorJobConfig, context: Any, store: ControlStore) -> None:
        super().__init__(config=config, context=context)
        self.tracking = FreeportTracking(store)

    def execute_job(
        self, demo_name: str, batch_id: str | None = None, wait_seconds: str | None = None
    ) -> dict[str, Any]:
        """Check (or wait for) the batches; returns each batch's state."""
        deadline = time.monotonic() + float(wait_seconds or 0)
        results: dict[str, Any] = {}
        while True:
            for batch in self._batches(demo_name, batch_id):
                results[batch.batch_id] = self._check(batch)
            open_batches = [b for b, r in results.items() if r["state"] == "in progress"]
            if not open_batches or time.monotonic() >= deadline:
                break
            time.sleep(min(self.config.freeport.poll_seconds, max(0.0, deadline - time.monotonic())))
        with self.report.step("monitor") as step:
            step.detail = results
        failing = [b for b, r in results.items() if r.get("failures")]
        if failing:
            raise ReleasesFailed(f"batches with failed releases: {', '.join(failing)}")
        return results

    def _batches(self, demo_name: str, batch_id: str | None) -> list[BatchRow]:
        if batch_id:
            batch = self.tracking.batch(batch_id)
            if batch is None or batch.demo_name != demo_name:
                raise LookupError(f"no Freeport batch {batch_id} of demo {demo_name}")
            return [batch] if batch.notified_at is None else []
        return self.tracking.open_batches(demo_name)

    def _check(self, batch: BatchRow) -> dict[str, Any]:
        freeport = self.config.freeport
        rows = reconcile(self.tracking, freeport, batch)
        if not batch_finished(batch, rows):
            pending = sorted(row.module_name for row in rows if not row.terminal)
            return {"state": "in progress", "open": pending, "triggering_done": batch.triggering_done_at is not None}
        if not self.tracking.claim_notice(batch.batch_id):
            return {"state": "notified by another monitor"}
        summary = summarize(batch, rows)
        notice = completion_notice(batch, summary, freeport)
        log.info("%s", notice.text)
        outcomes = send_notice(list(freeport.completion_notifications), notice)
        if outcomes and not any(outcome == "sent" for outcome in outcomes.values()):
            self.tracking.release_notice(batch.batch_id)
            return {"state": "notice not delivered; the next check retries", "channels": outcomes}
        return {
            "state": "notified",
            "completed": summary.completed,
            "failed": summary.failed + len(summary.not_built),
            "failures": summary.has_failures,
            "channels": outcomes,
        }
