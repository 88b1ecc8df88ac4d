"""`LoadPromosJob`: load the promotions active in the run window into three targets, with data-quality rules.

Source rows (through ``extractor_config``: PARQUET, DELTA, CSV or JDBC), cast with try_cast:
``promo_id`` string, ``retailer`` string, ``store_id`` string, ``sku`` string, ``promo_type`` string,
``regular_price`` double, ``discount_value`` double (nullable), ``start_date`` date, ``end_date`` date
(inclusive), ``updated_at`` timestamp. Other columns are ignored; a missing one fails the run.

Business rules, with the run window ``[--start_date, --end_date)``:

1. Window: keep a promotion when ``start_date < window_end AND end_date >= window_start``. A
   promotion ending on ``window_start`` is in; one starting on ``window_end`` is out; NULL dates are out.
2. Dedupe: one row per ``promo_id``, the one with the latest ``updated_at`` (NULL ``updated_at`` loses).
   Ties go to the smallest ``(retailer, store_id, sku, promo_type, regular_price, discount_value,
   start_date, end_date)``, ascending with NULLs last, so the choice never depends on file order.
   The window filter runs first, so the latest version *inside the window* wins. Rows with a NULL
   ``promo_id`` are not merged with each other (the ``promo_id_not_null`` rule reports every one).
3. Normalise: every string is trimmed (spaces, tabs, CR, LF at both ends); ``retailer`` and
   ``promo_type`` are upper-cased (``promo_id`` keeps its case). This happens before rules 1-2, so
   ``" P1 "`` and ``"P1"`` are the same promotion. Accepted ``promo_type``: PCT_OFF, AMOUNT_OFF, BOGO
   (enforced by the ``promo_type_accepted`` rule).
4. Derive, every value rounded to 2 decimals (Spark ``round``: half up):
   ``promo_price`` = PCT_OFF: ``regular_price * (1 - discount_value / 100)``;
   AMOUNT_OFF: ``regular_price - discount_value``; BOGO: ``regular_price / 2``; any other type or a
   NULL input: NULL. ``discount_pct = round(100 * (1 - promo_price / regular_price), 2)``, NULL when
   ``regular_price`` is 0 (``try_divide``: ANSI-safe). ``promo_days = end_date - start_date + 1``.
5. Audit columns: ``load_window_start`` (= ``--start_date``), ``created_by`` (= ``--created_by``),
   ``loaded_at`` (the run's start, UTC; one value for every row and every target).
6. Expectations (``expectations`` in the config; a row passes only when a rule is TRUE, NULL fails):
   ``promo_id_not_null`` promo_id is not null -> fail; ``promo_type_accepted`` promo_type in the
   three types -> drop; ``regular_price_positive`` regular_price > 0 -> drop; ``promo_price_in_range``
   0 <= promo_price <= regular_price -> drop; ``end_not_before_start`` end_date >= start_date -> drop;
   ``output_not_empty`` at least 1 output row -> warn. One Spark pass computes every count; a
   failing ``fail`` rule stops the run before any write. A row failing several rules counts in each.
   Every result goes into the run report; any failing rule triggers ``data_quality_notifications``.
7. Loads, in this order, from one cached copy of the validated rows: ``unity_loader_config``
   (default DELTA, merge on promo_id), ``stage_loader_config`` (default PARQUET partitioned by
   load_window_start, replace_window), ``redshift_loader_config`` (optional, POSTGRES or REDSHIFT,
   merge on promo_id). Re-running a window leaves every target with the same rows (only
   ``loaded_at`` moves to the new run's time).

Output columns (every target): see `dwh.jobs.load_promos.schema.OUTPUT_COLUMNS`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from dwh.jobs.abstract_job import AbstractJob
from dwh.jobs.load_promos.load_promos_config import LoadPromosJobConfig
from dwh.jobs.load_promos.transformer import PromoTransformer
from dwh.strategies.loaders.base import Loader
from dwh.strategies.quality import QualityOutcome, apply_expectations

log = logging.getLogger(__name__)


class LoadPromosJob(AbstractJob[LoadPromosJobConfig]):
    """Extract -> business rules -> expectations (one pass, cached) -> three loads."""

    def execute_job(self, start_date: dt.date, end_date: dt.date, created_by: str) -> dict[str, Any]:
        """Run the rules for ``[start_date, end_date)``; returns rows read, kept and written per target."""
        transformer = PromoTransformer(
            window_start=start_date, window_end=end_date, created_by=created_by, loaded_at=self.context.started_at
        )
        extractor = self.config.extractor_config
        self.spark  # noqa: B018 - start (or pick up) Spark before the steps, so their seconds are the job's own
        with self.report.step("extract") as extract_step:
            source, counter = extractor.extract_counted(self.context)
            extract_step.detail = {"source": extractor.describe(), "note": "read lazily during the quality pass"}
        with self.report.step("transform") as transform_step:
            transformed = transformer.transform(source)
        try:
            outcome = apply_expectations(transformed, self.config.expectations, self.report)
        finally:  # a failing ``fail`` rule still reports how many rows were read
            extract_step.rows_out = transform_step.rows_in = counter.rows
        transform_step.rows_out = outcome.rows_in
        transform_step.detail = self._transform_detail(counter.rows, transformer.rows_in_window, outcome)
        try:
            written = {slot: self._load(slot, loader, outcome) for slot, loader in self._loaders()}
        finally:
            if outcome.persisted:
                outcome.frame.unpersist()
        return {
            "rows_read": counter.rows,
            "rows_validated": outcome.rows_out,
            "rows_written": written,
        }

    def _loaders(self) -> list[tuple[str, Loader]]:
        slots: list[tuple[str, Loader | None]] = [
            ("unity", self.config.unity_loader_config),
            ("stage", self.config.stage_loader_config),
            ("redshift", self.config.redshift_loader_config),
        ]
        return [(slot, loader) for slot, loader in slots if loader is not None]

    def _load(self, slot: str, loader: Loader, outcome: QualityOutcome) -> int:
        with self.report.step(f"load_{slot}") as step:
            result = loader.load(outcome.frame, self.context)
            step.rows_in, step.rows_out = outcome.rows_out, result.rows_written
            step.detail = {"strategy": loader.kind, "mode": loader.mode, "target": result.target, **result.detail}
        log.info("load_%s: %d rows into %s", slot, result.rows_written, result.target)
        return result.rows_written

    @staticmethod
    def _transform_detail(rows_read: int | None, rows_in_window: int | None, outcome: QualityOutcome) -> dict[str, Any]:
        detail: dict[str, Any] = {"rows_in_window": rows_in_window}
        if rows_read is not None and rows_in_window is not None:
            detail["outside_window"] = rows_read - rows_in_window
        if rows_in_window is not None:
            detail["duplicates_removed"] = rows_in_window - outcome.rows_in
        return detail
