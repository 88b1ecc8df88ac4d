"""`release_and_wait` with the HTTP client and the stand-in: create or reuse, release once, poll, time out."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from dwh.config import validate_model
from dwh.strategies.freeport import Deliverable, FreeportError, HttpFreeportClient, Materialization, release_and_wait
from tests.stand_ins.freeport_api import FreeportApi

pytestmark = pytest.mark.integration

GEO = Deliverable.for_module(
    demo_name="demo", module_name="geo_analysis", sandbox_table="sandbox.demo_geo_analysis", prod_schema="gold"
)


@dataclass
class FakeClock:
    """A monotonic clock that only moves when `sleep` is called."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def http_client(api: FreeportApi) -> HttpFreeportClient:
    """A validated HTTP client pointed at the stand-in."""
    return validate_model(
        HttpFreeportClient, {"client": "HTTP", "base_url": api.base_url, "token": api.token}, argument="--test"
    )


def test_deliverable_names_follow_the_design() -> None:
    assert (
        Deliverable(
            name="demo_geo_analysis",
            demo_name="demo",
            module_name="geo_analysis",
            sandbox_table="sandbox.demo_geo_analysis",
            prod_table="gold.demo_geo_analysis",
        )
        == GEO
    )


def test_creates_releases_once_and_polls_until_released(freeport_api: FreeportApi) -> None:
    freeport_api.release_seconds = 0.3
    recorded: list[tuple[str, int]] = []

    def on_materialized(materialization_id: str) -> None:
        recorded.append((materialization_id, len(freeport_api.requests_to("POST", "/release"))))

    result = release_and_wait(
        http_client(freeport_api),
        GEO,
        idempotency_key="b1:geo_analysis",
        timeout_seconds=30,
        poll_seconds=0.05,
        on_materialized=on_materialized,
    )
    [stored] = freeport_api.materializations("demo_geo_analysis")
    assert result == Materialization(id=stored["id"], status="released")
    assert stored["idempotency_key"] == "b1:geo_analysis"
    assert stored["source_table"] == "sandbox.demo_geo_analysis"
    assert recorded == [(stored["id"], 0)]  # known before the release started
    assert len(freeport_api.requests_to("POST", "/release")) == 1
    assert len(freeport_api.requests_to("GET")) >= 1
    [deliverable] = freeport_api.requests_to("POST", "/deliverables")
    assert deliverable.body["prod_table"] == "gold.demo_geo_analysis"


def test_a_relaunched_release_reuses_its_materialization(freeport_api: FreeportApi) -> None:
    client = http_client(freeport_api)
    first = release_and_wait(client, GEO, idempotency_key="b1:geo_analysis", timeout_seconds=30, poll_seconds=0.01)
    again = release_and_wait(client, GEO, idempotency_key="b1:geo_analysis", timeout_seconds=30, poll_seconds=0.01)
    by_id = release_and_wait(
        client, GEO, idempotency_key="ignored", materialization_id=first.id, timeout_seconds=30, poll_seconds=0.01
    )
    assert first == again == by_id == Materialization(id=first.id, status="released")
    assert len(freeport_api.materializations()) == 1
    assert len(freeport_api.requests_to("POST", "/release")) == 1  # already released: not released again
    assert len(freeport_api.requests_to("POST", "/deliverables")) == 2  # the id-given run created nothing


def test_a_given_materialization_still_created_is_released(freeport_api: FreeportApi) -> None:
    client = http_client(freeport_api)
    created = client.create_materialization(
        client.create_deliverable(**GEO.__dict__), source_table=GEO.sandbox_table, idempotency_key="b1:geo"
    )
    result = release_and_wait(
        client, GEO, idempotency_key="b1:geo", materialization_id=created.id, timeout_seconds=30, poll_seconds=0.01
    )
    assert result == Materialization(id=created.id, status="released")
    assert len(freeport_api.requests_to("POST", f"/materializations/{created.id}/release")) == 1


def test_a_failed_release_returns_the_servers_error(freeport_api: FreeportApi) -> None:
    freeport_api.fail_release("demo_geo_analysis", "sandbox table has no rows")
    result = release_and_wait(
        http_client(freeport_api), GEO, idempotency_key="b1:geo", timeout_seconds=30, poll_seconds=0.01
    )
    assert result.status == "failed"
    assert result.error == "sandbox table has no rows"


def test_a_release_that_does_not_end_times_out(freeport_api: FreeportApi) -> None:
    freeport_api.release_seconds = 3600
    clock = FakeClock()
    with pytest.raises(FreeportError) as caught:
        release_and_wait(
            http_client(freeport_api),
            GEO,
            idempotency_key="b1:geo",
            timeout_seconds=25,
            poll_seconds=10,
            sleep=clock.sleep,
            clock=clock,
        )
    [stored] = freeport_api.materializations()
    assert str(caught.value) == f"materialization {stored['id']} not released within 25 s (still releasing)"
    assert caught.value.materialization_id == stored["id"]
    assert clock.sleeps == [10, 10, 5]
    assert len(freeport_api.requests_to("GET")) == 3


def test_the_real_clock_times_out_too(freeport_api: FreeportApi) -> None:
    freeport_api.release_seconds = 60
    with pytest.raises(FreeportError, match=r"not released within 0.2 s \(still releasing\)"):
        release_and_wait(http_client(freeport_api), GEO, idempotency_key="k", timeout_seconds=0.2, poll_seconds=0.05)
    assert [m["status"] for m in freeport_api.materializations()] == ["releasing"]
