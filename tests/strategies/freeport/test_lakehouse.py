"""LAKEHOUSE Freeport client on local Spark (the delta-rs engine): prod is the sandbox at the released version.

Tables are read back by delta-rs itself (`delta_rows`), independently of the client's own reads.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from dwh.config import validate_model
from dwh.strategies.freeport import (
    Deliverable,
    FreeportError,
    LakehouseFreeportClient,
    Materialization,
    release_and_wait,
)
from dwh.strategies.loaders.delta import DeltaLoader
from dwh.strategies.tables import local_table_path, warehouse_dir
from tests.strategies.contexts import local_context

pytestmark = [pytest.mark.integration, pytest.mark.spark]

SCHEMA = "id long, region string"
FIRST = [(1, "north"), (2, "south")]
SECOND = [(3, "north")]
THIRD = [(4, "east"), (5, "west")]


def delta_rows(path: str) -> list[tuple[Any, ...]]:
    """The (id, region) rows of the Delta table at `path`, sorted, read by delta-rs itself."""
    from deltalake import DeltaTable

    return sorted((row["id"], row["region"]) for row in DeltaTable(path).to_pyarrow_table().to_pylist())


def lakehouse(spark: Any) -> LakehouseFreeportClient:
    """A validated, prepared LAKEHOUSE client on the local run context."""
    client = validate_model(LakehouseFreeportClient, {"client": "LAKEHOUSE"}, argument="--test")
    client.prepare(local_context())
    return client


def write_sandbox(spark: Any, table: str, rows: list[tuple[Any, ...]], mode: str) -> None:
    """Write `rows` to the sandbox table through the DELTA loader, partitioned by region."""
    loader = DeltaLoader.model_validate({"table": table, "mode": mode, "partition_by": ["region"]})
    loader.load(spark.createDataFrame(rows, SCHEMA), local_context())


def module(spark: Any) -> tuple[Deliverable, str, str]:
    """A fresh module's deliverable and the directories of its sandbox and prod tables."""
    name = f"m{uuid.uuid4().hex[:8]}"
    deliverable = Deliverable.for_module(
        demo_name="demo", module_name=name, sandbox_table=f"sandbox.demo_{name}", prod_schema="prod"
    )
    warehouse = warehouse_dir(spark)
    return (
        deliverable,
        local_table_path(deliverable.sandbox_table, warehouse),
        local_table_path(deliverable.prod_table, warehouse),
    )


def release(client: LakehouseFreeportClient, deliverable: Deliverable, key: str, **extra: Any) -> Materialization:
    """`release_and_wait` with short polling."""
    return release_and_wait(client, deliverable, idempotency_key=key, timeout_seconds=600, poll_seconds=0.1, **extra)


def test_prod_is_the_sandbox_at_the_released_version(spark: Any) -> None:
    from deltalake import DeltaTable

    deliverable, sandbox_path, prod_path = module(spark)
    write_sandbox(spark, deliverable.sandbox_table, FIRST, "overwrite")
    write_sandbox(spark, deliverable.sandbox_table, SECOND, "append")  # sandbox version 1
    client = lakehouse(spark)

    first = release(client, deliverable, "b1:geo")

    assert first == Materialization(id=f"delta:{sandbox_path}@v1=>{deliverable.prod_table}", status="released")
    assert delta_rows(prod_path) == sorted(FIRST + SECOND)
    assert DeltaTable(prod_path).metadata().partition_columns == ["region"]
    assert client.get(first.id) == first

    write_sandbox(spark, deliverable.sandbox_table, THIRD, "append")  # sandbox version 2: prod unchanged
    assert delta_rows(prod_path) == sorted(FIRST + SECOND)
    assert (
        client.create_materialization(
            client.create_deliverable(**deliverable.__dict__),
            source_table=deliverable.sandbox_table,
            idempotency_key="b1:geo",
        )
        == first
    )  # same key, same materialization, although the sandbox moved on

    second = release(client, deliverable, "b2:geo")
    assert second.id == f"delta:{sandbox_path}@v2=>{deliverable.prod_table}"
    assert delta_rows(prod_path) == sorted(FIRST + SECOND + THIRD)
    assert DeltaTable(prod_path).version() == 1  # one commit per release


def test_a_relaunched_release_in_a_new_process_rewrites_the_materialized_version(spark: Any) -> None:
    deliverable, _, prod_path = module(spark)
    write_sandbox(spark, deliverable.sandbox_table, FIRST, "overwrite")
    first = release(lakehouse(spark), deliverable, "b1:geo")
    write_sandbox(spark, deliverable.sandbox_table, THIRD, "overwrite")
    release(lakehouse(spark), deliverable, "b2:geo")
    assert delta_rows(prod_path) == sorted(THIRD)

    fresh = lakehouse(spark)  # what a re-launched release process has: only the id from the tracking row
    assert fresh.get(first.id) == Materialization(id=first.id, status="created")
    again = release(fresh, deliverable, "b1:geo", materialization_id=first.id)
    assert again == Materialization(id=first.id, status="released")
    assert delta_rows(prod_path) == sorted(FIRST)


def test_a_parquet_sandbox_is_read_as_it_is(spark: Any, tmp_path: Path) -> None:
    sandbox = str(tmp_path / "sandbox parquet@1")
    spark.createDataFrame(FIRST, SCHEMA).write.parquet(sandbox)
    prod = str(tmp_path / "prod")
    deliverable = Deliverable(name="demo_p", demo_name="demo", module_name="p", sandbox_table=sandbox, prod_table=prod)

    result = release(lakehouse(spark), deliverable, "b1:p")

    assert result.status == "released"
    assert result.id == f"parquet:{sandbox.replace(' ', '%20').replace('@', '%40')}=>{prod}"
    assert delta_rows(prod) == sorted(FIRST)


def test_a_version_that_is_gone_fails_the_release_with_the_reason(spark: Any) -> None:
    deliverable, sandbox_path, _ = module(spark)
    write_sandbox(spark, deliverable.sandbox_table, FIRST, "overwrite")
    client = lakehouse(spark)
    result = client.release(f"delta:{sandbox_path}@v7=>{deliverable.prod_table}")
    assert result.status == "failed"
    assert result.error == f"ValueError: DELTA {sandbox_path}: version 7 does not exist (latest is 0)"
    assert client.get(result.id) == result


def test_a_sandbox_that_is_not_a_table_is_refused_when_materialized(spark: Any, tmp_path: Path) -> None:
    client = lakehouse(spark)
    deliverable_id = client.create_deliverable(
        name="demo_x", demo_name="demo", module_name="x", sandbox_table="sandbox.nothing_here", prod_table="prod.x"
    )
    with pytest.raises(FreeportError, match=r"sandbox/nothing_here is neither a Delta table nor readable Parquet"):
        client.create_materialization(deliverable_id, source_table="sandbox.nothing_here", idempotency_key="k")


@pytest.mark.parametrize("bad", ["prod.x", "delta:/a@v1", "parquet:/a@v1=>prod.x", "delta:/a=>prod.x"])
def test_ids_that_are_not_lakehouse_materializations_are_refused(spark: Any, bad: str) -> None:
    with pytest.raises(FreeportError, match="is not a LAKEHOUSE materialization id"):
        lakehouse(spark).get(bad)


def test_the_client_needs_the_run_context() -> None:
    client = LakehouseFreeportClient()
    deliverable_id = client.create_deliverable(
        name="demo_x", demo_name="demo", module_name="x", sandbox_table="sandbox.x", prod_table="prod.x"
    )
    with pytest.raises(RuntimeError, match=r"call prepare\(context\) before using it"):
        client.create_materialization(deliverable_id, source_table="sandbox.x", idempotency_key="k")
