"""The control store: the database the control plane keeps its tables in (embedded SQLite or PostgreSQL).

    {"url": "sqlite:///dwh_control.db"}                       the default; relative to the warehouse dir
    {"url": "postgresql://user:pw@host:5432/db", "schema": "control"}
    {"jdbc_url": "jdbc:postgresql://host:5432/db",            the loaders' shape, secrets by reference
     "properties": {"user": "ctl", "password": "env:PG_PASSWORD"}}

`ControlStoreConfig.open` gives a `ControlStore`: an engine, the tables (created when missing), and
`transaction()`, which really is a transaction on both engines. pysqlite issues no BEGIN before a
SELECT (PLATFORMS.md), so on SQLite the documented event hooks turn its own BEGIN off and emit
``BEGIN IMMEDIATE`` instead, with a busy ``timeout``: a read-then-write is serialized across processes.
A store that cannot be opened is a `ConfigError` naming the field; no password reaches any message,
repr or dump. SQLAlchemy (and psycopg) are imported by `open`, never by importing this module.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import Field, field_serializer, field_validator, model_validator

from dwh.config import Secret, StrictModel
from dwh.errors import ConfigError
from dwh.secrets import SCRUBBER, is_reference, resolve_reference

if TYPE_CHECKING:
    from sqlalchemy import MetaData, Table
    from sqlalchemy.engine import Connection, Engine

#: The embedded default: a SQLite file under the run's warehouse dir.
DEFAULT_URL = "sqlite:///dwh_control.db"
#: How long a SQLite transaction waits for another process's write lock before it fails.
SQLITE_TIMEOUT_SECONDS = 30.0
#: How long opening a PostgreSQL connection may take before the server counts as unreachable.
CONNECT_TIMEOUT_SECONDS = 10
#: libpq keywords `properties` may carry besides user and password.
LIBPQ_PROPERTIES = ("sslmode", "sslrootcert", "application_name")
# Serializes CREATE SCHEMA / CREATE TABLE of concurrent creators (a transaction-level advisory lock).
_DDL_LOCK_KEY = 0x64776863  # "dwhc"
_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def mask_url(url: str) -> str:
    """`url` with the password of its user part replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()


class ControlDatabaseProperties(StrictModel):
    """Login of the loaders' ``jdbc_url`` + ``properties`` shape (``driver`` is accepted and not needed)."""

    user: str | None = Field(None, description="Database user.")
    password: Secret | None = Field(None, description="Database password (a secret: literal or reference).")
    driver: str | None = Field(None, description="JDBC driver class (ignored: the store talks psycopg).")
    sslmode: str | None = Field(None, description="libpq sslmode (disable, require, verify-full, ...).")
    sslrootcert: str | None = Field(None, description="libpq sslrootcert: CA certificate file.")
    application_name: str | None = Field(None, description="libpq application_name.")


class ControlStoreConfig(StrictModel):
    """Where the control tables live: ``url`` (sqlite / postgresql) or ``jdbc_url`` + ``properties``."""

    url: str | None = Field(
        None, description="sqlite:///path.db (relative: under the warehouse dir) or postgresql://user:pw@host/db."
    )
    jdbc_url: str | None = Field(None, description="jdbc:postgresql://host:port/dbname (no credentials in it).")
    properties: ControlDatabaseProperties | None = Field(None, description="user, password, sslmode, ...")
    schema_name: str | None = Field(None, alias="schema", description="PostgreSQL schema of the control tables.")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        SCRUBBER.register(unquote(parts.password) if parts.password else None)
        if parts.scheme not in _SCHEMES:
            raise ValueError(f"scheme {parts.scheme or '(none)'!r} is not one of sqlite, postgresql")
        if parts.scheme == "sqlite":
            path = value[len("sqlite:///") :] if value.startswith("sqlite:///") else ""
            if not path or path == ":memory:" or parts.query:
                raise ValueError("expects sqlite:///relative/path.db or sqlite:////absolute/path.db (a file)")
        return value

    @field_validator("jdbc_url")
    @classmethod
    def _check_jdbc_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith("jdbc:postgresql://"):
            raise ValueError("expects jdbc:postgresql://host:port/dbname")
        parts = urlsplit(value[len("jdbc:") :])
        if "@" in parts.netloc or "password" in {key.lower() for key, _ in parse_qsl(parts.query)}:
            raise ValueError("must not carry credentials; put them in properties.user / properties.password")
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError("has a port that is not a number") from None
        return value

    @field_validator("schema_name")
    @classmethod
    def _check_schema(cls, value: str | None) -> str | None:
        if value is not None and not _IDENTIFIER.match(value):
            raise ValueError(f"{value!r} is not a plain identifier (letters, digits and _, not starting with a digit)")
        return value

    @model_validator(mode="after")
    def _one_shape(self) -> ControlStoreConfig:
        if self.url and self.jdbc_url:
            raise ValueError("give either url or jdbc_url, not both")
        if self.properties is not None and not self.jdbc_url:
            raise ValueError("properties go with jdbc_url (a url carries its own login)")
        if self.schema_name and self.dialect == "sqlite":
            raise ValueError("schema applies to PostgreSQL only (SQLite keeps its tables in its file)")
        return self

    @field_serializer("url")
    def _dump_url(self, value: str | None) -> str | None:
        return mask_url(value) if value else value

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, (mask_url(value) if name == "url" and isinstance(value, str) else value)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return "postgresql" if self.jdbc_url or (self.url or "").startswith("postgresql") else "sqlite"

    def open(self, *, warehouse_dir: str | None = None, field: str | None = None) -> ControlStore:
        """Connect (checked at once) and return the store; failures are a `ConfigError` on ``<field>.url``.

        `warehouse_dir` anchors a relative SQLite path (else ``DWH_WAREHOUSE_DIR``, else ./spark-warehouse).
        `field` is where this block sits in the job's config (``freeport.tracking``), for the error line.
        """
        name = "jdbc_url" if self.jdbc_url else "url"
        where = f"{field}.{name}" if field else name
        if self.dialect == "sqlite":
            path = sqlite_file(self.url or DEFAULT_URL, warehouse_dir)
            engine, shown = _sqlite_engine(path, where), f"sqlite:///{path}"
        else:
            engine, shown = self._postgres_engine(where, field)
        store = ControlStore(engine, schema=self.schema_name, shown=shown)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:
            engine.dispose()
            raise ConfigError(f"cannot open {shown} ({describe_error(exc)})", field=where) from None
        return store

    def _postgres_engine(self, where: str, field: str | None) -> tuple[Engine, str]:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import URL, make_url

        connect_args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        if self.url:
            url = make_url(self.url).set(drivername="postgresql+psycopg")
            SCRUBBER.register(url.password)
        else:
            parts = urlsplit((self.jdbc_url or "")[len("jdbc:") :])
            props = self.properties or ControlDatabaseProperties()
            password = props.password.get_secret_value() if props.password is not None else None
            if password is not None and is_reference(password):  # not resolved by a job factory yet
                prefix = f"{field}.properties" if field else "properties"
                password = resolve_reference(password, field=f"{prefix}.password")
            SCRUBBER.register(password)
            url = URL.create(
                "postgresql+psycopg",
                username=props.user,
                password=password,
                host=parts.hostname,
                port=parts.port,
                database=unquote(parts.path.lstrip("/")) or None,
            )
            query = dict(parse_qsl(parts.query))
            connect_args.update({key: query[key] for key in LIBPQ_PROPERTIES if query.get(key)})
            connect_args.update({key: getattr(props, key) for key in LIBPQ_PROPERTIES if getattr(props, key)})
        shown = url.set(drivername="postgresql").render_as_string(hide_password=True)
        try:
            engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        except ImportError:
            raise ConfigError("needs psycopg: pip install 'dwh-business-logic[postgres]'", field=where) from None
        return engine, shown


def sqlite_file(url: str, warehouse_dir: str | None) -> Path:
    """The file of a ``sqlite:///...`` url; a relative one is under the warehouse dir (created when missing)."""
    path = Path(url[len("sqlite:///") :])
    if path.is_absolute():
        return path
    base = warehouse_dir or os.environ.get("DWH_WAREHOUSE_DIR") or "spark-warehouse"
    if base.startswith("file:"):
        base = "/" + base[len("file:") :].lstrip("/")
    warehouse = Path(base).absolute()
    # A fresh machine may have no warehouse dir yet; an absolute path's directory, though, must exist.
    with contextlib.suppress(OSError):  # connecting then reports "unable to open database file"
        (warehouse / path).parent.mkdir(parents=True, exist_ok=True)
    return warehouse / path


def describe_error(exc: BaseException) -> str:
    """One scrubbed line for a failed connection: the driver's own words, not SQLAlchemy's wrapper."""
    original = getattr(exc, "orig", None) or exc
    text = " ".join(str(original).split()) or type(original).__name__
    return SCRUBBER.scrub(text)


def _sqlite_engine(path: Path, where: str) -> Engine:
    from sqlalchemy import create_engine, event

    if sqlite3.sqlite_version_info < (3, 35):
        raise ConfigError(f"needs SQLite >= 3.35 for RETURNING (this Python has {sqlite3.sqlite_version})", field=where)
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": SQLITE_TIMEOUT_SECONDS})

    @event.listens_for(engine, "connect")
    def _no_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite would BEGIN only before writes, and COMMIT before DDL

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock now: read-then-write is serialized

    return engine


class ControlStore:
    """An open control database: its engine, its tables, and real transactions."""

    def __init__(self, engine: Engine, *, schema: str | None = None, shown: str = "") -> None:
        if schema:
            # Tables are defined without a schema; every statement (DDL included) puts them in this one.
            engine = engine.execution_options(schema_translate_map={None: schema})
        self.engine = engine
        self.schema = schema
        self.shown = shown or engine.url.render_as_string(hide_password=True)
        self._tables: dict[str, Table] = {}
        self._created: list[MetaData] = []

    def __repr__(self) -> str:
        return f"ControlStore({self.shown})"

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return str(self.engine.dialect.name)

    def create_tables(self, metadata: MetaData) -> None:
        """Create the tables of `metadata` that are missing (in the store's schema); existing ones are reused.

        Concurrent creators don't fail: SQLite's BEGIN IMMEDIATE and a PostgreSQL transaction-level
        advisory lock let one create while the others wait and then find the tables there.
        """
        if any(created is metadata for created in self._created):
            return
        with self.transaction() as conn:
            if self.dialect == "postgresql":
                from sqlalchemy import text
                from sqlalchemy.schema import CreateSchema

                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DDL_LOCK_KEY})
                if self.schema:
                    conn.execute(CreateSchema(self.schema, if_not_exists=True))
            metadata.create_all(conn, checkfirst=True)
        self._created.append(metadata)
        self._tables.update({table.name: table for table in metadata.tables.values()})

    def table(self, name: str) -> Table:
        """The table `name`: one this store created, else reflected from the store's schema."""
        if name not in self._tables:
            from sqlalchemy import MetaData, Table
            from sqlalchemy.exc import NoSuchTableError

            try:
                self._tables[name] = Table(name, MetaData(), schema=self.schema, autoload_with=self.engine)
            except NoSuchTableError:
                raise LookupError(f"no table {name!r} in the control store {self.shown}") from None
        return self._tables[name]

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed when the block ends, rolled back when it raises."""
        with self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> ControlStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
