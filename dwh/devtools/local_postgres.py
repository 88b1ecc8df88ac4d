"""Start and stop a throwaway PostgreSQL server from the machine's server binaries.

Used by the tests, the benchmarks and ``make demo``. PostgreSQL refuses to run as root, so when we
are root the data directory is owned by the ``postgres`` user and the binaries run through
``runuser`` (see PLATFORMS.md). Authentication is ``trust`` on 127.0.0.1 only.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def find_pg_bin() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl`` (PATH first, then Debian's layout)."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    raise PostgresUnavailable("PostgreSQL server binaries not found: apt-get install postgresql")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalPostgres:
    """A running local server: connection facts and `stop()`."""

    data_dir: Path
    port: int
    user: str = "postgres"
    dbname: str = "postgres"
    host: str = "127.0.0.1"

    @property
    def conninfo(self) -> str:
        """A libpq connection string for psycopg."""
        return f"host={self.host} port={self.port} user={self.user} dbname={self.dbname}"

    @property
    def jdbc_url(self) -> str:
        """The JDBC URL Spark uses."""
        return f"jdbc:postgresql://{self.host}:{self.port}/{self.dbname}"

    def stop(self) -> None:
        """Stop the server (fast shutdown)."""
        _run([str(find_pg_bin() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"], check=False)


def _as_postgres_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _run(command: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_as_postgres_user(command), check=check, capture_output=True, text=True)


def start_local_postgres(data_dir: Path, *, port: int | None = None) -> LocalPostgres:
    """Initialise `data_dir` if empty and start a server on 127.0.0.1; reuses a running one."""
    bin_dir = find_pg_bin()
    data_dir = data_dir.absolute()
    data_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres", "postgres")
        os.chmod(data_dir, 0o700)
    port_file = data_dir / "dwh.port"
    if (data_dir / "postmaster.pid").exists() and port_file.exists():
        server = LocalPostgres(data_dir=data_dir, port=int(port_file.read_text()))
        if _accepts(server.port):
            return server
    if not (data_dir / "PG_VERSION").exists():
        _run([str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
    port = port or free_port()
    options = f"-p {port} -k {data_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
    result = _run(
        [str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-o", options, "-l", str(data_dir / "log"), "-w", "start"],
        check=False,
    )
    if result.returncode != 0:
        log_tail = (data_dir / "log").read_text()[-800:] if (data_dir / "log").exists() else result.stderr
        raise RuntimeError(f"PostgreSQL did not start: {log_tail.strip()}")
    port_file.write_text(str(port))
    deadline = time.monotonic() + 15
    while not _accepts(port):
        if time.monotonic() > deadline:
            raise RuntimeError("PostgreSQL started but does not accept connections")
        time.sleep(0.1)
    return LocalPostgres(data_dir=data_dir, port=port)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
