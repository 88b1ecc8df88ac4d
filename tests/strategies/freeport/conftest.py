"""The Freeport client tests use the local Freeport HTTP stand-in (`tests.stand_ins.freeport_api`)."""

from __future__ import annotations

from tests.stand_ins.freeport_api import freeport_api

__all__ = ["freeport_api"]
