"""load_promos on Spark 3.5 + Spark Delta 3.3 writes the committed golden dump, byte for byte.

The same input and window as every other lane (`tests.engines.dumps`); the targets are read back by their own
clients (delta-rs, pyarrow, psycopg), never by the engine that wrote them. The Delta log's ``engineInfo`` shows
that Spark 3.5's Delta wrote the unity table, not delta-rs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from dwh.jobs.load_promos.load_promos_job_factory import main
from tests.engines.dumps import assert_matches_golden, canonical_dump
from tests.jobs.load_promos.conftest import PG_TARGET, Targets, job_kwargs, write_source
from tests.jobs.load_promos.promo_cases import EXPECTED_ROWS, INPUT_ROWS

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def engine_infos(table: Path) -> list[str]:
    """The ``commitInfo.engineInfo`` of every commit in the table's Delta log."""
    infos = []
    for commit in sorted((table / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "commitInfo" in action:
                infos.append(action["commitInfo"].get("engineInfo", "(none)"))
    return infos


def test_the_lane_session_is_spark_3_5_with_the_delta_3_3_jars(spark35_delta: Any) -> None:
    jars = spark35_delta.conf.get("spark.jars")
    assert spark35_delta.version.startswith("3.5.")
    assert "delta-spark_2.12-3.3." in jars and "delta-storage-3.3." in jars
    assert spark35_delta.conf.get("spark.sql.extensions") == "io.delta.sql.DeltaSparkSessionExtension"


@pytest.mark.parametrize("source_kind", ["PARQUET", "DELTA"])
def test_load_promos_on_spark_3_5_and_spark_delta_writes_the_golden_dump(
    spark35_delta: Any, tmp_path: Path, postgres_db: LocalPostgres, source_kind: str
) -> None:
    targets = Targets(unity=tmp_path / "unity" / "promos", stage=tmp_path / "stage" / "promos", postgres=postgres_db)
    result = main(**job_kwargs(targets.config(write_source(source_kind, INPUT_ROWS, tmp_path, postgres_db))))

    written = len(EXPECTED_ROWS)
    assert result["rows_written"] == {"unity": written, "stage": written, "redshift": written}
    infos = engine_infos(targets.unity)
    assert infos and all(info.startswith(f"Apache-Spark/{spark35_delta.version} Delta-Lake/3.3.") for info in infos)
    dump = canonical_dump(targets.unity, targets.stage, postgres_db, PG_TARGET)
    assert_matches_golden(dump, f"Spark {spark35_delta.version} + Spark Delta, {source_kind} source")
    assert dump.count('"promo_id": "P01"') == 3  # one row per target: the golden holds the rows
