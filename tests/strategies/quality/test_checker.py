"""Expectations on a real local Spark: counts per rule, warn / drop / fail, NULL semantics, and one pass."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import TypeAdapter

from dwh.run_report import QualityResult, RunReport
from dwh.strategies.quality import (
    ExpectationError,
    ExpectationFailedError,
    ExpectationList,
    apply_expectations,
    evaluate_expectations,
)

pytestmark = pytest.mark.spark

ROWS = [
    ("a", 1.0, "X"),
    ("a", 2.0, "Y"),
    ("b", -1.0, "X"),
    (None, 5.0, "Z"),
    (None, 6.0, None),
    ("c", None, "X"),
    ("d", 200.0, "Y"),
]


def rules(*items: dict[str, Any]) -> list[Any]:
    return TypeAdapter(ExpectationList).validate_python(list(items))


@pytest.fixture
def frame(spark: Any) -> Any:
    return spark.createDataFrame(ROWS, "id string, x double, kind string")


def test_every_rule_counts_its_failing_rows_and_only_drop_rules_remove_rows(frame: Any) -> None:
    outcome = evaluate_expectations(
        frame,
        rules(
            {"name": "id_present", "rule": "not_null", "column": "id", "policy": "warn"},
            {"name": "id_unique", "rule": "unique", "columns": ["id"], "policy": "drop"},
            {"name": "x_positive", "rule": "range", "column": "x", "min": 0, "inclusive": False, "policy": "drop"},
            {"name": "x_small", "rule": "expression", "expression": "x < 100", "policy": "warn"},
            {"name": "kind_known", "rule": "accepted_values", "column": "kind", "values": ["X", "Y"]},
            {"name": "enough", "rule": "row_count_min", "min": 5, "policy": "warn"},
        ),
    )
    assert {r.name: r.failing_rows for r in outcome.results} == {
        "id_present": 2,  # the two NULL ids
        "id_unique": 2,  # both rows of "a"; NULL keys are not compared
        "x_positive": 2,  # -1.0, and NULL fails
        "x_small": 2,  # 200.0, and NULL fails
        "kind_known": 2,  # "Z" and NULL
        "enough": 2,  # 3 rows kept, 5 wanted
    }
    assert [r.passed for r in outcome.results] == [False] * 6
    assert (outcome.rows_in, outcome.rows_out) == (7, 3)
    assert outcome.dropped_by_rule == {"id_unique": 2, "x_positive": 2}
    assert sorted(outcome.frame.collect(), key=str) == sorted(
        [(None, 5.0, "Z"), (None, 6.0, None), ("d", 200.0, "Y")], key=str
    )
    assert outcome.frame.columns == ["id", "x", "kind"]
    assert outcome.persisted and outcome.frame.is_cached
    outcome.frame.unpersist()


def test_passing_rules_report_zero_and_pass(frame: Any) -> None:
    outcome = evaluate_expectations(
        frame,
        rules(
            {"name": "kind_short", "rule": "expression", "expression": "kind IS NULL OR length(kind) = 1"},
            {"name": "some_rows", "rule": "row_count_min", "min": 7, "policy": "fail"},
        ),
        persist=False,
    )
    assert outcome.results == [
        QualityResult(name="kind_short", rule="expression(kind IS NULL OR length(kind) = 1)", policy="warn",
                      failing_rows=0, passed=True),
        QualityResult(name="some_rows", rule="row_count_min(7)", policy="fail", failing_rows=0, passed=True),
    ]  # fmt: skip
    assert not outcome.persisted
    assert outcome.frame.count() == 7


def test_a_failing_fail_rule_raises_naming_rule_and_count_after_recording_every_result(frame: Any) -> None:
    report = RunReport(context={})
    with pytest.raises(ExpectationFailedError) as caught:
        apply_expectations(
            frame,
            rules(
                {"name": "id_present", "rule": "not_null", "column": "id", "policy": "fail"},
                {"name": "x_positive", "rule": "range", "column": "x", "min": 0, "policy": "drop"},
            ),
            report,
        )
    assert str(caught.value) == ("data-quality rule with policy fail failed: id_present (not_null(id)): 2 failing rows")
    assert [(r.name, r.failing_rows) for r in report.quality] == [("id_present", 2), ("x_positive", 2)]
    step = report.steps[0]
    assert (step.name, step.rows_in, step.rows_out) == ("quality", 7, 5)
    assert step.detail == {"dropped_rows": 2, "dropped_by_rule": {"x_positive": 2}}


def test_row_count_min_with_fail_stops_an_empty_output(frame: Any) -> None:
    report = RunReport(context={})
    with pytest.raises(ExpectationFailedError, match=r"not_empty \(row_count_min\(1\)\): 1 failing rows"):
        apply_expectations(
            frame.where("x > 1000"),
            rules({"name": "not_empty", "rule": "row_count_min", "min": 1, "policy": "fail"}),
            report,
        )
    assert report.failed_quality[0].failing_rows == 1


def test_an_expression_on_an_unknown_column_names_the_rule(frame: Any) -> None:
    with pytest.raises(ExpectationError, match=r"^expectation 'typo' \(expression\(nope > 1\)\): .*nope"):
        evaluate_expectations(frame, rules({"name": "typo", "rule": "expression", "expression": "nope > 1"}))


def test_bad_sql_names_the_rule(frame: Any) -> None:
    with pytest.raises(ExpectationError, match=r"^expectation 'broken' \(expression\(x >\)\)"):
        evaluate_expectations(frame, rules({"name": "broken", "rule": "expression", "expression": "x >"}))


def test_composite_unique_and_dates(spark: Any) -> None:
    import datetime as dt

    frame = spark.createDataFrame(
        [("a", 1, dt.date(2025, 1, 1)), ("a", 2, dt.date(2025, 1, 2)), ("a", 1, dt.date(2024, 12, 1))],
        "k string, n int, day date",
    )
    outcome = evaluate_expectations(
        frame,
        rules(
            {"name": "key", "rule": "unique", "columns": ["k", "n"], "policy": "drop"},
            {"name": "recent", "rule": "range", "column": "day", "min": "2025-01-01", "policy": "warn"},
        ),
    )
    assert [(r.name, r.failing_rows) for r in outcome.results] == [("key", 2), ("recent", 1)]
    assert outcome.frame.collect() == [("a", 2, dt.date(2025, 1, 2))]
    outcome.frame.unpersist()


def _jobs_for(spark: Any, action: Any) -> int:
    context = spark.sparkContext
    group = f"dq-{uuid.uuid4().hex[:8]}"
    context.setJobGroup(group, group)
    try:
        action()
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)
    return len(context.statusTracker().getJobIdsForGroup(group))


def test_the_number_of_spark_jobs_does_not_grow_with_the_number_of_rules(spark: Any, frame: Any, tmp_path: Any) -> None:
    """One pass (with AQE a pass may show as a few jobs): the same jobs for 1 rule or 11 rules."""
    frame.write.parquet(str(tmp_path / "source"))
    frame = spark.read.parquet(str(tmp_path / "source"))
    one = rules({"name": "key", "rule": "unique", "columns": ["id"]})
    many = rules(
        {"name": "key", "rule": "unique", "columns": ["id"]},
        *(
            {"name": f"r{i}", "rule": "expression", "expression": f"x > {i}", "policy": "drop" if i % 2 else "warn"}
            for i in range(8)
        ),
        {"name": "ids", "rule": "accepted_values", "column": "id", "values": ["a", "b"]},
        {"name": "rows", "rule": "row_count_min", "min": 1},
    )
    outcomes: list[Any] = []
    baseline = _jobs_for(spark, lambda: outcomes.append(evaluate_expectations(frame, one)))
    assert _jobs_for(spark, lambda: outcomes.append(evaluate_expectations(frame, many))) == baseline
    assert len(outcomes[1].results) == 11
    assert outcomes[1].frame.is_cached  # the loads that follow read the cache instead of recomputing
    for outcome in outcomes:
        outcome.frame.unpersist()
