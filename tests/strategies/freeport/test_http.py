"""HTTP Freeport client against the local stand-in: exact requests, reuse, retries, errors, timeouts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from dwh.config import validate_model
from dwh.secrets import SCRUBBER
from dwh.strategies.freeport import FreeportError, HttpFreeportClient, Materialization
from tests.stand_ins.freeport_api import FreeportApi

pytestmark = pytest.mark.integration

DELIVERABLE = {
    "name": "demo_geo_analysis",
    "demo_name": "demo",
    "module_name": "geo_analysis",
    "sandbox_table": "sandbox.demo_geo_analysis",
    "prod_table": "prod.demo_geo_analysis",
}


def http_client(api: FreeportApi, **extra: Any) -> HttpFreeportClient:
    """A validated HTTP client pointed at the stand-in with its token."""
    block = {"client": "HTTP", "base_url": api.base_url, "token": api.token, **extra}
    return validate_model(HttpFreeportClient, block, argument="--test")


def test_the_four_calls_send_the_documented_requests(freeport_api: FreeportApi) -> None:
    client = http_client(freeport_api)
    deliverable_id = client.create_deliverable(**DELIVERABLE)
    created = client.create_materialization(
        deliverable_id, source_table="sandbox.demo_geo_analysis", idempotency_key="batch-1:geo_analysis"
    )
    releasing = client.release(created.id)
    released = client.get(created.id)

    assert created == Materialization(id=created.id, status="created")
    assert releasing.status == "releasing"
    assert released == Materialization(id=created.id, status="released")
    seen = [(r.method, r.path, r.body) for r in freeport_api.requests]
    assert seen == [
        ("POST", "/deliverables", DELIVERABLE),
        (
            "POST",
            f"/deliverables/{deliverable_id}/materializations",
            {"source_table": "sandbox.demo_geo_analysis", "idempotency_key": "batch-1:geo_analysis"},
        ),
        ("POST", f"/materializations/{created.id}/release", None),
        ("GET", f"/materializations/{created.id}", None),
    ]
    for request in freeport_api.requests:
        assert request.headers["authorization"] == f"Bearer {freeport_api.token}"
        assert request.headers["accept"] == "application/json"
    posts = [r for r in freeport_api.requests if r.method == "POST"]
    assert all(r.headers["content-type"] == "application/json" for r in posts)
    assert json.loads(posts[0].raw_body) == DELIVERABLE


def test_same_name_and_same_key_are_reused(freeport_api: FreeportApi) -> None:
    client = http_client(freeport_api)
    first = client.create_deliverable(**DELIVERABLE)
    again = client.create_deliverable(**DELIVERABLE)
    other = client.create_deliverable(**{**DELIVERABLE, "name": "demo_sales", "module_name": "sales"})
    assert first == again != other

    key = "batch-1:geo_analysis"
    one = client.create_materialization(first, source_table="sandbox.t", idempotency_key=key)
    client.release(one.id)
    same = client.create_materialization(first, source_table="sandbox.t", idempotency_key=key)
    next_batch = client.create_materialization(first, source_table="sandbox.t", idempotency_key="batch-2:geo_analysis")
    assert same == Materialization(id=one.id, status="released")  # the existing one, as it is now
    assert next_batch.id != one.id and next_batch.status == "created"
    assert len(freeport_api.materializations("demo_geo_analysis")) == 2


def test_secret_reference_token_is_resolved_and_sent(freeport_api: FreeportApi, monkeypatch: Any) -> None:
    monkeypatch.setenv("FREEPORT_TOKEN", freeport_api.token)
    client = http_client(freeport_api, token="env:FREEPORT_TOKEN")
    client.create_deliverable(**DELIVERABLE)
    assert freeport_api.requests[0].headers["authorization"] == f"Bearer {freeport_api.token}"
    assert SCRUBBER.scrub(freeport_api.token) == "***"


@pytest.mark.parametrize("status", [429, 503])
def test_busy_answers_are_retried(freeport_api: FreeportApi, status: int) -> None:
    freeport_api.fail_next(2, status=status, error="busy", retry_after=0.1 if status == 429 else None)
    deliverable_id = http_client(freeport_api).create_deliverable(**DELIVERABLE)
    assert deliverable_id == freeport_api.deliverable_id("demo_geo_analysis")
    assert len(freeport_api.requests_to("POST", "/deliverables")) == 3


def test_retries_are_bounded_and_end_with_the_last_answer(freeport_api: FreeportApi) -> None:
    freeport_api.fail_next(5, status=503, error="maintenance until noon")
    with pytest.raises(FreeportError) as caught:
        http_client(freeport_api, retries=2).create_deliverable(**DELIVERABLE)
    assert str(caught.value) == (
        "Freeport did not answer POST /deliverables after 2 attempt(s): HTTP 503: maintenance until noon"
    )
    assert len(freeport_api.requests) == 2


def test_a_refused_connection_is_retried_then_fails(freeport_api: FreeportApi) -> None:
    client = http_client(freeport_api, retries=2)
    freeport_api.stop()
    with pytest.raises(FreeportError, match=r"did not answer POST /deliverables after 2 attempt\(s\): no connection"):
        client.create_deliverable(**DELIVERABLE)


@pytest.mark.parametrize(
    ("call", "status", "message"),
    [
        (lambda c: c.get("m-404"), 404, "no materialization m-404"),
        (lambda c: c.release("m-77"), 404, "no materialization m-77"),
        (lambda c: c.create_materialization("d-9", source_table="t", idempotency_key="k"), 404, "no deliverable d-9"),
        (
            lambda c: c.create_deliverable(**{**DELIVERABLE, "prod_table": ""}),
            400,
            "missing or empty field 'prod_table'",
        ),
    ],
    ids=["get", "release", "materialization", "deliverable"],
)
def test_other_errors_fail_at_once_with_the_servers_message(
    freeport_api: FreeportApi, call: Any, status: int, message: str
) -> None:
    with pytest.raises(FreeportError) as caught:
        call(http_client(freeport_api))
    assert f"HTTP {status}" in str(caught.value)
    assert str(caught.value).endswith(f": {message}")
    assert len(freeport_api.requests) == 1


def test_the_token_never_appears_in_an_error(freeport_api: FreeportApi) -> None:
    freeport_api.fail_next(1, status=400, error=f"bad request from Bearer {freeport_api.token}")
    with pytest.raises(FreeportError) as caught:
        http_client(freeport_api).create_deliverable(**DELIVERABLE)
    assert str(caught.value) == "Freeport answered HTTP 400 to POST /deliverables: bad request from Bearer ***"


def test_a_wrong_token_is_refused_with_the_servers_message(freeport_api: FreeportApi) -> None:
    client = validate_model(
        HttpFreeportClient,
        {"client": "HTTP", "base_url": freeport_api.base_url, "token": "not-the-token"},
        argument="--test",
    )
    with pytest.raises(FreeportError) as caught:
        client.create_deliverable(**DELIVERABLE)
    assert str(caught.value) == "Freeport answered HTTP 401 to POST /deliverables: missing or invalid bearer token"
    assert "not-the-token" not in repr(caught.value)


def test_a_failed_materialization_carries_the_servers_error(freeport_api: FreeportApi) -> None:
    freeport_api.fail_release("demo_geo_analysis", "prod table is locked by another release")
    client = http_client(freeport_api)
    created = client.create_materialization(
        client.create_deliverable(**DELIVERABLE), source_table="t", idempotency_key="k"
    )
    client.release(created.id)
    assert client.get(created.id) == Materialization(
        id=created.id, status="failed", error="prod table is locked by another release"
    )


def test_every_call_has_a_timeout(freeport_api: FreeportApi) -> None:
    freeport_api.delay_next(2, seconds=5)
    with pytest.raises(FreeportError) as caught:
        http_client(freeport_api, timeout_seconds=0.2, retries=2).create_deliverable(**DELIVERABLE)
    assert str(caught.value).startswith("Freeport did not answer POST /deliverables after 2 attempt(s): no answer")
    assert len(freeport_api.requests_to("POST", "/deliverables")) == 2


def test_a_slow_answer_within_retries_succeeds(freeport_api: FreeportApi) -> None:
    freeport_api.delay_next(1, seconds=5)
    client = http_client(freeport_api, timeout_seconds=0.5, retries=3)
    deliverable_id = client.create_deliverable(**DELIVERABLE)
    assert deliverable_id == freeport_api.deliverable_id("demo_geo_analysis")


def test_another_process_and_concurrent_threads_reach_the_same_stand_in(freeport_api: FreeportApi) -> None:
    script = (
        "import json, sys\n"
        "from dwh.strategies.freeport import HttpFreeportClient\n"
        "client = HttpFreeportClient(base_url=sys.argv[1], token='env:FREEPORT_TOKEN')\n"
        "print(client.create_deliverable(**json.loads(sys.argv[2])))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, freeport_api.base_url, json.dumps(DELIVERABLE)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "FREEPORT_TOKEN": freeport_api.token},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    client = http_client(freeport_api)
    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = set(pool.map(lambda _: client.create_deliverable(**DELIVERABLE), range(12)))
    assert ids == {done.stdout.strip()} == {freeport_api.deliverable_id("demo_geo_analysis")}
    assert len(freeport_api.requests_to("POST", "/deliverables")) == 13
