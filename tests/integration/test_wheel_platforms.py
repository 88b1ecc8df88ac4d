"""The built wheel, installed into fresh venvs, run exactly as Databricks, Glue and spark-submit (EMR) run it.

* Without extras: ``generic_entry --help`` works and nothing heavy is imported (``-X importtime``).
* With the ``local`` extra: the smoke job through the console script with a Databricks ``parameters`` list
  (argv[0] = package name) and ``named_parameters`` (``--k=v``), through the ``generic_entry.py`` shim with
  every Glue reserved argument, and through pyspark's own ``spark-submit --py-files dwh.zip``.
Five Spark start-ups in all (each ~10-20 s here); every other check is Spark-free.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.integration.conftest import SPARK_SUBMIT, Venv, clean_env

pytestmark = pytest.mark.integration

SMOKE = "dwh.jobs.smoke.smoke_job_factory"
HEAVY = frozenset({"pyspark", "boto3", "botocore", "deltalake", "pyarrow", "py4j", "pandas"})
#: JVM start-up is mostly JIT work; the quick tier alone halves it on a busy machine (test tuning only).
QUICK_JVM = "-XX:TieredStopAtLevel=1"
#: Stands in for the platform's own Spark in the non-LOCAL runs: one core, no UI.
PLATFORM_SPARK = (
    f"--master local[1] --conf spark.ui.enabled=false --conf spark.driver.host=127.0.0.1 "
    f"--conf spark.driver.bindAddress=127.0.0.1 --driver-java-options {QUICK_JVM} pyspark-shell"
)
#: Every argument Glue adds or reserves (PLATFORMS.md), as Glue passes them: some with values, some bare.
GLUE_ARGS = [
    "--JOB_NAME", "dwh-smoke",
    "--JOB_ID", "j_0123456789abcdef",
    "--JOB_RUN_ID", "jr_0123456789abcdef",
    "--TempDir", "s3://aws-glue-assets/temporary/",
    "--job-bookmark-option", "job-bookmark-disable",
    "--enable-metrics", "true",
    "--enable-glue-datacatalog", "true",
    "--enable-continuous-cloudwatch-log", "",
    "--enable-spark-ui",
    "--spark-event-logs-path", "s3://aws-glue-assets/sparkHistoryLogs/",
    "--extra-py-files", "s3://artifacts/extra.zip",
    "--extra-jars", "s3://artifacts/postgresql.jar",
    "--extra-files", "s3://artifacts/settings.json",
    "--additional-python-modules", "s3://artifacts/dwh_business_logic-0.1.0-py3-none-any.whl",
    "--datalake-formats", "delta",
    "--conf", "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension --conf spark.x=y",
]  # fmt: skip


@dataclass
class Finished:
    """What a user sees of one run: exit code, stdout, stderr."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """Non-empty stderr lines."""
        return [line for line in self.stderr.splitlines() if line.strip()]

    def run_report(self) -> dict[str, Any]:
        """The run report, from its ``run_report {json}`` log line.

        Both streams are searched: spark-submit's PythonRunner merges the driver's stderr into its stdout.
        """
        [line] = [line for line in (self.stdout + self.stderr).splitlines() if " run_report {" in line]
        return dict(json.loads(line.split(" run_report ", 1)[1]))


def run(command: list[str | Path], *, cwd: Path, timeout: int = 300, **env: str) -> Finished:
    """Run `command` with a clean environment plus `env`."""
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Finished(done.returncode, done.stdout, done.stderr)


def smoke_config(**values: Any) -> str:
    """The smoke job's JSON argument."""
    return json.dumps({"rows": 5, **values})


def parquet_rows(path: Path) -> int:
    """Rows in the Parquet directory Spark wrote."""
    return int(pq.read_table(path).num_rows)


def heavy_imports(importtime_stderr: str) -> set[str]:
    """Heavy top-level packages in ``python -X importtime`` output."""
    lines = importtime_stderr.splitlines()
    modules = {line.rsplit("|", 1)[1].strip() for line in lines if line.startswith("import time:")}
    assert "dwh.generic_entry" in modules  # the output was parsed: the entry module itself is listed
    return {name.split(".")[0] for name in modules} & HEAVY


# --- no extras -------------------------------------------------------------------------------------------------


def test_core_wheel_without_extras(bare_venv: Venv, tmp_path: Path) -> None:
    find_pyspark = "import importlib.util as u; print(u.find_spec('pyspark'))"
    no_pyspark = run([bare_venv.python, "-c", find_pyspark], cwd=tmp_path)
    assert no_pyspark.stdout.strip() == "None"

    helped = run([bare_venv.console_script, "--help"], cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: generic_entry --module_name MODULE")

    imported = run([bare_venv.python, "-X", "importtime", "-c", "import dwh.generic_entry"], cwd=tmp_path)
    assert imported.returncode == 0
    assert heavy_imports(imported.stderr) == set()

    bad = run([bare_venv.console_script, "--module_name", SMOKE, "--smoke_job", '{"rows": '], cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.lines == [
        "generic_entry: error: --smoke_job: malformed JSON at line 1 column 10: Expecting value",
    ]


def test_a_config_needing_extras_that_are_not_installed_stops_before_the_job(bare_venv: Venv, tmp_path: Path) -> None:
    """POSTGRES needs psycopg and SLACK slack-sdk: without their extras that is exit 2, not a half-done run."""
    config = {
        "extractor_config": {"strategy": "PARQUET", "source_table": str(tmp_path / "input")},
        "unity_loader_config": {"strategy": "DELTA", "path": str(tmp_path / "unity")},
        "stage_loader_config": {"strategy": "PARQUET", "path": str(tmp_path / "stage")},
        "redshift_loader_config": {"strategy": "POSTGRES", "jdbc_url": "jdbc:postgresql://127.0.0.1:1/db"},
        "job_failed_notifications": {"notification_service": "SLACK", "webhook_url": "https://hooks.example/T/B/x"},
    }
    command = [bare_venv.console_script, "--module_name", "dwh.jobs.load_promos.load_promos_job_factory"]
    arguments = ["--load_promos_job", json.dumps(config), "--start_date", "2025-01-01", "--end_date", "2025-01-08"]
    done = run([*command, *arguments], cwd=tmp_path)
    assert done.returncode == 2
    assert done.lines == [
        "generic_entry: error: --load_promos_job: packages missing for this config: "
        "slack_sdk for job_failed_notifications, psycopg for redshift_loader_config "
        "(pip install 'dwh-business-logic[postgres,slack]')"
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == []


# --- Databricks python_wheel_task ------------------------------------------------------------------------------


def test_databricks_parameters_list(local_venv: Venv, tmp_path: Path) -> None:
    output = tmp_path / "smoke_out"
    parameters = ["--module_name", SMOKE, "--smoke_job", smoke_config(output_path=str(output)), "--created_by", "dbx"]
    # Databricks imports the entry point and calls it with sys.argv = [package_name, *parameters].
    caller = (
        "import sys, dwh, dwh.generic_entry; print(dwh.__file__); "
        f"sys.argv = ['dwh_business_logic', *{parameters!r}]; raise SystemExit(dwh.generic_entry.main())"
    )
    finished = run(
        [local_venv.python, "-c", caller],
        cwd=tmp_path,
        DATABRICKS_RUNTIME_VERSION="15.4",
        PYSPARK_SUBMIT_ARGS=PLATFORM_SPARK,
    )
    assert finished.returncode == 0, finished.stderr
    assert Path(finished.stdout.strip()).is_relative_to(local_venv.root)  # the wheel, not the source tree
    report = finished.run_report()
    assert report["context"]["platform"] == "DATABRICKS"
    assert report["context"]["created_by"] == "dbx"
    assert report["outcome"] == "succeeded"
    assert [(step["name"], step["rows_out"]) for step in report["steps"]] == [("count", 5), ("write_parquet", 5)]
    assert parquet_rows(output) == 5


def test_databricks_parameters_through_the_console_script_failing_job(local_venv: Venv, tmp_path: Path) -> None:
    assert local_venv.console_script.read_text().splitlines()[0] == f"#!{local_venv.python}"
    config = smoke_config(rows=3, fail_with="smoke alarm drill")
    finished = run(
        [local_venv.console_script, "--module_name", SMOKE, "--smoke_job", config],
        cwd=tmp_path,
        DATABRICKS_RUNTIME_VERSION="15.4",
        PYSPARK_SUBMIT_ARGS=PLATFORM_SPARK,
    )
    assert finished.returncode == 1
    assert finished.lines[-1] == "generic_entry: smoke failed: RuntimeError: smoke alarm drill"
    assert "NOOP failure notice: smoke FAILED (DATABRICKS" in finished.stderr
    report = finished.run_report()
    assert (report["context"]["platform"], report["outcome"]) == ("DATABRICKS", "failed")
    assert report["error"] == "RuntimeError: smoke alarm drill"
    assert report["steps"][0]["rows_out"] == 3


def test_databricks_named_parameters(local_venv: Venv, tmp_path: Path) -> None:
    output = tmp_path / "smoke_out"
    named = {
        "module_name": SMOKE,
        "smoke_job": smoke_config(output_path=str(output)),
        "created_by": "workflow",
        "databricks_job_id": "1234",
        "databricks_run_id": "5678",
    }
    finished = run(
        [local_venv.console_script, *[f"--{key}={value}" for key, value in named.items()]],
        cwd=tmp_path,
        DATABRICKS_RUNTIME_VERSION="client.1.13",
        DATABRICKS_HOST="https://adb-100.azuredatabricks.net",
        PYSPARK_SUBMIT_ARGS=PLATFORM_SPARK,
    )
    assert finished.returncode == 0, finished.stderr
    context = finished.run_report()["context"]
    assert context["platform"] == "DATABRICKS"
    assert context["run_ids"] == {"job_id": "1234", "run_id": "5678"}
    assert context["run_url"] == "https://adb-100.azuredatabricks.net/jobs/1234/runs/5678"
    assert context["created_by"] == "workflow"
    assert parquet_rows(output) == 5


# --- AWS Glue: the shim as script_location ---------------------------------------------------------------------


def test_glue_shim_with_every_reserved_argument(local_venv: Venv, glue_script: Path, tmp_path: Path) -> None:
    output = tmp_path / "smoke_out"
    job_args = ["--module_name", SMOKE, "--smoke_job", smoke_config(output_path=str(output)), "--team", "growth"]
    # Glue puts its own arguments around the job's: some before, one after.
    argv = [*GLUE_ARGS[:-2], *job_args, *GLUE_ARGS[-2:]]
    finished = run([local_venv.python, glue_script, *argv], cwd=glue_script.parent, PYSPARK_SUBMIT_ARGS=PLATFORM_SPARK)
    assert finished.returncode == 0, finished.stderr
    report = finished.run_report()
    assert report["context"]["platform"] == "GLUE"
    assert report["context"]["run_ids"] == {"job_name": "dwh-smoke", "run_id": "jr_0123456789abcdef"}
    # The one argument the smoke job does not know is reported; none of Glue's reached the job as config.
    [unused] = [line for line in finished.lines if "arguments not used by smoke" in line]
    assert unused.endswith("arguments not used by smoke: --team")
    assert parquet_rows(output) == 5


# --- EMR: spark-submit --py-files dwh.zip generic_entry.py -----------------------------------------------------


def test_spark_submit_with_the_package_zip(deps_venv: Venv, dwh_zip: Path, glue_script: Path, tmp_path: Path) -> None:
    no_dwh = run([deps_venv.python, "-c", "import dwh"], cwd=tmp_path)
    assert "No module named 'dwh'" in no_dwh.stderr  # only the zip can provide it
    output = tmp_path / "smoke_out"
    command = [
        SPARK_SUBMIT, "--master", "local[1]", "--conf", "spark.ui.enabled=false", "--driver-java-options", QUICK_JVM,
        "--py-files", dwh_zip, glue_script,
        "--module_name", SMOKE, "--smoke_job", smoke_config(output_path=str(output)), "--created_by", "emr-step",
    ]  # fmt: skip
    finished = run(
        command,
        cwd=tmp_path,
        PYSPARK_PYTHON=str(deps_venv.python),
        DWH_WAREHOUSE_DIR=str(tmp_path / "warehouse"),
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    report = finished.run_report()
    assert (report["context"]["platform"], report["context"]["created_by"]) == ("LOCAL", "emr-step")
    assert parquet_rows(output) == 5
    # spark-submit's --master local[1] was kept (the local default would be local[*]): one task, one file.
    assert len(list(output.glob("part-*.parquet"))) == 1
