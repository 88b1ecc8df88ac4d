"""The Freeport tracking tables on both engines: row transitions, batches, and one completion notice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dwh.control.store import ControlStore
from dwh.control.tracking import COMPLETED, FAILED, PENDING, RUNNING, FreeportTracking
from dwh.platforms.launchers.base import LaunchedRun
from dwh.secrets import SCRUBBER
from tests.control.race_worker import BATCHES
from tests.control.races import race

RUN = LaunchedRun("DATABRICKS", "9001", "https://adb.example/#job/7/run/9001")


@pytest.fixture
def tracking(store: ControlStore) -> FreeportTracking:
    """The store's Freeport tables with batch b1 of demo promo and its geo module pending."""
    tracking = FreeportTracking(store)
    tracking.record_batch("b1", "promo", ["geo", "fx"])
    tracking.insert_pending("b1", "promo", "geo", "sandbox.promo_geo")
    return tracking


def test_a_module_row_goes_pending_running_completed(tracking: FreeportTracking) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    row = tracking.row("b1", "geo")
    assert row is not None and (row.status, row.table_name, row.run_id, row.demo_name) == (
        PENDING,
        "sandbox.promo_geo",
        None,
        "promo",
    )
    assert tracking.record_run("b1", "geo", RUN) is True
    assert tracking.mark_running("b1", "geo") is True
    assert tracking.mark_running("b1", "geo") is True  # a re-launched release of the same batch
    assert tracking.set_materialization("b1", "geo", "mat-17") is True
    assert tracking.finish("b1", "geo", COMPLETED) is True
    row = tracking.row("b1", "geo")
    assert row is not None
    assert (row.status, row.run_id, row.launcher, row.run_url, row.materialization_id, row.error_message) == (
        COMPLETED,
        "9001",
        "DATABRICKS",
        RUN.run_url,
        "mat-17",
        None,
    )
    assert row.triggered_at is not None and row.completed_at is not None
    assert row.triggered_at.tzinfo == dt.timezone.utc and before <= row.triggered_at <= row.completed_at
    assert row.terminal and row.run() == LaunchedRun("DATABRICKS", "9001", RUN.run_url)


def test_a_terminal_row_never_moves_again(tracking: FreeportTracking) -> None:
    assert tracking.finish("b1", "geo", FAILED, "release timed out after 3600 s") is True
    assert tracking.finish("b1", "geo", COMPLETED) is False
    assert tracking.mark_running("b1", "geo") is False
    row = tracking.row("b1", "geo")
    assert row is not None and (row.status, row.error_message) == (FAILED, "release timed out after 3600 s")
    with pytest.raises(ValueError, match="finish takes completed or failed, not 'running'"):
        tracking.finish("b1", "geo", RUNNING)


def test_error_text_is_stored_scrubbed(tracking: FreeportTracking) -> None:
    SCRUBBER.register("tok-8f3a9c-secret")
    tracking.finish("b1", "geo", FAILED, "403 from https://freeport.example (Bearer tok-8f3a9c-secret)")
    row = tracking.row("b1", "geo")
    assert row is not None and row.error_message == "403 from https://freeport.example (Bearer ***)"


def test_rows_are_inserted_once_and_listed_per_batch(tracking: FreeportTracking) -> None:
    assert tracking.insert_pending("b1", "promo", "geo", "other_table") is False
    assert tracking.insert_pending("b1", "promo", "fx", "sandbox.promo_fx") is True
    assert tracking.insert_pending("b2", "promo", "geo", "sandbox.promo_geo") is True
    assert [(row.batch_id, row.module_name) for row in tracking.rows("b1")] == [("b1", "fx"), ("b1", "geo")]
    assert tracking.row("b1", "geo").table_name == "sandbox.promo_geo"  # type: ignore[union-attr]
    assert tracking.row("b1", "nope") is None and tracking.rows("b9") == []
    assert tracking.record_run("b1", "nope", RUN) is False


def test_batches_triggering_and_the_notice_claim(tracking: FreeportTracking) -> None:
    tracking.record_batch("b2", "promo", ["geo"])
    tracking.record_batch("x1", "other_demo", ["a"])
    assert tracking.finish_triggering("b1") is True
    assert tracking.finish_triggering("b1") is False
    batch = tracking.batch("b1")
    assert batch is not None and batch.modules_expected == ["geo", "fx"] and batch.notified_at is None
    assert batch.triggering_done_at is not None and batch.triggering_done_at.tzinfo == dt.timezone.utc
    assert [b.batch_id for b in tracking.open_batches("promo")] == ["b1", "b2"]
    assert tracking.claim_notice("b1") is True
    assert tracking.claim_notice("b1") is False
    assert [b.batch_id for b in tracking.open_batches("promo")] == ["b2"]
    assert tracking.release_notice("b1") is True  # sending failed: the next monitor gets to try
    assert tracking.claim_notice("b1") is True
    assert tracking.claim_notice("b9") is False and tracking.batch("b9") is None


def test_two_processes_claim_each_notice_once(store: ControlStore, store_spec: dict[str, Any]) -> None:
    tracking = FreeportTracking(store)
    for n in range(BATCHES):
        tracking.record_batch(f"b{n}", "promo", ["geo"])
    won = race(store_spec, "notice")
    assert set(won["p1"]).isdisjoint(won["p2"])
    assert sorted(won["p1"] + won["p2"]) == sorted(f"b{n}" for n in range(BATCHES))
    assert tracking.open_batches("promo") == []


def test_two_processes_creating_the_tables_at_once_both_succeed(store_spec: dict[str, Any]) -> None:
    won = race(store_spec, "notice")  # each creates the tables first; no batch exists, so none is claimed
    assert won == {"p1": [], "p2": []}
