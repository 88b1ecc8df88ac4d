"""The one walk over a validated config tree: its models (with their field paths) and a copy with leaves replaced.

Config models nest through fields, lists and dicts (``redshift_loader_config.properties.password``,
``job_failed_notifications[1].webhook_url``). Two things need to visit all of it: the extras check
(`dwh.config.missing_packages`, every model) and secret resolution (`dwh.secrets.resolve_secrets`,
every `SecretStr` leaf). Both walk it here, with the same path spelling the error lines use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel


def child_path(prefix: str, name: str | int) -> str:
    """``prefix.name`` for a field or key, ``prefix[i]`` for a list item."""
    if isinstance(name, int):
        return f"{prefix}[{name}]"
    return f"{prefix}.{name}" if prefix else name


def iter_models(value: Any, path: str = "") -> Iterator[tuple[str, BaseModel]]:
    """Every model in `value` (itself first, then depth first) with its field path."""
    if isinstance(value, BaseModel):
        yield path, value
        for name in type(value).model_fields:
            yield from iter_models(getattr(value, name), child_path(path, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from iter_models(item, child_path(path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from iter_models(item, child_path(path, str(key)))


def replace_leaves(value: Any, replace: Callable[[Any, str], Any], path: str = "") -> Any:
    """A copy of `value` with every leaf (anything but a model, list or dict) passed through `replace`.

    Models are copied with `model_copy(update=...)`, so the validated original is never written to
    and unchanged branches are shared, not rebuilt.
    """
    if isinstance(value, BaseModel):
        updates: dict[str, Any] = {}
        for name in type(value).model_fields:
            current = getattr(value, name)
            new = replace_leaves(current, replace, child_path(path, name))
            if new is not current:
                updates[name] = new
        return value.model_copy(update=updates) if updates else value
    if isinstance(value, list):
        items = [replace_leaves(item, replace, child_path(path, index)) for index, item in enumerate(value)]
        return items if any(new is not old for new, old in zip(items, value, strict=True)) else value
    if isinstance(value, dict):
        entries = {key: replace_leaves(item, replace, child_path(path, str(key))) for key, item in value.items()}
        return entries if any(entries[key] is not value[key] for key in value) else value
    return replace(value, path)
