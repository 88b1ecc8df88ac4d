"""The default data-quality rules of load_promos (issue 4); ``expectations`` in the config replaces them."""

from __future__ import annotations

from typing import Any

from dwh.jobs.load_promos.schema import PROMO_TYPES

#: The default data-quality rules of issue 4, in the order they are reported.
DEFAULT_EXPECTATIONS: list[dict[str, Any]] = [
    {"name": "promo_id_not_null", "rule": "not_null", "column": "promo_id", "policy": "fail"},
    {
        "name": "promo_type_accepted",
        "rule": "accepted_values",
        "column": "promo_type",
        "values": list(PROMO_TYPES),
        "policy": "drop",
    },
    {
        "name": "regular_price_positive",
        "rule": "range",
        "column": "regular_price",
        "min": 0,
        "inclusive": False,
        "policy": "drop",
    },
    {
        "name": "promo_price_in_range",
        "rule": "expression",
        "expression": "promo_price >= 0 AND promo_price <= regular_price",
        "policy": "drop",
    },
    {"name": "end_not_before_start", "rule": "expression", "expression": "end_date >= start_date", "policy": "drop"},
    {"name": "output_not_empty", "rule": "row_count_min", "min": 1, "policy": "warn"},
]
