"""load_promos on moto's S3 in the default lane: the delta-rs engine writes the DELTA target, Spark the PARQUET one.

The source (a Parquet object put with boto3, or a Delta table written by delta-rs) and both file targets are
``s3a://`` URIs; PostgreSQL stays local. From the PARQUET source the job runs twice (merge + replace_window on S3:
the same rows again). The
targets are read back over S3 by delta-rs and pyarrow, and their canonical dump must equal the committed golden
(``tests/engines/golden/load_promos.dump``) byte for byte. The Spark Delta lane's twin is
``tests/engines/delta/test_s3a_moto.py``.
"""

from __future__ import annotations

import pytest

from dwh.devtools.local_postgres import LocalPostgres
from dwh.jobs.load_promos.load_promos_job_factory import main
from tests.engines.dumps import assert_matches_golden, canonical_dump
from tests.engines.s3.conftest import Lake
from tests.engines.s3.promos_on_s3 import put_source, s3a_config
from tests.engines.s3.test_delta_on_s3 import commits
from tests.jobs.load_promos.conftest import job_kwargs

pytestmark = [pytest.mark.integration, pytest.mark.spark]


@pytest.mark.parametrize("source_kind", ["PARQUET", "DELTA"])
def test_load_promos_on_s3_with_delta_rs_writes_the_golden_dump(
    spark: object, s3_lake: Lake, postgres_db: LocalPostgres, source_kind: str
) -> None:
    source = put_source(s3_lake.bucket, source_kind, s3_lake.access.delta_options())
    config = s3a_config(s3_lake.bucket, source, postgres_db, "public.promos_s3")

    runs = 2 if source_kind == "PARQUET" else 1
    results = [main(**job_kwargs(config)) for _ in range(runs)]

    assert [result["rows_written"] for result in results] == [{"unity": 6, "stage": 6, "redshift": 6}] * runs
    unity = commits(s3_lake, "unity/promos")
    assert len(unity) == runs and all(str(item.get("clientVersion")).startswith("delta-rs") for item in unity), unity
    stage = [key for key in s3_lake.keys("stage/") if key != "stage/promos/_SUCCESS"]
    assert [key for key in stage if key.endswith(".parquet")]
    # Only the window's partition: no stage, journal or trash of the PARQUET commit is left beside it.
    assert all(key.startswith("stage/promos/load_window_start=2025-01-01/") for key in stage), stage
    dump = canonical_dump(
        config["unity_loader_config"]["path"], config["stage_loader_config"]["path"], postgres_db,
        "public.promos_s3", s3_lake.access,
    )  # fmt: skip
    assert_matches_golden(dump, f"s3a on moto, local[2] + delta-rs, {source_kind} source, {runs} run(s)")
