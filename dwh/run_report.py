"""The run report: one record per run, logged as one JSON line and attached to every notification."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from dwh.secrets import SCRUBBER

#: How much of an error message a report keeps (the full traceback goes to the log).
ERROR_SUMMARY_LIMIT = 500


@dataclass
class StepReport:
    """Rows in/out and seconds of one step (extract, transform, a load, ...)."""

    name: str
    rows_in: int | None = None
    rows_out: int | None = None
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class QualityResult:
    """The outcome of one data-quality rule: how many rows failed it and what the policy did."""

    name: str
    rule: str
    policy: str
    failing_rows: int
    passed: bool


@dataclass
class RunReport:
    """What a run did: context, steps, quality results, outcome and an error summary."""

    context: dict[str, Any]
    steps: list[StepReport] = field(default_factory=list)
    quality: list[QualityResult] = field(default_factory=list)
    outcome: str = "running"
    error: str | None = None
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat())
    seconds: float = 0.0
    _t0: float = field(default_factory=time.perf_counter, repr=False)

    @contextmanager
    def step(self, name: str) -> Iterator[StepReport]:
        """Time a step; the caller fills in rows_in / rows_out on the yielded record."""
        record = StepReport(name=name)
        self.steps.append(record)
        started = time.perf_counter()
        try:
            yield record
        finally:
            record.seconds = round(time.perf_counter() - started, 3)

    def finish(self, outcome: str, error: BaseException | None = None) -> None:
        """Record the outcome (``succeeded`` / ``failed``) and a scrubbed one-line error summary."""
        self.outcome = outcome
        self.seconds = round(time.perf_counter() - self._t0, 3)
        if error is not None:
            self.error = summarize_error(error)

    @property
    def failed_quality(self) -> list[QualityResult]:
        """The quality rules that had failing rows."""
        return [result for result in self.quality if not result.passed]

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able values."""
        data = asdict(self)
        data.pop("_t0", None)
        return data

    def to_json(self) -> str:
        """The report as one JSON line, with every registered secret masked."""
        return SCRUBBER.scrub(json.dumps(self.to_dict(), default=str, sort_keys=True))


def summarize_error(error: BaseException) -> str:
    """``ExceptionType: first line of the message``, secrets masked, at most 500 characters."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    return SCRUBBER.scrub(text)[:ERROR_SUMMARY_LIMIT]
