"""launch_once: one launch per key, across retries, crashes and refusals, on both engines.

The launchers here are in-test doubles of a platform (the real launchers have their own tests against
their platforms' stand-ins): `RecordingLauncher` starts a new run on every call, like Glue or EMR;
`IdempotentLauncher` returns the same run for the same key, like Databricks' idempotency_token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import pytest
from pydantic import PrivateAttr

from dwh.control.launches import LAUNCHES_TABLE, launch_once, launches_table
from dwh.control.store import ControlStore
from dwh.platforms.launchers.base import LaunchedRun, Launcher, LaunchError, LaunchState, RunState


class RecordingLauncher(Launcher):
    """A platform without idempotency tokens: every call starts a run; `mode` makes calls fail."""

    launcher: Literal["RECORDING"] = "RECORDING"
    #: ok | refuse (the platform answers 400: nothing started) | lose_reply (started, then the reply is lost)
    mode: str = "ok"
    _calls: list[tuple[str | None, dict[str, str], str]] = PrivateAttr(default_factory=list)
    _runs: list[str] = PrivateAttr(default_factory=list)

    def launch(self, job: str | None, parameters: Mapping[str, str], key: str) -> LaunchedRun:
        self._calls.append((job, dict(parameters), key))
        if self.mode == "refuse":
            raise LaunchError("RECORDING: 400 job 'release' does not exist")
        run_id = self._start(key)
        if self.mode == "lose_reply":
            raise ConnectionResetError("connection reset by peer")
        return LaunchedRun(self.launcher, run_id, f"https://runs.example/{run_id}", {"key": key})

    def _start(self, key: str) -> str:
        self._runs.append(f"run-{len(self._runs) + 1}")
        return self._runs[-1]

    def state(self, run: LaunchedRun) -> LaunchState:
        return LaunchState(RunState.RUNNING, "RUNNING")


class IdempotentLauncher(RecordingLauncher):
    """A platform that de-duplicates by key: the same key returns the run it started the first time."""

    idempotent: ClassVar[bool] = True
    _by_key: dict[str, str] = PrivateAttr(default_factory=dict)

    def _start(self, key: str) -> str:
        if key not in self._by_key:
            self._by_key[key] = super()._start(key)
        return self._by_key[key]


def claim_rows(store: ControlStore) -> list[dict[str, Any]]:
    """Every row of dwh_launches."""
    table = launches_table(store)
    with store.transaction() as conn:
        return [dict(row) for row in conn.execute(table.select().order_by(table.c.key)).mappings()]


@pytest.mark.parametrize("launcher_class", [RecordingLauncher, IdempotentLauncher])
def test_first_launch_starts_and_records_the_run(store: ControlStore, launcher_class: type[RecordingLauncher]) -> None:
    launcher = launcher_class()
    outcome = launch_once(store, launcher, "dwh.jobs.freeport.release_job_factory", {"batch_id": "b1"}, "b1:geo")
    assert outcome.started is True and outcome.reason is None
    assert outcome.run == LaunchedRun("RECORDING", "run-1", "https://runs.example/run-1", {"key": "b1:geo"})
    assert launcher._calls == [("dwh.jobs.freeport.release_job_factory", {"batch_id": "b1"}, "b1:geo")]
    [row] = claim_rows(store)
    assert (row["key"], row["launcher"], row["job"], row["run_id"]) == (
        "b1:geo",
        "RECORDING",
        "dwh.jobs.freeport.release_job_factory",
        "run-1",
    )
    assert row["detail"] == '{"key": "b1:geo"}'
    assert row["claimed_at"].tzinfo is not None and row["launched_at"] >= row["claimed_at"]


@pytest.mark.parametrize("launcher_class", [RecordingLauncher, IdempotentLauncher])
def test_a_retry_after_success_launches_nothing(store: ControlStore, launcher_class: type[RecordingLauncher]) -> None:
    launcher = launcher_class()
    first = launch_once(store, launcher, "job", {}, "k1")
    again = launch_once(store, launcher_class(), "job", {}, "k1")
    assert again.started is False and again.run == first.run
    assert again.reason is not None and "already launched run run-1" in again.reason
    assert len(launcher._calls) == 1
    other = launch_once(store, launcher, "job", {}, "k2")  # another key is another launch
    assert other.started is True and len(claim_rows(store)) == 2


def test_crash_after_the_call_idempotent_platform_is_asked_again_and_keeps_one_run(store: ControlStore) -> None:
    launcher = IdempotentLauncher(mode="lose_reply")
    with pytest.raises(ConnectionResetError):
        launch_once(store, launcher, "job", {"a": "1"}, "b1:geo")
    assert [row["run_id"] for row in claim_rows(store)] == [None]  # claimed, run id never recorded
    launcher.mode = "ok"
    outcome = launch_once(store, launcher, "job", {"a": "1"}, "b1:geo")
    assert outcome.started is True and outcome.run is not None and outcome.run.run_id == "run-1"
    assert outcome.reason is not None and "re-sent with idempotency key b1:geo" in outcome.reason
    assert [call[2] for call in launcher._calls] == ["b1:geo", "b1:geo"]  # the same key, sent twice
    assert launcher._runs == ["run-1"]  # and the platform started one run
    assert [row["run_id"] for row in claim_rows(store)] == ["run-1"]


def test_crash_after_the_call_other_platforms_launch_nothing_and_say_why(store: ControlStore) -> None:
    launcher = RecordingLauncher(mode="lose_reply")
    with pytest.raises(ConnectionResetError):
        launch_once(store, launcher, "job", {}, "b1:geo")
    launcher.mode = "ok"
    outcome = launch_once(store, launcher, "job", {}, "b1:geo")
    assert outcome.run is None and outcome.started is False
    assert outcome.reason is not None
    assert outcome.reason.startswith("a launch for key b1:geo was claimed at ")
    assert outcome.reason.endswith(
        "but its run id was never recorded; not repeated: RECORDING has no idempotency token (check the platform)"
    )
    assert len(launcher._calls) == 1 and launcher._runs == ["run-1"]


def test_a_refused_launch_removes_the_claim_so_a_later_one_can_start(store: ControlStore) -> None:
    launcher = RecordingLauncher(mode="refuse")
    with pytest.raises(LaunchError, match="400 job 'release' does not exist"):
        launch_once(store, launcher, "job", {}, "b1:geo")
    assert claim_rows(store) == []
    launcher.mode = "ok"
    outcome = launch_once(store, launcher, "job", {}, "b1:geo")
    assert outcome.started is True and outcome.run is not None and outcome.run.run_id == "run-1"
    assert len(launcher._calls) == 2


def test_the_table_is_created_in_the_store(store: ControlStore) -> None:
    launch_once(store, RecordingLauncher(), "job", {}, "k")
    reflected = ControlStore(store.engine).table(LAUNCHES_TABLE)  # a store that didn't create it reads it back
    assert reflected.c.keys() == [
        "key",
        "launcher",
        "job",
        "run_id",
        "run_url",
        "detail",
        "claimed_at",
        "launched_at",
    ]
