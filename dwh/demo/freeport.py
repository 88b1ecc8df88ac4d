"""The demo's second part: the Freeport flow on the embedded default, offline.

Three modules built concurrently from the generated promotions (PARQUET in, SQL, DELTA sandbox tables
out), one release each through the LOCAL launcher (detached ``generic_entry`` processes) and the
LAKEHOUSE client (the prod table becomes the sandbox's Delta version), SQLite tracking in the demo dir;
then the monitor waits, and the demo prints its completion notice and the tracking table.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from dwh.control.store import ControlStoreConfig
from dwh.control.tracking import FreeportTracking, TrackingRow

MODULES = {
    "by_retailer": "SELECT retailer, count(*) AS promos FROM source GROUP BY retailer",
    "by_promo_type": (
        "SELECT promo_type, count(*) AS promos, avg(regular_price) AS avg_price FROM source GROUP BY promo_type"
    ),
    "top_skus": "SELECT sku, count(*) AS promos FROM source GROUP BY sku ORDER BY promos DESC, sku LIMIT 10",
}
DEMO_NAME = "promos_demo"
NOTICE_LOGGER = "dwh.jobs.freeport.monitor_job: "


def freeport_config(base: Path) -> dict[str, Any]:
    """The main job's config (the monitor takes the same)."""
    return {
        "modules": [
            {
                "name": name,
                "extractor_config": {"strategy": "PARQUET", "source_table": str(base / "input")},
                "sql": sql,
                "loader_config": {"strategy": "DELTA", "path": str(base / "sandbox" / name), "mode": "overwrite"},
            }
            for name, sql in MODULES.items()
        ],
        "max_parallel_modules": 3,
        "freeport": {
            "client": {"client": "LAKEHOUSE"},
            "launcher": {"launcher": "LOCAL", "runs_dir": str(base / "freeport_runs")},
            "tracking": {"url": f"sqlite:///{base / 'dwh_control.db'}"},
            "release_timeout_seconds": 600,
            "poll_seconds": 2,
            "completion_notifications": [{"notification_service": "NOOP"}],
        },
    }


def run_freeport(base: Path, entry: list[str], batch_id: str) -> int:
    """Main job, then the monitor waiting for the releases; prints the notice and the tracking table."""
    config_file = base / "parallel_modules_job.json"
    config_file.write_text(json.dumps(freeport_config(base), indent=2) + "\n")
    env = {**os.environ, "DWH_WAREHOUSE_DIR": str(base / "warehouse"), "DWH_LOG_LEVEL": "INFO"}
    common = ["--demo_name", DEMO_NAME, "--batch_id", batch_id]
    main = [*entry, "--module_name", "dwh.jobs.freeport.parallel_modules_job_factory"]
    main += ["--parallel_modules_job", f"@{config_file}", *common]
    code = _run(main, base, env, "freeport_main.log")
    print(f"main job exit code {code}: modules built, releases triggered (not waited for)")
    monitor = [*entry, "--module_name", "dwh.jobs.freeport.monitor_job_factory"]
    monitor += ["--monitor_job", f"@{config_file}", *common, "--wait_seconds", "600"]
    monitor_code = _run(monitor, base, env, "freeport_monitor.log")
    print("\ncompletion notice:")
    print(_notice_text((base / "freeport_monitor.log").read_text()) or "  (none: see freeport_monitor.log)")
    print("\nfreeport_job_tracking:")
    print(format_tracking(_rows(base, batch_id)))
    return code or monitor_code


def _run(command: list[str], base: Path, env: dict[str, str], log_name: str) -> int:
    print("$ " + " ".join(part if " " not in part else repr(part) for part in command), flush=True)
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=base, check=False)
    (base / log_name).write_text(result.stdout + result.stderr)
    return result.returncode


def _notice_text(log: str) -> str | None:
    """The notice the monitor logged (its first line follows the logger name; the rest up to the next log line)."""
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if NOTICE_LOGGER in line and "Freeport " in line:
            body = [line.split(NOTICE_LOGGER, 1)[1]]
            for following in lines[index + 1 :]:
                if following[:4].isdigit() and " INFO " in following[:40]:
                    break
                body.append(following)
            return "\n".join(f"  {text}" for text in body if text.strip())
    return None


def _rows(base: Path, batch_id: str) -> list[TrackingRow]:
    store = ControlStoreConfig(url=f"sqlite:///{base / 'dwh_control.db'}").open()
    try:
        return FreeportTracking(store).rows(batch_id)
    finally:
        store.close()


def format_tracking(rows: list[TrackingRow]) -> str:
    """The tracking rows as a short table: module, status, seconds, run id."""
    lines = [f"  {'module':<15}{'status':<11}{'seconds':>8}  run"]
    for row in sorted(rows, key=lambda r: r.module_name):
        seconds = (
            f"{(row.completed_at - row.triggered_at).total_seconds():.1f}"
            if row.completed_at and row.triggered_at
            else "-"
        )
        lines.append(f"  {row.module_name:<15}{row.status:<11}{seconds:>8}  {row.run_id or '-'}")
        if row.error_message:
            lines.append(f"    error: {row.error_message}")
    return "\n".join(lines)
