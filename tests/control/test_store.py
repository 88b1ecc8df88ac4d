"""The control store's config and connection: where it lives, what a bad block says, tables and transactions."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dwh.config import StrictModel, validate_model
from dwh.control.store import ControlStore, ControlStoreConfig
from dwh.control.tracking import BATCH_TABLE, JOB_TRACKING_TABLE, FreeportTracking
from dwh.devtools.local_postgres import LocalPostgres, free_port
from dwh.errors import ConfigError
from dwh.secrets import resolve_secrets

SECRET = "Ctl-s3cret-pass-77"
TRACKING_COLUMNS = [
    "demo_name",
    "module_name",
    "table_name",
    "run_id",
    "status",
    "triggered_at",
    "completed_at",
    "error_message",
    "batch_id",
    "launcher",
    "run_url",
    "materialization_id",
]


class ReleaseConfig(StrictModel):
    """A job config holding the block the way Freeport's does (under ``tracking``)."""

    tracking: ControlStoreConfig = ControlStoreConfig()


def parse(block: Any) -> ControlStoreConfig:
    """The block as a job parses it, config errors as the job's one line."""
    return validate_model(ReleaseConfig, {"tracking": block}, argument="--release_job").tracking


def columns(store: ControlStore, table: str) -> list[str]:
    """The table's columns in order, as the database itself lists them."""
    with store.transaction() as conn:
        if store.dialect == "sqlite":
            return [row[1] for row in conn.exec_driver_sql(f"PRAGMA table_info({table})")]
        query = "SELECT column_name FROM information_schema.columns WHERE table_name = %(t)s ORDER BY ordinal_position"
        return [row[0] for row in conn.exec_driver_sql(query, {"t": table})]


def test_no_block_is_the_embedded_sqlite_under_the_warehouse_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DWH_WAREHOUSE_DIR", str(tmp_path / "from_env"))
    with ControlStoreConfig().open() as store:
        FreeportTracking(store)
        assert store.dialect == "sqlite"
    assert sqlite3.connect(tmp_path / "from_env" / "dwh_control.db").execute(
        "SELECT name FROM sqlite_master WHERE name = ?", (BATCH_TABLE,)
    ).fetchone() == (BATCH_TABLE,)
    with parse({"url": "sqlite:///control/ctl.db"}).open(warehouse_dir=str(tmp_path / "argument")) as store:
        FreeportTracking(store)
    assert (tmp_path / "argument" / "control" / "ctl.db").stat().st_size > 0
    assert not (tmp_path / "from_env" / "control").exists()


def test_tables_created_when_missing_with_the_design_columns(store: ControlStore) -> None:
    FreeportTracking(store)
    assert columns(store, JOB_TRACKING_TABLE) == TRACKING_COLUMNS
    assert columns(store, BATCH_TABLE) == [
        "batch_id",
        "demo_name",
        "modules_expected",
        "triggering_done_at",
        "notified_at",
    ]


def test_an_existing_table_is_reused_with_its_rows(store_spec: dict[str, Any]) -> None:
    with parse(store_spec).open() as first:
        FreeportTracking(first).record_batch("b-old", "promo", ["geo"])
    with parse(store_spec).open() as second:
        tracking = FreeportTracking(second)
        assert tracking.record_batch("b-old", "promo", ["other"]) is False
        batch = tracking.batch("b-old")
    assert batch is not None and batch.modules_expected == ["geo"]


def test_a_sqlite_transaction_holds_the_write_lock_from_its_first_select(tmp_path: Path) -> None:
    path = tmp_path / "ctl.db"
    with parse({"url": f"sqlite:///{path}"}).open() as store:
        FreeportTracking(store)
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        with store.transaction() as conn:
            conn.exec_driver_sql(f"SELECT count(*) FROM {BATCH_TABLE}").all()
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again once the transaction ended
        other.execute("ROLLBACK")


def test_a_transaction_that_raises_leaves_nothing(store: ControlStore) -> None:
    tracking = FreeportTracking(store)
    with pytest.raises(RuntimeError, match="midway"), store.transaction() as conn:
        conn.execute(tracking.batches.insert().values(batch_id="b1", demo_name="d", modules_expected="[]"))
        raise RuntimeError("midway")
    assert tracking.batch("b1") is None


def test_schema_puts_the_tables_in_that_postgres_schema(postgres_db: LocalPostgres) -> None:
    url = f"postgresql://postgres@127.0.0.1:{postgres_db.port}/{postgres_db.dbname}"
    with parse({"url": url, "schema": "ctl"}).open() as store:
        FreeportTracking(store).record_batch("b1", "promo", ["geo", "fx"])
        assert store.table(BATCH_TABLE).name == BATCH_TABLE
    with psycopg.connect(postgres_db.conninfo) as conn:
        assert conn.execute("SELECT batch_id, modules_expected FROM ctl.freeport_batch").fetchall() == [
            ("b1", '["geo", "fx"]')
        ]
        assert conn.execute("SELECT to_regclass('public.freeport_batch')").fetchone() == (None,)


def test_the_loaders_jdbc_shape_with_a_secret_reference(
    password_postgres: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTL_PASSWORD", password_postgres.password)
    block = {
        "jdbc_url": password_postgres.jdbc_url,
        "properties": {
            "user": password_postgres.user,
            "password": "env:CTL_PASSWORD",
            "driver": "org.postgresql.Driver",
        },
    }
    config = parse(block)
    resolve_secrets(config, prefix="tracking")
    with config.open(field="tracking") as store:
        assert FreeportTracking(store).record_batch("b1", "promo", ["geo"]) is True
    with parse(block).open(field="tracking") as store:  # an unresolved reference is resolved on open
        assert FreeportTracking(store).batch("b1") is not None
    assert password_postgres.password not in repr(config) + str(config.model_dump())


def test_a_wrong_password_is_a_config_error_without_the_password(password_postgres: Any) -> None:
    block = {"jdbc_url": password_postgres.jdbc_url, "properties": {"user": password_postgres.user, "password": SECRET}}
    with pytest.raises(ConfigError) as caught:
        parse(block).open(field="freeport.tracking")
    text = str(caught.value)
    assert text.startswith(f"freeport.tracking.jdbc_url: cannot open postgresql://{password_postgres.user}:***@")
    assert "password authentication failed" in text
    assert SECRET not in text


def test_an_unreachable_server_names_the_field_and_hides_the_password() -> None:
    port = free_port()
    with pytest.raises(ConfigError) as caught:
        parse({"url": f"postgresql://ctl:{SECRET}@127.0.0.1:{port}/ctl"}).open(field="tracking")
    text = str(caught.value)
    assert text.startswith(f"tracking.url: cannot open postgresql://ctl:***@127.0.0.1:{port}/ctl (")
    assert "refused" in text.lower()
    assert SECRET not in text and SECRET not in repr(caught.value)


def test_a_missing_database_is_a_config_error(postgres_server: LocalPostgres) -> None:
    with pytest.raises(ConfigError, match=r"^tracking.url: cannot open .*database \"nope\" does not exist"):
        parse({"url": f"postgresql://postgres@127.0.0.1:{postgres_server.port}/nope"}).open(field="tracking")


def test_a_sqlite_path_that_cannot_be_opened(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError) as caught:
        parse({"url": f"sqlite:///{blocker}/ctl.db"}).open(field="tracking")
    assert str(caught.value) == f"tracking.url: cannot open sqlite:///{blocker}/ctl.db (unable to open database file)"


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            {"url": f"mysql://ctl:{SECRET}@db/ctl"},
            "--release_job: tracking.url: scheme 'mysql' is not one of sqlite, postgresql",
        ),
        ({"url": "sqlite:///:memory:"}, "--release_job: tracking.url: expects sqlite:///relative/path.db or"),
        (
            {"url": "postgresql://db/ctl", "schema": "ctl-2"},
            "--release_job: tracking.schema: 'ctl-2' is not a plain identifier",
        ),
        (
            {"url": "postgresql://db/ctl", "schema": "x; DROP TABLE t"},
            "--release_job: tracking.schema: 'x; DROP TABLE t' is not a",
        ),
        ({"url": "sqlite:///ctl.db", "schema": "ctl"}, "--release_job: tracking: schema applies to PostgreSQL only"),
        (
            {"url": "sqlite:///a.db", "jdbc_url": "jdbc:postgresql://db/ctl"},
            "--release_job: tracking: give either url or jdbc_url",
        ),
        (
            {"jdbc_url": f"jdbc:postgresql://ctl:{SECRET}@db/ctl"},
            "--release_job: tracking.jdbc_url: must not carry credentials",
        ),
        (
            {"jdbc_url": "jdbc:mysql://db/ctl"},
            "--release_job: tracking.jdbc_url: expects jdbc:postgresql://host:port/dbname",
        ),
        (
            {"url": "sqlite:///a.db", "properties": {"user": "u"}},
            "--release_job: tracking: properties go with jdbc_url",
        ),
        ({"url": "sqlite:///a.db", "uri": "x"}, "--release_job: tracking.uri: unknown field"),
    ],
)
def test_bad_blocks_are_one_config_line_naming_the_field(block: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(block)
    assert str(caught.value).startswith(message)
    assert SECRET not in str(caught.value)
