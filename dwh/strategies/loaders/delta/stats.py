"""Delta file statistics (``numRecords``, ``nullCount``, ``minValues``, ``maxValues``) from a Parquet footer.

Written into each add action so Delta readers (delta-rs, Spark Delta) can skip files. Only top-level
numbers, strings, dates and timestamps get min/max; booleans, binary, decimals, NaN/inf and nested
columns are left out (a missing value only means "cannot skip"). Timestamps are stored at
millisecond precision as Delta does: the min is rounded down and the max rounded up, so a skipped
file can never hold a matching row.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any


def file_stats(metadata: Any) -> dict[str, Any]:
    """Delta ``stats`` of one Parquet file from its footer (top-level primitive columns only)."""
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    groups = [metadata.row_group(i) for i in range(metadata.num_row_groups)]
    for index in range(metadata.num_columns):
        chunks = [group.column(index) for group in groups]
        name = metadata.schema.column(index).path
        if "." in name:
            continue  # a nested leaf: Delta nests its stats, we simply leave them out
        statistics = [chunk.statistics for chunk in chunks]
        if any(stat is None for stat in statistics):
            continue
        nulls[name] = sum(int(stat.null_count) for stat in statistics)
        with_values = [stat for stat in statistics if stat.has_min_max]
        if len(with_values) != sum(1 for stat in statistics if stat.num_values > 0):
            continue
        if with_values:
            low = _stat_value(min(stat.min for stat in with_values), up=False)
            high = _stat_value(max(stat.max for stat in with_values), up=True)
            if low is not None and high is not None:
                mins[name], maxs[name] = low, high
    return {"numRecords": metadata.num_rows, "minValues": mins, "maxValues": maxs, "nullCount": nulls}


def _stat_value(value: Any, *, up: bool) -> Any:
    """A footer min/max as Delta stats JSON; None for types we leave out (booleans, binary, decimals, NaN)."""
    if isinstance(value, (bool, bytes)):
        return None
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        aware = aware.astimezone(dt.timezone.utc)
        millis = aware.replace(microsecond=(aware.microsecond // 1000) * 1000)
        if up and millis != aware:
            millis += dt.timedelta(milliseconds=1)
        return millis.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (int, str)):
        return value
    return None
