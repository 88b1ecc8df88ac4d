"""generic_entry: argv parsing, the module allow-list, exit codes and their one-line messages, light imports.

Bad invocations run both in-process (``main([...])``, fast) and through the real ``.venv/bin/generic_entry``
console script; each must exit 2 with exactly one stderr line naming the argument or config field, and no
traceback. ``-X importtime`` shows that ``--help`` and config errors never import pyspark, boto3 & co.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dwh.errors import ConfigError
from dwh.generic_entry import allowed_prefixes, main, parse_arguments
from dwh.platforms.detect import PLATFORM_ENV_VARS

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
ENTRY = ROOT / ".venv" / "bin" / "generic_entry"
SMOKE = "dwh.jobs.smoke.smoke_job_factory"
PROBE = "tests.jobs.fixtures_jobs.probe_job_factory"
FIXTURE_PREFIX = "tests.jobs.fixtures_jobs"
HEAVY = frozenset({"pyspark", "boto3", "botocore", "deltalake", "pyarrow", "py4j", "pandas", "psycopg", "sqlalchemy"})
PLATFORM_ENV = (*PLATFORM_ENV_VARS, "DWH_ALLOWED_MODULE_PREFIXES")


@pytest.fixture(autouse=True)
def _clean_platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No platform hints from the machine, and the root logger as it was (main() installs a handler)."""
    for name in PLATFORM_ENV:
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)


def console_env(**extra: str) -> dict[str, str]:
    """The environment of a console-script run: this machine's, minus any platform hint, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if key not in PLATFORM_ENV}
    env.update(extra)
    return env


def run_console(*args: str, cwd: Path, python_flags: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess:
    """Run the installed console script the way a scheduler does (optionally under ``python -X ...``)."""
    command = [str(VENV_PYTHON), *python_flags, str(ENTRY), *args] if python_flags else [str(ENTRY), *args]
    return subprocess.run(command, cwd=cwd, env=console_env(**env), capture_output=True, text=True, timeout=120)


def imported_modules(importtime_stderr: str) -> set[str]:
    """Module names listed by ``python -X importtime`` on stderr."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in importtime_stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def heavy_imports(modules: set[str]) -> set[str]:
    """The heavy top-level packages among `modules`."""
    return {name.split(".")[0] for name in modules} & HEAVY


# --- parse_arguments ---------------------------------------------------------------------------------------


def test_both_argument_forms_parse_to_the_same_keys() -> None:
    job_args, platform_args = parse_arguments(
        ["--module_name", SMOKE, "--created_by=airflow", "--start_date", "2025-01-01"]
    )
    assert job_args == {"module_name": SMOKE, "created_by": "airflow", "start_date": "2025-01-01"}
    assert platform_args == {}


def test_equals_signs_inside_values_stay_in_the_value() -> None:
    job_args, _ = parse_arguments(['--smoke_job={"expr": "a=b", "n": 1}', "--filter", "x=1"])
    assert job_args == {"smoke_job": '{"expr": "a=b", "n": 1}', "filter": "x=1"}


def test_bare_flags_count_as_true_and_negative_numbers_are_values() -> None:
    job_args, _ = parse_arguments(["--print_config_schema", "--offset", "-1", "--dry_run"])
    assert job_args == {"print_config_schema": "true", "offset": "-1", "dry_run": "true"}


def test_hyphens_become_underscores() -> None:
    job_args, _ = parse_arguments(["--created-by", "me", "--module-name=x.y"])
    assert job_args == {"created_by": "me", "module_name": "x.y"}


def test_glue_reserved_arguments_go_to_platform_args() -> None:
    argv = [
        "--JOB_NAME", "nightly", "--JOB_ID", "j_1", "--JOB_RUN_ID", "jr_1", "--TempDir", "s3://t/",
        "--job-bookmark-option", "job-bookmark-disable", "--enable-metrics", "--enable-glue-datacatalog", "true",
        "--extra-py-files", "s3://a.zip", "--additional-python-modules", "s3://dwh.whl", "--datalake-formats", "delta",
        "--conf", "spark.a=1 --conf spark.b=2", "--module_name", SMOKE,
    ]  # fmt: skip
    job_args, platform_args = parse_arguments(argv)
    assert job_args == {"module_name": SMOKE}
    assert platform_args == {
        "JOB_NAME": "nightly",
        "JOB_ID": "j_1",
        "JOB_RUN_ID": "jr_1",
        "TempDir": "s3://t/",
        "job_bookmark_option": "job-bookmark-disable",
        "enable_metrics": "true",
        "enable_glue_datacatalog": "true",
        "extra_py_files": "s3://a.zip",
        "additional_python_modules": "s3://dwh.whl",
        "datalake_formats": "delta",
        "conf": "spark.a=1 --conf spark.b=2",
    }


@pytest.mark.parametrize(
    ("argv", "field_name", "words"),
    [
        (["--a", "1", "--a=2"], "--a", "given more than once"),
        (["--created-by", "x", "--created_by", "y"], "--created_by", "given more than once"),
        (["stray"], None, "'stray'"),
        (["--smoke_job", '{"rows":', "5}"], "--smoke_job", "'5}'"),
        (["--bad.name", "1"], None, "--bad.name"),
        (["--"], None, "'--'"),
    ],
)
def test_unparseable_argv_is_a_config_error(argv: list[str], field_name: str | None, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_arguments(argv)
    assert caught.value.field == field_name
    assert words in str(caught.value)


def test_allowed_prefixes_are_extended_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert allowed_prefixes() == ("dwh.jobs.",)
    monkeypatch.setenv("DWH_ALLOWED_MODULE_PREFIXES", "acme.jobs, tests.jobs.fixtures_jobs.")
    assert allowed_prefixes() == ("dwh.jobs.", "acme.jobs.", "tests.jobs.fixtures_jobs.")


# --- exit 2: one line naming the argument or the field -------------------------------------------------------


@dataclass(frozen=True)
class BadInvocation:
    """One bad command line and the words its single stderr line must contain."""

    argv: list[str]
    words: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    console: bool = False  # also run it through the real console script


def probe(config: str, *extra: str) -> list[str]:
    """argv of the probe test job with `config` as its JSON."""
    return ["--module_name", PROBE, "--probe_job", config, *extra]


ALLOW_FIXTURES = {"DWH_ALLOWED_MODULE_PREFIXES": FIXTURE_PREFIX}
SMOKE_ARGS = ["--module_name", SMOKE, "--smoke_job", "{}"]
BAD_INVOCATIONS = {
    "missing module_name": BadInvocation(["--smoke_job", "{}"], ("--module_name: is required",), console=True),
    "empty module_name": BadInvocation(["--module_name="], ("--module_name: is required",)),
    "unknown module": BadInvocation(["--module_name", "dwh.jobs.no_such_job"], ("--module_name", "no module named")),
    "outside allow-list": BadInvocation(
        probe("{}"),
        ("--module_name", PROBE, "outside the allowed prefixes", "DWH_ALLOWED_MODULE_PREFIXES"),
        console=True,
    ),
    "not a module name": BadInvocation(["--module_name", "dwh.jobs.x;rm"], ("--module_name", "not a dotted module")),
    "module without main": BadInvocation(
        ["--module_name", "dwh.jobs.smoke.smoke_job"], ("--module_name", "has no main(**kwargs)")
    ),
    "module needs a missing package": BadInvocation(
        ["--module_name", f"{FIXTURE_PREFIX}.needs_missing_package"],
        ("--module_name", "missing package 'dwh_test_package_that_is_not_installed'"),
        env=ALLOW_FIXTURES,
    ),
    "malformed JSON": BadInvocation(
        ["--module_name", SMOKE, "--smoke_job", '{"rows": 5'], ("--smoke_job", "malformed JSON"), console=True
    ),
    "JSON not an object": BadInvocation(
        ["--module_name", SMOKE, "--smoke_job", "[5]"], ("--smoke_job", "expects a JSON object, got list")
    ),
    "unknown notification_service": BadInvocation(
        ["--module_name", SMOKE, "--smoke_job", '{"job_failed_notifications": {"notification_service": "PIGEON"}}'],
        ("--smoke_job: job_failed_notifications: notification_service 'PIGEON' is not one of", "NOOP", "EMAIL"),
        console=True,
    ),
    "unknown strategy": BadInvocation(
        probe('{"source": {"strategy": "KAFKA"}}'),
        ("--probe_job: source: strategy 'KAFKA' is not one of MEMORY, FILE",),
        env=ALLOW_FIXTURES,
    ),
    "missing strategy": BadInvocation(
        probe('{"source": {"rows": 1}}'), ("--probe_job: source: missing strategy",), env=ALLOW_FIXTURES
    ),
    "misspelled key": BadInvocation(
        ["--module_name", SMOKE, "--smoke_job", '{"rowz": 5}'],
        ("--smoke_job: rowz: unknown field",),
        console=True,
    ),
    "misspelled nested key in a list": BadInvocation(
        [
            "--module_name",
            SMOKE,
            "--smoke_job",
            '{"job_failed_notifications": [{"notification_service": "NOOP", "nosie": 1}]}',
        ],
        ("--smoke_job: job_failed_notifications[0].nosie: unknown field",),
    ),
    "missing required field": BadInvocation(
        probe('{"source": {"strategy": "FILE"}}'),
        ("--probe_job: source.path: required field is missing",),
        env=ALLOW_FIXTURES,
    ),
    "wrong type": BadInvocation(
        ["--module_name", SMOKE, "--smoke_job", '{"rows": "many"}'], ("--smoke_job: rows:", "integer")
    ),
    "mode not allowed": BadInvocation(
        probe('{"targets": [{"path": "a"}, {"path": "b", "mode": "upsert"}]}'),
        ("--probe_job: targets[1].mode: 'upsert' is not one of append, overwrite, replace_window, merge",),
        env=ALLOW_FIXTURES,
    ),
    "unresolvable secret": BadInvocation(
        probe('{"token": "env:DWH_TEST_TOKEN_NOT_SET"}'),
        ("--probe_job: token: cannot resolve secret reference env:DWH_TEST_TOKEN_NOT_SET",),
        env=ALLOW_FIXTURES,
        console=True,
    ),
    "bad start_date": BadInvocation([*SMOKE_ARGS, "--start_date", "2025-13-01"], ("--start_date", "'2025-13-01'")),
    "end before start": BadInvocation(
        [*SMOKE_ARGS, "--start_date", "2025-01-02", "--end_date", "2025-01-01"], ("--end_date", "after --start_date")
    ),
    "window required": BadInvocation(
        ["--module_name", f"{FIXTURE_PREFIX}.window_job_factory", "--probe_job", "{}", "--end_date", "2025-01-02"],
        ("--start_date: is required",),
        env=ALLOW_FIXTURES,
    ),
    "duplicate argument": BadInvocation(
        [*SMOKE_ARGS, "--smoke_job={}"], ("--smoke_job: given more than once",), console=True
    ),
    "bad service_provider": BadInvocation(
        [*SMOKE_ARGS, "--service_provider", "AZURE"], ("--service_provider: 'AZURE' is not one of", "DATABRICKS")
    ),
    "bad DWH_SERVICE_PROVIDER": BadInvocation(
        SMOKE_ARGS, ("DWH_SERVICE_PROVIDER: 'K8S' is not one of",), env={"DWH_SERVICE_PROVIDER": "K8S"}
    ),
    "positional argument": BadInvocation([*SMOKE_ARGS, "stray"], ("--smoke_job: unexpected value 'stray'",)),
    "missing job JSON": BadInvocation(["--module_name", SMOKE], ("--smoke_job: is required",)),
    # json.loads raises more than JSONDecodeError, and takes documents no config can hold: each is one line.
    "JSON nested too deep": BadInvocation(
        ["--module_name", SMOKE, "--smoke_job", "[" * 100_000],
        ("--smoke_job", "nested 100000 levels deep"),
        console=True,
    ),
    "valid JSON nested deeper than any config": BadInvocation(
        ["--module_name", SMOKE, "--smoke_job", '{"a":' * 65 + "1" + "}" * 65], ("--smoke_job", "nested 65 levels")
    ),
    "integer past Python's conversion limit": BadInvocation(
        ["--module_name", SMOKE, "--smoke_job", '{"rows": 1' + "0" * 5000 + "}"],
        ("--smoke_job: unusable JSON", "integer string conversion"),
        console=True,
    ),
    "NaN": BadInvocation(["--module_name", SMOKE, "--smoke_job", '{"rows": NaN}'], ("--smoke_job", "NaN is not valid")),
    "lone surrogate escape": BadInvocation(
        ["--module_name", SMOKE, "--smoke_job", '{"job_failed_notifications": {"notification_service": "\\ud800"}}'],
        ("--smoke_job", "not valid Unicode"),
    ),
    "config file missing": BadInvocation(
        ["--module_name", SMOKE, "--smoke_job", "@/nonexistent/smoke.json"],
        ("--smoke_job: cannot read /nonexistent/smoke.json",),
    ),
}


def assert_one_error_line(returncode: int, stdout: str, stderr: str, words: tuple[str, ...]) -> None:
    """Exit 2, nothing on stdout, exactly one non-empty stderr line carrying `words`, no traceback."""
    assert returncode == 2, stderr
    assert stdout == ""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("generic_entry: error: ")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in stderr


@pytest.mark.parametrize("case", list(BAD_INVOCATIONS), ids=list(BAD_INVOCATIONS))
def test_bad_invocation_exits_2_with_one_line(
    case: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = BAD_INVOCATIONS[case]
    for name, value in bad.env.items():
        monkeypatch.setenv(name, value)
    returncode = main(bad.argv)
    out, err = capsys.readouterr()
    assert_one_error_line(returncode, out, err, bad.words)


CONSOLE_CASES = [case for case, bad in BAD_INVOCATIONS.items() if bad.console]


@pytest.mark.parametrize("case", CONSOLE_CASES, ids=CONSOLE_CASES)
def test_bad_invocation_through_the_console_script(case: str, tmp_path: Path) -> None:
    bad = BAD_INVOCATIONS[case]
    finished = run_console(*bad.argv, cwd=tmp_path, **bad.env)
    assert_one_error_line(finished.returncode, finished.stdout, finished.stderr, bad.words)


def test_help_exits_0_with_usage_on_stdout(tmp_path: Path) -> None:
    finished = run_console("--help", cwd=tmp_path)
    assert finished.returncode == 0
    assert finished.stdout.startswith("usage: generic_entry --module_name MODULE")
    assert "--start_date" in finished.stdout and "exit codes" in finished.stdout
    assert finished.stderr == ""


def test_short_help_inside_other_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--module_name", SMOKE, "-h"]) == 0
    assert capsys.readouterr().out.startswith("usage: generic_entry")


def test_dash_h_as_a_value_is_not_a_help_request(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--module_name", SMOKE, "--smoke_job", '{"rows": 3}', "--created_by", "-h"]) == 0
    printed = capsys.readouterr()
    assert "usage:" not in printed.out
    assert '"created_by": "-h"' in printed.err  # the job ran, and its run report carries the value


def test_a_module_name_with_a_trailing_newline_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--module_name", f"{SMOKE}\n", "--smoke_job", "{}"]) == 2
    assert capsys.readouterr().err.splitlines()[0].startswith("generic_entry: error: --module_name: ")


def test_no_arguments_exit_2_with_usage_on_stderr(tmp_path: Path) -> None:
    finished = run_console(cwd=tmp_path)
    assert finished.returncode == 2
    assert finished.stdout == ""
    assert finished.stderr.startswith("usage: generic_entry --module_name MODULE")


def test_print_config_schema_prints_the_job_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--module_name", SMOKE, "--print_config_schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["additionalProperties"] is False
    assert {"rows", "output_path", "fail_with", "job_failed_notifications"} <= set(schema["properties"])
    assert schema["properties"]["rows"]["description"] == "How many rows spark.range makes."


def test_allow_list_extended_by_environment_runs_the_job(tmp_path: Path) -> None:
    output = tmp_path / "received.json"
    config = json.dumps({"output_path": str(output)})
    args = ["--module_name", PROBE, "--probe_job", config, "--created_by=cron", "--team", "growth"]
    finished = run_console(*args, "--JOB_RUN_ID", "jr_77", cwd=tmp_path, DWH_ALLOWED_MODULE_PREFIXES=FIXTURE_PREFIX)
    assert finished.returncode == 0, finished.stderr
    received = json.loads(output.read_text())
    assert received == {
        "created_by": "cron",
        "start_date": None,
        "team": "growth",
        "platform": "GLUE",
        "run_id": "jr_77",
        "token_length": None,
    }


def test_a_failing_job_exits_1_after_its_report(tmp_path: Path) -> None:
    config = json.dumps({"fail_with": "source table is empty"})
    finished = run_console(
        "--module_name", PROBE, "--probe_job", config, cwd=tmp_path, DWH_ALLOWED_MODULE_PREFIXES=FIXTURE_PREFIX
    )
    assert finished.returncode == 1
    lines = finished.stderr.strip().splitlines()
    assert lines[-1] == "generic_entry: probe failed: RuntimeError: source table is empty"
    [report_line] = [line for line in lines if " run_report {" in line]
    report = json.loads(report_line.split(" run_report ", 1)[1])
    assert report["outcome"] == "failed"
    assert report["error"] == "RuntimeError: source table is empty"


# --- light imports -------------------------------------------------------------------------------------------


def test_importing_generic_entry_pulls_in_nothing_heavy(tmp_path: Path) -> None:
    finished = subprocess.run(
        [str(VENV_PYTHON), "-X", "importtime", "-c", "import dwh.generic_entry"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    modules = imported_modules(finished.stderr)
    assert "dwh.generic_entry" in modules
    assert heavy_imports(modules) == set()


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    finished = run_console("--help", cwd=tmp_path, python_flags=("-X", "importtime"))
    assert finished.returncode == 0
    modules = imported_modules(finished.stderr)
    assert "dwh.generic_entry" in modules
    assert heavy_imports(modules) == set()
    assert "pydantic" not in {name.split(".")[0] for name in modules}  # no config model is built for --help


def test_argv_errors_build_no_config_model(tmp_path: Path) -> None:
    finished = run_console("--module_name", SMOKE, "stray", cwd=tmp_path, python_flags=("-X", "importtime"))
    assert finished.returncode == 2
    assert "pydantic" not in {name.split(".")[0] for name in imported_modules(finished.stderr)}


def test_config_errors_import_nothing_heavy(tmp_path: Path) -> None:
    finished = run_console(
        "--module_name", SMOKE, "--smoke_job", '{"rows": ', cwd=tmp_path, python_flags=("-X", "importtime")
    )
    assert finished.returncode == 2
    modules = imported_modules(finished.stderr)
    # What the job module imports is listed (importlib.import_module itself is not timed by -X importtime),
    # so the check covers the whole config path.
    assert {"dwh.jobs.smoke.smoke_job", "dwh.strategies.notifications"} <= modules
    assert heavy_imports(modules) == set()


# Runs every bad invocation above in one interpreter under -X importtime; prints their exit codes.
ALL_PATHS_SCRIPT = """
import json, os, sys
from dwh.generic_entry import main
codes = []
for argv, env in json.load(sys.stdin):
    saved = dict(os.environ)
    os.environ.update(env)
    codes.append(main(argv))
    os.environ.clear()
    os.environ.update(saved)
print(json.dumps(codes))
"""


def test_no_exit_2_path_imports_anything_heavy(tmp_path: Path) -> None:
    cases = [[bad.argv, bad.env] for bad in BAD_INVOCATIONS.values()]
    finished = subprocess.run(
        [str(VENV_PYTHON), "-X", "importtime", "-c", ALL_PATHS_SCRIPT],
        input=json.dumps(cases),
        cwd=tmp_path,
        env=console_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(finished.stdout) == [2] * len(cases), finished.stderr[-2000:]
    modules = imported_modules(finished.stderr)
    assert {"dwh.jobs.abstract_job_factory", "tests.jobs.fixtures_jobs.probe_job", "dwh.config"} <= modules
    assert heavy_imports(modules) == set()
