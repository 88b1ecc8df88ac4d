"""The Freeport main job: build a demo's module tables concurrently, trigger each module's release, don't wait.

    record the batch -> modules in a bounded pool (one Spark session, a FAIR pool per module):
        extract -> SQL over view `source` -> load -> tracking row (insert-once) -> launch the release
    -> triggering done -> exit 0 when every module built, 1 (after the failure notice) when any failed

Nothing runs twice: the tracking row and `dwh.control.launches.launch_once` are keyed by
``<batch_id>:<module>``, so a retried main job (an Airflow retry, a Databricks repair: same batch id)
re-launches no release that was launched before. A module that failed to build gets no release;
the others still do. The releases run on their own; the monitor job tells when they have all ended.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from dwh.control.launches import launch_once
from dwh.control.store import ControlStore
from dwh.control.tracking import FAILED, FreeportTracking
from dwh.jobs.abstract_job import AbstractJob
from dwh.jobs.freeport.config import RELEASE_MODULE
from dwh.jobs.freeport.modules_config import ModuleConfig, ParallelModulesJobConfig
from dwh.platforms.launchers.base import LaunchError
from dwh.run_report import StepReport, summarize_error

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


class ModulesFailed(RuntimeError):
    """One or more modules did not build; the message names them and why."""


class ParallelModulesJob(AbstractJob[ParallelModulesJobConfig]):
    """Builds every module concurrently and triggers one Freeport release per built module."""

    def __init__(
        self,
        *,
        config: ParallelModulesJobConfig,
        context: Any,
        store: ControlStore,
        batch_id: str,
        release_config: dict[str, Any],
        trigger_releases: bool = True,
    ) -> None:
        super().__init__(config=config, context=context)
        self.release_config = release_config
        self.trigger_releases = trigger_releases
        self.store = store
        self.tracking = FreeportTracking(store)
        self.batch_id = batch_id
        self._view_lock = threading.Lock()

    def execute_job(self, demo_name: str) -> dict[str, Any]:
        """Build the modules of `demo_name`; returns each module's outcome and release run."""
        modules = self.config.modules
        self.tracking.record_batch(self.batch_id, demo_name, [module.name for module in modules])
        spark = self.spark
        workers = min(self.config.max_parallel_modules, len(modules))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="freeport-module") as pool:
            futures = {m.name: pool.submit(self._module, spark, m, demo_name) for m in modules}
            outcomes = {name: future.result() for name, future in futures.items()}
        self.tracking.finish_triggering(self.batch_id)
        failed = {name: outcome["error"] for name, outcome in outcomes.items() if outcome["status"] == "build failed"}
        result = {"batch_id": self.batch_id, "modules": outcomes}
        if failed:
            names = ", ".join(f"{name} ({error})" for name, error in failed.items())
            raise ModulesFailed(f"{len(failed)} of {len(modules)} modules failed to build: {names}")
        return result

    def _module(self, spark: SparkSession, module: ModuleConfig, demo_name: str) -> dict[str, Any]:
        """Build one module, then trigger its release; never raises (the outcome says what happened)."""
        with self.report.step(f"module {module.name}") as step:
            try:
                rows = self._build(spark, module, step)
            except Exception as error:
                log.error("module %s failed to build", module.name, exc_info=True)
                step.detail = {"status": "build failed", "error": summarize_error(error)}
                return dict(step.detail)
            step.detail = {"status": "built", "rows_written": rows, "sandbox_table": module.sandbox_table}
        release = self._trigger(module, demo_name)
        step.detail.update(release)
        return dict(step.detail)

    def _build(self, spark: SparkSession, module: ModuleConfig, step: StepReport) -> int:
        _use_pool(spark, f"freeport_{module.name}")
        frame, counter = module.extractor_config.extract_counted(self.context)
        if module.sql:
            with self._view_lock:
                # One `source` view per session: register and analyse one module at a time. Classic Spark keeps
                # the analysed plan in the DataFrame, so the next module may replace the view right after.
                frame.createOrReplaceTempView("source")
                frame = spark.sql(module.sql)
                frame.schema  # noqa: B018 - analyse now, while `source` is this module's frame
        result = module.loader_config.load(frame, self.context)
        step.rows_in, step.rows_out = counter.rows, result.rows_written
        return result.rows_written

    def _trigger(self, module: ModuleConfig, demo_name: str) -> dict[str, Any]:
        """Tracking row, then the release launch (once per batch and module)."""
        freeport = self.config.freeport
        table_name = module.sandbox_table  # the release reads what the loader wrote
        self.tracking.insert_pending(self.batch_id, demo_name, module.name, table_name)
        row = self.tracking.row(self.batch_id, module.name)
        if row is not None and (row.run_id or row.terminal):
            return {"release": "already triggered", "release_status": row.status, "run_url": row.run_url}
        if not self.trigger_releases:
            return {"release": "left to the workflow's release task (--trigger_releases false)"}
        launcher = freeport.launcher
        job, parameters = self._release_invocation(module.name, demo_name, table_name)
        try:
            outcome = launch_once(
                self.store, launcher, job, parameters, freeport.release_key(self.batch_id, module.name)
            )
        except LaunchError as error:
            message = f"release launch failed: {summarize_error(error)}"
            self.tracking.finish(self.batch_id, module.name, FAILED, message)
            return {"release": "launch failed", "error": message}
        if outcome.run is None:
            self.tracking.finish(self.batch_id, module.name, FAILED, outcome.reason)
            return {"release": "not launched", "error": outcome.reason}
        self.tracking.record_run(self.batch_id, module.name, outcome.run)
        if outcome.reason:
            log.info("module %s: %s", module.name, outcome.reason)
        started = "launched" if outcome.started else "already launched"
        return {"release": started, "run_id": outcome.run.run_id, "run_url": outcome.run.run_url}

    def _release_invocation(self, module: str, demo_name: str, table_name: str) -> tuple[str | None, dict[str, str]]:
        """What the launcher starts: a pre-deployed job gets the four run values; any other, the whole argv."""
        launcher = self.config.freeport.launcher
        run_values = {"demo_name": demo_name, "table_name": table_name, "batch_id": self.batch_id}
        if launcher.predeployed:
            # Databricks job parameters map module_name to --freeport_module in the deployed task; Glue arguments
            # are the argv itself, where --module_name is generic_entry's own.
            name = "module_name" if getattr(launcher, "launcher", "") == "DATABRICKS" else "freeport_module"
            return None, {**run_values, name: module}
        parameters = {"release_job": json.dumps(self.release_config, sort_keys=True)}
        return RELEASE_MODULE, {**parameters, **run_values, "freeport_module": module}


def _use_pool(spark: SparkSession, pool: str) -> None:
    """Run this thread's Spark jobs in their own FAIR scheduler pool, so a big module doesn't starve the rest."""
    try:
        spark.sparkContext.setLocalProperty("spark.scheduler.pool", pool)
    except Exception:  # Spark Connect has no sparkContext: the server schedules
        log.debug("no scheduler pool for %s", pool)
