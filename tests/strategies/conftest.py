"""Fixtures for the database strategies: a PostgreSQL server that really checks passwords.

The shared ``postgres_server`` trusts every local login, so it cannot tell whether a password (or
a resolved secret reference) arrived. This one keeps ``postgres`` trusted for setup and makes the
role ``reader`` log in with SCRAM over TCP.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dwh.devtools.local_postgres import LocalPostgres, start_local_postgres


@dataclass
class PasswordPostgres:
    """A server where ``user`` must give ``password``; ``admin`` is a trusted superuser server handle."""

    admin: LocalPostgres
    user: str = "reader"
    password: str = "Rd-s3cret-pass-42"

    @property
    def jdbc_url(self) -> str:
        """JDBC URL of the database (no credentials)."""
        return self.admin.jdbc_url


@pytest.fixture(scope="session")
def password_postgres() -> Iterator[PasswordPostgres]:
    """A second local server with password authentication for the role ``reader``."""
    import psycopg

    root = Path(tempfile.mkdtemp(prefix="dwh-pgpw-"))
    root.chmod(0o755)
    server = start_local_postgres(root / "data")
    hba = server.data_dir / "pg_hba.conf"
    # First match wins: the admin stays trusted, everyone else needs a SCRAM password over TCP.
    hba.write_text(
        "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
    )
    if os.geteuid() == 0:
        shutil.chown(hba, "postgres", "postgres")
    handle = PasswordPostgres(admin=server)
    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")
        conn.execute(f"CREATE ROLE {handle.user} LOGIN PASSWORD '{handle.password}'")
        conn.execute(f"GRANT ALL ON SCHEMA public TO {handle.user}")
    yield handle
    server.stop()
    shutil.rmtree(root, ignore_errors=True)
