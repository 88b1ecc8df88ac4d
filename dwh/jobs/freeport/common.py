"""What the three Freeport factories share: opening the tracking store as a config error, the batch id, names."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from dwh.control.store import ControlStore
from dwh.errors import ConfigError
from dwh.jobs.freeport.config import FreeportConfig, check_name
from dwh.platforms.context import RunContext

_ATTEMPT_SUFFIX = re.compile(r"_attempt_[0-9]+$")


def open_tracking(freeport: FreeportConfig, argument: str) -> ControlStore:
    """The tracking store, or exit 2 naming ``--<argument>: freeport.tracking`` when it cannot be opened."""
    return freeport.tracking.open(field=f"--{argument}: freeport.tracking")


def checked_name(arguments: dict[str, Any], name: str, what: str) -> str:
    """A name argument (``--demo_name``, ``--freeport_module``) checked as a table-name part, else exit 2."""
    try:
        return check_name(str(arguments[name]), what)
    except ValueError as exc:
        raise ConfigError(str(exc), field=f"--{name}") from None


def batch_id(arguments: dict[str, Any], context: RunContext, demo_name: str) -> str:
    """``--batch_id`` when given; else the platform's run id (stable across a Databricks repair, and across
    Glue retries once the ``_attempt_N`` suffix is dropped); else a new id for a local run."""
    given = arguments.get("batch_id")
    if given and given != "true":
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}", str(given)):
            raise ConfigError(f"{str(given)[:60]!r} is not a batch id (letters, digits, _.:@-)", field="--batch_id")
        return str(given)
    run_id = context.run_id
    if not run_id.startswith("local-"):
        return f"{demo_name}-{_ATTEMPT_SUFFIX.sub('', run_id)}"
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{demo_name}-{stamp}-{uuid.uuid4().hex[:6]}"
