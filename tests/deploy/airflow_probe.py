"""Run by tests/deploy in .venv-airflow (real Airflow + providers): load the DAG folder, render every task.

    .venv-airflow/bin/python tests/deploy/airflow_probe.py DAGS_FOLDER OUT.json   (Airflow logs to stdout)

DagBag needs no metadata DB; `BundleDagBag` puts the folder on sys.path as Airflow 3's DAG processor does
for a local bundle (so DAG files import their shared module, dwh_deploy). Each task's templated fields
are rendered with a context of known values
(ds, next_ds, run_id, try 1, an Airflow Variable), so the test sees exactly what each operator would send.
Never imported by the project's own venv.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

#: The values the rendering context gives each template (the test computes its expectations from them).
RUN_ID = "scheduled__2025-03-01T02:00:00+00:00"
CONTEXT_VALUES = {"ds": "2025-03-01", "next_ds": "2025-03-02", "run_id": RUN_ID, "try_number": 1}
VARIABLES = {"dwh_freeport_release_job_id": "987654"}


def plain(value: Any) -> Any:
    """`value` as JSON-able data (operators keep tuples, sets and pendulum values)."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def render(task: Any, dag: Any) -> dict[str, Any]:
    """The task's templated fields after rendering with the probe's context."""
    ti = SimpleNamespace(try_number=CONTEXT_VALUES["try_number"], task_id=task.task_id, dag_id=dag.dag_id)
    context = {
        "ds": CONTEXT_VALUES["ds"],
        "next_ds": CONTEXT_VALUES["next_ds"],
        "run_id": RUN_ID,
        "ti": ti,
        "task_instance": ti,
        "task": task,
        "dag": dag,
        "var": SimpleNamespace(value=VARIABLES),
    }
    task.render_template_fields(context)
    return {name: plain(getattr(task, name, None)) for name in task.template_fields}


def main(dags_folder: str, output: str) -> None:
    """Write {"import_errors", "dags": {dag_id: {"tasks": {task_id: {...}}}}} as JSON to `output`."""
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=dags_folder, bundle_path=Path(dags_folder))
    dags: dict[str, Any] = {}
    for dag_id, dag in sorted(bag.dags.items()):
        tasks = {}
        for task in dag.tasks:
            tasks[task.task_id] = {
                "operator": type(task).__name__,
                "retries": task.retries,
                "trigger_rule": str(getattr(task.trigger_rule, "value", task.trigger_rule)),
                "upstream": sorted(task.upstream_task_ids),
                "repair_run": getattr(task, "repair_run", None),
                "wait_for_completion": getattr(task, "wait_for_completion", None),
                "fields": render(task, dag),
            }
        dags[dag_id] = {
            "schedule": plain(getattr(dag, "schedule", None) or getattr(dag, "timetable_summary", None)),
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "tasks": tasks,
        }
    document = {"import_errors": plain(dict(bag.import_errors)), "dags": dags}
    Path(output).write_text(json.dumps(document, sort_keys=True, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
