"""README.md's "Writing a new job" example, run as written: its two code blocks become a job package.

The blocks are taken from the README itself, so an example that stops matching the framework's API
fails here. Only the package name changes (``dwh.jobs.daily_sales`` -> ``readme_jobs.daily_sales``, as a
user's own package would be) and the job runs through ``generic_entry`` on local Spark.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from dwh.generic_entry import main

pytestmark = pytest.mark.spark

README = Path(__file__).resolve().parents[1] / "README.md"


def new_job_blocks() -> dict[str, str]:
    """File name -> code of the python blocks in the "Writing a new job" section."""
    section = README.read_text().split("## Writing a new job", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    files = {}
    for block in blocks:
        first = block.splitlines()[0]
        assert first.startswith("# dwh/jobs/daily_sales/"), first
        files[first.rsplit("/", 1)[1]] = block
    return files


def test_the_readme_job_example_runs_through_generic_entry(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = new_job_blocks()
    assert sorted(files) == ["daily_sales_job.py", "daily_sales_job_factory.py"]
    package = tmp_path / "code" / "readme_jobs" / "daily_sales"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    for name, code in files.items():
        (package / name).write_text(code.replace("dwh.jobs.daily_sales", "readme_jobs.daily_sales"))
    monkeypatch.syspath_prepend(str(tmp_path / "code"))
    monkeypatch.setenv("DWH_ALLOWED_MODULE_PREFIXES", "readme_jobs")

    source, target = tmp_path / "sales", tmp_path / "totals"
    rows = [(1, 10.0), (1, 5.0), (2, 7.5)]
    spark.createDataFrame(rows, "store_id int, amount double").write.parquet(str(source))
    config = {
        "extractor_config": {"strategy": "PARQUET", "source_table": str(source)},
        "loader_config": {"strategy": "PARQUET", "path": str(target), "mode": "overwrite"},
    }
    code = main(
        [
            "--module_name", "readme_jobs.daily_sales.daily_sales_job_factory",
            "--daily_sales_job", json.dumps(config),
            "--start_date", "2025-01-01", "--end_date", "2025-01-02",
        ]
    )  # fmt: skip
    assert code == 0
    totals = sorted(pq.read_table(target).to_pylist(), key=lambda row: row["store_id"])
    assert totals == [{"store_id": 1, "amount": 15.0}, {"store_id": 2, "amount": 7.5}]
