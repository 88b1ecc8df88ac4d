"""Configuration building blocks: the strict base model, secret fields, JSON parsing and error lines.

Every strategy block is a pydantic model derived from `StrictModel` (unknown keys are errors) and
is selected through a discriminated union on ``strategy`` or ``notification_service``.
`parse_job_config` turns the JSON argument of a job into its model and every failure into one
`ConfigError` line naming the field path, e.g.
``unity_loader_config.mode: 'upsert' is not one of append, overwrite, replace_window, merge``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from dwh.config_tree import iter_models
from dwh.errors import ConfigError
from dwh.json_argument import load_json_argument
from dwh.secrets import SCRUBBER, is_reference

ModelT = TypeVar("ModelT", bound=BaseModel)

#: A secret-bearing field: a literal or a secret reference (see `dwh.secrets`), held as `SecretStr`.
Secret = Annotated[
    SecretStr,
    Field(description="A literal or a secret reference (env:, file:, databricks:, aws-secretsmanager:, aws-ssm:)"),
]


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_attribute_docstrings=True)

    def required_packages(self) -> dict[str, str]:
        """Import name -> the extra that installs it, for each package this block needs when it runs.

        Checked for the whole config before a job starts (`missing_packages`): a missing extra is a
        config error (exit 2), not a failure after some targets were already written.
        """
        return {}

    def connect_problems(self) -> dict[str, str]:
        """Field name (``""`` for the block) -> what it asks that Spark Connect cannot do (serverless, shared clusters).

        Checked for the whole config before a job starts when the run will be on Connect
        (`dwh.platforms.spark_connect.check_connect`): exit 2 before any write, not a failure after some.
        """
        return {}

    @model_validator(mode="after")
    def _register_literal_secrets(self) -> StrictModel:
        # Literal secrets in config are secrets too: mask them from the moment they are parsed.
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and not is_reference(value.get_secret_value()):
                SCRUBBER.register(value.get_secret_value())
        return self


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RELATIVE_DAYS = re.compile(r"-([1-9][0-9]{0,3})d")


class RunArguments(StrictModel):
    """The framework's own command-line arguments that every job understands."""

    start_date: dt.date | None = Field(None, description="First day of the run window (ISO date, inclusive).")
    end_date: dt.date | None = Field(None, description="End of the run window (ISO date, exclusive).")
    created_by: str = Field("unknown", description="Who or what started the run (airflow, a user name, ...).")
    attempt: int | None = Field(None, ge=1, description="This run's attempt number (1 = first), from the platform.")
    max_attempts: int | None = Field(None, ge=1, description="How many attempts the platform makes (retries + 1).")
    attempt_key: str | None = Field(
        None, min_length=1, max_length=200, description="What every attempt of one run shares (default: the run id)."
    )

    @model_validator(mode="before")
    @classmethod
    def _relative_start(cls, data: Any) -> Any:
        # A scheduler that can't do date arithmetic (Databricks) writes --start_date -1d: N days before --end_date.
        if isinstance(data, dict) and isinstance(data.get("start_date"), str):
            days = _RELATIVE_DAYS.fullmatch(data["start_date"])
            end = data.get("end_date")
            if days and isinstance(end, str) and _ISO_DATE.fullmatch(end):
                start = dt.date.fromisoformat(end) - dt.timedelta(days=int(days.group(1)))
                return {**data, "start_date": start.isoformat()}
        return data

    @field_validator("start_date", "end_date", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                if not _ISO_DATE.fullmatch(value):  # fromisoformat also takes 20250101 and 2025-W02-1 (3.11+)
                    raise ValueError(value)
                return dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None
        return value

    @model_validator(mode="after")
    def _window_order(self) -> RunArguments:
        if self.start_date and self.end_date and self.end_date <= self.start_date:
            raise ValueError(f"--end_date {self.end_date} must be after --start_date {self.start_date}")
        return self

    @model_validator(mode="after")
    def _attempts(self) -> RunArguments:
        if self.attempt is not None and self.max_attempts is None:
            raise ValueError("--attempt needs --max_attempts (how many attempts the platform makes)")
        return self


def missing_packages(model: BaseModel, prefix: str = "") -> list[tuple[str, str, str]]:
    """(field path, import name, extra) for each package a block of `model` needs and this Python lacks."""
    import importlib.util

    found: list[tuple[str, str, str]] = []
    for path, block in iter_models(model, prefix):
        if isinstance(block, StrictModel):
            for package, extra in block.required_packages().items():
                if importlib.util.find_spec(package) is None:
                    found.append((path or "(top level)", package, extra))
    return found


def check_packages(model: BaseModel, *, argument: str) -> None:
    """One `ConfigError` naming every block whose package is not installed, and the pip command that adds them."""
    missing = missing_packages(model)
    if missing:
        needs = ", ".join(f"{package} for {path}" for path, package, _ in missing)
        extras = ",".join(sorted({extra for _, _, extra in missing}))
        raise ConfigError(
            f"packages missing for this config: {needs} (pip install 'dwh-business-logic[{extras}]')",
            field=f"--{argument}",
        )


def parse_job_config(model: type[ModelT], raw: Any, *, argument: str) -> ModelT:
    """Parse a job's JSON argument into `model`; any problem becomes one `ConfigError` line."""
    data = load_json_argument(raw, argument=argument)
    return validate_model(model, data, argument=f"--{argument}")


def validate_model(model: type[ModelT], data: Any, *, argument: str) -> ModelT:
    """Validate `data` against `model`, turning a `ValidationError` into a one-line `ConfigError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, data), field=argument) from None


def describe_validation_error(exc: ValidationError, data: Any = None) -> str:
    """One line for the first error: ``field.path: what is wrong`` (+ how many more).

    `data` is the validated input; with it the path keeps exactly the keys the user wrote.
    """
    path, message = first_validation_error(exc, data)
    return f"{path or '(top level)'}: {message}"


def first_validation_error(exc: ValidationError, data: Any = None) -> tuple[str | None, str]:
    """The first error as (field path or None for the model as a whole, message + how many more), scrubbed."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    message = _error_message(first)
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    path = _error_path(first, data)
    return (None if path == "(top level)" else path), SCRUBBER.scrub(message)


def _error_path(error: ErrorDetails, data: Any = None) -> str:
    """The user's path to the error: pydantic's location without union tags and internal steps.

    A step that is a key of the user's `data` at that point is kept as written (``properties.USER``);
    other upper-case steps are discriminated-union tags (``DELTA``, also when the strategy was
    defaulted) and ``function-...``/``list[...]`` steps are pydantic's own: both are left out.
    """
    parts: list[str] = []
    node = data
    for item in error["loc"]:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]" if parts else f"[{item}]"]
            node = node[item] if isinstance(node, list) and -len(node) <= item < len(node) else None
        elif isinstance(node, dict) and item in node:
            parts.append(item)
            node = node[item]
        elif item.isupper() or item.startswith(("function-", "list[", "dict[")):
            continue
        else:
            parts.append(item)
            node = None  # below a key the user did not write
    return ".".join(parts) or "(top level)"


def _error_message(error: ErrorDetails) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    value = error.get("input")
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"{value!r} is not one of {expected}"
    if kind == "union_tag_invalid":
        expected = str(ctx.get("expected_tags", "")).replace("'", "")
        return f"{ctx.get('discriminator', 'strategy').strip(chr(39))} {ctx.get('tag')!r} is not one of {expected}"
    if kind == "union_tag_not_found":
        return f"missing {ctx.get('discriminator', '').strip(chr(39))}"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling)"
    if kind == "missing":
        return "required field is missing"
    message = error["msg"]
    return message.removeprefix("Value error, ")


def config_hash(model: BaseModel) -> str:
    """A short, stable hash of a config; secrets enter only as their masked form."""
    canonical = json.dumps(model.model_dump(mode="json"), sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
