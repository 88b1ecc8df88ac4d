"""The columns load_promos reads and writes, their Spark SQL types, and the accepted promotion types."""

from __future__ import annotations

#: The source columns and their Spark SQL types; other source columns are ignored.
SOURCE_COLUMNS: dict[str, str] = {
    "promo_id": "string",
    "retailer": "string",
    "store_id": "string",
    "sku": "string",
    "promo_type": "string",
    "regular_price": "double",
    "discount_value": "double",
    "start_date": "date",
    "end_date": "date",
    "updated_at": "timestamp",
}

#: The promotion types the job understands (after trimming and upper-casing).
PROMO_TYPES: tuple[str, ...] = ("PCT_OFF", "AMOUNT_OFF", "BOGO")

#: The output columns, in order, with their Spark SQL types (the same in every target).
OUTPUT_COLUMNS: dict[str, str] = {
    "promo_id": "string",
    "retailer": "string",
    "store_id": "string",
    "sku": "string",
    "promo_type": "string",
    "regular_price": "double",
    "discount_value": "double",
    "promo_price": "double",
    "discount_pct": "double",
    "start_date": "date",
    "end_date": "date",
    "promo_days": "int",
    "updated_at": "timestamp",
    "load_window_start": "date",
    "created_by": "string",
    "loaded_at": "timestamp",
}

#: The merge key of every target.
KEY_COLUMN = "promo_id"
#: The column the stage is partitioned by and whose window replace_window replaces.
WINDOW_COLUMN = "load_window_start"


def ddl(columns: dict[str, str]) -> str:
    """A Spark DDL schema string (``createDataFrame``, ``spark.read.schema``, the CSV extractor's schema)."""
    return ", ".join(f"`{name}` {kind.upper()}" for name, kind in columns.items())
