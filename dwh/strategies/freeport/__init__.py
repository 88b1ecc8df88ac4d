"""Freeport clients, selected by ``client``: HTTP (the Freeport service's API) and LAKEHOUSE (no service).

A client creates a module's deliverable and a materialization of its sandbox table, releases it to
prod and reports its status; `release_and_wait` does the whole sequence with a timeout. A new client
is one new module with a `FreeportClient` subclass plus one line in `registry.FreeportClientConfig`.
"""

from __future__ import annotations

from dwh.strategies.freeport.base import (
    Deliverable,
    FreeportClient,
    FreeportError,
    Materialization,
    MaterializationStatus,
    release_and_wait,
)
from dwh.strategies.freeport.http import HttpFreeportClient
from dwh.strategies.freeport.lakehouse import LakehouseFreeportClient
from dwh.strategies.freeport.registry import FreeportClientConfig

__all__ = [
    "Deliverable",
    "FreeportClient",
    "FreeportClientConfig",
    "FreeportError",
    "HttpFreeportClient",
    "LakehouseFreeportClient",
    "Materialization",
    "MaterializationStatus",
    "release_and_wait",
]
