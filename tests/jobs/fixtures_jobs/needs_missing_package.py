"""A job module whose dependency is not installed: generic_entry must say which package is missing."""

from __future__ import annotations

from typing import Any

import dwh_test_package_that_is_not_installed  # noqa: F401


def main(**kwargs: Any) -> Any:
    """Never reached: the import above fails."""
    return None
