"""The Freeport release job: release one module's table of one batch, and leave its tracking row terminal.

    tracking row -> running; client: deliverable + materialization (idempotency key <batch_id>:<module>),
    release, poll until released | failed | release_timeout_seconds; row -> completed | failed + error_message

A re-launched release of the same batch reuses the materialization recorded in its row (and the client
de-duplicates by key), so a module is never materialized twice for one batch; another batch never
shares it. Any failure marks the row failed with the (scrubbed) reason, then the job fails (exit 1,
after its failure notice).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from dwh.control.store import ControlStore
from dwh.control.tracking import COMPLETED, FAILED, FreeportTracking
from dwh.jobs.abstract_job import AbstractJob
from dwh.jobs.freeport.config import ReleaseJobConfig
from dwh.run_report import summarize_error
from dwh.strategies.freeport.base import Deliverable, FreeportError, release_and_wait

log = logging.getLogger(__name__)


class ReleaseJob(AbstractJob[ReleaseJobConfig]):
    """Releases ``<demo_name>_<module>`` of one batch through the configured Freeport client."""

    def __init__(self, *, config: ReleaseJobConfig, context: Any, store: ControlStore) -> None:
        super().__init__(config=config, context=context)
        self.tracking = FreeportTracking(store)

    def execute_job(self, demo_name: str, freeport_module: str, table_name: str, batch_id: str) -> dict[str, Any]:
        """Release the module; returns the materialization id and its final status."""
        module = freeport_module
        row = self.tracking.row(batch_id, module)
        if row is None:  # started by hand, without the main job: track it all the same
            self.tracking.insert_pending(batch_id, demo_name, module, table_name)
            row = self.tracking.row(batch_id, module)
        if row is not None and row.terminal:
            log.info("release of %s in batch %s already ended %s: nothing to do", module, batch_id, row.status)
            return {"status": row.status, "materialization_id": row.materialization_id, "repeated": True}
        self.tracking.mark_running(batch_id, module)
        with self.report.step(f"release {module}") as step:
            try:
                released = self._release(demo_name, module, table_name, batch_id, row)
            except Exception as error:
                message = summarize_error(error) if not isinstance(error, FreeportError) else str(error)
                self.tracking.finish(batch_id, module, FAILED, message)
                step.detail = {"status": FAILED, "error": message}
                raise
            step.detail = {"status": COMPLETED, "materialization_id": released}
        self.tracking.finish(batch_id, module, COMPLETED)
        return {"status": COMPLETED, "materialization_id": released}

    def _release(self, demo_name: str, module: str, table_name: str, batch_id: str, row: Any) -> str:
        freeport = self.config.freeport
        client = freeport.client
        client.prepare(self.context)
        deliverable = Deliverable(
            name=f"{demo_name}_{module}",
            demo_name=demo_name,
            module_name=module,
            sandbox_table=table_name,  # what the module's loader wrote: its table, else its path
            prod_table=freeport.prod_table(demo_name, module),
        )
        final = release_and_wait(
            client,
            deliverable,
            idempotency_key=freeport.release_key(batch_id, module),
            timeout_seconds=freeport.release_timeout_seconds,
            poll_seconds=freeport.poll_seconds,
            materialization_id=row.materialization_id if row is not None else None,
            on_materialized=functools.partial(self._record_materialization, batch_id, module),
        )
        if final.status != "released":
            raise FreeportError(f"materialization {final.id} failed: {final.error or 'no reason given'}")
        return final.id

    def _record_materialization(self, batch_id: str, module: str, materialization_id: str) -> None:
        """Keep the id in the row as soon as it exists, so a re-launched release reuses it."""
        self.tracking.set_materialization(batch_id, module, materialization_id)
