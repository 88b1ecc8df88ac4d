"""A loader built from its config block as a job's config would build it (errors are `ConfigError`s naming --test)."""

from __future__ import annotations

from typing import Any, TypeVar

from dwh.config import validate_model
from dwh.strategies.loaders.base import Loader

L = TypeVar("L", bound=Loader)


def validated(model: type[L], **block: Any) -> L:
    """`model` validated from `block`, its ``strategy`` filled in when the block has none."""
    return validate_model(model, {"strategy": model.kind, **block}, argument="--test")
