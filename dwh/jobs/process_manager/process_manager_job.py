"""The process manager: trigger or repair every waiting Databricks run, each row claimed so no one else takes it.

One run: take back the stale claims of dead managers, read the wait view's ids, then claim them a chunk
at a time (`ControlTable.claim`) and hand each claimed row to a bounded pool of ``max_parallel_calls``
threads that decide and call the Jobs API (`Decider`). As each row finishes, the main thread writes its
outcome, fenced by the claim (`ControlTable.finish`). Rows that went to ERROR are listed in the failure
notice and the run fails (exit 1); deferred rows (retries ran out) wait for the next run. The run
report's ``schedule`` step counts the rows per decision and gives each row's outcome.

``dry_run`` claims nothing and calls nothing that changes anything: it reads the rows and the runs
(``get_run``) and prints, per row, the decision and the exact API call it would make.
"""

from __future__ import annotations

import collections
import logging
import os
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from dwh.jobs.abstract_job import AbstractJob
from dwh.jobs.process_manager.config import ProcessManagerConfig
from dwh.jobs.process_manager.control_table import ERROR, WAITING, ControlRow, ControlTable
from dwh.jobs.process_manager.decisions import DECISIONS, DEFERRED, Decider, Outcome
from dwh.jobs.process_manager.runs_api import RunsApi
from dwh.platforms.context import RunContext
from dwh.secrets import SCRUBBER
from dwh.strategies.notifications import Notice

log = logging.getLogger(__name__)
#: Rows claimed per claim transaction, per thread of the pool.
CLAIM_CHUNK_PER_THREAD = 4


class RowsInError(RuntimeError):
    """Some rows went to ERROR (permanent API errors); the failure notice lists them."""


class ProcessManagerJob(AbstractJob[ProcessManagerConfig]):
    """Schedules the waiting rows of one control table."""

    def __init__(
        self, *, config: ProcessManagerConfig, context: RunContext, control: ControlTable, missing: list[str]
    ) -> None:
        super().__init__(config=config, context=context)
        self.control, self.missing = control, missing
        self.api = RunsApi(config.databricks, config.retry)
        self.owner = f"{context.run_id} (pid {os.getpid()})"
        self.outcomes: list[Outcome] = []

    def execute_job(self) -> dict[str, Any]:
        """Process every waiting row; returns the counts per decision."""
        with self.report.step("schedule") as step:
            outcomes = self._plan() if self.config.dry_run else self._schedule()
            self.outcomes = sorted(outcomes, key=lambda outcome: outcome.control_id)
            counts = collections.Counter(outcome.decision for outcome in self.outcomes)
            step.rows_in = step.rows_out = len(self.outcomes)
            step.detail = {
                "dry_run": self.config.dry_run,
                "owner": self.owner,
                "created": self.missing,
                "counts": {decision: counts.get(decision, 0) for decision in DECISIONS},
                "rows": {outcome.control_id: outcome.describe() for outcome in self.outcomes},
            }
        errors = self.error_rows
        if errors:
            raise RowsInError(f"{len(errors)} row(s) went to ERROR: {', '.join(o.control_id for o in errors)}")
        return step.detail["counts"]

    @property
    def error_rows(self) -> list[Outcome]:
        """The rows this run put in ERROR (none in a dry run, which writes nothing)."""
        if self.config.dry_run:
            return []
        return [outcome for outcome in self.outcomes if outcome.state == ERROR]

    def build_notice(self, kind: str) -> Notice:
        """The default notice; a failure notice first lists each ERROR row and its error."""
        notice = super().build_notice(kind)
        if kind != "failure" or not self.error_rows:
            return notice
        lines = [f"rows in ERROR in {self.config.table_name} ({len(self.error_rows)}):"]
        lines += [f"  {o.control_id} (job {o.job_id}): {o.error}" for o in self.error_rows]
        head, _, rest = notice.text.partition("\n")
        text = SCRUBBER.scrub("\n".join([head, "", *lines, rest]))
        return Notice(kind=notice.kind, subject=notice.subject, text=text, report=notice.report)

    # -- the real run ----------------------------------------------------------------------------------
    def _schedule(self) -> list[Outcome]:
        taken_back = self.control.reclaim_stale(self.config.claim_timeout_seconds)
        for row in taken_back:
            log.warning("took back %s: its claim is older than the claim timeout (a manager died)", row.control_id)
        queue = collections.deque(self.control.waiting_ids())
        if not queue and not taken_back:
            log.info("no waiting rows in %s", self.config.view_name)
            return []
        try:
            self.api.jobs()  # a workspace that cannot be reached fails the run before any row is claimed
        except Exception:
            for row in taken_back:
                self.control.release(row)
            raise
        return self._run_pool(taken_back, queue)

    def _run_pool(self, first: list[ControlRow], queue: collections.deque[str]) -> list[Outcome]:
        threads = self.config.max_parallel_calls
        decider = Decider(self.api)
        pending: dict[Future[Outcome], ControlRow] = {}
        outcomes: list[Outcome] = []
        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pm-call")
        try:
            rows = list(first)
            while True:
                for row in rows:
                    pending[pool.submit(decider.process, row)] = row
                if len(pending) <= threads:
                    rows = self._claim_next(queue, CLAIM_CHUNK_PER_THREAD * threads)
                    if rows:
                        continue
                if not pending:
                    return outcomes
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                outcomes += self._write([(pending.pop(future), future) for future in done])
                rows = []
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self._drain(pending)

    def _claim_next(self, queue: collections.deque[str], size: int) -> list[ControlRow]:
        """Claim from the next ids of the view until some are won or the view's ids run out."""
        while queue:
            ids = [queue.popleft() for _ in range(min(size, len(queue)))]
            won = self.control.claim(ids)
            if won:
                return won
        return []

    def _write(self, finished: list[tuple[ControlRow, Future[Outcome]]]) -> list[Outcome]:
        """Write the outcomes of finished calls (one transaction), each fenced by its row's claim."""
        outcomes = [self._outcome(row, future) for row, future in finished]
        written = self.control.finish_many(
            [(row, o.row_values()) for (row, _), o in zip(finished, outcomes, strict=True)]
        )
        for outcome, ok in zip(outcomes, written, strict=True):
            if not ok:
                outcome.note = "claim lost: another manager took the row back; nothing written"
                log.warning("%s: %s", outcome.control_id, outcome.note)
            log.info(
                "%s: %s -> %s %s",
                outcome.control_id,
                outcome.decision,
                outcome.state,
                outcome.error or outcome.note or "",
            )
        return outcomes

    @staticmethod
    def _outcome(row: ControlRow, future: Future[Outcome]) -> Outcome:
        try:
            return future.result()
        except Exception as exc:  # a bug, not an API answer: the row waits for the next run
            log.exception("deciding %s failed", row.control_id)
            outcome = Outcome(row.control_id, row.job_id, DEFERRED, WAITING, row.run_id, row.repair_id, row.attempts)
            outcome.error = SCRUBBER.scrub(f"{type(exc).__name__}: {exc}")
            return outcome

    def _drain(self, pending: dict[Future[Outcome], ControlRow]) -> None:
        """After an interruption: write what finished, hand back what never started."""
        for future, row in pending.items():
            try:
                if future.cancelled():
                    self.control.release(row)
                else:
                    self._write([(row, future)])
            except Exception:  # the database is gone too: the claim goes stale and the next manager takes it back
                log.warning("could not write back %s", row.control_id, exc_info=True)

    # -- the dry run -----------------------------------------------------------------------------------
    def _plan(self) -> list[Outcome]:
        table_missing = any(what.startswith("table") for what in self.missing)
        print(f"dry run: nothing is claimed, triggered, repaired or written ({self.config.table_name})")
        for what in self.missing:
            print(f"dry run: would create {what}")
        if table_missing:
            return []
        view_exists = not any(what.startswith("view") for what in self.missing)
        stale = self.control.reclaim_stale(self.config.claim_timeout_seconds, take=False)
        rows = stale + self.control.rows(self.control.waiting_ids(view_exists=view_exists))
        decider = Decider(self.api, dry_run=True)
        with ThreadPoolExecutor(max_workers=self.config.max_parallel_calls) as pool:
            outcomes = list(pool.map(decider.process, rows))
        stale_ids = {row.control_id for row in stale}
        for outcome in outcomes:
            taken = " (stale claim, would be taken back)" if outcome.control_id in stale_ids else ""
            note = f" [{outcome.error or outcome.note}]" if outcome.error or outcome.note else ""
            calls = " ; ".join(outcome.calls) or "no call"
            print(
                SCRUBBER.scrub(f"{outcome.control_id}{taken} (job {outcome.job_id}): {outcome.decision}: {calls}{note}")
            )
        return outcomes
