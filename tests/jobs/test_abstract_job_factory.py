"""AbstractJobFactory: from generic_entry's keyword arguments to a running job, with everything checked first.

The factory is called with the keyword arguments generic_entry would pass (strings from argv plus
``service_provider``, ``has_spark`` and ``platform_args``); the jobs report what reached ``execute_job``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from dwh.errors import ConfigError
from dwh.jobs.abstract_job import AbstractJob
from dwh.jobs.abstract_job_factory import AbstractJobFactory
from dwh.platforms.context import RunContext
from dwh.platforms.detect import ServiceProvider
from tests.jobs.fixtures_jobs.probe_job import ProbeJobConfig
from tests.jobs.fixtures_jobs.probe_job_factory import ProbeJobFactory
from tests.jobs.fixtures_jobs.window_job_factory import WindowJobFactory


class NamedArgumentsJob(AbstractJob[ProbeJobConfig]):
    """Names two arguments; returns exactly what it got."""

    def execute_job(self, created_by: str, end_date: dt.date | None) -> dict[str, Any]:
        """Echo the arguments."""
        return {"created_by": created_by, "end_date": end_date}


class AllArgumentsJob(AbstractJob[ProbeJobConfig]):
    """Takes ``**kwargs``; returns everything it got."""

    def execute_job(self, **kwargs: Any) -> dict[str, Any]:
        """Echo the arguments."""
        return kwargs


class NamedFactory(AbstractJobFactory[ProbeJobConfig]):
    """Builds `NamedArgumentsJob`."""

    job_name = "named"
    config_argument = "named_job"
    config_model = ProbeJobConfig

    def create_job(self, *, config: ProbeJobConfig, context: RunContext) -> AbstractJob[ProbeJobConfig]:
        """The job under test."""
        return NamedArgumentsJob(config=config, context=context)


class AllFactory(NamedFactory):
    """Builds `AllArgumentsJob`."""

    job_name = "all"

    def create_job(self, *, config: ProbeJobConfig, context: RunContext) -> AbstractJob[ProbeJobConfig]:
        """The job under test."""
        return AllArgumentsJob(config=config, context=context)


def entry_kwargs(config_argument: str, config: dict[str, Any] | None = None, **argv: str) -> dict[str, Any]:
    """What generic_entry hands a job module's main(): argv strings plus its own keys."""
    return {
        config_argument: json.dumps(config or {}),
        **argv,
        "service_provider": "LOCAL",
        "has_spark": True,
        "platform_args": {},
    }


def test_execute_job_gets_only_the_arguments_it_names(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    result = NamedFactory().run(
        **entry_kwargs("named_job", created_by="airflow", start_date="2025-01-01", end_date="2025-01-08", team="x")
    )
    assert result == {"created_by": "airflow", "end_date": dt.date(2025, 1, 8)}
    # An argument no one uses is reported (a typo in a scheduler definition must not pass silently).
    assert "arguments not used by named: --team" in caplog.messages


def test_execute_job_with_var_kwargs_gets_them_all() -> None:
    result = AllFactory().run(**entry_kwargs("named_job", created_by="airflow", start_date="2025-01-01", team="x"))
    assert result == {
        "team": "x",
        "start_date": dt.date(2025, 1, 1),
        "end_date": None,
        "created_by": "airflow",
        "service_provider": ServiceProvider.LOCAL,
        "has_spark": True,
    }


def test_defaults_apply_when_arguments_are_absent() -> None:
    assert NamedFactory().run(**entry_kwargs("named_job")) == {"created_by": "unknown", "end_date": None}


def test_secrets_are_resolved_before_execute_job(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DWH_TEST_PROBE_TOKEN", "probe-token-49")
    output = tmp_path / "received.json"
    config = {"token": "env:DWH_TEST_PROBE_TOKEN", "output_path": str(output)}
    result = ProbeJobFactory().run(**entry_kwargs("probe_job", config))
    assert result["token_length"] == len("probe-token-49")
    assert json.loads(output.read_text())["token_length"] == len("probe-token-49")


def test_an_unresolvable_secret_stops_the_run_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.delenv("DWH_TEST_PROBE_TOKEN", raising=False)
    output = tmp_path / "received.json"
    config = {"token": "env:DWH_TEST_PROBE_TOKEN", "output_path": str(output)}
    with pytest.raises(ConfigError) as caught:
        ProbeJobFactory().run(**entry_kwargs("probe_job", config))
    assert str(caught.value) == (
        "--probe_job: token: cannot resolve secret reference env:DWH_TEST_PROBE_TOKEN: "
        "environment variable DWH_TEST_PROBE_TOKEN is not set"
    )
    assert not output.exists()
    assert not [message for message in caplog.messages if message.startswith(("starting", "run_report", "NOOP"))]


def test_run_context_carries_platform_ids_window_and_config_hash(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    kwargs = entry_kwargs("probe_job", {"source": {"strategy": "MEMORY", "rows": 7}}, start_date="2025-01-01")
    kwargs.update(service_provider="GLUE", platform_args={"JOB_NAME": "nightly", "JOB_RUN_ID": "jr_5"})
    result = ProbeJobFactory().run(**kwargs)
    assert (result["platform"], result["run_id"]) == ("GLUE", "jr_5")
    [line] = [message for message in caplog.messages if message.startswith("run_report ")]
    report = json.loads(line.removeprefix("run_report "))
    assert report["context"]["run_ids"] == {"job_name": "nightly", "run_id": "jr_5"}
    assert report["context"]["start_date"] == "2025-01-01"
    assert len(report["context"]["config_hash"]) == 16
    assert report["steps"][0]["rows_out"] == 7


@pytest.mark.parametrize(
    ("factory", "kwargs", "message"),
    [
        (ProbeJobFactory(), {"created_by": "x"}, "--probe_job: is required (the job's JSON config)"),
        (WindowJobFactory(), {"probe_job": "{}", "start_date": "2025-01-01"}, "--end_date: is required"),
        (ProbeJobFactory(), {"probe_job": "{}", "start_date": "tomorrow"}, "--start_date: 'tomorrow' is not an ISO"),
        (ProbeJobFactory(), {"probe_job": '{"rows": 1}'}, "--probe_job: rows: unknown field"),
    ],
)
def test_invocation_problems_are_config_errors(factory: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        factory.run(**kwargs, service_provider="LOCAL", has_spark=False, platform_args={})
    assert str(caught.value).startswith(message)


def test_print_config_schema_runs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert ProbeJobFactory().run(print_config_schema="true", service_provider="LOCAL") is None
    schema = json.loads(capsys.readouterr().out)
    [secret_form] = [form for form in schema["properties"]["token"]["anyOf"] if form.get("type") == "string"]
    assert secret_form["format"] == "password"
    assert set(schema["$defs"]) >= {"MemorySource", "FileSource", "ProbeTarget"}
