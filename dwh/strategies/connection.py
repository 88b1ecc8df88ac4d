"""The database connection block shared by the JDBC extractor and the POSTGRES and REDSHIFT loaders.

Two shapes, both flat in the strategy block:

    {"jdbc_url": "jdbc:postgresql://db:5432/dwh",
     "properties": {"user": "loader", "password": "env:PG_PASSWORD", "driver": "org.postgresql.Driver"}}

    {"host": "db", "port": 5432, "dbname": "dwh", "user": "loader", "password": "env:PG_PASSWORD"}

The first is the existing shape (DESIGN.md); extra ``properties`` are passed to Spark's JDBC source as
they are, and the ones libpq understands (``sslmode``, ``ssl``, ``sslrootcert``, ``connectTimeout``,
``ApplicationName``, ``currentSchema``) also reach psycopg. The password is a `dwh.config.Secret`:
it travels only as a separate JDBC property or psycopg keyword, never inside a URL, a conninfo
string, `describe` or an error message; a ``jdbc_url`` that carries a password is rejected.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from dwh.config import Secret, StrictModel

#: Default ports and JDBC drivers per JDBC sub-protocol.
DEFAULT_PORTS = {"postgresql": 5432, "redshift": 5439}
DEFAULT_DRIVERS = {"postgresql": "org.postgresql.Driver", "redshift": "com.amazon.redshift.jdbc42.Driver"}
#: JDBC URL parameters / properties that have a libpq counterpart (JDBC name -> libpq keyword).
LIBPQ_KEYWORDS = {
    "sslmode": "sslmode",
    "sslrootcert": "sslrootcert",
    "sslcert": "sslcert",
    "sslkey": "sslkey",
    "connectTimeout": "connect_timeout",
    "ApplicationName": "application_name",
}
#: PostgreSQL's identifier limit: it cuts longer names silently, which could merge two names into one.
MAX_IDENTIFIER_BYTES = 63
_PLAIN_IDENTIFIER = re.compile(rf"^[A-Za-z_][A-Za-z0-9_]{{0,{MAX_IDENTIFIER_BYTES - 1}}}$")


def check_identifier(value: str) -> str:
    """A plain SQL identifier (letters, digits, ``_``; at most `MAX_IDENTIFIER_BYTES`), else a ValueError."""
    if not _PLAIN_IDENTIFIER.match(value):
        raise ValueError(f"{value!r} is not a plain identifier (letters, digits and _, not starting with a digit)")
    return value


def check_table_name(value: str) -> str:
    """``table`` or ``schema.table`` made of plain identifiers, else a ValueError."""
    parts = value.split(".")
    if len(parts) > 2 or not all(_PLAIN_IDENTIFIER.match(part) for part in parts):
        raise ValueError(f"{value!r} is not a plain table name (table or schema.table; letters, digits and _)")
    return value


#: A column name that is a plain identifier (checked when the config is parsed).
Identifier = Annotated[str, AfterValidator(check_identifier)]
#: ``table`` or ``schema.table`` of plain identifiers (checked when the config is parsed).
TableName = Annotated[str, AfterValidator(check_table_name)]


def split_table_name(value: str, *, default_schema: str = "public") -> tuple[str, str]:
    """``schema.table`` -> (schema, table); a bare name gets `default_schema`."""
    schema, _, table = value.rpartition(".")
    return schema or default_schema, table


class JdbcProperties(StrictModel):
    """Connection properties as Spark's JDBC source takes them; unknown keys pass through as strings."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str] = Field(init=False)

    user: str | None = Field(None, description="Database user.")
    password: Secret | None = Field(None, description="Database password (a secret: literal or reference).")
    driver: str | None = Field(None, description="JDBC driver class, e.g. org.postgresql.Driver.")

    def extras(self) -> dict[str, str]:
        """The pass-through properties (everything but user, password and driver)."""
        return dict(self.__pydantic_extra__ or {})


class ParsedJdbcUrl:
    """A ``jdbc:<scheme>://host[:port][,host2[:port]]/dbname?params`` URL taken apart."""

    def __init__(self, url: str) -> None:
        if not url.startswith("jdbc:"):
            raise ValueError("jdbc_url must start with jdbc: (e.g. jdbc:postgresql://host:5432/dbname)")
        parts = urlsplit(url[len("jdbc:") :])
        self.scheme = parts.scheme.split(":")[0]
        self.params = dict(parse_qsl(parts.query))
        if "@" in parts.netloc or "password" in {key.lower() for key in self.params}:
            # Never echo the URL: it holds a credential.
            raise ValueError("jdbc_url must not carry credentials; put them in properties.user / properties.password")
        self.hosts: list[str] = []
        self.ports: list[int] = []
        for item in filter(None, parts.netloc.split(",")):
            host, _, port = item.rpartition(":") if item.count(":") == 1 else (item, "", "")
            if not port.isdigit() and port:
                raise ValueError(f"jdbc_url has a bad port {port!r}")
            self.hosts.append(host or "localhost")
            self.ports.append(int(port) if port else DEFAULT_PORTS.get(self.scheme, 5432))
        self.dbname = unquote(parts.path.lstrip("/")) or None


class DatabaseConnection(StrictModel):
    """Where a database is and how to log in: ``jdbc_url`` + ``properties``, or discrete fields."""

    #: JDBC sub-protocol used to build a URL from discrete fields.
    default_scheme: ClassVar[str] = "postgresql"
    #: False for strategies that can also reach the database another way (REDSHIFT's Data API).
    connection_required: ClassVar[bool] = True

    jdbc_url: str | None = Field(None, description="jdbc:postgresql://host:port/dbname (no credentials in it).")
    properties: JdbcProperties | None = Field(None, description="JDBC properties: user, password, driver, ...")
    host: str | None = Field(None, description="Database host (instead of jdbc_url).")
    port: int | None = Field(None, description="Database port (default 5432; Redshift 5439).")
    dbname: str | None = Field(None, description="Database name (with host).")
    user: str | None = Field(None, description="Database user (or properties.user).")
    password: Secret | None = Field(None, description="Database password (a secret; or properties.password).")

    @model_validator(mode="after")
    def _one_shape(self) -> DatabaseConnection:
        if self.jdbc_url and self.host:
            raise ValueError("give either jdbc_url or host, not both")
        if not self.jdbc_url and not self.host:
            if self.connection_required:
                raise ValueError("needs jdbc_url (+ properties) or host + dbname")
            return self
        if self.jdbc_url:
            ParsedJdbcUrl(self.jdbc_url)
            if self.port is not None or self.dbname:
                raise ValueError("port and dbname belong in jdbc_url when jdbc_url is given")
        elif not self.dbname:
            raise ValueError("host needs dbname")
        props = self.properties
        if props and props.user and self.user:
            raise ValueError("give the user once: user or properties.user")
        if props and props.password is not None and self.password is not None:
            raise ValueError("give the password once: password or properties.password")
        return self

    @property
    def has_connection(self) -> bool:
        """True when a database connection is configured."""
        return bool(self.jdbc_url or self.host)

    @property
    def scheme(self) -> str:
        """The JDBC sub-protocol: postgresql, redshift, mysql, ..."""
        return ParsedJdbcUrl(self.jdbc_url).scheme if self.jdbc_url else self.default_scheme

    def url(self) -> str:
        """The JDBC URL, without credentials."""
        if self.jdbc_url:
            return self.jdbc_url
        port = self.port or DEFAULT_PORTS.get(self.default_scheme, 5432)
        return f"jdbc:{self.default_scheme}://{self.host}:{port}/{self.dbname}"

    def login_user(self) -> str | None:
        """The user name from ``user`` or ``properties.user``."""
        return self.user or (self.properties.user if self.properties else None)

    def login_password(self) -> str | None:
        """The (resolved) password from ``password`` or ``properties.password``."""
        secret = self.password or (self.properties.password if self.properties else None)
        return secret.get_secret_value() if secret is not None else None

    def spark_jdbc_options(self) -> dict[str, str]:
        """Options for Spark's JDBC source: url, user, password, driver and the extra properties."""
        options = {"url": self.url()}
        if self.properties:
            options.update(self.properties.extras())
        driver = (self.properties.driver if self.properties else None) or DEFAULT_DRIVERS.get(self.scheme)
        if driver:
            options["driver"] = driver
        user, password = self.login_user(), self.login_password()
        if user:
            options["user"] = user
        if password is not None:
            options["password"] = password
        return options

    def psycopg_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect``; the password is a separate keyword, never in a string."""
        if self.jdbc_url:
            parsed = ParsedJdbcUrl(self.jdbc_url)
            kwargs: dict[str, Any] = {
                "host": ",".join(parsed.hosts) or "localhost",
                "port": ",".join(str(port) for port in parsed.ports) or str(DEFAULT_PORTS.get(parsed.scheme, 5432)),
            }
            if parsed.dbname:
                kwargs["dbname"] = parsed.dbname
            kwargs.update(_libpq_options({**parsed.params, **(self.properties.extras() if self.properties else {})}))
            if "user" in parsed.params:
                kwargs["user"] = parsed.params["user"]
        else:
            kwargs = {"host": self.host, "port": str(self.port or DEFAULT_PORTS.get(self.default_scheme, 5432))}
            kwargs["dbname"] = self.dbname
            kwargs.update(_libpq_options(self.properties.extras() if self.properties else {}))
        user, password = self.login_user(), self.login_password()
        if user:
            kwargs["user"] = user
        if password is not None:
            kwargs["password"] = password
        return kwargs

    def describe_database(self) -> str:
        """``scheme://host:port/dbname`` without credentials (for reports and messages)."""
        kwargs = self.psycopg_kwargs() if self.has_connection else {}
        return f"{self.scheme}://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('dbname', '')}"


def _libpq_options(params: dict[str, str]) -> dict[str, str]:
    """Translate JDBC URL parameters / properties into libpq keywords (the rest is JDBC-only)."""
    options: dict[str, str] = {}
    for jdbc_name, libpq_name in LIBPQ_KEYWORDS.items():
        if params.get(jdbc_name):
            options[libpq_name] = params[jdbc_name]
    if "sslmode" not in options and params.get("ssl", "").lower() == "true":
        options["sslmode"] = "require"
    if params.get("currentSchema"):
        # search_path must not be able to smuggle other settings in: keep it a plain list of names.
        schemas = [name.strip() for name in params["currentSchema"].split(",")]
        if all(name.replace("_", "").replace("$", "").isalnum() for name in schemas):
            options["options"] = f"-c search_path={','.join(schemas)}"
    return options
