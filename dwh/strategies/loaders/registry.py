"""`LoaderConfig`: the discriminated union of every loader, keyed on ``strategy``.

A new loader is one new module plus one line here.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dwh.strategies.loaders.delta import DeltaLoader
from dwh.strategies.loaders.parquet import ParquetLoader
from dwh.strategies.loaders.postgres import PostgresLoader
from dwh.strategies.loaders.redshift import RedshiftLoader

LoaderConfig = Annotated[
    DeltaLoader | ParquetLoader | PostgresLoader | RedshiftLoader,
    Field(discriminator="strategy"),
]
