"""Freeport fan-out: 6 modules, each release taking L seconds, through the LOCAL launcher and the HTTP client.

Two figures, side by side in one run (``--rounds`` alternating rounds, medians):

- fan-out: seconds from the main job's end to the last release's completion, over L (goal <= 1.3: the
  releases run at once, "L each, not L x N"; sequential releases would give about 6);
- overhead: the main job's seconds with Freeport on (tracking rows + 6 launches) over the same job with
  ``--trigger_releases false`` (the modules built and their rows written, nothing launched; goal <= 1.05).

The Freeport service is the tests' HTTP stand-in (tests/stand_ins/freeport_api.py) on 127.0.0.1.
Results: ``bench/.results/freeport.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RESULTS = HERE / ".results"
MODULES = [f"m{i}" for i in range(6)]


def _config(work: Path, source: str, base_url: str, batch: str) -> dict[str, Any]:
    return {
        "modules": [
            {
                "name": name,
                "extractor_config": {"strategy": "PARQUET", "path": source},
                "sql": f"SELECT k % {7 + i} AS g, count(*) AS n, sum(v) AS v FROM source GROUP BY 1",
                "loader_config": {"strategy": "PARQUET", "path": str(work / batch / name), "mode": "overwrite"},
            }
            for i, name in enumerate(MODULES)
        ],
        "max_parallel_modules": 6,
        "freeport": {
            "client": {"client": "HTTP", "base_url": base_url, "token": "env:BENCH_FREEPORT_TOKEN"},
            "launcher": {"launcher": "LOCAL", "runs_dir": str(work / "runs")},
            "tracking": {"url": f"sqlite:///{work / 'control.db'}"},
            "release_timeout_seconds": 120,
            "poll_seconds": 0.25,
        },
    }


def _run_job(config: dict[str, Any], batch: str, *, trigger: bool) -> float:
    """The main job in-process (the session's Spark reused); ``--trigger_releases false`` when not triggering."""
    from dwh.jobs.freeport import parallel_modules_job_factory

    started = time.perf_counter()
    parallel_modules_job_factory.main(
        parallel_modules_job=json.dumps(config),
        demo_name="bench",
        batch_id=batch,
        trigger_releases=str(trigger).lower(),
        service_provider="LOCAL",
    )
    return time.perf_counter() - started


def _last_completion(work: Path, batch: str, wall_at_end: float) -> float:
    """Seconds from the main job's end until every release row is terminal (polling the tracking table)."""
    from dwh.control.store import ControlStoreConfig
    from dwh.control.tracking import FreeportTracking

    store = ControlStoreConfig(url=f"sqlite:///{work / 'control.db'}").open()
    tracking = FreeportTracking(store)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            rows = tracking.rows(batch)
            if len(rows) == len(MODULES) and all(row.terminal for row in rows):
                failed = [row.module_name for row in rows if row.status != "completed"]
                if failed:
                    raise RuntimeError(f"releases failed: {failed}")
                last = max(row.completed_at for row in rows if row.completed_at)
                return last.timestamp() - wall_at_end
            time.sleep(0.1)
        raise RuntimeError("releases did not complete within 120 s")
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    """Run the rounds, print the table, write the JSON."""
    parser = argparse.ArgumentParser(prog="bench_freeport")
    parser.add_argument("--rows", type=int, default=300_000, help="rows in the source table")
    parser.add_argument("--release-seconds", type=float, default=5.0, help="L: how long each release takes")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("DWH_SPARK_MASTER", "local[2]")
    os.environ.setdefault("DWH_SHUFFLE_PARTITIONS", "4")
    work = Path(tempfile.mkdtemp(prefix="bench-freeport-"))
    os.environ["DWH_WAREHOUSE_DIR"] = str(work / "warehouse")
    from dwh.logs import configure_logging
    from dwh.platforms.spark import local_session_builder
    from tests.stand_ins.freeport_api import FreeportApi

    configure_logging("WARNING")
    spark = local_session_builder("bench-freeport").getOrCreate()
    source = str(work / "source")
    spark.range(args.rows).selectExpr("id AS k", "rand(7) AS v").write.parquet(source)
    api = FreeportApi(release_seconds=args.release_seconds).start()
    os.environ["BENCH_FREEPORT_TOKEN"] = api.token
    on: list[float] = []
    off: list[float] = []
    fan_out: list[float] = []
    try:
        _run_job(_config(work, source, api.base_url, "warm"), "warm", trigger=False)  # untimed warm-up
        for index in range(args.rounds):
            for trigger in (True, False) if index % 2 == 0 else (False, True):
                batch = f"r{index}-{'on' if trigger else 'off'}"
                seconds = _run_job(_config(work, source, api.base_url, batch), batch, trigger=trigger)
                (on if trigger else off).append(seconds)
                if trigger:
                    fan_out.append(_last_completion(work, batch, time.time()))
    finally:
        api.stop()
        spark.stop()
    median_on, median_off, median_fan = (statistics.median(v) for v in (on, off, fan_out))
    ratios = {
        "fan_out_over_L": median_fan / args.release_seconds,
        "main_job_on_vs_off": statistics.median(a / b for a, b in zip(on, off, strict=True)),
    }
    print(f"{len(MODULES)} modules, {args.rows:,} rows each, L = {args.release_seconds:g} s, {args.rounds} rounds")
    print(f"{'main job, Freeport on':<34}{median_on:>8.2f} s   runs {', '.join(f'{v:.2f}' for v in on)}")
    print(f"{'main job, Freeport off':<34}{median_off:>8.2f} s   runs {', '.join(f'{v:.2f}' for v in off)}")
    print(
        f"{'main job end -> last release done':<34}{median_fan:>8.2f} s   runs {', '.join(f'{v:.2f}' for v in fan_out)}"
    )
    print(f"fan-out / L = {ratios['fan_out_over_L']:.2f} (goal <= 1.3; sequential ~{len(MODULES)})")
    print(f"main job on / off = {ratios['main_job_on_vs_off']:.3f} (goal <= 1.05)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "freeport.json").write_text(
        json.dumps({"on": on, "off": off, "fan_out": fan_out, "ratios": ratios}, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
