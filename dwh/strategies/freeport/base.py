"""The Freeport client contract: deliverables, materializations, release, and the wait for a release to end.

A Freeport *deliverable* is one module's table (``<demo_name>_<module>``), from its sandbox table to
its prod table; a *materialization* is one snapshot of the sandbox table that can be *released* to
prod. Every client's config model is also the client (as the strategies' are), selected by ``client``:

    client.prepare(context)                               # once per run (LAKEHOUSE needs Spark)
    deliverable_id = client.create_deliverable(name=..., demo_name=..., module_name=...,
                                               sandbox_table=..., prod_table=...)
    materialization = client.create_materialization(deliverable_id, source_table=..., idempotency_key=...)
    client.release(materialization.id); client.get(materialization.id)

Creating is idempotent: the same deliverable name gives the same id and the same idempotency key the
same materialization, so a re-launched release reuses what the first attempt made. `release_and_wait`
does the whole sequence and polls until the materialization is ``released`` or ``failed``, or raises
`FreeportError` when it is neither within the timeout. A `FreeportError` is permanent: the release fails
with its message (secrets already masked).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal, get_args

from dwh.config import StrictModel
from dwh.platforms.context import RunContext
from dwh.secrets import SCRUBBER

MaterializationStatus = Literal["created", "releasing", "released", "failed"]
STATUSES: tuple[str, ...] = get_args(MaterializationStatus)
#: The statuses after which a materialization never changes again.
TERMINAL_STATUSES = frozenset({"released", "failed"})


class FreeportError(RuntimeError):
    """A Freeport call or release failed for good; the message is the server's (secrets masked)."""

    def __init__(self, message: str, *, materialization_id: str | None = None) -> None:
        super().__init__(SCRUBBER.scrub(message))
        self.materialization_id = materialization_id


@dataclass(frozen=True)
class Materialization:
    """One snapshot of a sandbox table: its id, its status and, when it failed, the server's message."""

    id: str
    status: MaterializationStatus
    error: str | None = None

    @property
    def terminal(self) -> bool:
        """True once released or failed."""
        return self.status in TERMINAL_STATUSES


def checked_status(value: object, *, what: str) -> MaterializationStatus:
    """`value` as a `MaterializationStatus`, else a `FreeportError` naming what answered it."""
    if value not in STATUSES:
        raise FreeportError(f"{what} answered an unknown materialization status {value!r}")
    return value  # type: ignore[return-value]


@dataclass(frozen=True)
class Deliverable:
    """What `create_deliverable` takes: a module's table from its sandbox table to its prod table."""

    name: str
    demo_name: str
    module_name: str
    sandbox_table: str
    prod_table: str

    @classmethod
    def for_module(cls, *, demo_name: str, module_name: str, sandbox_table: str, prod_schema: str) -> Deliverable:
        """The DESIGN.md names: ``<demo>_<module>``, prod table ``<prod_schema>.<demo>_<module>``."""
        name = f"{demo_name}_{module_name}"
        return cls(
            name=name,
            demo_name=demo_name,
            module_name=module_name,
            sandbox_table=sandbox_table,
            prod_table=f"{prod_schema}.{name}",
        )


class FreeportClient(StrictModel, ABC):
    """Base of every Freeport client's config; the model is also the client."""

    kind: ClassVar[str]

    def prepare(self, context: RunContext) -> None:
        """Give the client the run's context before the first call (a no-op unless the client needs it)."""

    @abstractmethod
    def create_deliverable(
        self, *, name: str, demo_name: str, module_name: str, sandbox_table: str, prod_table: str
    ) -> str:
        """The deliverable's id; the same `name` always gives the same id."""

    @abstractmethod
    def create_materialization(
        self, deliverable_id: str, *, source_table: str, idempotency_key: str
    ) -> Materialization:
        """A materialization of `source_table`; the same `idempotency_key` gives the same materialization."""

    @abstractmethod
    def release(self, materialization_id: str) -> Materialization:
        """Start (or, for a synchronous client, do) the release; returns the status right after."""

    @abstractmethod
    def get(self, materialization_id: str) -> Materialization:
        """The materialization's current status (and error message when it failed)."""

    def describe(self) -> str:
        """A short, secret-free name of the client for logs."""
        return self.kind


def release_and_wait(
    client: FreeportClient,
    deliverable: Deliverable,
    *,
    idempotency_key: str,
    timeout_seconds: float,
    poll_seconds: float,
    materialization_id: str | None = None,
    on_materialized: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Materialization:
    """Create (or reuse) the deliverable and its materialization, release it, and poll until it ends.

    With `materialization_id` (a re-launched release that already has one) nothing is created: its
    status is read first and it is released only while still ``created``. `on_materialized` is called
    with the id as soon as it is known (before the release starts), so the caller can record it. Returns
    the ``released`` or ``failed`` materialization (a failed one carries the server's ``error``); raises
    `FreeportError` when a call fails for good or the release has not ended within `timeout_seconds`
    (counted from this call).
    """
    deadline = clock() + timeout_seconds
    if materialization_id is None:
        deliverable_id = client.create_deliverable(
            name=deliverable.name,
            demo_name=deliverable.demo_name,
            module_name=deliverable.module_name,
            sandbox_table=deliverable.sandbox_table,
            prod_table=deliverable.prod_table,
        )
        current = client.create_materialization(
            deliverable_id, source_table=deliverable.sandbox_table, idempotency_key=idempotency_key
        )
    else:
        current = client.get(materialization_id)
    if on_materialized is not None:
        on_materialized(current.id)
    if current.status == "created":
        current = client.release(current.id)
    while not current.terminal:
        remaining = deadline - clock()
        if remaining <= 0:
            raise FreeportError(
                f"materialization {current.id} not released within {timeout_seconds:g} s (still {current.status})",
                materialization_id=current.id,
            )
        sleep(min(poll_seconds, remaining))
        current = client.get(current.id)
    return current
