"""Shared pieces of the Freeport job tests: a source table, the main job's config, and running the three jobs.

The jobs run in-process through `dwh.generic_entry.main` (so the session's SparkSession is reused);
the release jobs they launch are real detached `generic_entry` processes (the LOCAL launcher).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dwh.control.store import ControlStoreConfig
from dwh.control.tracking import FreeportTracking, TrackingRow
from dwh.generic_entry import main
from tests.stand_ins.freeport_api import FreeportApi, freeport_api  # noqa: F401 - the fixture

MODULES = ("geo_analysis", "daily_totals", "top_products")
SQL = {
    "geo_analysis": "SELECT region, count(*) AS orders FROM source GROUP BY region",
    "daily_totals": "SELECT day, sum(amount) AS amount FROM source GROUP BY day",
    "top_products": "SELECT product, sum(amount) AS amount FROM source GROUP BY product ORDER BY amount DESC LIMIT 3",
}
ROWS = [
    {"region": region, "day": f"2025-01-0{1 + i % 3}", "product": f"p{i % 5}", "amount": float(i)}
    for i, region in enumerate(["north", "south", "east", "west"] * 5)
]


@pytest.fixture
def source_path(spark: Any, tmp_path: Path) -> str:
    """A small Parquet source all modules read."""
    path = str(tmp_path / "orders")
    spark.createDataFrame(ROWS).write.parquet(path)
    return path


@pytest.fixture
def http_api(freeport_api: FreeportApi, monkeypatch: pytest.MonkeyPatch) -> Iterator[FreeportApi]:  # noqa: F811
    """The Freeport stand-in, its token in the env var the config references (release processes inherit it)."""
    monkeypatch.setenv("DWH_TEST_FREEPORT_TOKEN", freeport_api.token)
    yield freeport_api


def main_config(
    work: Path, source: str, *, client: dict[str, Any], modules: tuple[str, ...] = MODULES, **freeport: Any
) -> dict[str, Any]:
    """The main job's config: PARQUET in, SQL, PARQUET sandbox tables out, LOCAL launcher, SQLite tracking."""
    return {
        "modules": [
            {
                "name": name,
                "extractor_config": {"strategy": "PARQUET", "path": source},
                "sql": SQL[name],
                "loader_config": {"strategy": "PARQUET", "path": str(work / "sandbox" / name), "mode": "overwrite"},
            }
            for name in modules
        ],
        "max_parallel_modules": 3,
        "freeport": {
            "client": client,
            "launcher": {"launcher": "LOCAL", "runs_dir": str(work / "runs")},
            "tracking": {"url": f"sqlite:///{work / 'control.db'}"},
            "release_timeout_seconds": 60,
            "poll_seconds": 0.2,
            **freeport,
        },
    }


def http_client(base_url: str) -> dict[str, Any]:
    """The HTTP client block pointing at the stand-in, token by reference."""
    return {"client": "HTTP", "base_url": base_url, "token": "env:DWH_TEST_FREEPORT_TOKEN"}


def run_main(config: dict[str, Any], batch_id: str, demo: str = "demo") -> int:
    """Run the main job as generic_entry would; returns the exit code."""
    return main(
        [
            "--module_name",
            "dwh.jobs.freeport.parallel_modules_job_factory",
            "--parallel_modules_job",
            json.dumps(config),
            "--demo_name",
            demo,
            "--batch_id",
            batch_id,
        ]
    )


def run_monitor(config: dict[str, Any], *extra: str, demo: str = "demo") -> int:
    """Run the monitor (the main job's whole config is accepted); returns the exit code."""
    argv = ["--module_name", "dwh.jobs.freeport.monitor_job_factory", "--monitor_job", json.dumps(config)]
    return main([*argv, "--demo_name", demo, *extra])


def tracking_rows(work: Path, batch_id: str) -> dict[str, TrackingRow]:
    """The batch's tracking rows by module, read from the SQLite store."""
    store = ControlStoreConfig(url=f"sqlite:///{work / 'control.db'}").open()
    try:
        return {row.module_name: row for row in FreeportTracking(store).rows(batch_id)}
    finally:
        store.close()
