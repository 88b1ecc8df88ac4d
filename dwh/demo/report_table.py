"""Turn a load_promos run report (the ``run_report {json}`` log line) into a short readable table."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_REPORT_LINE = re.compile(r"\brun_report (\{.*\})\s*$")


@dataclass(frozen=True)
class Output:
    """One target of the run: its config slot, how it was written, where it lives, rows it holds now."""

    slot: str
    how: str
    location: str
    rows_now: int | None = None


def find_run_report(log_text: str) -> dict[str, Any] | None:
    """The last ``run_report {json}`` line of a job's stderr, decoded (None when there is none)."""
    for line in reversed(log_text.splitlines()):
        match = _REPORT_LINE.search(line)
        if match:
            try:
                decoded = json.loads(match.group(1))
            except json.JSONDecodeError:
                continue
            return decoded if isinstance(decoded, dict) else None
    return None


def _number(value: Any) -> str:
    return "-" if value is None else f"{value:,}"


def _table(headers: list[str], rows: Iterable[list[str]], right: set[int]) -> list[str]:
    rows = [headers, *rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]

    def render(row: list[str]) -> str:
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        return "  " + "  ".join(cells).rstrip()

    return [render(rows[0]), "  " + "  ".join("-" * width for width in widths), *map(render, rows[1:])]


def format_report(report: dict[str, Any], outputs: list[Output]) -> str:
    """Steps (rows in/out, seconds), data-quality results (rows dropped per rule) and the outputs."""
    context = report.get("context", {})
    lines = [
        f"{context.get('job_name', 'job')} {report.get('outcome', '?')} in {report.get('seconds', 0):.1f} s"
        f"  (window {context.get('start_date')} .. {context.get('end_date')}, end exclusive;"
        f" run {context.get('run_ids', {}).get('run_id', '?')})",
        "",
        "steps",
    ]
    step_rows = [
        [step["name"], _number(step.get("rows_in")), _number(step.get("rows_out")), f"{step.get('seconds', 0):.2f}"]
        for step in report.get("steps", [])
    ]
    lines += _table(["step", "rows in", "rows out", "seconds"], step_rows, right={1, 2, 3})
    quality = report.get("quality", [])
    if quality:
        lines += ["", "data quality (a row can fail several rules)"]
        quality_rows = [
            [item["name"], item["policy"], _number(item["failing_rows"]), _effect(item), item["rule"]]
            for item in quality
        ]
        lines += _table(["rule", "policy", "failing", "effect", "check"], quality_rows, right={2})
    for step in report.get("steps", []):
        if step["name"] == "transform" and step.get("detail"):
            detail = step["detail"]
            lines += [
                "",
                f"outside the window: {_number(detail.get('outside_window'))} rows;"
                f" duplicates removed: {_number(detail.get('duplicates_removed'))} rows",
            ]
    if report.get("error"):
        lines += ["", f"error: {report['error']}"]
    if outputs:
        lines += ["", "outputs"]
        output_rows = [[o.slot, o.how, _number(o.rows_now), o.location] for o in outputs]
        lines += _table(["target", "written as", "rows now", "where"], output_rows, right={2})
    return "\n".join(lines)


def _effect(item: dict[str, Any]) -> str:
    if item["passed"]:
        return "ok"
    return {"drop": "rows dropped", "fail": "RUN STOPPED", "warn": "kept, reported"}.get(item["policy"], "")
