"""The shared ``freeport`` block, the release and monitor configs, and the names they derive.

The main job's modules are in `dwh.jobs.freeport.modules_config` (the release job, started once per
module, imports no extractor or loader):

    {"modules": [{"name": "geo_analysis", "extractor_config": {...}, "sql": "SELECT ... FROM source",
                  "loader_config": {...}}, ...],
     "max_parallel_modules": 4,
     "freeport": {"client": {...}, "launcher": {...}, "tracking": {...}, "prod_schema": "prod", ...},
     <notification slots>}

Names (DESIGN.md): a module's table is ``<demo_name>_<module>``; its sandbox table is what its loader
wrote (the loader's ``table``, else its ``path``); its prod table ``<prod_schema>.<demo_name>_<module>``.
The release of one module in one batch has the idempotency key ``<batch_id>:<module>``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, SecretStr, field_validator

from dwh.config import StrictModel
from dwh.config_tree import replace_leaves
from dwh.control.store import ControlStoreConfig
from dwh.jobs.job_config import JobConfig
from dwh.platforms.launchers.local import LocalLauncher
from dwh.platforms.launchers.registry import LauncherConfig
from dwh.secrets import is_reference
from dwh.strategies.freeport.registry import FreeportClientConfig
from dwh.strategies.notifications import NotifierConfig

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
#: The generic_entry module of each Freeport job.
RELEASE_MODULE = "dwh.jobs.freeport.release_job_factory"


def _lakehouse() -> Any:
    from dwh.strategies.freeport.lakehouse import LakehouseFreeportClient

    return LakehouseFreeportClient(client="LAKEHOUSE")


def check_name(value: str, what: str) -> str:
    """A demo or module name: letters, digits and underscores, starting with a letter (it becomes a table name)."""
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid {what} (letters, digits, _; starts with a letter; <= 63 chars)")
    return value


class FreeportConfig(StrictModel):
    """The ``freeport`` block the main job, the release job and the monitor share."""

    client: FreeportClientConfig = Field(default_factory=_lakehouse, description="Who releases: HTTP or LAKEHOUSE.")
    sandbox_schema: str = Field("sandbox", description="Schema of the sandbox tables (reported with each release).")
    prod_schema: str = Field("prod", description="Schema of the prod tables: <prod_schema>.<demo_name>_<module>.")
    launcher: LauncherConfig = Field(
        default_factory=lambda: LocalLauncher(launcher="LOCAL"), description="Where each release job runs."
    )
    tracking: ControlStoreConfig = Field(
        default_factory=ControlStoreConfig, description="The control store holding freeport_job_tracking."
    )
    release_timeout_seconds: float = Field(3600, gt=0, description="A release not ended by then is failed.")
    poll_seconds: float = Field(10, gt=0, description="How often a release (and a waiting monitor) polls.")
    completion_notifications: list[NotifierConfig] = Field(
        default_factory=list, description="Channels told once when a batch's releases have all ended."
    )

    @field_validator("sandbox_schema", "prod_schema")
    @classmethod
    def _schema(cls, value: str) -> str:
        return check_name(value, "schema name")

    def release_key(self, batch_id: str, module: str) -> str:
        """The idempotency key of one module's release in one batch."""
        return f"{batch_id}:{module}"

    def prod_table(self, demo_name: str, module: str) -> str:
        """``<prod_schema>.<demo_name>_<module>``."""
        return f"{self.prod_schema}.{demo_name}_{module}"


class ReleaseJobConfig(JobConfig):
    """``--release_job``: the Freeport block (and the notification slots) of one release."""

    freeport: FreeportConfig = Field(default_factory=FreeportConfig)


class MonitorJobConfig(JobConfig):
    """``--monitor_job``: the Freeport block; the main job's whole config is accepted too (modules ignored)."""

    freeport: FreeportConfig = Field(default_factory=FreeportConfig)
    modules: list[dict[str, Any]] | None = Field(None, description="Accepted and ignored (the main job's config).")
    max_parallel_modules: int | None = Field(None, description="Accepted and ignored (the main job's config).")


def literal_secret_paths(model: StrictModel, prefix: str) -> list[str]:
    """Field paths of the secrets in `model` written as literals rather than references."""
    found: list[str] = []

    def visit(value: Any, path: str) -> Any:
        if isinstance(value, SecretStr) and not is_reference(value.get_secret_value()):
            found.append(path)
        return value

    replace_leaves(model, visit, prefix)
    return found


def release_config_json(config: JobConfig) -> dict[str, Any]:
    """The release job's config from the main job's, as the user wrote it: secrets stay references."""
    data = {"freeport": _revealed(config.model_dump(mode="python")["freeport"])}
    for slot in ("job_failed_notifications", "job_success_notifications", "data_quality_notifications"):
        data[slot] = _revealed(config.model_dump(mode="python", include={slot})[slot])
    return data


def _revealed(value: Any) -> Any:
    """A python-mode dump made JSON-able, with each `SecretStr` as its reference (or literal) text."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {str(key): _revealed(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_revealed(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
