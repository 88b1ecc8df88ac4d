"""dwh.config: strict models, one-line error messages with user field paths, JSON arguments, run arguments."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import Field

from dwh.config import (
    RunArguments,
    Secret,
    StrictModel,
    check_packages,
    config_hash,
    load_json_argument,
    parse_job_config,
    validate_model,
)
from dwh.errors import ConfigError
from dwh.secrets import SCRUBBER


class DeltaTarget(StrictModel):
    """A loader-like block with the framework's write modes."""

    strategy: Literal["DELTA"]
    path: str
    mode: Literal["append", "overwrite", "replace_window", "merge"] = "append"


class PostgresTarget(StrictModel):
    """A block with a secret."""

    strategy: Literal["POSTGRES"]
    jdbc_url: str
    password: Secret


Target = Annotated[DeltaTarget | PostgresTarget, Field(discriminator="strategy")]


class ExampleJobConfig(StrictModel):
    """A job config with a single block, a list of blocks, and plain fields."""

    unity_loader_config: Target
    extra_loaders: list[Target] = []
    rows: int = Field(10, ge=0)
    limits: dict[str, int] = {}


VALID = {"unity_loader_config": {"strategy": "DELTA", "path": "/tmp/unity"}}


def error_line(data: object) -> str:
    """The one line a bad config produces."""
    with pytest.raises(ConfigError) as caught:
        parse_job_config(ExampleJobConfig, json.dumps(data), argument="example_job")
    assert caught.value.field == "--example_job"
    text = str(caught.value)
    assert "\n" not in text
    return text


def test_valid_config_parses() -> None:
    config = parse_job_config(ExampleJobConfig, json.dumps(VALID), argument="example_job")
    assert isinstance(config.unity_loader_config, DeltaTarget)
    assert config.unity_loader_config.mode == "append"


def test_literal_error_lists_the_allowed_values_without_union_tags() -> None:
    data = {"unity_loader_config": {"strategy": "DELTA", "path": "/p", "mode": "upsert"}}
    assert error_line(data) == (
        "--example_job: unity_loader_config.mode: 'upsert' is not one of append, overwrite, replace_window, merge"
    )


def test_unknown_strategy_names_the_allowed_strategies() -> None:
    data = {"unity_loader_config": {"strategy": "S3", "path": "/p"}}
    assert error_line(data) == "--example_job: unity_loader_config: strategy 'S3' is not one of DELTA, POSTGRES"


def test_missing_strategy() -> None:
    assert error_line({"unity_loader_config": {"path": "/p"}}) == "--example_job: unity_loader_config: missing strategy"


def test_list_indices_in_the_path() -> None:
    data = {**VALID, "extra_loaders": [{"strategy": "DELTA", "path": "/a"}, {"strategy": "POSTGRES", "jdbc_url": "x"}]}
    assert error_line(data) == "--example_job: extra_loaders[1].password: required field is missing"


def test_upper_case_keys_the_user_wrote_stay_in_the_path() -> None:
    data = {**VALID, "limits": {"MAX_ROWS": "many"}}
    assert error_line(data).startswith("--example_job: limits.MAX_ROWS: ")
    data = {"unity_loader_config": {"strategy": "DELTA", "path": "/p", "MODE": "append"}}
    assert error_line(data) == "--example_job: unity_loader_config.MODE: unknown field (check the spelling)"


def test_misspelled_key_is_an_error() -> None:
    data = {"unity_loader_config": {"strategy": "DELTA", "path": "/p", "mdoe": "append"}}
    assert error_line(data) == "--example_job: unity_loader_config.mdoe: unknown field (check the spelling)"


def test_top_level_problems_and_the_count_of_further_errors() -> None:
    assert error_line({}) == "--example_job: unity_loader_config: required field is missing"
    line = error_line({**VALID, "rows": -1, "colour": "red"})
    assert line.startswith("--example_job: rows: Input should be greater than or equal to 0")
    assert line.endswith("(and 1 more)")


def test_validate_model_names_the_argument() -> None:
    with pytest.raises(ConfigError, match=r"^--start_date: start_date: Input should be a valid date"):
        validate_model(RunArguments, {"start_date": [1]}, argument="--start_date")


def test_literal_secrets_are_masked_from_the_moment_they_are_parsed() -> None:
    data = {
        **VALID,
        "extra_loaders": [{"strategy": "POSTGRES", "jdbc_url": "jdbc:postgresql://db/x", "password": "hunter2-pw"}],
    }
    config = parse_job_config(ExampleJobConfig, json.dumps(data), argument="example_job")
    assert "hunter2-pw" not in repr(config)
    assert SCRUBBER.scrub("login with hunter2-pw failed") == "login with *** failed"


def test_secret_references_are_not_registered_as_literals() -> None:
    data = {**VALID, "extra_loaders": [{"strategy": "POSTGRES", "jdbc_url": "j", "password": "env:PG_PASSWORD"}]}
    parse_job_config(ExampleJobConfig, json.dumps(data), argument="example_job")
    assert SCRUBBER.scrub("reference env:PG_PASSWORD") == "reference env:PG_PASSWORD"


def test_config_hash_is_stable_and_ignores_secret_values() -> None:
    def hashed(password: str, rows: int = 10) -> str:
        data = {
            **VALID,
            "rows": rows,
            "extra_loaders": [{"strategy": "POSTGRES", "jdbc_url": "j", "password": password}],
        }
        return config_hash(ExampleJobConfig.model_validate(data))

    assert hashed("first-secret") == hashed("second-secret")
    assert hashed("first-secret") != hashed("first-secret", rows=11)
    assert len(hashed("x")) == 16


def test_json_schema_describes_the_config() -> None:
    schema = ExampleJobConfig.model_json_schema()
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["unity_loader_config"]
    assert schema["$defs"]["PostgresTarget"]["properties"]["password"]["format"] == "password"


# --- the JSON argument ---------------------------------------------------------------------------------------


def test_json_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(VALID))
    assert load_json_argument(f"@{path}", argument="example_job") == VALID


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"a": 1,}', "--example_job: malformed JSON at line 1 column 9"),
        ("[1, 2]", "--example_job: expects a JSON object, got list"),
        ('"text"', "--example_job: expects a JSON object, got str"),
        ("", "--example_job: expects a JSON object"),
        ("@/nonexistent/config.json", "--example_job: cannot read /nonexistent/config.json: No such file or directory"),
        ('{"rows": 3, "rows": 7}', "--example_job: the key 'rows' appears twice in one object"),
        ('{"a": {"mode": "append", "mode": "merge"}}', "--example_job: the key 'mode' appears twice in one object"),
    ],
)
def test_bad_json_arguments(raw: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_json_argument(raw, argument="example_job")
    assert str(caught.value).startswith(message)


def test_a_config_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"name": "caf\u00e9"}'.encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_json_argument(f"@{path}", argument="example_job")
    assert str(caught.value) == f"--example_job: {path} is not UTF-8 text (byte 13)"


# --- run arguments -------------------------------------------------------------------------------------------


def test_run_arguments_parse_iso_dates() -> None:
    args = RunArguments.model_validate({"start_date": "2025-01-01", "end_date": "2025-01-08", "created_by": "airflow"})
    assert (args.start_date, args.end_date, args.created_by) == (dt.date(2025, 1, 1), dt.date(2025, 1, 8), "airflow")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"start_date": "01/02/2025"}, "'01/02/2025' is not an ISO date (YYYY-MM-DD)"),
        ({"start_date": "20250101"}, "'20250101' is not an ISO date (YYYY-MM-DD)"),
        ({"start_date": "2025-W02-1"}, "'2025-W02-1' is not an ISO date (YYYY-MM-DD)"),
        ({"start_date": "2025-01-08", "end_date": "2025-01-01"}, "--end_date 2025-01-01 must be after --start_date"),
        ({"start_date": "2025-01-08", "end_date": "2025-01-08"}, "--end_date 2025-01-08 must be after --start_date"),
    ],
)
def test_run_argument_errors(given: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_model(RunArguments, given, argument="run arguments")
    assert message in str(caught.value)


class NeedsPackages(StrictModel):
    """A block that needs one installed and one absent package."""

    strategy: Literal["NEEDY"] = "NEEDY"
    absent: bool = True

    def required_packages(self) -> dict[str, str]:
        return {"json": "core", **({"dwh_no_such_package": "imaginary"} if self.absent else {})}


class NeedyJobConfig(StrictModel):
    """Blocks at the top, in a list and in a dict."""

    main: NeedsPackages
    more: list[NeedsPackages] = []
    named: dict[str, NeedsPackages] = {}


def test_missing_packages_are_one_config_error_naming_every_block_and_the_extras() -> None:
    config = NeedyJobConfig.model_validate(
        {"main": {}, "more": [{"absent": False}, {}], "named": {"x": {"absent": False}}}
    )
    with pytest.raises(ConfigError) as caught:
        check_packages(config, argument="needy_job")
    assert str(caught.value) == (
        "--needy_job: packages missing for this config: dwh_no_such_package for main, "
        "dwh_no_such_package for more[1] (pip install 'dwh-business-logic[imaginary]')"
    )


def test_installed_packages_pass_the_check() -> None:
    check_packages(NeedyJobConfig.model_validate({"main": {"absent": False}}), argument="needy_job")
