"""Shared cases for the file/Delta strategy tests: old rows, a source batch, the run window, what each mode must leave.

The run window is [2025-01-02, 2025-01-04). OLD holds ids 1-4 on days 1-4; SOURCE updates id 3,
adds id 5 (both in the window) and id 6 (outside it: an extractor with ``window_column`` drops it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dwh.platforms.context import RunContext
from dwh.platforms.spark_compat import to_arrow
from tests.strategies.contexts import local_context

UTC = dt.timezone.utc
SCHEMA = "id long, name string, day date, amount double, updated_at timestamp"
COLUMNS = ["id", "name", "day", "amount", "updated_at"]
START, END = dt.date(2025, 1, 2), dt.date(2025, 1, 4)
OLD = [(i, f"old-{i}", dt.date(2025, 1, i), float(i), dt.datetime(2025, 1, i, 8, 30, tzinfo=UTC)) for i in range(1, 5)]
SOURCE = [
    (3, "new-3", dt.date(2025, 1, 3), 33.5, dt.datetime(2025, 1, 3, 9, 15, 0, 123456, tzinfo=UTC)),
    (5, "new-5", dt.date(2025, 1, 2), 5.25, dt.datetime(2025, 1, 2, 23, 59, 59, tzinfo=UTC)),
    (6, "new-6", dt.date(2025, 1, 5), 6.0, dt.datetime(2025, 1, 5, 0, 0, tzinfo=UTC)),
]
#: The source rows an extractor with window_column "day" keeps.
IN_WINDOW = [row for row in SOURCE if START <= row[2] < END]
#: Every (loader strategy, mode) pair the file/Delta loaders support.
LOADER_MODES = [
    ("PARQUET", "append"),
    ("PARQUET", "overwrite"),
    ("PARQUET", "replace_window"),
    ("DELTA", "append"),
    ("DELTA", "overwrite"),
    ("DELTA", "replace_window"),
    ("DELTA", "merge"),
]


def run_context(start: dt.date | None = START, end: dt.date | None = END) -> RunContext:
    """A local run context with the test window."""
    return local_context(start, end, job_name="test_files")


def expected(mode: str, old: list[tuple[Any, ...]], new: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """What a target holding `old` must hold after loading `new` in `mode` (key: id, window column: day)."""
    if mode == "append":
        result = old + new
    elif mode == "overwrite":
        result = list(new)
    elif mode == "replace_window":
        result = [row for row in old if not START <= row[2] < END] + new
    elif mode == "merge":
        keys = {row[0] for row in new}
        result = [row for row in old if row[0] not in keys] + new
    else:
        raise AssertionError(mode)
    return sorted(result, key=lambda row: (row[0], row[1]))


def loader_block(strategy: str, mode: str, path: str, partition_by: list[str] | None = None) -> dict[str, Any]:
    """A loader config block for `mode` with the keys/window column it needs."""
    block: dict[str, Any] = {"strategy": strategy, "path": path, "mode": mode}
    if mode == "merge":
        block["keys"] = ["id"]
    if mode == "replace_window":
        block["window_column"] = "day"
    if partition_by:
        block["partition_by"] = partition_by
    return block


def build_loader(block: dict[str, Any]) -> Any:
    """The loader a config block selects through the registry's discriminated union (as a job config would)."""
    from pydantic import TypeAdapter

    from dwh.strategies.loaders.registry import LoaderConfig

    return TypeAdapter(LoaderConfig).validate_python(block)


def arrow_rows(table: Any) -> list[tuple[Any, ...]]:
    """Rows of an Arrow table as tuples in COLUMNS order, sorted by (id, name)."""
    rows = [tuple(row[name] for name in COLUMNS) for row in table.to_pylist()]
    return sorted(rows, key=lambda row: (row[0], row[1]))


def spark_rows(frame: Any) -> list[tuple[Any, ...]]:
    """Rows of a Spark DataFrame (through Arrow, so timestamps stay UTC-aware)."""
    return arrow_rows(to_arrow(frame.select(*COLUMNS)))


def delta_rows(path: str) -> list[tuple[Any, ...]]:
    """Rows of the Delta table at `path`, read by delta-rs itself (independently of our extractor)."""
    from deltalake import DeltaTable

    return arrow_rows(DeltaTable(path).to_pyarrow_table())


def target_rows(spark: Any, strategy: str, path: str) -> list[tuple[Any, ...]]:
    """Rows of a PARQUET directory (Spark's reader) or a DELTA table (delta-rs's reader)."""
    if strategy == "DELTA":
        return delta_rows(path)
    return spark_rows(spark.read.parquet(path))


#: The child of the SIGKILL tests: a real load of 200,000 rows in 8 Spark partitions, each handing over its
#: Arrow batches at a steady pace, so the write runs for several seconds and can be killed in its middle.
KILL_CHILD = """
import datetime as dt, json, sys, time
from pydantic import TypeAdapter
from dwh.platforms.context import RunContext
from dwh.platforms.detect import ServiceProvider
from dwh.platforms.spark import local_session_builder
from dwh.strategies.loaders.registry import LoaderConfig

spark = local_session_builder("kill-test").config("spark.sql.execution.arrow.maxRecordsPerBatch", "1000").getOrCreate()

def steady(batches):
    for batch in batches:
        yield batch
        time.sleep(0.05)

frame = (spark.range(0, 200_000, numPartitions=8)
         .selectExpr("id", "concat('new-', id) AS name", "DATE'2025-01-02' AS day")
         .mapInArrow(steady, "id long, name string, day date"))
loader = TypeAdapter(LoaderConfig).validate_python(json.loads(sys.argv[1]))
context = RunContext(job_name="kill", service_provider=ServiceProvider.LOCAL, run_ids={"run_id": "kill"},
                     start_date=dt.date(2025, 1, 2), end_date=dt.date(2025, 1, 3))
print("loading", flush=True)
print(loader.load(frame, context), flush=True)
"""
KILL_SCHEMA = "id long, name string, day date"


def run_and_kill(tmp_path: Any, block: dict[str, Any], *, started: Any, timeout: float = 240) -> str:
    """Run a load of KILL_CHILD in a child process; SIGKILL its process group once `started()`; return its log."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script, log = Path(tmp_path, "child.py"), Path(tmp_path, "child.log")
    script.write_text(KILL_CHILD)
    env = {**os.environ, "DWH_SPARK_MASTER": "local[2]", "PYSPARK_PYTHON": sys.executable, "PYTHONPATH": str(root)}
    with log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, str(script), json.dumps(block)],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while not started():
            if child.poll() is not None:
                raise AssertionError(
                    f"the load exited ({child.returncode}) before it was killed:\n{log.read_text()[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for the load to start writing:\n{log.read_text()[-3000:]}")
            time.sleep(0.05)
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    text = log.read_text()
    assert "LoadResult" not in text, "the load finished before it was killed"
    return text
