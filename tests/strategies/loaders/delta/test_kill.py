"""SIGKILL in the middle of a DELTA load (delta-rs engine): the table afterwards holds exactly the old rows.

A child process overwrites a Delta table holding old rows with 200,000 new rows streamed slowly by
8 Spark tasks. As soon as the first new Parquet data file appears in the table directory, the
whole process group (Python driver, JVM, Python workers) is SIGKILLed. Nothing was committed: the
table is still at its old version with its old rows, and the next load works normally.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.strategies.file_cases import KILL_SCHEMA, build_loader, run_and_kill, run_context

pytestmark = [pytest.mark.integration, pytest.mark.spark]

OLD = [(i, f"old-{i}", None) for i in range(1, 101)]


def table_rows(path: str) -> list[tuple[Any, ...]]:
    """(id, name) of every row, read by delta-rs."""
    from deltalake import DeltaTable

    return sorted((row["id"], row["name"]) for row in DeltaTable(path).to_pyarrow_table().to_pylist())


def test_sigkill_during_a_delta_write_leaves_exactly_the_old_rows(spark: Any, tmp_path: Path) -> None:
    from deltalake import DeltaTable

    target = tmp_path / "promos"
    block = {"strategy": "DELTA", "path": str(target), "mode": "overwrite"}
    build_loader(block).load(spark.createDataFrame(OLD, KILL_SCHEMA), run_context())
    old_files = set(target.glob("*.parquet"))
    old_rows, old_version = table_rows(str(target)), DeltaTable(str(target)).version()

    run_and_kill(tmp_path, block, started=lambda: bool(set(target.glob("*.parquet")) - old_files))

    assert set(target.glob("*.parquet")) - old_files  # the kill hit the write: new files were on disk
    assert DeltaTable(str(target)).version() == old_version
    assert table_rows(str(target)) == old_rows == [(i, f"old-{i}") for i in range(1, 101)]
    build_loader(block).load(spark.createDataFrame([(7, "after", None)], KILL_SCHEMA), run_context())
    assert table_rows(str(target)) == [(7, "after")]
