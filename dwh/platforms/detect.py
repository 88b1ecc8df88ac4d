"""Which platform a run is on: `ServiceProvider`, the platform's own arguments, and the ids it gives a run.

Detection order: ``--service_provider`` / ``DWH_SERVICE_PROVIDER``; Databricks by
``DATABRICKS_RUNTIME_VERSION``; Glue by its reserved arguments or ``GLUE_VERSION``; EMR Serverless by
its env vars; EMR by ``EMR_CLUSTER_ID`` or ``/mnt/var/lib/info/job-flow.json``; else LOCAL.
Platform arguments (Glue's ``--JOB_RUN_ID``, ``--TempDir``, ``--enable-*``, Databricks'
``--databricks_run_id``) are kept here as data so generic_entry can set them aside from job config.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import uuid
from pathlib import Path

from dwh.errors import ConfigError

log = logging.getLogger(__name__)

EMR_JOB_FLOW_FILE = Path("/mnt/var/lib/info/job-flow.json")
#: Every environment variable platform detection and run ids read (tests clear exactly these).
PLATFORM_ENV_VARS = (
    "DWH_SERVICE_PROVIDER",
    "DATABRICKS_RUNTIME_VERSION",
    "DATABRICKS_HOST",
    "GLUE_VERSION",
    "EMR_CLUSTER_ID",
    "EMR_STEP_ID",
    "EMR_SERVERLESS_APPLICATION_ID",
    "EMR_SERVERLESS_JOB_RUN_ID",
)

#: Arguments the platforms add (Glue's reserved and special parameters; ids for the run context).
PLATFORM_ARGS = frozenset(
    {
        "JOB_NAME",
        "JOB_ID",
        "JOB_RUN_ID",
        "TempDir",
        "job_bookmark_option",
        "job_language",
        "extra_py_files",
        "extra_jars",
        "extra_files",
        "additional_python_modules",
        "python_modules_installer_option",
        "datalake_formats",
        "conf",
        "debug",
        "mode",
        "scriptLocation",
        "spark_event_logs_path",
        "continuous_log_logGroup",
        "continuous_log_logStreamPrefix",
        "continuous_log_conversionPattern",
        "user_jars_first",
        "encryption_type",
        "redshift_tmp_dir",
        "auto_scale_within_microbatch",
        "customer_driver_env_vars",
        "customer_executor_env_vars",
        "databricks_job_id",
        "databricks_run_id",
    }
)
PLATFORM_ARG_PREFIXES = ("enable_",)


def is_platform_arg(name: str) -> bool:
    """True for an argument the platform adds (kept in the run context, never job config)."""
    return name in PLATFORM_ARGS or name.startswith(PLATFORM_ARG_PREFIXES)


class ServiceProvider(str, enum.Enum):
    """The platforms a job can run on."""

    DATABRICKS = "DATABRICKS"
    GLUE = "GLUE"
    EMR = "EMR"
    EMR_SERVERLESS = "EMR_SERVERLESS"
    LOCAL = "LOCAL"

    @classmethod
    def parse(cls, value: str, *, source: str) -> ServiceProvider:
        """Parse a user-given provider name; an unknown one is a `ConfigError` naming `source`."""
        try:
            return cls(value.strip().upper())
        except ValueError:
            allowed = ", ".join(member.value for member in cls)
            raise ConfigError(f"{value!r} is not one of {allowed}", field=source) from None


def detect_service_provider(platform_args: dict[str, str], override: str | None = None) -> ServiceProvider:
    """Detect the platform; `override` (``--service_provider``) or ``DWH_SERVICE_PROVIDER`` wins."""
    if override:
        return ServiceProvider.parse(override, source="--service_provider")
    if os.environ.get("DWH_SERVICE_PROVIDER"):
        return ServiceProvider.parse(os.environ["DWH_SERVICE_PROVIDER"], source="DWH_SERVICE_PROVIDER")
    if os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        return ServiceProvider.DATABRICKS
    if "JOB_RUN_ID" in platform_args or "JOB_NAME" in platform_args or os.environ.get("GLUE_VERSION"):
        return ServiceProvider.GLUE
    if os.environ.get("EMR_SERVERLESS_APPLICATION_ID") or os.environ.get("EMR_SERVERLESS_JOB_RUN_ID"):
        return ServiceProvider.EMR_SERVERLESS
    if os.environ.get("EMR_CLUSTER_ID") or EMR_JOB_FLOW_FILE.exists():
        return ServiceProvider.EMR
    return ServiceProvider.LOCAL


def wheel_version() -> str:
    """The installed distribution's version, or the source tree's when run from a checkout."""
    from importlib import metadata  # ~20 ms: only when a report needs it, never for --help

    try:
        return metadata.version("dwh-business-logic")
    except metadata.PackageNotFoundError:
        from dwh import __version__

        return __version__


def _emr_cluster_id() -> str | None:
    if os.environ.get("EMR_CLUSTER_ID"):
        return os.environ["EMR_CLUSTER_ID"]
    try:
        return str(json.loads(EMR_JOB_FLOW_FILE.read_text())["jobFlowId"])
    except (OSError, ValueError, KeyError):
        return None


def platform_run_ids(provider: ServiceProvider, platform_args: dict[str, str]) -> dict[str, str]:
    """The ids a platform gives a run, with a local uuid as the fallback run id."""
    ids: dict[str, str | None] = {}
    if provider is ServiceProvider.DATABRICKS:
        ids = {
            "job_id": platform_args.get("databricks_job_id"),
            "run_id": platform_args.get("databricks_run_id"),
        }
    elif provider is ServiceProvider.GLUE:
        ids = {"job_name": platform_args.get("JOB_NAME"), "run_id": platform_args.get("JOB_RUN_ID")}
    elif provider is ServiceProvider.EMR:
        ids = {"cluster_id": _emr_cluster_id(), "step_id": os.environ.get("EMR_STEP_ID")}
        ids["run_id"] = ids["step_id"]
    elif provider is ServiceProvider.EMR_SERVERLESS:
        ids = {
            "application_id": os.environ.get("EMR_SERVERLESS_APPLICATION_ID"),
            "run_id": os.environ.get("EMR_SERVERLESS_JOB_RUN_ID"),
        }
    clean = {key: value for key, value in ids.items() if value}
    clean.setdefault("run_id", f"local-{uuid.uuid4().hex[:12]}")
    return clean
