"""Data-quality expectations for any job: declarative ``{name, rule, policy}`` rules, checked in one pass.

A job config takes a list of expectations (see `expectations` for every rule's fields)::

    "expectations": [
      {"name": "promo_id_not_null", "rule": "not_null", "column": "promo_id", "policy": "fail"},
      {"name": "known_type", "rule": "accepted_values", "column": "promo_type",
       "values": ["PCT_OFF", "AMOUNT_OFF", "BOGO"], "policy": "drop"},
      {"name": "at_least_one_row", "rule": "row_count_min", "min": 1, "policy": "warn"}
    ]

and the job calls `apply_expectations(frame, config.expectations, self.report)` before writing:
every rule is evaluated in one Spark job, ``fail`` rules stop the run (nothing written), ``drop``
rules remove their failing rows, ``warn`` rules only report. Results land in ``report.quality``,
from where `AbstractJob` sends the data-quality notice whenever a rule had failing rows.
"""

from __future__ import annotations

from dwh.strategies.quality.checker import (
    ExpectationError,
    ExpectationFailedError,
    QualityOutcome,
    apply_expectations,
    evaluate_expectations,
)
from dwh.strategies.quality.expectations import (
    AcceptedValuesExpectation,
    BaseExpectation,
    Expectation,
    ExpectationList,
    ExpressionExpectation,
    NotNullExpectation,
    RangeExpectation,
    RowCountMinExpectation,
    RowExpectation,
    UniqueExpectation,
)

__all__ = [
    "AcceptedValuesExpectation",
    "BaseExpectation",
    "Expectation",
    "ExpectationError",
    "ExpectationFailedError",
    "ExpectationList",
    "ExpressionExpectation",
    "NotNullExpectation",
    "QualityOutcome",
    "RangeExpectation",
    "RowCountMinExpectation",
    "RowExpectation",
    "UniqueExpectation",
    "apply_expectations",
    "evaluate_expectations",
]
