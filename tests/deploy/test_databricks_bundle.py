"""deploy/databricks: the Asset Bundle loads strictly, matches its golden JSON, and every task runs our code.

Proves: each job passes `databricks.bundles.jobs.Job.from_dict` (unknown fields and bad enum values are
errors) in both targets; the rendered job JSON is pinned by a golden file per job; the schedules,
retries, timeouts, concurrency, queue, e-mail and the option-B graph hold the values the issue asks
for; every task's argv goes through generic_entry's parser and the job's own config model (a renamed
config key fails); the release job's id reaches the main job's DATABRICKS launcher through a bundle
reference; ``--max_attempts`` always equals the task's retries + 1.
Regenerate the golden files after an intended change: ``DWH_UPDATE_GOLDEN=1 pytest tests/deploy``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
from databricks.bundles.jobs import Job

from dwh.errors import ConfigError
from tests.deploy.bundle import DEPLOYED_JOB_ID, DYNAMIC_VALUES, bundle_jobs, load_bundle, run_argv
from tests.deploy.invocations import check_invocation

GOLDEN = Path(__file__).parent / "golden"
JOBS = bundle_jobs("dev")
PM_MODULE = "dwh.jobs.process_manager.process_manager_job_factory"
WHEEL_TASKS = [
    (key, task["task_key"]) for key, job in JOBS.items() for task in job["tasks"] if "python_wheel_task" in task
]


def task_of(job: str, task_key: str) -> dict[str, Any]:
    """One task of one job (dev target)."""
    [task] = [task for task in JOBS[job]["tasks"] if task["task_key"] == task_key]
    return task


def option(argv: list[str], name: str) -> str:
    """The value following `name` in `argv`."""
    return argv[argv.index(name) + 1]


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_every_job_loads_strictly_with_databricks_bundles(target: str) -> None:
    jobs = bundle_jobs(target)
    assert sorted(jobs) == [
        "freeport_monitor",
        "freeport_parallel_modules",
        "freeport_release",
        "freeport_workflow",
        "load_promos",
        "process_manager",
        "smoke",
    ]
    for job in jobs.values():
        assert Job.from_dict(job).as_dict()["name"] == job["name"]


def test_a_misspelt_field_does_not_load() -> None:
    broken = {**JOBS["load_promos"], "max_concurent_runs": 1}
    with pytest.raises(ValueError, match="Unexpected field 'max_concurent_runs'"):
        Job.from_dict(broken)


@pytest.mark.parametrize("key", sorted(JOBS))
def test_rendered_job_matches_its_golden_file(key: str) -> None:
    rendered = json.dumps(Job.from_dict(JOBS[key]).as_dict(), indent=2, sort_keys=True) + "\n"
    golden = GOLDEN / f"{key}.json"
    if os.environ.get("DWH_UPDATE_GOLDEN") == "1":
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8"), f"{key} changed: DWH_UPDATE_GOLDEN=1 to accept it"


def test_load_promos_schedule_retries_timeouts_and_alerts() -> None:
    job = JOBS["load_promos"]
    assert job["schedule"] == {
        "quartz_cron_expression": "0 0 2 * * ?",
        "timezone_id": "UTC",
        "pause_status": "UNPAUSED",
    }
    assert (job["max_concurrent_runs"], job["timeout_seconds"]) == (1, 10800)
    assert job["email_notifications"] == {"on_failure": ["data-team@example.com"]}
    task = task_of("load_promos", "load_promos")
    assert (task["max_retries"], task["min_retry_interval_millis"], task["timeout_seconds"]) == (3, 600_000, 3600)
    assert task["job_cluster_key"] == job["job_clusters"][0]["job_cluster_key"] == "main"
    assert {item["name"]: item["default"] for item in job["parameters"]} == {
        "start_date": "-1d",
        "end_date": "{{job.start_time.iso_date}}",
    }


def test_load_promos_dates_are_job_parameters_resolved_at_run_time() -> None:
    job, task = JOBS["load_promos"], task_of("load_promos", "load_promos")
    raw = task["python_wheel_task"]["parameters"]
    assert option(raw, "--start_date") == "{{job.parameters.start_date}}"
    assert option(raw, "--end_date") == "{{job.parameters.end_date}}"
    checked = check_invocation(run_argv(job, task))
    assert checked.run_arguments.end_date == dt.date.fromisoformat(DYNAMIC_VALUES["job.start_time.iso_date"])
    assert checked.run_arguments.start_date == dt.date(2025, 3, 1)  # the day before: the nightly window
    backfill = {**job, "parameters": [{"name": "start_date", "default": "2024-12-01"}, job["parameters"][1]]}
    assert check_invocation(run_argv(backfill, task)).run_arguments.start_date == dt.date(2024, 12, 1)


def test_freeport_schedules_and_release_parameters() -> None:
    assert JOBS["freeport_monitor"]["schedule"]["quartz_cron_expression"] == "0 0/5 * * * ?"
    assert JOBS["freeport_monitor"]["max_concurrent_runs"] == 1
    release = JOBS["freeport_release"]
    assert [item["name"] for item in release["parameters"]] == ["demo_name", "module_name", "table_name", "batch_id"]
    argv = release["tasks"][0]["python_wheel_task"]["parameters"]
    assert option(argv, "--freeport_module") == "{{job.parameters.module_name}}"  # module_name is generic_entry's
    assert option(argv, "--batch_id") == "{{job.parameters.batch_id}}"
    main_argv = task_of("freeport_parallel_modules", "parallel_modules")["python_wheel_task"]["parameters"]
    assert option(main_argv, "--batch_id") == "{{job.run_id}}"  # stable across repairs


def test_the_release_job_id_reaches_the_launcher_through_a_bundle_reference() -> None:
    main = task_of("freeport_parallel_modules", "parallel_modules")
    raw = option(main["python_wheel_task"]["parameters"], "--parallel_modules_job")
    assert '"job_id": ${resources.jobs.freeport_release.id}' in raw
    checked = check_invocation(run_argv(JOBS["freeport_parallel_modules"], main))
    launcher = checked.config.freeport.launcher  # type: ignore[attr-defined]
    assert (launcher.launcher, launcher.job_id) == ("DATABRICKS", DEPLOYED_JOB_ID)
    assert launcher.host == load_bundle()["targets"]["dev"]["workspace"]["host"]
    assert launcher.token.get_secret_value() == "databricks:dwh/jobs_token"


def test_option_b_releases_every_module_after_the_build_and_notifies_when_all_are_done() -> None:
    workflow = JOBS["freeport_workflow"]
    tasks = {task["task_key"]: task for task in workflow["tasks"]}
    build = check_invocation(run_argv(workflow, tasks["build_modules"]))
    modules = {module.name: module.sandbox_table for module in build.config.modules}  # type: ignore[attr-defined]
    releases = {key: task for key, task in tasks.items() if key.startswith("release_")}
    assert sorted(releases) == sorted(f"release_{name}" for name in modules)
    for task in releases.values():
        assert task["depends_on"] == [{"task_key": "build_modules"}]
        argv = run_argv(workflow, task)
        assert modules[option(argv, "--freeport_module")] == option(argv, "--table_name")
        assert option(argv, "--batch_id") == option(run_argv(workflow, tasks["build_modules"]), "--batch_id")
    notify = tasks["notify"]
    assert notify["run_if"] == "ALL_DONE"
    assert sorted(item["task_key"] for item in notify["depends_on"]) == sorted(releases)
    assert option(run_argv(workflow, notify), "--batch_id") == DYNAMIC_VALUES["job.run_id"]


def test_every_freeport_job_shares_one_tracking_store() -> None:
    stores = set()
    for key, task_key in WHEEL_TASKS:
        if key.startswith("freeport_"):
            config = check_invocation(run_argv(JOBS[key], task_of(key, task_key))).config
            stores.add(json.dumps(config.freeport.tracking.model_dump(mode="json"), sort_keys=True))  # type: ignore[attr-defined]
    assert len(stores) == 1


def test_process_manager_timeout_concurrency_queue_and_alert() -> None:
    job = JOBS["process_manager"]
    assert job["name"] == "Process_Manager"
    assert (job["timeout_seconds"], job["max_concurrent_runs"], job["queue"]) == (900, 1, {"enabled": False})
    assert job["email_notifications"] == {"on_failure": ["data-team@example.com"]}


@pytest.mark.parametrize(("key", "task_key"), WHEEL_TASKS)
def test_every_task_argv_is_parsed_by_generic_entry_and_validated_by_the_jobs_model(key: str, task_key: str) -> None:
    task = task_of(key, task_key)
    assert task["python_wheel_task"]["package_name"] == "dwh_business_logic"
    assert task["python_wheel_task"]["entry_point"] == "generic_entry"
    assert task["libraries"][0] == {"whl": "../../../dist/*.whl"}
    checked = check_invocation(run_argv(JOBS[key], task))
    assert checked.platform_args == {"databricks_job_id": "1234", "databricks_run_id": "550315892394120"}
    assert checked.run_arguments.created_by == "databricks"


@pytest.mark.parametrize(("key", "task_key"), WHEEL_TASKS)
def test_max_attempts_is_the_tasks_retries_plus_one(key: str, task_key: str) -> None:
    task = task_of(key, task_key)
    argv = task["python_wheel_task"]["parameters"]
    if "--max_attempts" not in argv:
        assert not task.get("max_retries"), f"{key}.{task_key} retries without telling the job (--max_attempts)"
        return
    assert option(argv, "--attempt") == "{{task.execution_count}}"
    assert int(option(argv, "--max_attempts")) == task.get("max_retries", 0) + 1


def test_a_renamed_config_key_in_the_bundle_fails_the_check() -> None:
    job, task = JOBS["load_promos"], task_of("load_promos", "load_promos")
    parameters = [item.replace('"unity_loader_config"', '"unity_config"') for item in run_argv(job, task)]
    with pytest.raises(ConfigError, match=r"--load_promos_job: unity_loader_config: required field is missing"):
        check_invocation(parameters)


def test_a_renamed_argument_or_an_unknown_reference_fails_the_check() -> None:
    job, task = JOBS["freeport_release"], task_of("freeport_release", "release")
    argv = [item if item != "--freeport_module" else "--module" for item in run_argv(job, task)]
    with pytest.raises(AssertionError, match="--freeport_module is required"):
        check_invocation(argv)
    typo = {**task, "python_wheel_task": {"parameters": ["--batch_id", "{{job.runid}}"]}}
    with pytest.raises(AssertionError, match=r"\{\{job.runid\}\} is not a dynamic value reference"):
        run_argv(job, typo)


def test_process_manager_argv_is_validated_by_its_own_model() -> None:
    job = JOBS["process_manager"]
    checked = check_invocation(run_argv(job, job["tasks"][0]))
    assert checked.module_name == PM_MODULE
    config = checked.config
    assert (config.wait_view, config.control_table, config.dry_run) == (  # type: ignore[attr-defined]
        "public.mm_run_wait_vw",
        "public.mm_run_control",
        False,
    )
