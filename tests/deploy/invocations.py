"""Check one generic_entry invocation from a deploy file against the code it will run.

`check_invocation(argv)` does what generic_entry and the job's factory do before a job starts, without
running it: generic_entry's own parser (`parse_arguments`), the module allow-list and import, the job's
own config model on its JSON argument, the framework arguments (`RunArguments`), the factory's required
arguments, and no argument the job would ignore. Any mismatch raises (a `ConfigError` line, as the
platform would print it, or an AssertionError naming the stray argument).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from dwh.config import RunArguments, parse_job_config, validate_model
from dwh.generic_entry import import_job_module, parse_arguments
from dwh.jobs.abstract_job_factory import AbstractJobFactory


@dataclass
class Invocation:
    """A checked invocation: the module, its factory, the validated config and framework arguments."""

    module_name: str
    factory: AbstractJobFactory[Any]
    config: BaseModel
    run_arguments: RunArguments
    job_args: dict[str, str]
    platform_args: dict[str, str]


def factory_of(module: Any) -> AbstractJobFactory[Any]:
    """The one `AbstractJobFactory` subclass a job module defines, instantiated."""
    found = [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, AbstractJobFactory)
        and value is not AbstractJobFactory
        and value.__module__ == module.__name__
    ]
    assert len(found) == 1, f"{module.__name__} defines {len(found)} job factories"
    return found[0]()


def job_parameters(factory: AbstractJobFactory[Any]) -> set[str]:
    """The keyword arguments the factory's job takes in `execute_job` (from `create_job`'s return type)."""
    job_class = typing.get_type_hints(type(factory).create_job)["return"]
    return {name for name in inspect.signature(job_class.execute_job).parameters if name != "self"}


def check_invocation(argv: Sequence[str]) -> Invocation:
    """Parse and validate `argv` (without argv[0]) exactly as the job would before it starts."""
    job_args, platform_args = parse_arguments(argv)
    module_name = job_args.pop("module_name")
    factory = factory_of(import_job_module(module_name))
    assert factory.config_argument in job_args, f"--{factory.config_argument} is missing"
    config = parse_job_config(factory.config_model, job_args[factory.config_argument], argument=factory.config_argument)
    given = {name: job_args[name] for name in RunArguments.model_fields if name in job_args}
    run_arguments = validate_model(RunArguments, given, argument="framework arguments")
    for name in factory.required_arguments:
        assert job_args.get(name) not in (None, "", "true"), f"--{name} is required by {module_name}"
    if factory.requires_window:
        assert run_arguments.start_date and run_arguments.end_date, f"{module_name} needs --start_date/--end_date"
    accepted = {factory.config_argument, "service_provider", *RunArguments.model_fields}
    accepted |= {*factory.required_arguments, *factory.factory_arguments, *job_parameters(factory)}
    stray = sorted(set(job_args) - accepted)
    assert not stray, f"{module_name} would ignore {', '.join('--' + name for name in stray)}"
    return Invocation(module_name, factory, config, run_arguments, job_args, platform_args)


def pairs_to_argv(arguments: dict[str, str]) -> list[str]:
    """Glue's ``Arguments`` map (keys keep their ``--``) as the argv the script receives."""
    return [token for key, value in arguments.items() for token in (key, value)]
