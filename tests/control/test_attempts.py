"""dwh_attempt_errors: each failed attempt's error, read back by the next attempt (SQLite and PostgreSQL).

Proves: errors come back by attempt number in order, per key only; re-recording an attempt replaces its
error (a re-run of the same attempt number); DWH_CONTROL_URL selects the store, a bad one is one ConfigError.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from dwh.control.attempts import attempt_errors, open_attempt_store, record_attempt_error
from dwh.control.store import ControlStore
from dwh.errors import ConfigError


def test_errors_come_back_by_attempt_for_their_key_only(store: ControlStore) -> None:
    record_attempt_error(store, "load_promos:771", 2, "RuntimeError: second")
    record_attempt_error(store, "load_promos:771", 1, "RuntimeError: first")
    record_attempt_error(store, "load_promos:772", 1, "RuntimeError: another run")
    assert attempt_errors(store, "load_promos:771") == {1: "RuntimeError: first", 2: "RuntimeError: second"}
    assert list(attempt_errors(store, "load_promos:771")) == [1, 2]
    assert attempt_errors(store, "smoke:771") == {}


def test_recording_an_attempt_again_replaces_its_error(store: ControlStore) -> None:
    record_attempt_error(store, "k", 1, "old")
    record_attempt_error(store, "k", 1, "new")
    assert attempt_errors(store, "k") == {1: "new"}


def test_dwh_control_url_selects_the_store(store_spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWH_CONTROL_URL", store_spec["url"])
    with open_attempt_store() as store:
        record_attempt_error(store, "k", 1, "kept")
    with open_attempt_store() as store:  # a later attempt: another process, the same store
        assert attempt_errors(store, "k") == {1: "kept"}


def test_a_bad_control_url_is_one_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWH_CONTROL_URL", "sqlite:////nonexistent-dir/x.db")
    with pytest.raises(
        ConfigError, match=re.escape("DWH_CONTROL_URL.url: cannot open sqlite:////nonexistent-dir/x.db")
    ):
        open_attempt_store()
