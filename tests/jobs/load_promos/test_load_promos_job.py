"""load_promos end to end, in-process (``main(**kwargs)`` as generic_entry calls it) on real Spark, Delta,
Parquet and PostgreSQL: the exact rows in all three targets, every source format, notices, re-runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from dwh.errors import JobFailedError
from dwh.jobs.load_promos.load_promos_job_factory import main
from tests.conftest import SmtpSink
from tests.jobs.load_promos.conftest import Targets, email_channel, job_kwargs
from tests.jobs.load_promos.promo_cases import (
    EXPECTED_QUALITY,
    EXPECTED_ROWS,
    INPUT_ROWS,
    ROWS_READ,
    compared_rows,
)

pytestmark = [pytest.mark.spark, pytest.mark.integration]


def target_rows(targets: Targets) -> dict[str, list[tuple[Any, ...]]]:
    """Every target's rows, compared columns only, sorted."""
    return {
        "unity": compared_rows(targets.delta_rows(), naive="utc"),
        "stage": compared_rows(targets.stage_rows(), naive="utc"),
        "redshift": compared_rows(targets.postgres_rows(), naive="utc"),
    }


def body(message: Any) -> str:
    """The plain-text body of a received e-mail."""
    return str(message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8"))


def loaded_at(targets: Targets) -> set[dt.datetime]:
    """The distinct loaded_at values over all three targets (UTC)."""
    values = set()
    for rows in (targets.delta_rows(), targets.stage_rows(), targets.postgres_rows()):
        for row in rows:
            stamp = row["loaded_at"]
            values.add(stamp.replace(tzinfo=dt.timezone.utc) if stamp.tzinfo is None else stamp)
    return values


def test_every_rule_lands_exactly_in_all_three_targets_and_a_rerun_changes_nothing(
    spark: Any, source: Callable[..., dict], targets: Targets, smtp_server: SmtpSink
) -> None:
    channel = email_channel(smtp_server.host, smtp_server.port)
    config = targets.config(source("PARQUET"), job_success_notifications=channel, data_quality_notifications=channel)
    before = dt.datetime.now(dt.timezone.utc)

    result = main(**job_kwargs(config))

    assert result == {
        "rows_read": ROWS_READ,
        "rows_validated": len(EXPECTED_ROWS),
        "rows_written": {"unity": 6, "stage": 6, "redshift": 6},
    }
    first = target_rows(targets)
    assert first == {"unity": EXPECTED_ROWS, "stage": EXPECTED_ROWS, "redshift": EXPECTED_ROWS}
    [first_loaded_at] = loaded_at(targets)  # one run timestamp, the same in every target
    assert before - dt.timedelta(seconds=5) <= first_loaded_at <= dt.datetime.now(dt.timezone.utc)
    assert targets.stage_partitions() == ["load_window_start=2025-01-01"]

    subjects = [message["Subject"] for message in smtp_server.messages]
    assert [s.split(" (")[0] for s in subjects] == [
        "[dwh] load_promos succeeded",
        "[dwh] load_promos data-quality issues",
    ]
    quality_notice = body(smtp_server.messages[1])
    for name, failing in EXPECTED_QUALITY.items():
        line = f"quality {name} ["
        assert (line in quality_notice) == (failing > 0), name
        if failing:
            assert f"{line}drop]: {failing} failing rows" in quality_notice

    main(**job_kwargs(config))

    assert target_rows(targets) == first
    [second_loaded_at] = loaded_at(targets)
    assert second_loaded_at > first_loaded_at
    assert targets.stage_partitions() == ["load_window_start=2025-01-01"]


@pytest.mark.parametrize("kind", ["DELTA", "CSV", "JDBC"])
def test_the_same_config_with_another_extractor_gives_the_same_output(
    spark: Any, source: Callable[..., dict], targets: Targets, kind: str
) -> None:
    result = main(**job_kwargs(targets.config(source(kind))))

    assert result["rows_read"] == ROWS_READ
    assert target_rows(targets) == {"unity": EXPECTED_ROWS, "stage": EXPECTED_ROWS, "redshift": EXPECTED_ROWS}


def test_a_fail_rule_stops_the_run_before_any_target_is_written(
    spark: Any, source: Callable[..., dict], targets: Targets, smtp_server: SmtpSink
) -> None:
    rows = [*INPUT_ROWS, {**INPUT_ROWS[0], "promo_id": None}, {**INPUT_ROWS[2], "promo_id": None}]
    channel = email_channel(smtp_server.host, smtp_server.port)
    config = targets.config(source("PARQUET", rows), job_failed_notifications=channel)

    with pytest.raises(JobFailedError, match=r"promo_id_not_null \(not_null\(promo_id\)\): 2 failing rows"):
        main(**job_kwargs(config))

    assert not targets.unity.exists()
    assert not targets.stage.exists()
    with pytest.raises(Exception, match="does not exist"):
        targets.postgres_rows()
    [message] = smtp_server.messages
    assert "load_promos FAILED" in message["Subject"]
    text = body(message)
    assert "quality promo_id_not_null [fail]: 2 failing rows (not_null(promo_id))" in text
    assert f"step extract: rows in None, rows out {ROWS_READ + 2}," in text
    assert "step quality: rows in 14, rows out 8," in text  # 12 + the two NULL ids; 6 dropped


def test_expectations_in_the_config_replace_the_defaults(
    spark: Any, source: Callable[..., dict], targets: Targets
) -> None:
    """Only the unknown-type rule is kept, as a warning: the bad rows of the other rules now reach the targets."""
    keep_all = [
        {"name": "known_type", "rule": "accepted_values", "column": "promo_type", "values": ["PCT_OFF", "BOGO"]},
        {"name": "one_row_per_store_sku", "rule": "unique", "columns": ["store_id", "sku"], "policy": "drop"},
    ]
    result = main(**job_kwargs(targets.config(source("PARQUET"), expectations=keep_all)))

    # 12 rows after window + dedupe; unique(store_id, sku) drops nothing (every pair differs)
    assert result["rows_validated"] == 12
    promo_ids = sorted(row["promo_id"] for row in targets.postgres_rows())
    assert promo_ids == ["P01", "P02", "P03", "P06", "P07", "P08", "P09", "P10", "P11", "P12", "P13", "P14"]
