"""Evaluate a list of expectations on a DataFrame in ONE pass, then fail, drop or warn.

    flagged   = frame + one boolean column per row rule (TRUE = valid; ``unique`` via a window count)
    validated = flagged.observe(total, failing rows per rule, rows kept)   <- all counts, same Spark job
                       .where(every drop rule holds).drop(flag columns)
                       .persist(); validated.count()                      <- the one pass

Nothing is written by the check itself, so a ``fail`` rule stops the run before any load.
With ``persist=True`` (the default) the validated rows are cached: the loads that follow read the
cache instead of recomputing the source. Where the platform refuses caching (Databricks
serverless), the counts are taken by one aggregation job and the loads recompute the plan; so they are
where the observation came back empty (Spark 3.5 reports no metrics when no row reached them).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dwh.run_report import QualityResult, RunReport
from dwh.strategies.quality.expectations import BaseExpectation, RowCountMinExpectation, RowExpectation

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

log = logging.getLogger(__name__)
_FLAG = "__dq_flag_{}"


class ExpectationError(ValueError):
    """An expectation cannot be evaluated on this data (unknown column, bad SQL); names the rule."""


class ExpectationFailedError(RuntimeError):
    """A rule with policy ``fail`` had failing rows; raised before anything is written."""

    def __init__(self, failures: list[QualityResult]) -> None:
        self.failures = failures
        parts = [f"{r.name} ({r.rule}): {r.failing_rows} failing rows" for r in failures]
        super().__init__("data-quality rule with policy fail failed: " + "; ".join(parts))


@dataclass
class QualityOutcome:
    """The validated rows and what every rule found."""

    frame: DataFrame
    results: list[QualityResult]
    rows_in: int
    rows_out: int
    persisted: bool = False
    dropped_by_rule: dict[str, int] = field(default_factory=dict)

    @property
    def failures(self) -> list[QualityResult]:
        """Results of ``fail`` rules that had failing rows (the run must stop)."""
        return [result for result in self.results if result.policy == "fail" and not result.passed]

    def raise_for_failures(self) -> None:
        """Raise `ExpectationFailedError` (after releasing the cache) when a ``fail`` rule failed."""
        if self.failures:
            if self.persisted:
                self.frame.unpersist()
            raise ExpectationFailedError(self.failures)


def evaluate_expectations(
    frame: DataFrame, expectations: Sequence[BaseExpectation], *, persist: bool = True
) -> QualityOutcome:
    """Flag, count and filter in one pass; returns the rows that pass every ``drop`` rule."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    row_rules = [e for e in expectations if isinstance(e, RowExpectation)]
    flags = [_FLAG.format(index) for index in range(len(row_rules))]
    flagged = _flag(frame, row_rules, flags)
    keep: Column = F.lit(True)
    for rule, flag in zip(row_rules, flags, strict=True):
        if rule.policy == "drop":
            keep = keep & F.col(flag)
    metrics = [F.count(F.lit(1)).alias("rows_in"), _count_if(keep).alias("rows_out")]
    metrics += [_count_if(~F.col(flag)).alias(flag) for flag in flags]
    counts: dict[str, Any] | None = None
    validated: DataFrame | None = None
    if persist:
        observation = Observation()
        validated = _persisted(flagged.observe(observation, *metrics).where(keep).drop(*flags))
        if validated is not None:
            validated.count()
            counts = dict(observation.get) or None  # Spark 3.5 observes nothing when no row reached it
    if validated is None:
        validated = flagged.where(keep).drop(*flags)
    if counts is None:
        counts = flagged.agg(*metrics).first().asDict()  # type: ignore[union-attr]
    persisted = bool(persist and validated.is_cached)
    return _outcome(validated, expectations, row_rules, flags, counts, persisted=persisted)


def apply_expectations(
    frame: DataFrame,
    expectations: Sequence[BaseExpectation],
    report: RunReport,
    *,
    step_name: str = "quality",
    persist: bool = True,
) -> QualityOutcome:
    """Evaluate, record a report step and every result in ``report.quality``, then raise on ``fail``."""
    with report.step(step_name) as step:
        outcome = evaluate_expectations(frame, expectations, persist=persist)
        step.rows_in, step.rows_out = outcome.rows_in, outcome.rows_out
        step.detail = {"dropped_rows": outcome.rows_in - outcome.rows_out, "dropped_by_rule": outcome.dropped_by_rule}
    report.quality.extend(outcome.results)
    for result in outcome.results:
        if not result.passed:
            log.warning(
                "data-quality rule %s [%s] %s: %d failing rows",
                result.name,
                result.policy,
                result.rule,
                result.failing_rows,
            )
    outcome.raise_for_failures()
    return outcome


def _flag(frame: DataFrame, rules: list[RowExpectation], flags: list[str]) -> DataFrame:
    """Add the flag columns; a rule that cannot be built or analysed raises `ExpectationError` naming it."""
    columns = {}
    for rule, flag in zip(rules, flags, strict=True):
        columns[flag] = _checked(rule, lambda rule=rule: rule.passes())
    if not columns:
        return frame
    try:
        flagged = frame.withColumns(columns)
        flagged.schema  # noqa: B018 - Spark Connect analyses lazily: analyse now, so a bad rule is named here
        return flagged
    except Exception:
        for rule, flag in zip(rules, flags, strict=True):
            _checked(rule, lambda rule=rule, flag=flag: frame.select(columns[flag]).schema)
        raise


def _checked(rule: BaseExpectation, build: Any) -> Any:
    try:
        return build()
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExpectationError(f"expectation {rule.name!r} ({rule.describe()}): {first_line}") from exc


def _count_if(condition: Column) -> Column:
    from pyspark.sql import functions as F

    return F.coalesce(F.sum(F.when(condition, F.lit(1)).otherwise(F.lit(0))), F.lit(0)).cast("long")


def _outcome(
    validated: DataFrame,
    expectations: Sequence[BaseExpectation],
    row_rules: list[RowExpectation],
    flags: list[str],
    counts: dict[str, Any],
    *,
    persisted: bool,
) -> QualityOutcome:
    failing = {rule.name: int(counts[flag] or 0) for rule, flag in zip(row_rules, flags, strict=True)}
    rows_in, rows_out = int(counts["rows_in"] or 0), int(counts["rows_out"] or 0)
    results = []
    for expectation in expectations:
        if isinstance(expectation, RowCountMinExpectation):
            failing_rows = expectation.shortfall(rows_out)
        else:
            failing_rows = failing[expectation.name]
        results.append(
            QualityResult(
                name=expectation.name,
                rule=expectation.describe(),
                policy=expectation.policy,
                failing_rows=failing_rows,
                passed=failing_rows == 0,
            )
        )
    dropped = {rule.name: failing[rule.name] for rule in row_rules if rule.policy == "drop"}
    return QualityOutcome(
        frame=validated,
        results=results,
        rows_in=rows_in,
        rows_out=rows_out,
        persisted=persisted,
        dropped_by_rule=dropped,
    )


def _persisted(frame: DataFrame) -> DataFrame | None:
    """The frame marked for caching, or None where the platform refuses caching (Databricks serverless)."""
    from pyspark import StorageLevel

    try:
        return frame.persist(StorageLevel.MEMORY_AND_DISK)
    except Exception as exc:
        log.info("caching is not available here (%s): the loads will recompute the validated rows", exc)
        return None
