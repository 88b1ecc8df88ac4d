"""The expectation models: ``{name, rule, policy}`` plus the rule's own fields, one flat object per rule.

The ``rule`` key selects the model (a pydantic discriminated union)::

    {"name": "id_present",   "rule": "not_null",        "column": "promo_id",              "policy": "fail"}
    {"name": "id_unique",    "rule": "unique",          "columns": ["promo_id"],           "policy": "drop"}
    {"name": "known_type",   "rule": "accepted_values", "column": "promo_type",
                             "values": ["PCT_OFF", "AMOUNT_OFF", "BOGO"],                  "policy": "drop"}
    {"name": "price_pos",    "rule": "range",           "column": "regular_price", "min": 0,
                             "inclusive": false,                                           "policy": "drop"}
    {"name": "dates_order",  "rule": "expression",      "expression": "end_date >= start_date", "policy": "drop"}
    {"name": "not_empty",    "rule": "row_count_min",   "min": 1,                          "policy": "warn"}

Policies follow Databricks DLT: ``warn`` (expect: keep the rows, report them), ``drop``
(expect_or_drop: remove the failing rows before anything is written) and ``fail``
(expect_or_fail: stop the run before anything is written). The default is ``warn``.

A row passes a row rule only when the rule evaluates to TRUE: NULL (unknown) counts as a failure,
so ``range`` and ``accepted_values`` also reject nulls (write ``x IS NULL OR ...`` as an
``expression`` to let them through). ``unique`` is the exception, as in SQL: a key with a null part
is not compared. Rows whose key occurs more than once all fail ``unique``. ``row_count_min`` is a
dataset rule checked on the rows that survive the drop rules; its ``failing_rows`` is the shortfall.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from dwh.config import StrictModel

if TYPE_CHECKING:
    from pyspark.sql import Column

Policy = Literal["warn", "drop", "fail"]
#: A literal a rule compares with: a number, a date/timestamp (ISO string in JSON), a string or a boolean.
Bound = Annotated[int | float | dt.date | dt.datetime, Field(union_mode="smart")]
Value = str | int | float | bool


def spark_column(name: str) -> Column:
    """A column by its plain name (dots and spaces are part of the name, not struct access)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


class BaseExpectation(StrictModel, ABC):
    """Fields every expectation has: a unique ``name``, the ``rule`` tag and the ``policy``."""

    name: str = Field(
        ..., min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.\- ]+$", description="Unique name of the rule."
    )
    policy: Policy = Field("warn", description="warn (keep and report), drop (remove failing rows) or fail (stop).")

    @abstractmethod
    def describe(self) -> str:
        """The rule in one short line, e.g. ``not_null(promo_id)`` (goes into the run report)."""


class RowExpectation(BaseExpectation, ABC):
    """A rule evaluated on every row: `passes` is a boolean column, TRUE when the row is valid."""

    @abstractmethod
    def condition(self) -> Column:
        """The rule as a Spark column (may be NULL; the checker counts NULL as failing)."""

    def passes(self) -> Column:
        """TRUE when the row satisfies the rule, FALSE otherwise (never NULL)."""
        from pyspark.sql import functions as F

        return F.coalesce(self.condition(), F.lit(False))


class NotNullExpectation(RowExpectation):
    """``column`` is not null."""

    rule: Literal["not_null"] = "not_null"
    column: str = Field(..., min_length=1, description="The column that must not be null.")

    def condition(self) -> Column:
        """``column IS NOT NULL``."""
        return spark_column(self.column).isNotNull()

    def describe(self) -> str:
        """``not_null(column)``."""
        return f"not_null({self.column})"


class AcceptedValuesExpectation(RowExpectation):
    """``column`` is one of ``values`` (null fails)."""

    rule: Literal["accepted_values"] = "accepted_values"
    column: str = Field(..., min_length=1, description="The column to check.")
    values: list[Value] = Field(..., min_length=1, description="The allowed values.")

    def condition(self) -> Column:
        """``column IN (values)``."""
        return spark_column(self.column).isin(list(self.values))

    def describe(self) -> str:
        """``accepted_values(column: a, b, c)``."""
        return f"accepted_values({self.column}: {', '.join(str(v) for v in self.values)})"


class RangeExpectation(RowExpectation):
    """``min <= column <= max`` (``<`` with ``inclusive: false``); either bound may be omitted; null fails."""

    rule: Literal["range"] = "range"
    column: str = Field(..., min_length=1, description="The column to check.")
    min: Bound | None = Field(None, description="Lower bound (number, or ISO date/timestamp).")
    max: Bound | None = Field(None, description="Upper bound (number, or ISO date/timestamp).")
    inclusive: bool = Field(True, description="Whether the bounds themselves are allowed.")

    @model_validator(mode="after")
    def _has_a_bound(self) -> RangeExpectation:
        if self.min is None and self.max is None:
            raise ValueError("range needs min, max or both")
        return self

    def condition(self) -> Column:
        """The comparison(s) against the bound(s)."""
        from pyspark.sql import functions as F

        column = spark_column(self.column)
        checks = []
        if self.min is not None:
            checks.append(column >= F.lit(self.min) if self.inclusive else column > F.lit(self.min))
        if self.max is not None:
            checks.append(column <= F.lit(self.max) if self.inclusive else column < F.lit(self.max))
        return checks[0] if len(checks) == 1 else checks[0] & checks[1]

    def describe(self) -> str:
        """``range(min <= column <= max)``."""
        op = "<=" if self.inclusive else "<"
        low = f"{self.min} {op} " if self.min is not None else ""
        high = f" {op} {self.max}" if self.max is not None else ""
        return f"range({low}{self.column}{high})"


class UniqueExpectation(RowExpectation):
    """The combination of ``columns`` occurs once; every row of a repeated key fails; keys with a null pass."""

    rule: Literal["unique"] = "unique"
    columns: list[str] = Field(..., min_length=1, description="The key columns.")

    @field_validator("columns")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("columns must not repeat")
        return value

    def condition(self) -> Column:
        """``count(*) OVER (PARTITION BY columns) = 1``, or any key column null."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        keys = [spark_column(name) for name in self.columns]
        occurrences = F.count(F.lit(1)).over(Window.partitionBy(*keys))
        any_null = keys[0].isNull()
        for key in keys[1:]:
            any_null = any_null | key.isNull()
        return any_null | (occurrences == 1)

    def describe(self) -> str:
        """``unique(a, b)``."""
        return f"unique({', '.join(self.columns)})"


class ExpressionExpectation(RowExpectation):
    """Any Spark SQL boolean expression over the row, e.g. ``end_date >= start_date``."""

    rule: Literal["expression"] = "expression"
    expression: str = Field(..., min_length=1, description="A Spark SQL boolean expression; TRUE means valid.")

    def condition(self) -> Column:
        """The parsed expression."""
        from pyspark.sql import functions as F

        return F.expr(self.expression)

    def describe(self) -> str:
        """``expression(...)``."""
        return f"expression({self.expression})"


class RowCountMinExpectation(BaseExpectation):
    """At least ``min`` rows remain after the drop rules (a dataset rule: ``drop`` is not allowed)."""

    rule: Literal["row_count_min"] = "row_count_min"
    min: int = Field(..., ge=0, description="The smallest acceptable number of output rows.")

    @field_validator("policy")
    @classmethod
    def _no_drop(cls, value: str) -> str:
        if value == "drop":
            raise ValueError("row_count_min is a dataset rule: its policy is warn or fail, not drop")
        return value

    def shortfall(self, rows: int) -> int:
        """How many rows are missing to reach ``min`` (0 when the rule holds)."""
        return max(self.min - rows, 0)

    def describe(self) -> str:
        """``row_count_min(n)``."""
        return f"row_count_min({self.min})"


Expectation = Annotated[
    NotNullExpectation
    | UniqueExpectation
    | AcceptedValuesExpectation
    | RangeExpectation
    | RowCountMinExpectation
    | ExpressionExpectation,
    Field(discriminator="rule"),
]


def check_unique_names(expectations: list[BaseExpectation]) -> None:
    """Raise ValueError when two expectations share a name (names identify results in reports)."""
    seen: set[str] = set()
    for expectation in expectations:
        if expectation.name in seen:
            raise ValueError(f"expectation name {expectation.name!r} is used twice")
        seen.add(expectation.name)


def _unique_names(expectations: list[Any]) -> list[Any]:
    check_unique_names(expectations)
    return expectations


#: A job-config field type: a list of expectations whose names are unique.
ExpectationList = Annotated[list[Expectation], AfterValidator(_unique_names)]
