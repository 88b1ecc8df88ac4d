"""`AbstractJobFactory`: from generic_entry's keyword arguments to a running job.

    run(**kwargs):  framework arguments (dates, created_by) -> the job's JSON argument -> config model
                    -> packages and Spark Connect limits checked -> run context -> secrets resolved
                    -> create_job -> job.run(only the kwargs it names)

Everything that can be wrong with the invocation is found here, before the job starts, and raised
as one `ConfigError` line (generic_entry's exit 2).
"""

from __future__ import annotations

import inspect
import json
import logging
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic

from pydantic import ValidationError

from dwh.config import RunArguments, check_packages, config_hash, first_validation_error, parse_job_config
from dwh.errors import ConfigError
from dwh.jobs.abstract_job import AbstractJob, ConfigT
from dwh.platforms.context import RunContext
from dwh.platforms.detect import ServiceProvider, detect_service_provider, platform_run_ids
from dwh.platforms.spark_connect import check_connect
from dwh.secrets import resolve_secrets

log = logging.getLogger(__name__)

#: Keys generic_entry adds or consumes; never treated as the job's own arguments.
FRAMEWORK_KEYS = frozenset({"service_provider", "has_spark", "platform_args", "print_config_schema"})
#: Framework arguments that reach the job through its run context only (its attempt), never as kwargs.
CONTEXT_ONLY_ARGUMENTS = frozenset({"attempt", "max_attempts", "attempt_key"})


class AbstractJobFactory(ABC, Generic[ConfigT]):
    """Builds a job from its JSON config; subclasses name the argument, the model and `create_job`."""

    #: The job's name in logs, reports and notices.
    job_name: ClassVar[str]
    #: The command-line argument holding the job's JSON config, e.g. ``load_promos_job``.
    config_argument: ClassVar[str]
    #: The pydantic model of that config.
    config_model: ClassVar[type[ConfigT]]
    #: Whether --start_date and --end_date are required.
    requires_window: ClassVar[bool] = False
    #: Job arguments (besides the JSON config) without which the job cannot start, e.g. ``("demo_name",)``.
    required_arguments: ClassVar[tuple[str, ...]] = ()
    #: Arguments the factory itself consumes (in `create_job`): not offered to `execute_job`, never "unused".
    factory_arguments: ClassVar[tuple[str, ...]] = ()
    #: The validated config before its secrets were resolved (set by `run`; what a job may pass on to another).
    declared_config: Any
    #: The invocation's keyword arguments, set by `run` before `create_job` (a factory may read its own).
    arguments: dict[str, Any]

    @abstractmethod
    def create_job(self, *, config: ConfigT, context: RunContext) -> AbstractJob[ConfigT]:
        """Build the strategies named by `config` and return the job."""

    def config_schema(self) -> dict[str, Any]:
        """The JSON Schema of this job's config."""
        return self.config_model.model_json_schema()

    def run(self, **kwargs: Any) -> Any:
        """Validate everything, build the job, run it; returns the job's result."""
        if str(kwargs.get("print_config_schema", "false")).lower() not in ("false", "0", "no", ""):
            print(json.dumps(self.config_schema(), indent=2, sort_keys=True))
            return None
        run_args = self._run_arguments(kwargs)
        for name in self.required_arguments:
            if not kwargs.get(name) or kwargs[name] == "true":
                raise ConfigError("is required", field=f"--{name}")
        self.arguments = dict(kwargs)
        if self.config_argument not in kwargs:
            raise ConfigError("is required (the job's JSON config)", field=f"--{self.config_argument}")
        config = parse_job_config(self.config_model, kwargs[self.config_argument], argument=self.config_argument)
        check_packages(config, argument=self.config_argument)
        check_connect(config, argument=self.config_argument)
        platform_args: dict[str, str] = dict(kwargs.get("platform_args") or {})
        provider = kwargs.get("service_provider") or detect_service_provider(platform_args)
        context = RunContext(
            job_name=self.job_name,
            service_provider=ServiceProvider(provider),
            run_ids=platform_run_ids(ServiceProvider(provider), platform_args),
            start_date=run_args.start_date,
            end_date=run_args.end_date,
            created_by=run_args.created_by,
            config_hash=config_hash(config),
            platform_args=platform_args,
            attempt=run_args.attempt,
            max_attempts=run_args.max_attempts,
            attempt_key=run_args.attempt_key,
        )
        self.declared_config = config  # as the user wrote it: secret references unresolved
        try:
            config = resolve_secrets(config)
        except ConfigError as exc:
            raise ConfigError(str(exc), field=f"--{self.config_argument}") from None
        job = self.create_job(config=config, context=context)
        return job.run(**self._job_kwargs(job, kwargs, run_args))

    def _run_arguments(self, kwargs: dict[str, Any]) -> RunArguments:
        given = {name: kwargs[name] for name in RunArguments.model_fields if kwargs.get(name) is not None}
        if self.requires_window:
            for name in ("start_date", "end_date"):
                if name not in given:
                    raise ConfigError("is required (ISO date, YYYY-MM-DD)", field=f"--{name}")
        try:
            return RunArguments.model_validate(given)
        except ValidationError as exc:
            path, message = first_validation_error(exc, given)
            raise ConfigError(message, field=f"--{path}" if path else None) from None

    def _job_kwargs(self, job: AbstractJob[ConfigT], kwargs: dict[str, Any], run_args: RunArguments) -> dict[str, Any]:
        """Only the arguments `execute_job` names (all of them when it takes ``**kwargs``)."""
        offered = {key: value for key, value in kwargs.items() if key not in FRAMEWORK_KEYS}
        offered.pop(self.config_argument, None)
        for name in self.factory_arguments:
            offered.pop(name, None)
        offered.update(run_args.model_dump(exclude=set(CONTEXT_ONLY_ARGUMENTS)))  # those are in job.context
        offered["service_provider"] = job.context.service_provider
        offered["has_spark"] = kwargs.get("has_spark", False)
        parameters = inspect.signature(job.execute_job).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return offered
        ignored = sorted(
            set(offered) - set(parameters) - set(RunArguments.model_fields) - {"service_provider", "has_spark"}
        )
        if ignored:
            log.warning("arguments not used by %s: %s", self.job_name, ", ".join(f"--{name}" for name in ignored))
        return {name: value for name, value in offered.items() if name in parameters}
