"""LOCAL with real detached generic_entry processes: success, a failed invocation, SIGKILL, SIGTERM, idempotency.

The smoke job has no Spark-free mode: each run that gets as far as the job starts a local Spark
(~10 s here). Only the success test waits for that; the others fail before Spark (bad config) or
are killed while it starts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dwh.config import StrictModel, validate_model
from dwh.errors import ConfigError
from dwh.platforms.detect import PLATFORM_ENV_VARS
from dwh.platforms.launchers import LaunchedRun, LaunchError, LaunchState, RunState
from dwh.platforms.launchers.local import LocalLauncher, local_run_id

pytestmark = pytest.mark.integration

SMOKE = "dwh.jobs.smoke.smoke_job_factory"
BAD_CONFIG = {"smoke_job": '{"rowz": 5}'}
#: A safety net for polling loops, not a performance claim: a hung child fails the test instead of hanging it.
DEADLINE_SECONDS = 300


class Wrapper(StrictModel):
    """A config holding one launcher block, as a job config would."""

    launcher: LocalLauncher


@pytest.fixture(autouse=True)
def _no_platform_hints(monkeypatch: pytest.MonkeyPatch) -> None:
    """The children detect LOCAL whatever machine the suite runs on."""
    for name in PLATFORM_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def launcher(tmp_path: Path) -> LocalLauncher:
    """A LOCAL launcher with its runs under the test's directory."""
    data = {"launcher": {"launcher": "LOCAL", "runs_dir": str(tmp_path / "runs")}}
    return validate_model(Wrapper, data, argument="--test").launcher


def wait_until(launcher: LocalLauncher, run: LaunchedRun) -> LaunchState:
    """Poll `state` until the run is terminal."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        state = launcher.state(run)
        if state.state.terminal:
            return state
        assert time.monotonic() < deadline, f"{run.run_id} still {state.platform_state}"
        time.sleep(0.2)


def wait_for_log(run: LaunchedRun, text: str) -> None:
    """Poll the run's log until it contains `text`."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while text not in Path(run.detail["log"]).read_text(errors="replace"):
        assert time.monotonic() < deadline, f"{text!r} never appeared in {run.detail['log']}"
        time.sleep(0.1)


def test_a_detached_smoke_run_succeeds(launcher: LocalLauncher) -> None:
    run = launcher.launch(SMOKE, {"smoke_job": '{"rows": 7}', "created_by": "launcher-test"}, "batch-1:smoke")
    right_after = launcher.state(run)

    assert right_after.state is RunState.RUNNING  # launch returned while the child still runs
    pid = int(run.detail["pid"])
    assert os.getsid(pid) == pid  # its own session: detached from ours
    final = wait_until(launcher, run)
    assert (final.state, final.platform_state, final.message) == (RunState.SUCCEEDED, "SUCCEEDED", None)
    run_dir = Path(run.detail["run_dir"])
    assert (run_dir / "exit_code").read_text() == "0\n"
    report = [line for line in Path(run.detail["log"]).read_text().splitlines() if "run_report" in line]
    assert len(report) == 1 and '"rows_out": 7' in report[0] and '"created_by": "launcher-test"' in report[0]
    assert run.run_url == final.run_url == (run_dir / "run.log").as_uri()
    assert json.loads((run_dir / "pid.json").read_text())["pid"] == pid


def test_a_bad_invocation_fails_with_exit_code_2_and_its_message(launcher: LocalLauncher) -> None:
    run = launcher.launch(SMOKE, BAD_CONFIG, "bad")
    final = wait_until(launcher, run)

    assert (final.state, final.platform_state) == (RunState.FAILED, "FAILED")
    assert final.message == "exit code 2: generic_entry: error: --smoke_job: rowz: unknown field (check the spelling)"


def test_a_sigkilled_child_reads_failed_without_an_exit_code(launcher: LocalLauncher) -> None:
    run = launcher.launch(SMOKE, {"smoke_job": "{}"}, "to-be-killed")
    assert launcher.state(run).state is RunState.RUNNING

    os.killpg(int(run.detail["pid"]), signal.SIGKILL)  # the child leads its session: this takes any JVM with it
    final = wait_until(launcher, run)
    assert (final.state, final.platform_state) == (RunState.FAILED, "DIED")
    assert final.message == "process ended without an exit code"
    assert not (Path(run.detail["run_dir"]) / "exit_code").exists()


def test_a_terminated_child_still_records_its_exit_code(launcher: LocalLauncher) -> None:
    run = launcher.launch(SMOKE, {"smoke_job": "{}"}, "to-be-terminated")
    wait_for_log(run, "starting smoke")  # the child's signal handler is in place once the job has begun

    os.kill(int(run.detail["pid"]), signal.SIGTERM)
    final = wait_until(launcher, run)
    assert (final.state, final.platform_state) == (RunState.FAILED, "FAILED")
    assert final.message is not None and final.message.startswith(f"exit code {128 + signal.SIGTERM}")


def test_a_second_launch_with_the_same_key_starts_nothing(launcher: LocalLauncher) -> None:
    first = launcher.launch(SMOKE, BAD_CONFIG, "once")
    wait_until(launcher, first)
    pid_file = Path(first.detail["run_dir"]) / "pid.json"
    recorded = pid_file.read_text()

    again = launcher.launch(SMOKE, BAD_CONFIG, "once")
    assert again == first
    assert launcher.state(again).state is RunState.FAILED  # a new process would read RUNNING now
    assert pid_file.read_text() == recorded
    assert Path(first.detail["log"]).read_text().count("generic_entry: error:") == 1


def test_concurrent_launches_with_one_key_start_one_process(launcher: LocalLauncher) -> None:
    runs: list[LaunchedRun] = []
    threads = [
        threading.Thread(target=lambda: runs.append(launcher.launch(SMOKE, BAD_CONFIG, "raced"))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({run.run_id for run in runs}) == 1
    wait_until(launcher, runs[0])
    assert Path(runs[0].detail["log"]).read_text().count("generic_entry: error:") == 1


def test_launch_imports_neither_spark_nor_sdks(tmp_path: Path) -> None:
    script = f"""
import json, sys
from dwh.platforms.launchers.local import LocalLauncher
import dwh.platforms.launchers.glue, dwh.platforms.launchers.emr, dwh.platforms.launchers.emr_serverless
launcher = LocalLauncher(runs_dir={str(tmp_path)!r})
run = launcher.launch({SMOKE!r}, {BAD_CONFIG!r}, "probe")
state = launcher.state(run).platform_state
heavy = sorted(m for m in ("pyspark", "py4j", "boto3", "botocore", "databricks.sdk") if m in sys.modules)
print(json.dumps({{"state": state, "heavy": heavy}}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == {"state": "RUNNING", "heavy": []}


def test_a_reused_pid_is_not_taken_for_the_run(launcher: LocalLauncher) -> None:
    run_dir = launcher.runs_path() / local_run_id("old")
    run_dir.mkdir(parents=True)
    # Our own pid, alive, but with another start time: the recorded process has ended and the pid was reused.
    (run_dir / "pid.json").write_text(json.dumps({"pid": os.getpid(), "start_time": 1}))

    state = launcher.state(LaunchedRun(launcher="LOCAL", run_id=local_run_id("old")))
    assert (state.state, state.platform_state) == (RunState.FAILED, "DIED")


def test_a_launch_that_never_recorded_its_process(launcher: LocalLauncher) -> None:
    run = LaunchedRun(launcher="LOCAL", run_id=local_run_id("half"))
    run_dir = launcher.runs_path() / run.run_id
    run_dir.mkdir(parents=True)
    assert (launcher.state(run).state, launcher.state(run).platform_state) == (RunState.PENDING, "STARTING")

    os.utime(run_dir, (time.time() - 3600, time.time() - 3600))
    state = launcher.state(run)
    assert (state.state, state.platform_state, state.message) == (
        RunState.FAILED, "NOT_STARTED", "the launch never recorded a process",
    )  # fmt: skip


def test_an_unusable_runs_dir_is_a_launch_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(
        LaunchError, match=r"LOCAL: cannot create the run directory under .*/file/runs: Not a directory"
    ):
        LocalLauncher(runs_dir=str(tmp_path / "file" / "runs")).launch(SMOKE, BAD_CONFIG, "k")


def test_an_unknown_run_is_an_error(launcher: LocalLauncher) -> None:
    with pytest.raises(LaunchError, match="LOCAL: no run nope"):
        launcher.state(LaunchedRun(launcher="LOCAL", run_id="nope"))


def test_run_ids_are_safe_stable_and_distinct() -> None:
    assert local_run_id("b1:geo/../x") == local_run_id("b1:geo/../x")
    assert local_run_id("b1:geo").startswith("b1_geo-")
    assert local_run_id("b1:geo") != local_run_id("b1/geo")  # same sanitised head, different hash
    assert "/" not in local_run_id("../../etc") and not local_run_id("../../etc").startswith(".")


def test_runs_go_under_the_warehouse_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWH_WAREHOUSE_DIR", str(tmp_path / "wh"))
    launcher = LocalLauncher()
    run = launcher.launch(SMOKE, BAD_CONFIG, "default-dir")

    assert Path(run.detail["run_dir"]).parent == tmp_path / "wh" / "dwh_runs"
    assert wait_until(launcher, run).state is RunState.FAILED
    assert LocalLauncher.idempotent and not LocalLauncher.predeployed


def test_an_unknown_config_key_is_one_line_naming_the_field() -> None:
    with pytest.raises(ConfigError) as raised:
        validate_model(Wrapper, {"launcher": {"launcher": "LOCAL", "run_dir": "/tmp"}}, argument="--test")
    assert str(raised.value) == "--test: launcher.run_dir: unknown field (check the spelling)"
