"""The default lane's load_promos (local[2] + delta-rs) against the committed golden dump, from each source format.

``golden/load_promos.dump`` is what every lane must write for the shared input (`tests.engines.dumps`): this lane
makes it (``DWH_UPDATE_GOLDEN=1``, from the PARQUET source) and checks it; the Spark Delta lane, Spark 3.5, the
standalone cluster and s3a on moto compare with it byte for byte.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from dwh.jobs.load_promos.load_promos_job_factory import main
from tests.engines.dumps import GOLDEN, assert_matches_golden, canonical_dump, update_golden
from tests.jobs.load_promos.conftest import PG_TARGET, Targets, job_kwargs, write_source
from tests.jobs.load_promos.promo_cases import EXPECTED_ROWS, INPUT_ROWS

pytestmark = [pytest.mark.integration, pytest.mark.spark]


@pytest.mark.parametrize("source_kind", ["PARQUET", "DELTA", "CSV", "JDBC"])
def test_local_2_with_delta_rs_writes_the_golden_dump(
    spark: Any, tmp_path: Path, postgres_db: LocalPostgres, source_kind: str
) -> None:
    from dwh.platforms.spark import spark_has_delta

    assert spark.sparkContext.master == "local[2]" and not spark_has_delta(spark)  # the default lane: delta-rs
    targets = Targets(unity=tmp_path / "unity" / "promos", stage=tmp_path / "stage" / "promos", postgres=postgres_db)
    result = main(**job_kwargs(targets.config(write_source(source_kind, INPUT_ROWS, tmp_path, postgres_db))))
    assert result["rows_written"] == {"unity": len(EXPECTED_ROWS), "stage": len(EXPECTED_ROWS), "redshift": 6}
    dump = canonical_dump(targets.unity, targets.stage, postgres_db, PG_TARGET)

    if source_kind == "PARQUET":
        update_golden(dump)
    assert_matches_golden(dump, f"local[2] + delta-rs, {source_kind} source")
    assert dump.count('"promo_id": "P01"') == 3  # one row per target: the golden holds the rows
    assert dump.endswith("one instant in every row and target: True\n")


def test_a_dump_that_differs_fails_with_a_unified_diff() -> None:
    golden = GOLDEN.read_text(encoding="utf-8")
    changed = golden.replace('"promo_price": "19.8"', '"promo_price": "19.80001"', 1)
    assert changed != golden
    with pytest.raises(AssertionError) as failure:
        assert_matches_golden(changed, "a lane that rounds differently")
    message = str(failure.value)
    assert "--- load_promos.dump\n+++ a lane that rounds differently\n" in message
    assert '-{"created_by": "tests", "discount_pct": "10.0"' in message and '"promo_price": "19.80001"' in message
    assert_matches_golden(golden)  # the golden itself passes
