"""The expectation models: the config shape users write, its one-line errors, and its JSON Schema."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from dwh.config import StrictModel, validate_model
from dwh.errors import ConfigError
from dwh.strategies.quality import (
    AcceptedValuesExpectation,
    ExpectationList,
    ExpressionExpectation,
    NotNullExpectation,
    RangeExpectation,
    RowCountMinExpectation,
    UniqueExpectation,
)


class AnyJobConfig(StrictModel):
    """Stands for any job's config that takes expectations."""

    expectations: ExpectationList = []


def parse(*rules: dict) -> list:
    return validate_model(AnyJobConfig, {"expectations": list(rules)}, argument="--any_job").expectations


def test_each_rule_parses_from_its_flat_json_shape() -> None:
    rules = parse(
        {"name": "id", "rule": "not_null", "column": "promo_id", "policy": "fail"},
        {"name": "key", "rule": "unique", "columns": ["promo_id", "sku"], "policy": "drop"},
        {"name": "type", "rule": "accepted_values", "column": "promo_type", "values": ["A", "B"]},
        {"name": "price", "rule": "range", "column": "price", "min": 0, "max": 9.5, "inclusive": False},
        {"name": "day", "rule": "range", "column": "day", "min": "2025-01-01"},
        {"name": "rows", "rule": "row_count_min", "min": 1, "policy": "fail"},
        {"name": "dates", "rule": "expression", "expression": "end_date >= start_date", "policy": "drop"},
    )
    assert [type(rule) for rule in rules] == [
        NotNullExpectation,
        UniqueExpectation,
        AcceptedValuesExpectation,
        RangeExpectation,
        RangeExpectation,
        RowCountMinExpectation,
        ExpressionExpectation,
    ]
    assert rules[2].policy == "warn"  # DLT's default: expect
    assert rules[4].min == dt.date(2025, 1, 1)
    assert [rule.describe() for rule in rules] == [
        "not_null(promo_id)",
        "unique(promo_id, sku)",
        "accepted_values(promo_type: A, B)",
        "range(0 < price < 9.5)",
        "range(2025-01-01 <= day)",
        "row_count_min(1)",
        "expression(end_date >= start_date)",
    ]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"name": "x", "rule": "between", "column": "a"},
            "--any_job: expectations[0]: rule 'between' is not one of not_null, unique, accepted_values, range, "
            "row_count_min, expression",
        ),
        ({"name": "x", "column": "a"}, "--any_job: expectations[0]: missing rule"),
        (
            {"name": "x", "rule": "not_null", "column": "a", "policy": "abort"},
            "--any_job: expectations[0].not_null.policy: 'abort' is not one of warn, drop, fail",
        ),
        (
            {"name": "x", "rule": "not_null", "colum": "a"},
            "--any_job: expectations[0].not_null.column: required field is missing (and 1 more)",
        ),
        (
            {"name": "x", "rule": "range", "column": "a"},
            "--any_job: expectations[0].range: range needs min, max or both",
        ),
        (
            {"name": "x", "rule": "row_count_min", "min": 1, "policy": "drop"},
            "--any_job: expectations[0].row_count_min.policy: row_count_min is a dataset rule: "
            "its policy is warn or fail, not drop",
        ),
        (
            {"name": "x", "rule": "unique", "columns": ["a", "a"]},
            "--any_job: expectations[0].unique.columns: columns must not repeat",
        ),
    ],
)
def test_a_bad_rule_is_one_config_error_line_naming_the_field(rule: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(rule)
    assert str(caught.value) == message


def test_two_rules_with_the_same_name_are_rejected() -> None:
    with pytest.raises(ConfigError, match="expectation name 'same' is used twice"):
        parse(
            {"name": "same", "rule": "not_null", "column": "a"},
            {"name": "same", "rule": "not_null", "column": "b"},
        )


def test_the_json_schema_documents_every_rule_under_the_rule_key() -> None:
    schema = AnyJobConfig.model_json_schema()
    mapping = schema["properties"]["expectations"]["items"]["discriminator"]["mapping"]
    assert sorted(mapping) == ["accepted_values", "expression", "not_null", "range", "row_count_min", "unique"]
    assert "policy" in json.dumps(schema["$defs"]["NotNullExpectation"])
