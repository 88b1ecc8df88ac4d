"""The shared database connection block: both shapes, secrets that really log in, no password in any text."""

from __future__ import annotations

from typing import Any

import pytest

from dwh.config import validate_model
from dwh.errors import ConfigError
from dwh.secrets import SCRUBBER, resolve_secrets
from dwh.strategies.connection import DatabaseConnection

PASSWORD = "Hunter2-very-secret"


def connection(**block: Any) -> DatabaseConnection:
    """Parse a connection block the way a strategy's config is parsed."""
    return validate_model(DatabaseConnection, block, argument="--cfg")


def test_existing_shape_gives_spark_options_and_psycopg_keywords() -> None:
    db = connection(
        jdbc_url="jdbc:postgresql://db.internal:6543/dwh?sslmode=require&ApplicationName=dwh-load",
        properties={
            "user": "loader",
            "password": PASSWORD,
            "driver": "org.postgresql.Driver",
            "stringtype": "unspecified",
        },
    )
    assert db.spark_jdbc_options() == {
        "url": "jdbc:postgresql://db.internal:6543/dwh?sslmode=require&ApplicationName=dwh-load",
        "driver": "org.postgresql.Driver",
        "stringtype": "unspecified",
        "user": "loader",
        "password": PASSWORD,
    }
    assert db.psycopg_kwargs() == {
        "host": "db.internal",
        "port": "6543",
        "dbname": "dwh",
        "sslmode": "require",
        "application_name": "dwh-load",
        "user": "loader",
        "password": PASSWORD,
    }
    assert db.describe_database() == "postgresql://db.internal:6543/dwh"


def test_discrete_fields_build_the_url_and_default_the_driver() -> None:
    db = connection(host="db.internal", dbname="dwh", user="loader", password=PASSWORD)
    assert db.url() == "jdbc:postgresql://db.internal:5432/dwh"
    assert db.spark_jdbc_options()["driver"] == "org.postgresql.Driver"
    assert db.psycopg_kwargs() == {
        "host": "db.internal",
        "port": "5432",
        "dbname": "dwh",
        "user": "loader",
        "password": PASSWORD,
    }


def test_multi_host_urls_and_jdbc_only_parameters() -> None:
    db = connection(jdbc_url="jdbc:postgresql://a:5432,b:5433/dwh?ssl=true&currentSchema=sales,public&loginTimeout=5")
    assert db.psycopg_kwargs() == {
        "host": "a,b",
        "port": "5432,5433",
        "dbname": "dwh",
        "sslmode": "require",
        "options": "-c search_path=sales,public",
    }


@pytest.mark.parametrize(
    "url",
    [
        f"jdbc:postgresql://db:5432/dwh?user=loader&password={PASSWORD}",
        f"jdbc:postgresql://loader:{PASSWORD}@db:5432/dwh",
    ],
)
def test_a_password_inside_the_url_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(ConfigError) as error:
        connection(jdbc_url=url)
    assert str(error.value) == (
        "--cfg: (top level): jdbc_url must not carry credentials; put them in properties.user / properties.password"
    )


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({}, "needs jdbc_url (+ properties) or host + dbname"),
        ({"jdbc_url": "jdbc:postgresql://db/x", "host": "db"}, "give either jdbc_url or host, not both"),
        ({"host": "db"}, "host needs dbname"),
        ({"jdbc_url": "jdbc:postgresql://db/x", "port": 5433}, "port and dbname belong in jdbc_url"),
        ({"jdbc_url": "postgresql://db/x"}, "jdbc_url must start with jdbc:"),
        ({"host": "db", "dbname": "x", "user": "a", "properties": {"user": "b"}}, "give the user once"),
        ({"host": "db", "dbname": "x", "password": "p1", "properties": {"password": "p2"}}, "give the password once"),
        (
            {"host": "db", "dbname": "x", "properties": {"sslmode": 1}},
            "properties.sslmode: Input should be a valid string",
        ),
    ],
)
def test_shape_errors_are_one_line_naming_the_problem(block: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        connection(**block)


def test_the_password_is_in_no_text(monkeypatch: pytest.MonkeyPatch) -> None:
    db = connection(jdbc_url="jdbc:postgresql://db/dwh", properties={"user": "loader", "password": PASSWORD})
    texts = [db.url(), db.describe_database(), repr(db), str(db), db.model_dump_json()]
    assert not [text for text in texts if PASSWORD in text]
    assert SCRUBBER.scrub(f"failed with {PASSWORD}") == "failed with ***"  # a literal secret is masked at once


@pytest.mark.integration
def test_a_secret_reference_logs_in_where_passwords_are_checked(password_postgres: Any, monkeypatch: Any) -> None:
    import psycopg

    monkeypatch.setenv("DWH_TEST_DB_PASSWORD", password_postgres.password)
    block = {
        "jdbc_url": password_postgres.jdbc_url + "?ApplicationName=dwh-test&currentSchema=public",
        "properties": {"user": password_postgres.user, "password": "env:DWH_TEST_DB_PASSWORD"},
    }
    db = connection(**block)
    db = resolve_secrets(db)
    with psycopg.connect(**db.psycopg_kwargs()) as conn:
        row = conn.execute("SELECT current_user, current_setting('application_name'), current_setting('search_path')")
        assert row.fetchone() == ("reader", "dwh-test", "public")

    wrong = connection(**{**block, "properties": {"user": password_postgres.user, "password": "Wrong-password-1"}})
    with pytest.raises(psycopg.OperationalError, match="password authentication failed") as error:
        psycopg.connect(**wrong.psycopg_kwargs())
    assert "Wrong-password-1" not in str(error.value)
