"""generic_entry: the one console script every platform calls.

    generic_entry --module_name dwh.jobs.load_promos.load_promos_job_factory \\
        --load_promos_job '<json>' --start_date 2025-01-01 --end_date 2025-01-08 --created_by airflow

Parses ``--key value`` and ``--key=value`` (Databricks named_parameters), keeps the platform's own
arguments (Glue's ``--JOB_RUN_ID``, ``--TempDir``, ...) in ``platform_args`` instead of handing them
to the job as config, adds ``service_provider`` and ``has_spark``, imports ``--module_name`` (only
under an allowed prefix) and calls its ``main(**kwargs)``.

Exit codes: 0 success; 1 the job ran and failed (its failure notice went out first); 2 bad
invocation or config, one line on stderr naming the argument or field, no traceback.
This module imports nothing heavy: ``--help`` and every exit-2 path stay free of pyspark and boto3.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from dwh.errors import ConfigError, JobFailedError
from dwh.logs import configure_logging
from dwh.platforms.detect import PLATFORM_ARGS, detect_service_provider, is_platform_arg

DEFAULT_ALLOWED_PREFIXES = ("dwh.jobs.",)
EXIT_OK, EXIT_JOB_FAILED, EXIT_BAD_INVOCATION = 0, 1, 2


HELP = """\
usage: generic_entry --module_name MODULE [--<job argument> VALUE ...]

Run a dwh job on Databricks, AWS Glue, Amazon EMR or local Spark.

required:
  --module_name MODULE      the job module, e.g. dwh.jobs.load_promos.load_promos_job_factory
                            (must start with an allowed prefix: dwh.jobs. or DWH_ALLOWED_MODULE_PREFIXES)
framework arguments:
  --start_date YYYY-MM-DD   first day of the run window (inclusive); -Nd: N days before --end_date
  --end_date YYYY-MM-DD     end of the run window (exclusive)
  --created_by NAME         who started the run (airflow, a user name, ...)
  --attempt N               this attempt's number (1 = first), from the platform's retry counter
  --max_attempts M          attempts the platform makes (retries + 1): a failed attempt before the
                            last sends no failure notice; the last names every attempt's error
  --attempt_key KEY         what all attempts of one run share (default: the platform's run id)
  --service_provider NAME   DATABRICKS | GLUE | EMR | EMR_SERVERLESS | LOCAL (default: detected;
                            or DWH_SERVICE_PROVIDER)
  --print_config_schema     print the JSON Schema of the job's config and exit
job arguments:
  --<job>_job JSON          the job's config as JSON, or @/path/to/config.json
Arguments may be given as '--key value' or '--key=value'. Platform arguments (Glue's --JOB_NAME,
--JOB_RUN_ID, --TempDir, --enable-*, ...) are accepted and kept in the run context.

exit codes: 0 success, 1 the job failed (after its failure notice), 2 bad invocation or config.
"""

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
log = logging.getLogger("dwh.generic_entry")


def parse_arguments(argv: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Split argv (without argv[0]) into (job arguments, platform arguments).

    Keys lose their leading ``--`` and hyphens become underscores, as Glue's getResolvedOptions
    does. A flag with no value counts as ``"true"``. A key given twice is an error.
    """
    job_args: dict[str, str] = {}
    platform_args: dict[str, str] = {}
    tokens = list(argv)
    index = 0
    previous: str | None = None
    while index < len(tokens):
        token = tokens[index]
        if not token.startswith("--") or token == "--":
            # Usually an unquoted value with spaces (a JSON argument split by the shell): name the argument before it.
            raise ConfigError(
                f"unexpected value {token[:60]!r}{' after its value' if previous else ''}: "
                "arguments must be --key value or --key=value (quote values that contain spaces)",
                field=previous,
            )
        key, has_equals, value = token[2:].partition("=")
        if not has_equals:
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            if following is not None and not following.startswith("--"):
                value, index = following, index + 1
            else:
                value = "true"
        if not _KEY.fullmatch(key):
            raise ConfigError(f"invalid argument name --{key[:60]}")
        name = key if key in PLATFORM_ARGS else key.replace("-", "_")
        target = platform_args if is_platform_arg(name) else job_args
        if name in target:
            raise ConfigError("given more than once", field=f"--{name}")
        target[name] = value
        previous = f"--{name}"
        index += 1
    return job_args, platform_args


def allowed_prefixes() -> tuple[str, ...]:
    """The module prefixes generic_entry may import (default ``dwh.jobs.``)."""
    extra = [p.strip() for p in os.environ.get("DWH_ALLOWED_MODULE_PREFIXES", "").split(",") if p.strip()]
    return DEFAULT_ALLOWED_PREFIXES + tuple(p if p.endswith(".") else p + "." for p in extra)


def import_job_module(module_name: str) -> Any:
    """Import the job module after checking it against the allow-list."""
    if not _MODULE.fullmatch(module_name):
        raise ConfigError(f"{module_name[:80]!r} is not a dotted module name", field="--module_name")
    prefixes = allowed_prefixes()
    if not module_name.startswith(prefixes):
        raise ConfigError(
            f"{module_name} is outside the allowed prefixes ({', '.join(prefixes)}); "
            "extend them with DWH_ALLOWED_MODULE_PREFIXES",
            field="--module_name",
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise ConfigError(f"no module named {module_name}", field="--module_name") from None
        raise ConfigError(
            f"{module_name} needs the missing package {missing!r} (pip install 'dwh-business-logic[all]')",
            field="--module_name",
        ) from None
    if not callable(getattr(module, "main", None)):
        raise ConfigError(f"{module_name} has no main(**kwargs)", field="--module_name")
    return module


def run(argv: Sequence[str]) -> Any:
    """Parse `argv` (without argv[0]), import the job module and return its ``main(**kwargs)``."""
    job_args, platform_args = parse_arguments(argv)
    module_name = job_args.pop("module_name", None)
    if not module_name or module_name == "true":
        raise ConfigError("is required (the job module to run)", field="--module_name")
    provider = detect_service_provider(platform_args, job_args.pop("service_provider", None))
    module = import_job_module(module_name)
    kwargs: dict[str, Any] = dict(job_args)
    kwargs["service_provider"] = provider.value
    kwargs["has_spark"] = importlib.util.find_spec("pyspark") is not None
    kwargs["platform_args"] = platform_args
    return module.main(**kwargs)


def _asks_for_help(args: Sequence[str]) -> bool:
    """``--help`` anywhere, or ``-h`` where a key could stand (``--created_by -h`` is a value, not a request)."""
    expecting_value = False
    for token in args:
        if token.startswith("--"):
            if token == "--help":
                return True
            expecting_value = "=" not in token
        elif expecting_value:
            expecting_value = False
        elif token == "-h":
            return True
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        # A bad invocation: the usage goes to stderr, like every other exit-2 message; stdout stays clean.
        print(HELP, end="", file=sys.stderr)
        return EXIT_BAD_INVOCATION
    if _asks_for_help(args):
        print(HELP, end="")
        return EXIT_OK
    configure_logging()
    try:
        run(args)
    except ConfigError as exc:
        print(f"generic_entry: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INVOCATION
    except JobFailedError as exc:
        print(f"generic_entry: {exc}", file=sys.stderr)
        return EXIT_JOB_FAILED
    except Exception:
        log.exception("the job raised outside AbstractJob.run")
        return EXIT_JOB_FAILED
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
