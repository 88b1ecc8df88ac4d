"""`ExtractorConfig`: the discriminated union of every extractor, keyed on ``strategy``.

A new extractor is one new module plus one line here.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dwh.strategies.extractors.csv import CsvExtractor
from dwh.strategies.extractors.delta import DeltaExtractor
from dwh.strategies.extractors.jdbc import JdbcExtractor
from dwh.strategies.extractors.parquet import ParquetExtractor

ExtractorConfig = Annotated[
    ParquetExtractor | DeltaExtractor | CsvExtractor | JdbcExtractor,
    Field(discriminator="strategy"),
]
