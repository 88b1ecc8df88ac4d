"""A real multi-process Spark cluster for the session: a standalone master and one worker from the pyspark package.

Both daemons are ``spark-class`` processes bound to 127.0.0.1 on free ports, with small heaps; the worker offers
2 cores and 2 GB to executors. The fixture waits until the master's JSON status lists the worker ALIVE, and
stops both process groups at the end of the session. Also here: ``dwh.zip`` (the package, for ``--py-files``)
and a venv with the dependencies but no ``dwh``, built as tests/integration builds its own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dwh.devtools.local_postgres import free_port
from tests.integration.conftest import ROOT, Venv, _make_venv, clean_env
from tests.stand_ins.moto_process import stop_process_group

START_TIMEOUT_SECONDS = 120


def spark_home() -> Path:
    """The pyspark package directory: a Spark distribution (bin/, jars/) that spark-class runs from."""
    import pyspark

    return Path(pyspark.__file__).parent


@dataclass
class StandaloneCluster:
    """A running master + worker: the master URL to submit to, and where the daemons log."""

    master_url: str
    status_url: str
    log_dir: Path
    work_dir: Path

    def status(self) -> dict:
        """The master's JSON status (workers, applications)."""
        with urllib.request.urlopen(self.status_url, timeout=5) as response:
            return dict(json.load(response))

    def logs(self) -> str:
        """The tail of every daemon and executor log, for a failure message."""
        parts = []
        for log in sorted([*self.log_dir.glob("*.log"), *self.work_dir.rglob("stderr")]):
            parts.append(f"--- {log}\n{log.read_text(errors='replace')[-2000:]}")
        return "\n".join(parts)


def _daemon(name: str, arguments: list[str], log: Path) -> subprocess.Popen[bytes]:
    home = spark_home()
    env = clean_env(SPARK_HOME=str(home), SPARK_DAEMON_MEMORY="384m")
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(home / "bin" / "spark-class"), name, *arguments],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


@pytest.fixture(scope="session")
def standalone_cluster() -> Iterator[StandaloneCluster]:
    """A Spark standalone master + one worker on 127.0.0.1, stopped at the end of the session."""
    base = Path(tempfile.mkdtemp(prefix="dwh-cluster-"))
    logs, work = base / "logs", base / "work"
    logs.mkdir()
    work.mkdir()
    port, master_ui, worker_ui = free_port(), free_port(), free_port()
    cluster = StandaloneCluster(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{master_ui}/json/", logs, work)
    master = _daemon(
        "org.apache.spark.deploy.master.Master",
        ["--host", "127.0.0.1", "--port", str(port), "--webui-port", str(master_ui)],
        logs / "master.log",
    )
    worker_options = ["--host", "127.0.0.1", "--cores", "2", "--memory", "2g", "--webui-port", str(worker_ui)]
    worker = None
    try:
        worker = _daemon(
            "org.apache.spark.deploy.worker.Worker",
            [*worker_options, "--work-dir", str(work), cluster.master_url],
            logs / "worker.log",
        )
        _wait_for_worker(cluster, master, worker)
        yield cluster
    finally:
        for process in (worker, master):
            if process is not None:
                stop_process_group(process)
        shutil.rmtree(base, ignore_errors=True)


def _wait_for_worker(cluster: StandaloneCluster, *processes: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            raise AssertionError(f"a cluster daemon exited at start:\n{cluster.logs()}")
        try:
            workers = cluster.status().get("workers", [])
        except OSError:
            workers = []
        if any(worker.get("state") == "ALIVE" for worker in workers):
            return
        time.sleep(0.5)
    raise AssertionError(f"no worker registered within {START_TIMEOUT_SECONDS} s:\n{cluster.logs()}")


@pytest.fixture(scope="session")
def package_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``dwh.zip``: the files the wheel ships (hatch packages = ["dwh"]), for spark-submit ``--py-files``."""
    target = tmp_path_factory.mktemp("cluster_pyfiles") / "dwh.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sorted((ROOT / "dwh").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                out.write(path, path.relative_to(ROOT).as_posix())
    return target


@pytest.fixture(scope="session")
def no_dwh_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """pyspark, deltalake & co. (lent from the dev venv) but no ``dwh``: only ``--py-files`` can provide it."""
    root = tmp_path_factory.mktemp("cluster_deps") / "venv"
    return _make_venv(root, wheel=None, with_deps=False, lend_dev_packages=True)
