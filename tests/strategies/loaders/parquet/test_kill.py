"""SIGKILL in the middle of a PARQUET load: the directory afterwards holds exactly the old rows.

A child process replaces the window partition of a Parquet directory holding old rows, with 200,000
new rows streamed slowly by 8 Spark tasks. As soon as Spark's first data file appears in the hidden
stage beside the target, the whole process group is SIGKILLed. The target is untouched; the next
load sweeps the stage the killed one left.

On Spark Connect (the Connect lane: the child is a client of the lane's server) the kill ends the client
only: the server finishes the write into the hidden stage, which nothing commits, so the target still
holds the old rows once the server is done, and the next load sweeps that stage too.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest

from dwh.platforms.spark_connect import is_connect
from tests.strategies.file_cases import KILL_SCHEMA, build_loader, run_and_kill, run_context

pytestmark = [pytest.mark.integration, pytest.mark.spark]

OLD = [(i, f"old-{i}", dt.date(2025, 1, 1 + i % 3)) for i in range(1, 101)]


def directory_rows(spark: Any, path: Path) -> list[tuple[Any, ...]]:
    """(id, name, day) of every row Spark reads from the directory."""
    frame = spark.read.parquet(str(path))
    return sorted((row["id"], row["name"], row["day"]) for row in frame.collect())


def staged_files(tmp_path: Path) -> list[Path]:
    """Data files in hidden stage directories beside the target."""
    return [p for stage in tmp_path.glob(".promos.dwh-stage-*") for p in stage.rglob("*.parquet")]


def wait_for_server_side_write(tmp_path: Path, timeout: float = 240) -> None:
    """Spark Connect: wait until the server has finished the killed client's write (Spark's _SUCCESS in the stage)."""
    deadline = time.monotonic() + timeout
    while not list(tmp_path.glob(".promos.dwh-stage-*/_SUCCESS")):
        assert time.monotonic() < deadline, "the server never finished the killed client's write"
        time.sleep(0.2)


def test_sigkill_during_a_parquet_write_leaves_exactly_the_old_rows(spark: Any, tmp_path: Path) -> None:
    target = tmp_path / "promos"
    block = {
        "strategy": "PARQUET", "path": str(target), "mode": "replace_window",
        "window_column": "day", "partition_by": ["day"],
    }  # fmt: skip
    build_loader({**block, "mode": "overwrite"}).load(spark.createDataFrame(OLD, KILL_SCHEMA), run_context())
    old_rows = directory_rows(spark, target)

    run_and_kill(tmp_path, block, started=lambda: bool(staged_files(tmp_path)))

    assert staged_files(tmp_path)  # the kill hit the write: Spark's files were on disk
    assert directory_rows(spark, target) == old_rows == sorted(OLD)
    if is_connect(spark):
        wait_for_server_side_write(tmp_path)
        assert directory_rows(spark, target) == old_rows  # the stage was finished, never published
    new = [(7, "after", dt.date(2025, 1, 2))]
    build_loader(block).load(spark.createDataFrame(new, KILL_SCHEMA), run_context())
    assert not list(tmp_path.glob(".promos.dwh-*"))  # the killed load's stage was swept
    expected = sorted([row for row in OLD if row[2] == dt.date(2025, 1, 1)] + new)  # window [01-02, 01-04)
    assert directory_rows(spark, target) == expected
