"""Each business rule of load_promos on a real local Spark, one rule at a time, then all together."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dwh.jobs.load_promos.schema import OUTPUT_COLUMNS, SOURCE_COLUMNS, ddl
from dwh.jobs.load_promos.transformer import PromoTransformer
from tests.jobs.load_promos.promo_cases import (
    CREATED_BY,
    INPUT_COLUMNS,
    INPUT_ROWS,
    ROWS_IN_WINDOW,
    TRANSFORMED_ROWS,
    WINDOW_END,
    WINDOW_START,
    compared_rows,
)

pytestmark = pytest.mark.spark
LOADED_AT = dt.datetime(2025, 1, 8, 6, 30, tzinfo=dt.timezone.utc)


@pytest.fixture
def transformer() -> PromoTransformer:
    return PromoTransformer(
        window_start=WINDOW_START, window_end=WINDOW_END, created_by=CREATED_BY, loaded_at=LOADED_AT
    )


def promos(spark: Any, rows: list[dict[str, Any]]) -> Any:
    return spark.createDataFrame([tuple(row[c] for c in INPUT_COLUMNS) for row in rows], ddl(SOURCE_COLUMNS))


def row(**changes: Any) -> dict[str, Any]:
    base = {
        "promo_id": "X",
        "retailer": "R",
        "store_id": "S",
        "sku": "K",
        "promo_type": "PCT_OFF",
        "regular_price": 10.0,
        "discount_value": 10.0,
        "start_date": dt.date(2025, 1, 2),
        "end_date": dt.date(2025, 1, 3),
        "updated_at": dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc),
    }
    return {**base, **changes}


def test_window_keeps_promotions_overlapping_start_inclusive_end_exclusive(spark: Any, transformer: Any) -> None:
    cases = {
        "ends_on_window_start": (dt.date(2024, 12, 1), dt.date(2025, 1, 1)),
        "ends_day_before_window": (dt.date(2024, 12, 1), dt.date(2024, 12, 31)),
        "starts_on_last_day": (dt.date(2025, 1, 7), dt.date(2025, 2, 1)),
        "starts_on_window_end": (dt.date(2025, 1, 8), dt.date(2025, 2, 1)),
        "spans_whole_window": (dt.date(2024, 12, 1), dt.date(2025, 2, 1)),
        "null_start": (None, dt.date(2025, 1, 3)),
    }
    frame = promos(spark, [row(promo_id=name, start_date=s, end_date=e) for name, (s, e) in cases.items()])
    kept = sorted(r.promo_id for r in transformer.in_window(frame).collect())
    assert kept == ["ends_on_window_start", "spans_whole_window", "starts_on_last_day"]


def test_dedupe_keeps_latest_update_and_breaks_ties_by_the_documented_columns(spark: Any, transformer: Any) -> None:
    day = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    frame = promos(
        spark,
        [
            row(promo_id="A", regular_price=1.0, updated_at=day),
            row(promo_id="A", regular_price=2.0, updated_at=day + dt.timedelta(seconds=1)),
            row(promo_id="A", regular_price=3.0, updated_at=None),
            row(promo_id="T", store_id="S2", updated_at=day),
            row(promo_id="T", store_id="S1", regular_price=99.0, updated_at=day),
            row(promo_id=None, regular_price=4.0),
            row(promo_id=None, regular_price=5.0),
        ],
    )
    result = sorted(
        (r.promo_id or "", r.store_id, r.regular_price) for r in transformer.latest_per_promo(frame).collect()
    )
    assert result == [("", "S", 4.0), ("", "S", 5.0), ("A", "S", 2.0), ("T", "S1", 99.0)]


def test_dedupe_does_not_depend_on_input_order(spark: Any, transformer: Any) -> None:
    rows = [row(promo_id="T", store_id=f"S{i}", regular_price=float(i)) for i in range(6)]
    forward = transformer.latest_per_promo(promos(spark, rows).repartition(3)).collect()
    backward = transformer.latest_per_promo(promos(spark, rows[::-1]).repartition(2)).collect()
    assert [r.store_id for r in forward] == [r.store_id for r in backward] == ["S0"]


def test_normalise_trims_every_string_and_upper_cases_retailer_and_type(spark: Any, transformer: Any) -> None:
    frame = promos(spark, [row(promo_id=" p1 ", retailer=" acme\t", store_id=" s1", sku="k ", promo_type=" bogo ")])
    result = transformer.normalise(frame).first()
    assert (result.promo_id, result.retailer, result.store_id, result.sku, result.promo_type) == (
        "p1",
        "ACME",
        "s1",
        "k",
        "BOGO",
    )


@pytest.mark.parametrize(
    ("promo_type", "price", "value", "promo_price", "discount_pct"),
    [
        ("PCT_OFF", 10.0, 25.0, 7.5, 25.0),
        ("PCT_OFF", 19.99, 15.0, 16.99, 15.01),  # 16.9915 -> 16.99; 100 * (1 - 16.99 / 19.99) = 15.0075...
        ("AMOUNT_OFF", 5.99, 1.5, 4.49, 25.04),
        ("BOGO", 3.99, None, 2.0, 49.87),  # 1.995 rounds half up to 2.00
        ("PCT_OFF", 0.0, 10.0, 0.0, None),  # try_divide: no ANSI division-by-zero error
        ("PCT_OFF", 10.0, None, None, None),
        ("FLASH", 10.0, 5.0, None, None),
    ],
)
def test_derive_promo_price_and_discount_pct(
    spark: Any, transformer: Any, promo_type: str, price: float, value: Any, promo_price: Any, discount_pct: Any
) -> None:
    frame = promos(spark, [row(promo_type=promo_type, regular_price=price, discount_value=value)])
    result = transformer.derive(frame).first()
    assert (result.promo_price, result.discount_pct, result.promo_days) == (promo_price, discount_pct, 2)


def test_conform_casts_strings_with_try_cast_and_names_missing_columns(spark: Any, transformer: Any) -> None:
    text = spark.createDataFrame(
        [("P1", "R", "S", "K", "BOGO", "4.50", "", "2025-01-02", "2025-01-03", "2025-01-01 10:00:00", "extra")],
        ", ".join(f"{name} string" for name in [*SOURCE_COLUMNS, "ignored"]),
    )
    result = transformer.conform(text).first().asDict()
    result["updated_at"] = result["updated_at"].astimezone(dt.timezone.utc)  # collect gives local wall time
    assert result == {
        "promo_id": "P1",
        "retailer": "R",
        "store_id": "S",
        "sku": "K",
        "promo_type": "BOGO",
        "regular_price": 4.5,
        "discount_value": None,
        "start_date": dt.date(2025, 1, 2),
        "end_date": dt.date(2025, 1, 3),
        "updated_at": dt.datetime(2025, 1, 1, 10, 0, tzinfo=dt.timezone.utc),
    }
    with pytest.raises(ValueError, match=r"^the source has no column\(s\) sku, updated_at"):
        transformer.conform(text.drop("sku", "updated_at"))


def test_transform_applies_every_rule_and_audits_the_run(spark: Any, transformer: Any) -> None:
    result = transformer.transform(promos(spark, INPUT_ROWS))
    assert result.columns == list(OUTPUT_COLUMNS)
    rows = result.collect()
    assert transformer.rows_in_window == ROWS_IN_WINDOW
    assert {r.loaded_at.astimezone(dt.timezone.utc) for r in rows} == {LOADED_AT}
    assert compared_rows(rows) == TRANSFORMED_ROWS  # every row: a missing, extra or changed one fails
