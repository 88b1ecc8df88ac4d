"""A job's JSON argument, decoded totally: every document json.loads can't take, or no config can hold, is exit 2.

``--load_promos_job '<json>'`` or ``--load_promos_job @/path/config.json``. Beyond malformed JSON this
refuses duplicate keys (a second "mode" must not silently win), NaN/Infinity, integers past Python's
conversion limit, nesting deeper than `MAX_JSON_DEPTH` (json.loads and pydantic would hit the recursion
limit), and text with lone surrogates (it can't be logged, hashed or stored); each as one `ConfigError`
line naming the argument.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dwh.errors import ConfigError


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (a second "mode" must not silently win)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


#: Deeper nesting than any config needs; beyond it json.loads and pydantic would hit Python's recursion limit.
MAX_JSON_DEPTH = 64


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (use null or a number)")


def _decode_json(text: str, *, field: str) -> Any:
    """`json.loads`, total: every document it cannot take, or that no config can hold, is one `ConfigError`."""
    depth = _nesting_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise ConfigError(f"JSON nested {depth} levels deep (at most {MAX_JSON_DEPTH})", field=field)
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", field=field) from None
    except _DuplicateKey as exc:
        raise ConfigError(f"the key {exc.key!r} appears twice in one object", field=field) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        # e.g. an integer longer than Python's int-conversion limit, NaN/Infinity, or a document too large.
        reason = str(exc).split(";")[0] or type(exc).__name__
        raise ConfigError(f"unusable JSON: {reason[:120]}", field=field) from None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        # A lone surrogate (from a \\ud800 escape or undecodable argv bytes) can't be logged, hashed or stored.
        raise ConfigError(f"JSON holds text that is not valid Unicode ({exc.reason})", field=field) from None
    return value


def _nesting_depth(text: str) -> int:
    """The deepest bracket nesting in `text`, brackets inside strings not counted (one linear scan)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def load_json_argument(raw: Any, *, argument: str) -> dict[str, Any]:
    """Decode a job's JSON argument; ``@/path/config.json`` reads the JSON from a file."""
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError("expects a JSON object", field=f"--{argument}")
    text = raw
    if raw.startswith("@"):
        try:
            text = Path(raw[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {raw[1:]}: {exc.strerror}", field=f"--{argument}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{raw[1:]} is not UTF-8 text (byte {exc.start})", field=f"--{argument}") from None
    value = _decode_json(text, field=f"--{argument}")
    if not isinstance(value, dict):
        raise ConfigError(f"expects a JSON object, got {type(value).__name__}", field=f"--{argument}")
    return value
