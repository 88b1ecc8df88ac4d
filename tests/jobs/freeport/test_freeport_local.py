"""Freeport end to end on this machine: the main job, real detached release processes, the HTTP stand-in,
SQLite tracking, and the monitor's one completion notice delivered to a real aiosmtpd server."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from dwh.platforms.launchers.local import read_pid_record
from tests.conftest import SmtpSink
from tests.jobs.freeport.conftest import MODULES, http_client, main_config, run_main, run_monitor, tracking_rows
from tests.stand_ins.freeport_api import FreeportApi

pytestmark = [pytest.mark.spark, pytest.mark.integration]


def email_block(smtp: SmtpSink) -> dict[str, Any]:
    return {
        "notification_service": "EMAIL",
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "sender": "dwh@example.com",
        "recipients": ["team@example.com"],
        "security": "none",
    }


def message_text(message: Any) -> str:
    part = message.get_payload(0) if message.is_multipart() else message
    return str(part.get_payload(decode=True).decode())


def wait_until(condition: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.2)


def test_main_job_returns_while_releases_run_and_the_monitor_sends_one_notice(
    source_path: str, tmp_path: Path, http_api: FreeportApi, smtp_server: SmtpSink
) -> None:
    http_api.release_seconds = 10  # longer than the gap between the first and the last module finishing
    config = main_config(
        tmp_path,
        source_path,
        client=http_client(http_api.base_url),
        completion_notifications=[email_block(smtp_server)],
    )
    assert run_main(config, "b1") == 0
    rows = tracking_rows(tmp_path, "b1")
    assert sorted(rows) == sorted(MODULES)
    # The main job did not wait: right after it returned, no release has been released yet.
    assert not any(m["status"] == "released" for m in http_api.materializations())
    assert all(row.run_id and row.launcher == "LOCAL" for row in rows.values())

    assert run_monitor(config, "--batch_id", "b1", "--wait_seconds", "90") == 0
    rows = tracking_rows(tmp_path, "b1")
    assert {row.status for row in rows.values()} == {"completed"}
    assert {m["deliverable"] for m in http_api.materializations() if m["status"] == "released"} == {
        f"demo_{module}" for module in MODULES
    }
    assert len(smtp_server.messages) == 1
    notice = smtp_server.messages[0]
    assert notice["Subject"] == "[dwh] Freeport demo batch b1: 3 completed, 0 failed"
    text = message_text(notice)
    for module in MODULES:
        assert f"{module}: completed in" in text
    assert "fp-" not in text and http_api.token not in text

    # A second monitor run finds nothing to notify, and a re-run of the main job launches nothing again.
    assert run_monitor(config, "--batch_id", "b1") == 0
    before = len(http_api.requests_to("POST", "/materializations"))
    assert run_main(config, "b1") == 0
    assert len(os.listdir(tmp_path / "runs")) == len(MODULES)
    assert len(http_api.requests_to("POST", "/materializations")) == before
    assert len(smtp_server.messages) == 1


def test_a_failed_release_marks_only_its_row_and_the_notice_counts_it(
    source_path: str, tmp_path: Path, http_api: FreeportApi, smtp_server: SmtpSink
) -> None:
    http_api.fail_release("demo_daily_totals", "prod table is locked by a reader")
    config = main_config(
        tmp_path,
        source_path,
        client=http_client(http_api.base_url),
        completion_notifications=[email_block(smtp_server)],
    )
    assert run_main(config, "b2") == 0
    assert run_monitor(config, "--batch_id", "b2", "--wait_seconds", "90") == 1
    rows = tracking_rows(tmp_path, "b2")
    assert rows["daily_totals"].status == "failed"
    assert "prod table is locked by a reader" in (rows["daily_totals"].error_message or "")
    assert {rows[m].status for m in ("geo_analysis", "top_products")} == {"completed"}
    assert [m["Subject"] for m in smtp_server.messages] == ["[dwh] Freeport demo batch b2: 2 completed, 1 failed"]


def test_a_killed_release_process_is_found_by_the_monitor(
    source_path: str, tmp_path: Path, http_api: FreeportApi, smtp_server: SmtpSink
) -> None:
    http_api.release_seconds = 120  # the releases stay "releasing" until we kill one
    config = main_config(
        tmp_path,
        source_path,
        client=http_client(http_api.base_url),
        modules=("geo_analysis",),
        completion_notifications=[email_block(smtp_server)],
    )
    assert run_main(config, "b3") == 0
    run_dir = tmp_path / "runs" / os.listdir(tmp_path / "runs")[0]
    wait_until(lambda: tracking_rows(tmp_path, "b3")["geo_analysis"].status == "running")
    record = read_pid_record(run_dir)
    assert record is not None
    os.kill(record[0], signal.SIGKILL)
    assert run_monitor(config, "--batch_id", "b3", "--wait_seconds", "30") == 1
    row = tracking_rows(tmp_path, "b3")["geo_analysis"]
    assert row.status == "failed"
    assert "process ended without an exit code" in (row.error_message or "")
    assert len(smtp_server.messages) == 1


def test_a_module_that_fails_to_build_gets_no_release_and_the_others_do(
    source_path: str, tmp_path: Path, http_api: FreeportApi, smtp_server: SmtpSink
) -> None:
    config = main_config(
        tmp_path,
        source_path,
        client=http_client(http_api.base_url),
        completion_notifications=[email_block(smtp_server)],
    )
    config["modules"][1]["sql"] = "SELECT no_such_column FROM source"  # parses; fails when the module runs
    assert run_main(config, "b4") == 1
    rows = tracking_rows(tmp_path, "b4")
    assert sorted(rows) == ["geo_analysis", "top_products"]  # daily_totals: no row, no release
    assert run_monitor(config, "--batch_id", "b4", "--wait_seconds", "60") == 1
    assert {row.status for row in tracking_rows(tmp_path, "b4").values()} == {"completed"}
    [notice] = smtp_server.messages
    assert notice["Subject"] == "[dwh] Freeport demo batch b4: 2 completed, 1 failed"
    assert "daily_totals: not built (no release)" in message_text(notice)
    assert {m["deliverable"] for m in http_api.materializations()} == {"demo_geo_analysis", "demo_top_products"}


def test_trigger_releases_false_writes_the_rows_and_launches_nothing(
    source_path: str, tmp_path: Path, http_api: FreeportApi
) -> None:
    from dwh.generic_entry import main

    config = main_config(tmp_path, source_path, client=http_client(http_api.base_url))
    argv = ["--module_name", "dwh.jobs.freeport.parallel_modules_job_factory", "--parallel_modules_job"]
    argv += [json.dumps(config), "--demo_name", "demo", "--batch_id", "b5", "--trigger_releases", "false"]
    assert main(argv) == 0
    rows = tracking_rows(tmp_path, "b5")
    assert sorted(rows) == sorted(MODULES) and {row.status for row in rows.values()} == {"pending"}
    assert not (tmp_path / "runs").exists() and http_api.requests == []
