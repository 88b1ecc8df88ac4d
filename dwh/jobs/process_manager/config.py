"""The process manager's config (DESIGN.md "Process manager"), validated before anything runs.

    {"control_database": {"jdbc_url": "jdbc:postgresql://host:5432/db",
                          "properties": {"user": "pm", "password": "env:PG_PASSWORD"}},
     "wait_view": "public.mm_run_wait_vw", "control_table": "public.mm_run_control",
     "databricks": {"host": "https://adb-1234.5.azuredatabricks.net", "token": "databricks:pm/token"},
     "retry": {"attempts": 5, "initial_seconds": 1, "max_seconds": 30},
     "max_parallel_calls": 8, "claim_timeout_seconds": 1800, "dry_run": false,
     <notification slots>}

``control_database`` is the control store's ``jdbc_url`` + ``properties`` shape (or ``url``), PostgreSQL
only: the control table holds JSONB. ``wait_view`` / ``control_table`` are ``[schema.]name`` of plain
identifiers (folded to lower case, as PostgreSQL folds unquoted names, then always quoted).
The Databricks ``token`` must be a secret reference: the config travels on a job's command line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator, model_validator

from dwh.config import Secret, StrictModel
from dwh.control.store import ControlStoreConfig
from dwh.jobs.job_config import JobConfig
from dwh.platforms.databricks import workspace_url
from dwh.retry import RetryPolicy
from dwh.secrets import is_reference

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
#: Hosts that may be reached over plain http (local stand-ins); every other workspace must be https.


@dataclass(frozen=True)
class QualifiedName:
    """A checked ``schema.name`` (schema ``public`` when not given), rendered quoted."""

    schema: str
    name: str

    @classmethod
    def parse(cls, value: str) -> QualifiedName:
        """``name`` or ``schema.name`` of plain identifiers, else ValueError."""
        parts = value.strip().split(".")
        if len(parts) > 2 or not all(_IDENTIFIER.fullmatch(part) for part in parts):
            raise ValueError(
                f"{value!r} is not [schema.]name of plain identifiers (letters, digits, _; not starting with a digit)"
            )
        schema, name = (["public", *parts] if len(parts) == 1 else parts)[-2:]
        return cls(schema=schema.lower(), name=name.lower())

    @property
    def sql(self) -> str:
        """``"schema"."name"``: safe in any statement (the parts are plain identifiers)."""
        return f'"{self.schema}"."{self.name}"'

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


class DatabricksWorkspaceConfig(StrictModel):
    """The workspace whose runs the manager triggers and repairs."""

    host: str = Field(..., description="Workspace URL, https://<workspace host> (http:// only for 127.0.0.1).")
    token: Secret = Field(..., description="Token as a secret reference (env:, file:, databricks:, aws-...:).")

    @field_validator("host")
    @classmethod
    def _workspace_url(cls, value: str) -> str:
        return workspace_url(value)

    @field_validator("token")
    @classmethod
    def _reference(cls, value: Any) -> Any:
        if not is_reference(value.get_secret_value()):
            raise ValueError("must be a secret reference (env:, file:, databricks:, aws-secretsmanager:, aws-ssm:)")
        return value

    def required_packages(self) -> dict[str, str]:
        """databricks-sdk, from the ``databricks`` extra."""
        return {"databricks": "databricks"}


class RetryConfig(StrictModel):
    """How patient the manager is with one API call."""

    attempts: int = Field(5, ge=1, le=20, description="Tries of a call that fails with a 500/502/504.")
    initial_seconds: float = Field(1, gt=0, le=60, description="First backoff wait; doubles each try.")
    max_seconds: float = Field(30, gt=0, le=300, description="Longest single backoff wait.")

    @property
    def budget_seconds(self) -> float:
        """The waits of a full backoff: also the SDK's retry budget for 429/503/connection errors of one call."""
        waits = [min(self.max_seconds, self.initial_seconds * 2**n) for n in range(self.attempts - 1)]
        return max(1.0, sum(waits))

    def policy(self, transient: Any) -> RetryPolicy:
        """The backoff for errors the SDK does not retry itself (500/502/504), bounded by `budget_seconds`."""
        return RetryPolicy(
            attempts=self.attempts,
            initial_seconds=self.initial_seconds,
            max_seconds=self.max_seconds,
            budget_seconds=self.budget_seconds,
            transient=transient,
        )


class ProcessManagerConfig(JobConfig):
    """``--process_manager_job``: where the control rows live and which workspace runs the jobs."""

    control_database: ControlStoreConfig = Field(..., description="The PostgreSQL database of the control table.")
    wait_view: str = Field("public.mm_run_wait_vw", description="[schema.]view of the WAITING rows.")
    control_table: str = Field("public.mm_run_control", description="[schema.]table of the control rows.")
    databricks: DatabricksWorkspaceConfig
    retry: RetryConfig = Field(default_factory=RetryConfig)
    max_parallel_calls: int = Field(
        8, ge=1, le=20, description="API calls in flight at once (the SDK keeps 20 connections per host)."
    )
    claim_timeout_seconds: float = Field(
        1800, ge=60, description="A CLAIMED row older than this belongs to a dead manager and is taken back."
    )
    dry_run: bool = Field(False, description="Print the plan (row, decision, exact API call); change nothing.")

    @field_validator("wait_view", "control_table")
    @classmethod
    def _qualified(cls, value: str) -> str:
        return str(QualifiedName.parse(value))

    @field_validator("control_database")
    @classmethod
    def _postgres(cls, value: ControlStoreConfig) -> ControlStoreConfig:
        if value.dialect != "postgresql":
            raise ValueError("must be PostgreSQL (jdbc_url or a postgresql:// url): the control table holds JSONB")
        return value

    @model_validator(mode="after")
    def _distinct(self) -> ProcessManagerConfig:
        if self.wait_view == self.control_table:
            raise ValueError("wait_view and control_table must be different objects")
        return self

    @property
    def view_name(self) -> QualifiedName:
        """The checked wait view."""
        return QualifiedName.parse(self.wait_view)

    @property
    def table_name(self) -> QualifiedName:
        """The checked control table."""
        return QualifiedName.parse(self.control_table)
