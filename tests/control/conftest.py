"""Fixtures for the control store: every store test runs on the embedded SQLite and on a real PostgreSQL.

``store_spec`` is the user's config block (a dict, as it would appear under ``"tracking"``), so tests and
the worker processes they start open the store the same way a job does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dwh.control.store import ControlStore, ControlStoreConfig
from tests.strategies.conftest import password_postgres  # noqa: F401 - a server that checks passwords

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(params=ENGINES)
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The config block of a fresh, empty control database on each engine."""
    if request.param == "sqlite":
        return {"url": f"sqlite:///{tmp_path / 'dwh_control.db'}"}
    database = request.getfixturevalue("postgres_db")
    return {"url": f"postgresql://{database.user}@{database.host}:{database.port}/{database.dbname}"}


@pytest.fixture
def store(store_spec: dict[str, Any]) -> Iterator[ControlStore]:
    """The open store of `store_spec`, closed after the test."""
    opened = ControlStoreConfig.model_validate(store_spec).open()
    yield opened
    opened.close()
