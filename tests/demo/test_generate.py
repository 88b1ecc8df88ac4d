"""The sample-data generator: deterministic, in the source schema, with the deliberately bad rows it promises."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds

from dwh.demo.generate import generate, main


def read(path: Path) -> object:
    return ds.dataset(str(path), format="parquet").to_table()


def test_the_same_seed_gives_the_same_rows_and_another_seed_does_not(tmp_path: Path) -> None:
    generate(rows=2_000, seed=7, out=tmp_path / "a")
    generate(rows=2_000, seed=7, out=tmp_path / "b")
    generate(rows=2_000, seed=8, out=tmp_path / "c")
    assert read(tmp_path / "a").equals(read(tmp_path / "b"))
    assert not read(tmp_path / "a").equals(read(tmp_path / "c"))


def test_the_rows_have_the_source_schema_and_every_promised_defect(tmp_path: Path) -> None:
    manifest = generate(rows=20_000, seed=3, out=tmp_path, rows_per_file=6_000)
    table = read(tmp_path)

    assert table.num_rows == 20_000 == sum(manifest.kinds.values())
    assert manifest.files == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet", "part-00003.parquet"]
    assert [(f.name, str(f.type)) for f in table.schema] == [
        ("promo_id", "string"),
        ("retailer", "string"),
        ("store_id", "string"),
        ("sku", "string"),
        ("promo_type", "string"),
        ("regular_price", "double"),
        ("discount_value", "double"),
        ("start_date", "date32[day]"),
        ("end_date", "date32[day]"),
        ("updated_at", "timestamp[us, tz=UTC]"),
    ]
    kinds = manifest.kinds
    assert pc.sum(pc.equal(table["promo_type"], "FLASH_SALE")).as_py() == kinds["bad_promo_type"] > 0
    assert pc.sum(pc.less_equal(table["regular_price"], 0)).as_py() == kinds["bad_price"] > 0
    assert pc.sum(pc.less(table["end_date"], table["start_date"])).as_py() == kinds["bad_dates"] > 0
    distinct_ids = len(pc.unique(table["promo_id"]))
    assert 0 < table.num_rows - distinct_ids <= kinds["duplicate"]
    assert {s.strip().upper() for s in pc.unique(table["promo_type"]).to_pylist()} == {
        "PCT_OFF",
        "AMOUNT_OFF",
        "BOGO",
        "FLASH_SALE",
    }
    starts = table["start_date"].to_pylist()
    assert min(starts) < dt.date(2025, 1, 1) < dt.date(2025, 1, 8) < max(starts)  # some rows are outside the window


def test_the_command_line_replaces_earlier_output(tmp_path: Path) -> None:
    assert main(["--rows", "3000", "--seed", "1", "--out", str(tmp_path), "--rows-per-file", "1000"]) == 0
    assert main(["--rows", "500", "--seed", "1", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_generator.json", "part-00000.parquet"]
    assert read(tmp_path).num_rows == 500
    assert json.loads((tmp_path / "_generator.json").read_text())["rows"] == 500
