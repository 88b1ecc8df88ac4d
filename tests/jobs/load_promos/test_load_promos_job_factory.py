"""load_promos through the real ``generic_entry`` console script, as Airflow calls it: exit codes and notices."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SmtpSink
from tests.jobs.load_promos.conftest import Targets, email_channel
from tests.jobs.load_promos.promo_cases import INPUT_ROWS, WINDOW_END, WINDOW_START

ROOT = Path(__file__).resolve().parents[3]
ENTRY = ROOT / ".venv" / "bin" / "generic_entry"
MODULE = "dwh.jobs.load_promos.load_promos_job_factory"


def generic_entry(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the console script with a clean, local environment."""
    env = {**os.environ, "DWH_SPARK_MASTER": "local[2]", "DWH_SHUFFLE_PARTITIONS": "4", "DWH_LOG_LEVEL": "INFO"}
    env.pop("DWH_SERVICE_PROVIDER", None)
    return subprocess.run([str(ENTRY), *args], capture_output=True, text=True, env=env, cwd=cwd, check=False)


def test_print_config_schema_exits_0_with_the_json_schema(tmp_path: Path) -> None:
    done = generic_entry("--module_name", MODULE, "--print_config_schema", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    assert schema["title"] == "LoadPromosJobConfig"
    assert "expectations" in schema["properties"]


@pytest.mark.integration
def test_a_failing_fail_rule_exits_1_and_the_failure_notice_names_the_rule(
    tmp_path: Path, source: Callable[..., dict], targets: Targets, smtp_server: SmtpSink
) -> None:
    rows = [*INPUT_ROWS, {**INPUT_ROWS[0], "promo_id": None}]
    channel = email_channel(smtp_server.host, smtp_server.port)
    config = targets.config(
        source("PARQUET", rows), job_failed_notifications=channel, data_quality_notifications=channel
    )
    config_file = tmp_path / "load_promos_job.json"
    config_file.write_text(json.dumps(config))

    done = generic_entry(
        "--module_name", MODULE, "--load_promos_job", f"@{config_file}",
        "--start_date", WINDOW_START.isoformat(), "--end_date", WINDOW_END.isoformat(), "--created_by", "airflow",
        cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 1, done.stderr[-2000:]
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line == (
        "generic_entry: load_promos failed: ExpectationFailedError: data-quality rule with policy fail failed: "
        "promo_id_not_null (not_null(promo_id)): 1 failing rows"
    )
    subjects = [message["Subject"] for message in smtp_server.messages]
    assert [s.split(" (")[0] for s in subjects] == ["[dwh] load_promos FAILED", "[dwh] load_promos data-quality issues"]
    failure = smtp_server.messages[0].get_payload(decode=True).decode()
    assert "error: ExpectationFailedError: data-quality rule with policy fail failed: promo_id_not_null" in failure
    assert "quality promo_id_not_null [fail]: 1 failing rows (not_null(promo_id))" in failure
    assert "created_by: airflow" in failure
    assert not targets.unity.exists() and not targets.stage.exists()
