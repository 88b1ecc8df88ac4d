"""load_promos submitted to a Spark standalone cluster exactly as an EMR step submits it, against a local[2] run.

``spark-submit --master spark://127.0.0.1:PORT --jars <jdbc driver> --py-files dwh.zip generic_entry.py
--module_name dwh.jobs.load_promos.load_promos_job_factory --load_promos_job '<json>' ...``: the driver runs
in the spark-submit process, the tasks in the worker's executor JVM and its Python workers (the ``dwh`` they
import comes from the zip the cluster ships). The same input three times: on the cluster with the delta-rs
engine (no Delta on the class path), on the cluster with Spark Delta (its jars on the class path and the two
confs, as EMR sets them up), and in-process on the suite's local[2] session. The canonical dumps of their three
targets must equal the committed golden (``tests/engines/golden/load_promos.dump``), byte for byte; the runs say
``--created_by tests`` as the golden's run does (``created_by`` is a column of every target).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from dwh.jobs.load_promos.load_promos_job_factory import main
from dwh.platforms import jvm_artifacts
from dwh.platforms.spark import local_jars
from tests.engines.cluster.conftest import StandaloneCluster
from tests.engines.dumps import assert_matches_golden, canonical_dump
from tests.integration.conftest import ROOT, SPARK_SUBMIT, Venv, clean_env
from tests.jobs.load_promos.conftest import Targets, job_kwargs, write_source
from tests.jobs.load_promos.promo_cases import CREATED_BY, INPUT_ROWS, WINDOW_END, WINDOW_START

pytestmark = [pytest.mark.integration]

LOAD_PROMOS = "dwh.jobs.load_promos.load_promos_job_factory"
SUBMIT_TIMEOUT_SECONDS = 600


def jdbc_driver() -> str:
    """The PostgreSQL JDBC jar the local builder would use (the cached one, else Debian's)."""
    drivers = [jar for jar in local_jars()[0] if Path(jar).name.startswith("postgresql")]
    assert drivers, "no PostgreSQL JDBC driver: run make jvm-artifacts"
    return drivers[0]


def spark_delta_options() -> list[str]:
    """Spark Delta as EMR sets it up: the jars on the driver's and executors' class path, and the two confs.

    (The same jars in ``--jars`` fail on the executors: Delta's UDFs then deserialize in a child class loader,
    "cannot assign instance of SerializedLambda to field ScalaUDF.f".)
    """
    group = jvm_artifacts.delta_group()
    jars = [str(jar) for jar in jvm_artifacts.cached_jars(group)]
    assert jars, jvm_artifacts.missing_jars_message(group, "the cluster's Spark Delta run")
    class_path = ":".join(jars)
    return [
        "--conf", f"spark.driver.extraClassPath={class_path}",
        "--conf", f"spark.executor.extraClassPath={class_path}",
        "--conf", "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension",
        "--conf", "spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog",
    ]  # fmt: skip


def submit(
    master: str, config: dict[str, Any], *, delta: bool, venv: Venv, py_files: Path, shim: Path, cwd: Path
) -> str:
    """spark-submit load_promos as an EMR step would (with Spark Delta when `delta`); its output (exit 0 asserted)."""
    command = [
        SPARK_SUBMIT, "--master", master, "--conf", "spark.ui.enabled=false",
        "--conf", "spark.executor.memory=1g", "--conf", "spark.cores.max=2", *(spark_delta_options() if delta else []),
        "--jars", jdbc_driver(), "--py-files", py_files, shim,
        "--module_name", LOAD_PROMOS, "--load_promos_job", json.dumps(config),
        "--start_date", WINDOW_START.isoformat(), "--end_date", WINDOW_END.isoformat(), "--created_by", CREATED_BY,
    ]  # fmt: skip
    env = clean_env(PYSPARK_PYTHON=str(venv.python), DWH_WAREHOUSE_DIR=str(cwd / "warehouse"))
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBMIT_TIMEOUT_SECONDS,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        causes = [
            line for line in output.splitlines() if ("Error" in line or "Exception" in line) and "\tat " not in line
        ]
        raise AssertionError(f"spark-submit --master {master} exited {done.returncode}:\n" + "\n".join(causes[:20]))
    return output


def fresh_targets(
    tmp_path: Path, name: str, source: dict[str, Any], postgres: LocalPostgres
) -> tuple[Targets, str, dict]:
    """Empty targets named `name` (PostgreSQL table ``public.promos_<name>``) and the config writing to them."""
    directory = tmp_path / name
    directory.mkdir()
    targets = Targets(unity=directory / "unity", stage=directory / "stage", postgres=postgres)
    table = f"public.promos_{name}"
    config = targets.config(source)
    config["redshift_loader_config"]["table"] = table
    return targets, table, config


def run_on(
    master: str, name: str, source: dict[str, Any], tmp_path: Path, postgres: LocalPostgres, **tools: Any
) -> tuple[str, str]:
    """One load_promos submission into fresh targets named `name`: the canonical dump, the DELTA loader's engine."""
    targets, table, config = fresh_targets(tmp_path, name, source, postgres)
    output = submit(master, config, cwd=tmp_path / name, **tools)
    [line] = [line for line in output.splitlines() if " run_report {" in line]
    report = json.loads(line.split(" run_report ", 1)[1])
    assert (report["outcome"], report["context"]["created_by"]) == ("succeeded", CREATED_BY), report
    [engine] = [step["detail"]["engine"] for step in report["steps"] if step["detail"].get("strategy") == "DELTA"]
    return canonical_dump(targets.unity, targets.stage, postgres, table), engine


def run_in_process(spark: Any, source: dict[str, Any], tmp_path: Path, postgres: LocalPostgres) -> str:
    """The reference: load_promos on the suite's local[2] session (``main(**kwargs)`` as generic_entry calls it)."""
    assert spark.sparkContext.master == "local[2]"
    targets, table, config = fresh_targets(tmp_path, "local", source, postgres)
    result = main(**job_kwargs(config, created_by=CREATED_BY))
    assert set(result["rows_written"].values()) == {6}
    return canonical_dump(targets.unity, targets.stage, postgres, table)


@pytest.mark.spark
def test_the_cluster_writes_what_local_2_writes(
    spark: Any,
    standalone_cluster: StandaloneCluster,
    package_zip: Path,
    no_dwh_venv: Venv,
    tmp_path: Path,
    postgres_db: LocalPostgres,
) -> None:
    shim = Path(shutil.copy(ROOT / "generic_entry.py", tmp_path / "generic_entry.py"))
    source = write_source("PARQUET", INPUT_ROWS, tmp_path, postgres_db)
    tools = {"venv": no_dwh_venv, "py_files": package_zip, "shim": shim}
    apps_before = len(standalone_cluster.status().get("completedapps", []))

    on_cluster = run_on(standalone_cluster.master_url, "cluster", source, tmp_path, postgres_db, delta=False, **tools)
    on_local = run_in_process(spark, source, tmp_path, postgres_db)
    delta_on_cluster = run_on(
        standalone_cluster.master_url, "cluster_delta", source, tmp_path, postgres_db, delta=True, **tools
    )

    assert (on_cluster[1], delta_on_cluster[1]) == ("delta-rs", "spark-delta")
    assert_matches_golden(on_local, "local[2] (the cluster test's reference run)")
    assert_matches_golden(on_cluster[0], "standalone cluster + delta-rs")
    assert_matches_golden(delta_on_cluster[0], "standalone cluster + Spark Delta")
    # The cluster really ran both: two more finished applications, each with an executor log on the worker.
    apps = standalone_cluster.status().get("completedapps", [])
    assert len(apps) == apps_before + 2
    for app in apps[-2:]:
        assert list(standalone_cluster.work_dir.glob(f"{app['id']}/*/stderr")), app
