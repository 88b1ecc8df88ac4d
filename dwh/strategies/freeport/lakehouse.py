"""LAKEHOUSE: a Freeport without a service: a materialization is a sandbox table version, a release overwrites prod.

    {"client": "LAKEHOUSE"}

* The deliverable is its prod table; its id is ``lakehouse:<prod table>``.
* A materialization is the sandbox table's current Delta version, fixed when it is created; its id
  says everything a later release needs, in any process: ``delta:<sandbox location>@v<N>=><prod table>``
  (a Parquet sandbox has no versions and is read as it is at release: ``parquet:<location>=><prod>``).
  Locations and names in the id are percent-encoded where they contain ``@``, ``=``, ``>`` or ``%``.
* The release reads the sandbox at that version (the DELTA extractor's time travel) and replaces the
  prod table with it through the DELTA loader in mode ``overwrite``: one commit, so a reader of prod
  sees the old version or the new one, never a mix, and a later sandbox write does not touch prod
  until the next release. The release is synchronous: ``release`` returns ``released`` (or ``failed``
  with the error), and ``get`` returns that. A materialization this client has not released reads
  ``created``; releasing it again (a re-launched release) rewrites prod with the same version.

Table names resolve as everywhere (`dwh.strategies.tables`): locally
``<warehouse>/<catalog>/<schema>/<table>``, the metastore's elsewhere. Both Delta engines work: Spark's
own Delta when the session has it, delta-rs otherwise. `prepare` must be called with the run's
context before the first call (it carries the SparkSession and the platform).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal
from urllib.parse import quote, unquote

from pydantic import PrivateAttr

from dwh.platforms.context import RunContext
from dwh.secrets import SCRUBBER
from dwh.strategies.freeport.base import FreeportClient, FreeportError, Materialization
from dwh.strategies.tables import Location, check_source, looks_like_path, resolve_table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

_DELIVERABLE = "lakehouse:"
_SNAPSHOT = re.compile(r"^(?P<format>delta|parquet):(?P<source>[^@=>]+)(?:@v(?P<version>[0-9]+))?=>(?P<prod>[^@=>]+)$")
#: How much of an engine's error message goes into a failed materialization (Spark's can be pages long).
ERROR_EXCERPT = 500


def _encode(value: str) -> str:
    return quote(value, safe="/:\\")


@dataclass(frozen=True)
class Snapshot:
    """What a LAKEHOUSE materialization id says: the sandbox location, its version (None: Parquet), the prod table."""

    source: str
    version: int | None
    prod: str

    @property
    def id(self) -> str:
        """The materialization id (see the module docstring)."""
        head = (
            f"delta:{_encode(self.source)}@v{self.version}"
            if self.version is not None
            else f"parquet:{_encode(self.source)}"
        )
        return f"{head}=>{_encode(self.prod)}"

    @classmethod
    def parse(cls, materialization_id: str) -> Snapshot:
        """The snapshot an id names; a `FreeportError` when it is not a LAKEHOUSE materialization id."""
        match = _SNAPSHOT.match(materialization_id)
        if match is None or (match["format"] == "delta") != (match["version"] is not None):
            raise FreeportError(f"{materialization_id!r} is not a LAKEHOUSE materialization id")
        version = int(match["version"]) if match["version"] is not None else None
        return cls(source=unquote(match["source"]), version=version, prod=unquote(match["prod"]))


class LakehouseFreeportClient(FreeportClient):
    """Releases a sandbox table version to its prod table inside the lakehouse itself (no service)."""

    kind: ClassVar[str] = "LAKEHOUSE"
    client: Literal["LAKEHOUSE"] = "LAKEHOUSE"
    _context: RunContext | None = PrivateAttr(None)
    _by_key: dict[tuple[str, str], Materialization] = PrivateAttr(default_factory=dict)
    _released: dict[str, Materialization] = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def prepare(self, context: RunContext) -> None:
        """Keep the run's context: its SparkSession reads and writes the tables, its platform resolves names."""
        self._context = context

    def create_deliverable(
        self, *, name: str, demo_name: str, module_name: str, sandbox_table: str, prod_table: str
    ) -> str:
        """``lakehouse:<prod_table>``: the deliverable is where its releases go."""
        _checked_name(prod_table, "prod_table")
        return _DELIVERABLE + _encode(prod_table)

    def create_materialization(
        self, deliverable_id: str, *, source_table: str, idempotency_key: str
    ) -> Materialization:
        """The sandbox's current version; the same key (in this client) gives the same one.

        A sandbox that is neither a Delta table nor readable Parquet is a `FreeportError`.
        """
        if not deliverable_id.startswith(_DELIVERABLE):
            raise FreeportError(f"{deliverable_id!r} is not a LAKEHOUSE deliverable id")
        prod = unquote(deliverable_id[len(_DELIVERABLE) :])
        with self._lock:
            known = self._by_key.get((deliverable_id, idempotency_key))
        if known is not None:
            return self._released.get(known.id, known)
        context = self._require_context()
        location = _location(_checked_name(source_table, "source_table"), context)
        try:
            version = _current_version(location, context)
        except Exception as exc:  # e.g. a table name the metastore does not know
            raise FreeportError(
                f"LAKEHOUSE: cannot read the version of {location.describe()} ({_error_text(exc)})"
            ) from None
        snapshot = Snapshot(source=location.path or str(location.table), version=version, prod=prod)
        if version is None:
            _check_parquet(snapshot, context)
        created = Materialization(id=snapshot.id, status="created")
        with self._lock:
            return self._by_key.setdefault((deliverable_id, idempotency_key), created)

    def release(self, materialization_id: str) -> Materialization:
        """Overwrite the prod table with the snapshot, in one commit; ``released``, or ``failed`` with the error."""
        snapshot = Snapshot.parse(materialization_id)
        context = self._require_context()
        try:
            _overwrite_prod(snapshot, context)
            outcome = Materialization(id=materialization_id, status="released")
        except Exception as exc:
            outcome = Materialization(id=materialization_id, status="failed", error=_error_text(exc))
        with self._lock:
            self._released[materialization_id] = outcome
        return outcome

    def get(self, materialization_id: str) -> Materialization:
        """The outcome of this client's release of it, else ``created``."""
        with self._lock:
            known = self._released.get(materialization_id)
        if known is not None:
            return known
        Snapshot.parse(materialization_id)
        return Materialization(id=materialization_id, status="created")

    def _require_context(self) -> RunContext:
        if self._context is None:
            raise RuntimeError("LAKEHOUSE Freeport client: call prepare(context) before using it")
        return self._context


def _checked_name(value: str, field: str) -> str:
    try:
        return check_source(value)
    except ValueError as exc:
        raise FreeportError(f"LAKEHOUSE {field}: {exc}") from None


def _location(name: str, context: RunContext) -> Location:
    """A path as it is; a table name resolved on the run's platform."""
    return Location(path=name) if looks_like_path(name) else resolve_table(name, context)


def _as_location(value: str) -> Location:
    return Location(path=value) if looks_like_path(value) else Location(table=value)


def _current_version(location: Location, context: RunContext) -> int | None:
    """The Delta table's latest version, or None when the location holds no Delta table."""
    from dwh.platforms.spark import spark_has_delta

    spark = context.spark
    if spark_has_delta(spark):
        try:
            rows = spark.sql(f"DESCRIBE HISTORY {location.delta_reference()} LIMIT 1").collect()
        except Exception:  # not a Delta table: read as Parquet
            return None
        return int(rows[0]["version"]) if rows else None
    from dwh.strategies import delta_rs
    from dwh.strategies.tables import require_path

    path = require_path(location, spark)
    if not delta_rs.table_exists(path):
        return None
    return int(delta_rs.open_table(path).version())


def _partition_columns(snapshot: Snapshot, context: RunContext) -> list[str] | None:
    """The sandbox's partition columns (the prod table is written with the same), None when it has none."""
    from dwh.platforms.spark import spark_has_delta

    if snapshot.version is None:
        return None
    spark = context.spark
    location = _as_location(snapshot.source)
    if spark_has_delta(spark):
        detail = spark.sql(f"DESCRIBE DETAIL {location.delta_reference()}").collect()
        columns = list(detail[0]["partitionColumns"] or []) if detail else []
    else:
        from dwh.strategies import delta_rs
        from dwh.strategies.tables import require_path

        table = delta_rs.open_table(require_path(location, spark), version=snapshot.version)
        columns = list(table.metadata().partition_columns)
    return columns or None


def _read_snapshot(snapshot: Snapshot, context: RunContext) -> DataFrame:
    """The sandbox at the snapshot's version (a Parquet sandbox as it is now)."""
    from dwh.strategies.extractors.delta import DeltaExtractor
    from dwh.strategies.extractors.parquet import ParquetExtractor

    where = {"path": snapshot.source} if looks_like_path(snapshot.source) else {"table": snapshot.source}
    if snapshot.version is None:
        return ParquetExtractor.model_validate(where).read(context.spark, context)
    return DeltaExtractor.model_validate({**where, "version": snapshot.version}).read(context.spark, context)


def _check_parquet(snapshot: Snapshot, context: RunContext) -> None:
    """A sandbox that is not Delta must at least be readable Parquet (else nothing could ever be released)."""
    try:
        _read_snapshot(snapshot, context).schema  # noqa: B018 - resolving the schema lists and opens the files
    except Exception as exc:
        raise FreeportError(
            f"LAKEHOUSE: {snapshot.source} is neither a Delta table nor readable Parquet ({_error_text(exc)})"
        ) from None


def _overwrite_prod(snapshot: Snapshot, context: RunContext) -> None:
    from dwh.strategies.loaders.delta import DeltaLoader

    frame = _read_snapshot(snapshot, context)
    target = {"path": snapshot.prod} if looks_like_path(snapshot.prod) else {"table": snapshot.prod}
    loader = DeltaLoader.model_validate(
        {**target, "mode": "overwrite", "partition_by": _partition_columns(snapshot, context)}
    )
    loader.load(frame, context)


def _error_text(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    return SCRUBBER.scrub(text[:ERROR_EXCERPT])
