"""``python -m dwh.demo`` on a small dataset, as ``make demo`` runs it: a real subprocess, real targets."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dwh.demo.freeport import MODULES
from dwh.demo.report_table import Output, find_run_report, format_report

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo_dir() -> Iterator[Path]:
    """A directory the ``postgres`` user can reach (the demo starts PostgreSQL inside it)."""
    base = Path(tempfile.mkdtemp(prefix="dwh-demo-"))
    base.chmod(0o755)
    yield base / "demo"
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.integration
def test_the_demo_runs_the_job_through_generic_entry_and_prints_the_report(demo_dir: Path) -> None:
    env = {**os.environ, "DWH_SPARK_MASTER": "local[2]", "DWH_SHUFFLE_PARTITIONS": "4"}
    env.pop("DWH_SERVICE_PROVIDER", None)
    done = subprocess.run(
        [sys.executable, "-m", "dwh.demo", "--rows", "400", "--dir", str(demo_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "generic_entry --module_name dwh.jobs.load_promos.load_promos_job_factory" in out
    assert "load_promos succeeded in" in out
    # Seed 7, 400 rows: 191 rows in the window after dedupe; computed once from the generator's rows with pandas
    # (trim/upper, window, latest per promo_id, promo_price), independently of the job. promo_price_in_range
    # counts the 5 bad_promo_price rows, the 2 negative prices and the 4 unknown types (no promo_price).
    dropped = {
        rule: int(found.group(1))
        if (found := re.search(rf"^  {rule} +drop +(\d+) +rows dropped ", out, re.M))
        else None
        for rule in ("promo_type_accepted", "regular_price_positive", "promo_price_in_range", "end_not_before_start")
    }
    assert dropped == {
        "promo_type_accepted": 4,
        "regular_price_positive": 2,
        "promo_price_in_range": 11,
        "end_not_before_start": 3,
    }, out
    quality_out = int(re.search(r"^  quality +[\d,]+ +([\d,]+) ", out, re.MULTILINE).group(1).replace(",", ""))
    assert quality_out == 177  # 191 less the 14 rows failing at least one rule
    rows_now = {
        target: int(re.search(rf"^  {target} +.+? +([\d,]+)  ", out, re.MULTILINE).group(1).replace(",", ""))
        for target in ("unity", "stage", "redshift")
    }
    assert rows_now == {"unity": quality_out, "stage": quality_out, "redshift": quality_out}
    report = find_run_report((demo_dir / "run.log").read_text())
    assert report is not None and report["outcome"] == "succeeded"
    assert (demo_dir / "unity" / "promos" / "_delta_log").is_dir()
    _assert_freeport_part(out, demo_dir)


def _assert_freeport_part(out: str, demo_dir: Path) -> None:
    """The Freeport flow: one notice naming every module, all rows completed, prod = the released sandbox."""
    from deltalake import DeltaTable

    assert re.search(r"^  Freeport promos_demo batch demo-[0-9T]+: 3 completed, 0 failed$", out, re.MULTILINE), out
    for module in MODULES:
        assert re.search(rf"^  {module} +completed +[0-9.]+  demo-", out, re.MULTILINE), module
        sandbox = DeltaTable(str(demo_dir / "sandbox" / module)).to_pyarrow_table().to_pylist()
        prod_path = demo_dir / "warehouse" / "spark_catalog" / "prod" / f"promos_demo_{module}"
        prod = DeltaTable(str(prod_path)).to_pyarrow_table().to_pylist()
        key = sorted(sandbox[0])[0]
        assert sorted(prod, key=lambda r: str(r[key])) == sorted(sandbox, key=lambda r: str(r[key])), module


def test_the_report_table_shows_steps_rules_and_outputs() -> None:
    report = {
        "context": {"job_name": "load_promos", "start_date": "2025-01-01", "end_date": "2025-01-08",
                    "run_ids": {"run_id": "local-1"}},
        "outcome": "failed",
        "seconds": 12.345,
        "error": "ExpectationFailedError: promo_id_not_null",
        "steps": [{"name": "quality", "rows_in": 1200, "rows_out": 1000, "seconds": 3.5, "detail": {}}],
        "quality": [
            {"name": "promo_id_not_null", "rule": "not_null(promo_id)", "policy": "fail", "failing_rows": 2,
             "passed": False},
            {"name": "known", "rule": "accepted_values(t: A)", "policy": "drop", "failing_rows": 0, "passed": True},
        ],
    }  # fmt: skip
    text = format_report(report, [Output("unity", "DELTA merge on promo_id", "/x/unity", None)])
    assert text.splitlines()[0] == (
        "load_promos failed in 12.3 s  (window 2025-01-01 .. 2025-01-08, end exclusive; run local-1)"
    )
    assert "  quality    1,200     1,000     3.50" in text
    assert "  promo_id_not_null  fail          2  RUN STOPPED  not_null(promo_id)" in text
    assert "  known              drop          0  ok           accepted_values(t: A)" in text
    assert "error: ExpectationFailedError: promo_id_not_null" in text
    assert "  unity   DELTA merge on promo_id         -  /x/unity" in text


def test_find_run_report_takes_the_last_report_line() -> None:
    log = 'x INFO a: run_report {"outcome": "failed"}\nnoise\ny INFO a: run_report {"outcome": "succeeded"}\n'
    assert find_run_report(log) == {"outcome": "succeeded"}
    assert find_run_report("no report here") is None
