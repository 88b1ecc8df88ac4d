"""A deterministic sample promotions dataset for the demo, the tests and the benchmarks (no Spark needed).

    python -m dwh.demo.generate --rows 100000 --seed 7 --out .demo/input

Writes ``part-NNNNN.parquet`` files (at most ``--rows-per-file`` rows each) in the load_promos source
schema, plus ``_generator.json`` describing what was generated (Spark ignores files starting with
``_``). The same ``--rows``, ``--seed`` and ``--window-start`` always give the same rows.

What the rows look like, around the window ``[window_start, window_start + 7 days)``:
  * ``start_date`` within 30 days before to 14 days after ``window_start``; 1-28 days long,
    so part of the promotions are outside the window;
  * messy but valid text: retailers and promo types in mixed case with stray spaces;
  * about 1 % each of deliberately bad rows the default expectations drop, all inside the window:
    ``bad_promo_type`` (FLASH_SALE), ``bad_price`` (regular_price 0 or negative), ``bad_promo_price``
    (AMOUNT_OFF larger than the price), ``bad_dates`` (end_date the day before start_date);
  * about 2 % ``duplicate`` rows: an earlier promotion again (same id, store, sku, type and dates)
    with a new price and a later ``updated_at``; dedupe keeps the later one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: Kinds of generated rows and their share of the dataset.
ROW_KINDS: dict[str, float] = {
    "good": 0.94,
    "bad_promo_type": 0.01,
    "bad_price": 0.01,
    "bad_promo_price": 0.01,
    "bad_dates": 0.01,
    "duplicate": 0.02,
}
RETAILERS = (" acme ", "Acme", "BETA", "beta ", "Gamma", "DELTA MART")
PROMO_TYPES = ("PCT_OFF", "AMOUNT_OFF", "BOGO", " pct_off", "amount_off ", "Bogo")
DEFAULT_WINDOW_START = dt.date(2025, 1, 1)


@dataclass
class GeneratedDataset:
    """What `generate` wrote: where, how many rows, and how many of each kind."""

    path: str
    rows: int
    seed: int
    window_start: str
    files: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)


def generate(
    *,
    rows: int,
    seed: int,
    out: Path,
    window_start: dt.date = DEFAULT_WINDOW_START,
    rows_per_file: int = 1_000_000,
) -> GeneratedDataset:
    """Write `rows` promotions into `out` (replacing earlier generated files); returns the manifest."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    if rows < 1:
        raise ValueError("rows must be at least 1")
    rng = np.random.default_rng(seed)
    columns, kind_index = _columns(rng, rows, window_start)
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("part-*.parquet"), out / "_generator.json"]:
        old.unlink(missing_ok=True)
    table = pa.table(columns, schema=_arrow_schema())
    manifest = GeneratedDataset(path=str(out.absolute()), rows=rows, seed=seed, window_start=window_start.isoformat())
    for number, offset in enumerate(range(0, rows, rows_per_file)):
        name = f"part-{number:05d}.parquet"
        pq.write_table(table.slice(offset, rows_per_file), out / name, row_group_size=256_000)
        manifest.files.append(name)
    kinds = list(ROW_KINDS)
    counts = np.bincount(kind_index, minlength=len(kinds))
    manifest.kinds = {kind: int(counts[i]) for i, kind in enumerate(kinds)}
    (out / "_generator.json").write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    return manifest


def _arrow_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("promo_id", pa.string()),
            ("retailer", pa.string()),
            ("store_id", pa.string()),
            ("sku", pa.string()),
            ("promo_type", pa.string()),
            ("regular_price", pa.float64()),
            ("discount_value", pa.float64()),
            ("start_date", pa.date32()),
            ("end_date", pa.date32()),
            ("updated_at", pa.timestamp("us", tz="UTC")),
        ]
    )


def _columns(rng: Any, rows: int, window_start: dt.date) -> tuple[dict[str, Any], Any]:
    """Every column as an array; the row kinds decide the deliberate defects."""
    import numpy as np

    kind = rng.choice(len(ROW_KINDS), size=rows, p=list(ROW_KINDS.values()))
    is_kind = {name: kind == index for index, name in enumerate(ROW_KINDS)}
    # A duplicate repeats an earlier row's promotion (id, retailer, store, sku, type, dates) with a
    # new price and a later updated_at. Row 0 has nothing earlier: it stays itself.
    ids = np.arange(rows)
    source = np.where(is_kind["duplicate"], (rng.random(rows) * ids).astype(np.int64), ids)
    identity = {
        "retailer": rng.integers(0, len(RETAILERS), size=rows)[source],
        "store": rng.integers(0, 200, size=rows)[source],
        "sku": rng.integers(0, 5000, size=rows)[source],
        "type": rng.integers(0, len(PROMO_TYPES), size=rows)[source],
        "start": rng.integers(-30, 15, size=rows)[source],
        "length": rng.integers(1, 29, size=rows)[source],
    }
    prices = _prices(rng, rows, identity["type"], is_kind)
    # bad rows start inside the window (days 1-6), so they reach the expectations instead of the window filter
    bad = is_kind["bad_promo_type"] | is_kind["bad_price"] | is_kind["bad_promo_price"] | is_kind["bad_dates"]
    start_offset = np.where(bad, rng.integers(1, 7, size=rows), identity["start"])
    base = np.datetime64(window_start.isoformat(), "D")
    start = base + start_offset
    end = base + np.where(is_kind["bad_dates"], start_offset - 1, start_offset + identity["length"] - 1)
    seconds = rng.integers(0, 86_400_000_000, size=rows).astype("timedelta64[us]")
    updated = (start - 10).astype("datetime64[us]") + seconds
    later = rng.integers(3_600_000_000, 3 * 86_400_000_000, size=rows).astype("timedelta64[us]")
    updated = np.where(is_kind["duplicate"], updated[source] + later, updated)
    columns = {
        "promo_id": [f"PR{number:09d}" for number in source],
        "retailer": np.array(RETAILERS, dtype=object)[identity["retailer"]],
        "store_id": [f"S{number:03d}" for number in identity["store"]],
        "sku": [f"SKU{number:05d}" for number in identity["sku"]],
        **prices,
        "start_date": start,
        "end_date": end,
        "updated_at": updated,
    }
    return columns, kind


def _prices(rng: Any, rows: int, type_index: Any, is_kind: dict[str, Any]) -> dict[str, Any]:
    """promo_type, regular_price and discount_value, with the bad-type / bad-price / bad-promo-price rows."""
    import numpy as np

    type_index = np.where(is_kind["bad_promo_price"], 1, type_index)  # AMOUNT_OFF larger than the price
    canonical = type_index % 3  # 0 PCT_OFF, 1 AMOUNT_OFF, 2 BOGO
    price = np.round(rng.uniform(0.5, 200.0, size=rows), 2)
    price = np.where(is_kind["bad_price"], np.round(-rng.uniform(0.0, 5.0, size=rows), 2), price)
    pct = rng.integers(5, 71, size=rows).astype(np.float64)
    amount = np.round(price * rng.uniform(0.05, 0.8, size=rows), 2)
    too_much = np.round(np.abs(price) + rng.uniform(1.0, 20.0, size=rows), 2)
    amount = np.where(is_kind["bad_promo_price"], too_much, amount)
    discount = np.where(canonical == 0, pct, np.where(canonical == 1, amount, np.nan))
    type_text = np.array(PROMO_TYPES, dtype=object)[type_index]
    type_text = np.where(is_kind["bad_promo_type"], "FLASH_SALE", type_text)
    return {"promo_type": type_text, "regular_price": price, "discount_value": _nullable(discount)}


def _nullable(values: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    return pa.array(values, type=pa.float64(), mask=np.isnan(values))


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m dwh.demo.generate --rows N --seed S --out DIR``."""
    parser = argparse.ArgumentParser(prog="python -m dwh.demo.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="number of rows (default 20000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--out", type=Path, required=True, help="directory for the Parquet files")
    parser.add_argument("--window-start", type=dt.date.fromisoformat, default=DEFAULT_WINDOW_START)
    parser.add_argument("--rows-per-file", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    manifest = generate(
        rows=args.rows, seed=args.seed, out=args.out, window_start=args.window_start, rows_per_file=args.rows_per_file
    )
    print(f"wrote {manifest.rows} rows into {manifest.path} ({len(manifest.files)} files): {manifest.kinds}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
