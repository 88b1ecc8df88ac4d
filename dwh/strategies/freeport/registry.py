"""`FreeportClientConfig`: the union of every Freeport client, keyed on ``client``.

A new client is one new module with a `FreeportClient` subclass plus one line here.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dwh.strategies.freeport.http import HttpFreeportClient
from dwh.strategies.freeport.lakehouse import LakehouseFreeportClient

FreeportClientConfig = Annotated[
    HttpFreeportClient | LakehouseFreeportClient,
    Field(discriminator="client"),
]
