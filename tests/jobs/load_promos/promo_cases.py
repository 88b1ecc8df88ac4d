"""The hand-built promotions every load_promos test uses, and the exact rows the job must write.

Window ``[2025-01-01, 2025-01-08)``. The input covers every rule: window edges (P02 ends on the
window start: in; P03 starts on the last day: in; P04 starts on the window end: out; P05 ends the
day before: out), duplicates (P01 twice identical; P03 vs " P03 " differing in whitespace; P06 an
older and a newer version; P07 a tie on updated_at broken by store_id), each promo_type, and each
drop reason (P08 unknown type, P09 zero price, P10 negative promo_price, P11 missing discount,
P12 end before start, P13 negative price failing two rules at once). P14 is the inclusive edge
of the promo_price range (100 % off: promo_price 0).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

WINDOW_START = dt.date(2025, 1, 1)
WINDOW_END = dt.date(2025, 1, 8)
CREATED_BY = "tests"

INPUT_COLUMNS = (
    "promo_id",
    "retailer",
    "store_id",
    "sku",
    "promo_type",
    "regular_price",
    "discount_value",
    "start_date",
    "end_date",
    "updated_at",
)


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


_RAW: list[tuple[Any, ...]] = [
    ("P01", " acme ", "S1", "SKU1", " pct_off ", 10.0, 25.0, "2025-01-01", "2025-01-07", "2025-01-01 08:00:00"),
    ("P01", " acme ", "S1", "SKU1", " pct_off ", 10.0, 25.0, "2025-01-01", "2025-01-07", "2025-01-01 08:00:00"),
    ("P02", "Acme", "S2", "SKU2", "AMOUNT_OFF", 5.99, 1.5, "2024-12-20", "2025-01-01", "2024-12-19 10:00:00"),
    ("P03", "beta", "S3", "SKU3", "bogo", 4.0, None, "2025-01-07", "2025-01-20", "2025-01-05 09:30:00"),
    (" P03 ", "beta", "S3", "SKU3", "BOGO", 6.0, None, "2025-01-07", "2025-01-20", "2025-01-01 00:00:00"),
    ("P04", "ACME", "S4", "SKU4", "PCT_OFF", 10.0, 10.0, "2025-01-08", "2025-01-10", "2025-01-02 00:00:00"),
    ("P05", "ACME", "S5", "SKU5", "PCT_OFF", 10.0, 10.0, "2024-12-25", "2024-12-31", "2025-01-02 00:00:00"),
    ("P06", "ACME", "S1", "SKU6", "PCT_OFF", 20.0, 10.0, "2025-01-02", "2025-01-05", "2025-01-02 00:00:00"),
    ("P06", "ACME", "S1", "SKU6", "PCT_OFF", 22.0, 10.0, "2025-01-02", "2025-01-05", "2025-01-03 00:00:00"),
    ("P07", "ACME", "S8", "SKU7", "AMOUNT_OFF", 8.0, 2.0, "2025-01-03", "2025-01-09", "2025-01-04 12:00:00"),
    ("P07", "ACME", "S7", "SKU7", "AMOUNT_OFF", 9.0, 2.0, "2025-01-03", "2025-01-09", "2025-01-04 12:00:00"),
    ("P08", "ACME", "S1", "SKU8", "FLASH", 10.0, 5.0, "2025-01-02", "2025-01-04", "2025-01-02 00:00:00"),
    ("P09", "ACME", "S1", "SKU9", "PCT_OFF", 0.0, 10.0, "2025-01-02", "2025-01-04", "2025-01-02 00:00:00"),
    ("P10", "ACME", "S1", "SKU10", "AMOUNT_OFF", 10.0, 15.0, "2025-01-02", "2025-01-04", "2025-01-02 00:00:00"),
    ("P11", "ACME", "S1", "SKU11", "PCT_OFF", 10.0, None, "2025-01-02", "2025-01-04", "2025-01-02 00:00:00"),
    ("P12", "ACME", "S1", "SKU12", "BOGO", 8.0, None, "2025-01-05", "2025-01-03", "2025-01-02 00:00:00"),
    ("P13", "ACME", "S1", "SKU13", "AMOUNT_OFF", -3.0, 1.0, "2025-01-02", "2025-01-04", "2025-01-02 00:00:00"),
    ("P14", "Gamma", "S9", "SKU14", "PCT_OFF", 5.0, 100.0, "2025-01-06", "2025-01-06", "2025-01-02 00:00:00"),
]

#: The input as typed dicts (dates as `date`, timestamps UTC-aware).
INPUT_ROWS: list[dict[str, Any]] = [
    dict(zip(INPUT_COLUMNS, (*row[:7], _d(row[7]), _d(row[8]), _ts(row[9])), strict=True)) for row in _RAW
]

#: Output columns compared by the tests (every output column except ``loaded_at``).
OUTPUT_COMPARED = (
    "promo_id",
    "retailer",
    "store_id",
    "sku",
    "promo_type",
    "regular_price",
    "discount_value",
    "promo_price",
    "discount_pct",
    "start_date",
    "end_date",
    "promo_days",
    "updated_at",
    "load_window_start",
    "created_by",
)

_W, _C = WINDOW_START, CREATED_BY
#: The exact output rows, sorted by promo_id, in `OUTPUT_COMPARED` order.
EXPECTED_ROWS: list[tuple[Any, ...]] = [
    ("P01", "ACME", "S1", "SKU1", "PCT_OFF", 10.0, 25.0, 7.5, 25.0,
     _d("2025-01-01"), _d("2025-01-07"), 7, _ts("2025-01-01 08:00:00"), _W, _C),
    ("P02", "ACME", "S2", "SKU2", "AMOUNT_OFF", 5.99, 1.5, 4.49, 25.04,
     _d("2024-12-20"), _d("2025-01-01"), 13, _ts("2024-12-19 10:00:00"), _W, _C),
    ("P03", "BETA", "S3", "SKU3", "BOGO", 4.0, None, 2.0, 50.0,
     _d("2025-01-07"), _d("2025-01-20"), 14, _ts("2025-01-05 09:30:00"), _W, _C),
    ("P06", "ACME", "S1", "SKU6", "PCT_OFF", 22.0, 10.0, 19.8, 10.0,
     _d("2025-01-02"), _d("2025-01-05"), 4, _ts("2025-01-03 00:00:00"), _W, _C),
    ("P07", "ACME", "S7", "SKU7", "AMOUNT_OFF", 9.0, 2.0, 7.0, 22.22,
     _d("2025-01-03"), _d("2025-01-09"), 7, _ts("2025-01-04 12:00:00"), _W, _C),
    ("P14", "GAMMA", "S9", "SKU14", "PCT_OFF", 5.0, 100.0, 0.0, 100.0,
     _d("2025-01-06"), _d("2025-01-06"), 1, _ts("2025-01-02 00:00:00"), _W, _C),
]  # fmt: skip

#: The rows the transformer also outputs and the default expectations then drop (derived by the rules:
#: no promo_price for an unknown type or a missing discount, try_divide's NULL for a zero price, P12's
#: promo_days -1 for end before start, P13's discount_pct 100 * (1 - (-4 / -3)) = -33.33).
DROPPED_ROWS: list[tuple[Any, ...]] = [
    ("P08", "ACME", "S1", "SKU8", "FLASH", 10.0, 5.0, None, None,
     _d("2025-01-02"), _d("2025-01-04"), 3, _ts("2025-01-02 00:00:00"), _W, _C),
    ("P09", "ACME", "S1", "SKU9", "PCT_OFF", 0.0, 10.0, 0.0, None,
     _d("2025-01-02"), _d("2025-01-04"), 3, _ts("2025-01-02 00:00:00"), _W, _C),
    ("P10", "ACME", "S1", "SKU10", "AMOUNT_OFF", 10.0, 15.0, -5.0, 150.0,
     _d("2025-01-02"), _d("2025-01-04"), 3, _ts("2025-01-02 00:00:00"), _W, _C),
    ("P11", "ACME", "S1", "SKU11", "PCT_OFF", 10.0, None, None, None,
     _d("2025-01-02"), _d("2025-01-04"), 3, _ts("2025-01-02 00:00:00"), _W, _C),
    ("P12", "ACME", "S1", "SKU12", "BOGO", 8.0, None, 4.0, 50.0,
     _d("2025-01-05"), _d("2025-01-03"), -1, _ts("2025-01-02 00:00:00"), _W, _C),
    ("P13", "ACME", "S1", "SKU13", "AMOUNT_OFF", -3.0, 1.0, -4.0, -33.33,
     _d("2025-01-02"), _d("2025-01-04"), 3, _ts("2025-01-02 00:00:00"), _W, _C),
]  # fmt: skip
#: Everything the transformer outputs for `INPUT_ROWS` (before the expectations), sorted like `compared_rows`.
TRANSFORMED_ROWS: list[tuple[Any, ...]] = sorted(
    EXPECTED_ROWS + DROPPED_ROWS, key=lambda values: tuple(map(str, values))
)

#: Failing rows per default rule for `INPUT_ROWS`.
EXPECTED_QUALITY: dict[str, int] = {
    "promo_id_not_null": 0,
    "promo_type_accepted": 1,
    "regular_price_positive": 2,
    "promo_price_in_range": 4,
    "end_not_before_start": 1,
    "output_not_empty": 0,
}
ROWS_READ, ROWS_IN_WINDOW, ROWS_DEDUPED = 18, 16, 12


def compared(row: Any, *, naive: str = "local") -> tuple[Any, ...]:
    """One output row (a Spark Row, a dict, ...) as a tuple in `OUTPUT_COMPARED` order, timestamps UTC-aware.

    ``naive`` says what a timezone-less timestamp means: ``local`` (pyspark's ``collect``) or ``utc``.
    """
    values = []
    for name in OUTPUT_COMPARED:
        value = row[name]
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                value = value.astimezone(dt.timezone.utc) if naive == "local" else value.replace(tzinfo=dt.timezone.utc)
            value = value.astimezone(dt.timezone.utc)
        values.append(value)
    return tuple(values)


def compared_rows(rows: Any, *, naive: str = "local") -> list[tuple[Any, ...]]:
    """`compared` for every row, sorted by promo_id (then the other columns)."""
    return sorted((compared(row, naive=naive) for row in rows), key=lambda values: tuple(map(str, values)))
