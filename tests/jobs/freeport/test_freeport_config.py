"""Bad Freeport invocations are exit 2 with one line naming the field, before any module runs or anything launches."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from dwh.generic_entry import main
from tests.jobs.freeport.conftest import main_config

pytestmark = pytest.mark.spark
MAIN = "dwh.jobs.freeport.parallel_modules_job_factory"
HTTP = {"client": "HTTP", "base_url": "http://127.0.0.1:9/api", "token": "env:DWH_TEST_FREEPORT_TOKEN"}


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWH_TEST_FREEPORT_TOKEN", "fp-token-for-config-tests")


def _edit(config: dict[str, Any], change: str) -> dict[str, Any]:
    bad = copy.deepcopy(config)
    freeport = bad["freeport"]
    if change == "no modules":
        bad["modules"] = []
    elif change == "duplicate module names":
        bad["modules"][1]["name"] = bad["modules"][0]["name"]
    elif change == "sql that does not parse":
        bad["modules"][1]["sql"] = "SELEC region FROM source"
    elif change == "unknown client":
        freeport["client"] = {"client": "FTP"}
    elif change == "missing base_url":
        del freeport["client"]["base_url"]
    elif change == "missing token":
        del freeport["client"]["token"]
    elif change == "tracking that cannot be opened":
        freeport["tracking"] = {"url": "sqlite:////nonexistent-dir/deeper/control.db"}
    elif change == "literal token on a command line":
        freeport["client"]["token"] = "plain-secret-token"
    elif change == "bad module name":
        bad["modules"][0]["name"] = "geo-analysis"
    return bad


CASES = {
    "no modules": "--parallel_modules_job: modules: List should have at least 1 item",
    "duplicate module names": "--parallel_modules_job: (top level): module names must be unique: geo_analysis",
    "sql that does not parse": "--parallel_modules_job: modules[1].sql: does not parse",
    "unknown client": "--parallel_modules_job: freeport.client: client 'FTP' is not one of",
    "missing base_url": "--parallel_modules_job: freeport.client.base_url: required field is missing",
    "missing token": "--parallel_modules_job: freeport.client.token: required field is missing",
    "tracking that cannot be opened": "--parallel_modules_job: freeport.tracking",
    "literal token on a command line": "freeport.client.token: a literal secret would be passed on the release job's",
    "bad module name": "--parallel_modules_job: modules[0].name:",
}


@pytest.mark.parametrize("change", list(CASES), ids=list(CASES))
def test_bad_main_job_config_is_exit_2_before_any_module_runs(
    change: str, tmp_path: Path, source_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _edit(main_config(tmp_path, source_path, client=dict(HTTP)), change)
    code = main(["--module_name", MAIN, "--parallel_modules_job", json.dumps(config), "--demo_name", "demo"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("generic_entry")]
    assert code == 2, err
    assert len(lines) == 1 and CASES[change] in lines[0], err
    assert "Traceback" not in err and "plain-secret-token" not in err
    assert not (tmp_path / "sandbox").exists() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        ([], "--demo_name: is required"),
        (["--demo_name", "my demo"], "--demo_name: 'my demo' is not a valid demo name"),
        (["--demo_name", "demo", "--batch_id", "a b"], "--batch_id: 'a b' is not a batch id"),
    ],
)
def test_bad_run_arguments_are_exit_2(
    argv: list[str], words: str, tmp_path: Path, source_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = main_config(tmp_path, source_path, client=dict(HTTP))
    assert main(["--module_name", MAIN, "--parallel_modules_job", json.dumps(config), *argv]) == 2
    assert words in capsys.readouterr().err


def test_release_and_monitor_need_their_run_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    release = ["--module_name", "dwh.jobs.freeport.release_job_factory", "--release_job", "{}", "--demo_name", "d"]
    assert main([*release, "--table_name", "t", "--batch_id", "b"]) == 2
    assert "--freeport_module: is required" in capsys.readouterr().err
    monitor = ["--module_name", "dwh.jobs.freeport.monitor_job_factory", "--monitor_job", "{}", "--demo_name", "d"]
    assert main([*monitor, "--wait_seconds", "soon"]) == 2
    assert "--wait_seconds: 'soon' is not a number of seconds" in capsys.readouterr().err
