"""Read deploy/databricks as the Databricks CLI would: databricks.yml + its includes, variables per target.

`bundle_jobs(target)` gives every job of the bundle with its ``${...}`` bundle references substituted as
``databricks bundle deploy -t <target>`` would (variables with the target's overrides, ``workspace.host``,
``bundle.*``); ``${resources.jobs.<key>.id}`` stays for deploy time, and must name a job of the bundle.
`run_argv(job, task)` resolves a task's Databricks dynamic value references (``{{job.run_id}}``, ...)
with example values, the way the platform fills them in when the task starts. Every reference must be
one of those Databricks documents (the "Dynamic value references" page) or the test fails.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
BUNDLE_DIR = ROOT / "deploy" / "databricks"

#: What the platform substitutes at run time, with the example values the tests use.
DYNAMIC_VALUES = {
    "job.id": "1234",
    "job.run_id": "550315892394120",
    "job.repair_count": "0",
    "job.start_time.iso_date": "2025-03-02",
    "task.execution_count": "1",
}
#: A deploy-time job id (what ``${resources.jobs.<key>.id}`` becomes), per job key.
DEPLOYED_JOB_ID = 4242
_BUNDLE_REF = re.compile(r"\$\{([A-Za-z0-9_.-]+)\}")
_DYNAMIC_REF = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def load_bundle() -> dict[str, Any]:
    """databricks.yml with the ``resources.jobs`` of every included file merged in."""
    root = yaml.safe_load((BUNDLE_DIR / "databricks.yml").read_text(encoding="utf-8"))
    jobs: dict[str, Any] = {}
    for pattern in root.get("include", []):
        for path in sorted(BUNDLE_DIR.glob(pattern)):
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            for key, job in doc["resources"]["jobs"].items():
                assert key not in jobs, f"job {key} defined twice"
                jobs[key] = job
    root.setdefault("resources", {}).setdefault("jobs", {}).update(jobs)
    return root


def variables(bundle: dict[str, Any], target: str) -> dict[str, str]:
    """The bundle variables' values in `target` (defaults, then the target's overrides)."""
    values = {name: spec["default"] for name, spec in bundle["variables"].items()}
    overrides = bundle["targets"][target].get("variables") or {}
    unknown = set(overrides) - set(values)
    assert not unknown, f"target {target} sets undeclared variables {sorted(unknown)}"
    return {**values, **overrides}


def substitute(value: Any, bundle: dict[str, Any], target: str) -> Any:
    """`value` with its bundle references resolved for `target` (resource ids kept for deploy time)."""
    names = variables(bundle, target)
    known = {
        "workspace.host": bundle["targets"][target]["workspace"]["host"],
        "bundle.name": bundle["bundle"]["name"],
        "bundle.target": target,
        **{f"var.{name}": str(item) for name, item in names.items()},
    }

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in known:
            return str(known[name])
        parts = name.split(".")
        if len(parts) == 4 and parts[:2] == ["resources", "jobs"] and parts[3] == "id":
            assert parts[2] in bundle["resources"]["jobs"], f"${{{name}}} names no job of the bundle"
            return match.group(0)
        raise AssertionError(f"unknown bundle reference ${{{name}}}")

    if isinstance(value, str):
        return _BUNDLE_REF.sub(replace, value)
    if isinstance(value, list):
        return [substitute(item, bundle, target) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, bundle, target) for key, item in value.items()}
    return value


def bundle_jobs(target: str = "dev") -> dict[str, dict[str, Any]]:
    """Every job of the bundle as deployed to `target`."""
    bundle = load_bundle()
    return {key: substitute(job, bundle, target) for key, job in bundle["resources"]["jobs"].items()}


def deployed(text: str) -> str:
    """`text` with ``${resources.jobs.<key>.id}`` replaced by the id the deploy gives that job."""
    return re.sub(r"\$\{resources\.jobs\.[A-Za-z0-9_]+\.id\}", str(DEPLOYED_JOB_ID), text)


def run_argv(job: dict[str, Any], task: dict[str, Any]) -> list[str]:
    """The task's python_wheel_task parameters as the task receives them (after argv[0])."""
    parameters = {item["name"]: item["default"] for item in job.get("parameters", [])}

    def resolve(text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("job.parameters."):
                key = name.removeprefix("job.parameters.")
                assert key in parameters, f"{{{{{name}}}}}: the job has no parameter {key!r}"
                return resolve(str(parameters[key]))
            if name == "task.name":
                return str(task["task_key"])
            assert name in DYNAMIC_VALUES, f"{{{{{name}}}}} is not a dynamic value reference these tests know"
            return DYNAMIC_VALUES[name]

        return _DYNAMIC_REF.sub(replace, deployed(text))

    return [resolve(str(item)) for item in task["python_wheel_task"]["parameters"]]
