"""load_promos end to end on Spark Delta and on delta-rs: the same input gives byte-identical target dumps.

Both runs are in-process (``main(**kwargs)`` as generic_entry calls it) on this lane's session: once with Spark's
own Delta, once with the strategies switched to delta-rs, each into fresh targets; each source format that
touches Delta (a DELTA source, read by either engine) is covered. Both dumps must equal the committed golden
(``tests/engines/golden/load_promos.dump``, made by the default lane), byte for byte.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from dwh.jobs.load_promos.load_promos_job_factory import main
from tests.engines.delta.engine_switch import delta_rs_engine
from tests.engines.dumps import assert_matches_golden, canonical_dump
from tests.jobs.load_promos.conftest import PG_TARGET, Targets, job_kwargs, write_source
from tests.jobs.load_promos.promo_cases import EXPECTED_ROWS, INPUT_ROWS

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def run_load_promos(directory: Path, postgres: LocalPostgres, source_kind: str) -> tuple[dict[str, Any], str]:
    """One load_promos run into fresh targets under `directory`; its result and the targets' canonical dump."""
    import psycopg

    with psycopg.connect(postgres.conninfo, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {PG_TARGET}")
    directory.mkdir()
    targets = Targets(unity=directory / "unity" / "promos", stage=directory / "stage" / "promos", postgres=postgres)
    result = main(**job_kwargs(targets.config(write_source(source_kind, INPUT_ROWS, directory, postgres))))
    return result, canonical_dump(targets.unity, targets.stage, postgres, PG_TARGET)


@pytest.mark.parametrize("source_kind", ["PARQUET", "DELTA"])
def test_spark_delta_and_delta_rs_write_identical_targets(
    delta_spark: Any, tmp_path: Path, postgres_db: LocalPostgres, source_kind: str
) -> None:
    spark_result, spark_dump = run_load_promos(tmp_path / "spark_delta", postgres_db, source_kind)
    with delta_rs_engine():
        rs_result, rs_dump = run_load_promos(tmp_path / "delta_rs", postgres_db, source_kind)
    written = {"unity": len(EXPECTED_ROWS), "stage": len(EXPECTED_ROWS), "redshift": len(EXPECTED_ROWS)}
    assert spark_result["rows_written"] == rs_result["rows_written"] == written
    assert_matches_golden(spark_dump, f"local[2] + Spark Delta, {source_kind} source")
    assert_matches_golden(rs_dump, f"local[2] + delta-rs on the Delta lane's session, {source_kind} source")
    assert spark_dump.count('"promo_id": "P01"') == 3  # one row per target: the dump holds the rows
    assert spark_dump.endswith("one instant in every row and target: True\n")
    assert '"updated_at": "timestamp[us, tz=UTC]"' in spark_dump  # the Delta and Parquet targets are UTC-aware
