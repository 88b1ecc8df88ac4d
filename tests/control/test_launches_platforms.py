"""`launch_once` with real launchers: a crash between the platform call and the row update starts nothing new.

The crash is simulated exactly: the launch is sent to the platform with the key, and the claim row is
left without a run id (what a process killed right after the call leaves behind); then the launch is
retried as a restarted job would retry it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dwh.config import StrictModel, validate_model
from dwh.control.claims import insert_once
from dwh.control.columns import utc_now
from dwh.control.launches import launch_once, launches_table
from dwh.control.store import ControlStore, ControlStoreConfig
from dwh.platforms.launchers.registry import LauncherConfig
from tests.platforms.launchers.aws_servers import boto3_client
from tests.stand_ins.jobs_api import RUN_NOW, JobsApi

pytestmark = pytest.mark.integration
KEY = "batch-7:geo_analysis"
PARAMETERS = {"demo_name": "demo", "module_name": "geo_analysis", "table_name": "t", "batch_id": "batch-7"}


class _Block(StrictModel):
    launcher: LauncherConfig


def launcher(block: dict[str, Any]) -> Any:
    return validate_model(_Block, {"launcher": block}, argument="--test").launcher


@pytest.fixture
def store(tmp_path: Path) -> ControlStore:
    return ControlStoreConfig(url=f"sqlite:///{tmp_path / 'control.db'}").open()


def crash_after_the_call(store: ControlStore, platform: Any) -> None:
    """The platform got the launch; the process died before recording the run id."""
    platform.launch(None, PARAMETERS, KEY)
    table = launches_table(store)
    with store.transaction() as conn:
        insert_once(conn, table, {"key": KEY, "launcher": platform.launcher, "claimed_at": utc_now()})


def test_databricks_after_a_crash_resends_the_token_and_gets_the_same_run(
    store: ControlStore, jobs_api: JobsApi
) -> None:
    databricks = launcher({"launcher": "DATABRICKS", "host": jobs_api.host, "token": jobs_api.token, "job_id": 9})
    crash_after_the_call(store, databricks)
    outcome = launch_once(store, databricks, None, PARAMETERS, KEY)
    assert outcome.run is not None and "re-sent with idempotency key" in (outcome.reason or "")
    tokens = [request.body["idempotency_token"] for request in jobs_api.requests_to(RUN_NOW)]
    assert len(tokens) == 2 and len(set(tokens)) == 1  # the same token twice ...
    assert [run.run_id for run in jobs_api.runs] == [int(outcome.run.run_id)]  # ... one run
    again = launch_once(store, databricks, None, PARAMETERS, KEY)
    assert again.run == outcome.run and not again.started and len(jobs_api.requests_to(RUN_NOW)) == 2


def test_glue_after_a_crash_is_stopped_by_the_row(store: ControlStore, aws_env: str) -> None:
    glue_client = boto3_client("glue", aws_env)
    glue_client.create_job(
        Name="release",
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://b/generic_entry.py"},
        ExecutionProperty={"MaxConcurrentRuns": 5},
    )
    glue = launcher({"launcher": "GLUE", "job_name": "release", "region": "us-east-1"})
    crash_after_the_call(store, glue)
    outcome = launch_once(store, glue, None, PARAMETERS, KEY)
    assert outcome.run is None and not outcome.started
    assert "not repeated: GLUE has no idempotency token" in (outcome.reason or "")
    assert len(glue_client.get_job_runs(JobName="release")["JobRuns"]) == 1
