"""The run window on a column: the one check that a column can carry ``[start_date, end_date)``.

Extractors filter on ``window_column`` and loaders replace its rows; both compare the column with
dates, so it must be a date or timestamp column. A string column (a CSV read without a schema) would
otherwise fail row by row at the first Spark action, with a cast error that names no option.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.types import DataType


def window_column_type(frame: DataFrame, column: str, owner: str) -> DataType:
    """The type of `column` when it is a date or timestamp column, else a ValueError naming `owner`."""
    from pyspark.sql.types import DateType, TimestampNTZType, TimestampType

    types = {field.name: field.dataType for field in frame.schema.fields}
    if column not in types:
        raise ValueError(f"{owner}: window_column {column} is not a column of the rows ({', '.join(types)})")
    found = types[column]
    if not isinstance(found, DateType | TimestampType | TimestampNTZType):
        raise ValueError(
            f"{owner}: window_column {column} must be a date or timestamp column, not {found.simpleString()}"
        )
    return found
