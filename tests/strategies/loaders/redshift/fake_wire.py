"""A Redshift endpoint for DB-API clients: a PostgreSQL-protocol proxy that applies Redshift's SQL rules.

Redshift speaks the PostgreSQL v3 wire protocol, so DB-API clients (psycopg here, redshift_connector)
connect to it like to PostgreSQL. This proxy sits in front of a real PostgreSQL server and forwards
every protocol message unchanged, except:

* SSL / GSS encryption requests are answered "no" (the client then talks in the clear);
* the startup message's ``database`` (the Redshift database, ``dev``) is mapped to the backing database;
* the SQL of every simple ``Query`` and extended-protocol ``Parse`` goes through
  `redshift_sql.RedshiftSession.translate` (one session per connection, so a staging table created in
  the client's open transaction is known to its COPY); a statement Redshift would refuse is replaced by
  one that raises Redshift's error inside PostgreSQL, so the client gets a normal ErrorResponse and its
  transaction is aborted as it would be;
* "inside a transaction" (for TRUNCATE) is the status of the backend's last ReadyForQuery.

`received` keeps the SQL text clients sent, in order.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field

from psycopg import sql as pgsql

from tests.strategies.loaders.redshift.redshift_sql import RedshiftError, RedshiftSession, committed_columns

SSL_REQUEST, GSS_REQUEST, CANCEL_REQUEST = 80877103, 80877104, 80877102


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data


def _message(sock: socket.socket) -> tuple[bytes, bytes]:
    kind = _read(sock, 1)
    (length,) = struct.unpack("!i", _read(sock, 4))
    return kind, _read(sock, length - 4)


def _frame(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("!i", len(payload) + 4) + payload


def raising(error: RedshiftError) -> str:
    """A PostgreSQL statement that fails with `error`'s text and SQLSTATE."""
    message = pgsql.Literal(str(error)).as_string(None)
    return (
        f"DO $redshift$ BEGIN RAISE EXCEPTION USING MESSAGE = {message}, ERRCODE = '{error.sqlstate}'; END $redshift$"
    )


@dataclass
class RedshiftWireProxy:
    """Listens on 127.0.0.1 (a free port) as a Redshift endpoint backed by PostgreSQL (see the module docstring)."""

    backend_host: str
    backend_port: int
    backend_database: str
    backend_conninfo: str
    region: str = "us-east-1"
    database: str = "dev"
    received: list[str] = field(default_factory=list)
    port: int = 0
    _server: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _sockets: list[socket.socket] = field(default_factory=list)

    def start(self) -> RedshiftWireProxy:
        """Start accepting connections; `port` is set."""
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._spawn(self._accept)
        return self

    def stop(self) -> None:
        """Close the listener and every proxied connection."""
        for sock in [self._server, *self._sockets]:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept() / recv()
                with contextlib.suppress(OSError):
                    sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self._sockets.append(client)
            self._spawn(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        backend = socket.create_connection((self.backend_host, self.backend_port))
        self._sockets.append(backend)
        try:
            while True:
                length, code = struct.unpack("!ii", _read(client, 8))
                body = _read(client, length - 8)
                if code in (SSL_REQUEST, GSS_REQUEST):
                    client.sendall(b"N")
                    continue
                if code == CANCEL_REQUEST:
                    backend.sendall(struct.pack("!ii", length, code) + body)
                    return
                backend.sendall(self._startup(code, body))
                break
            state = {"status": b"I"}
            self._spawn(self._backend_to_client, backend, client, state)
            self._client_to_backend(client, backend, state)
        except (ConnectionError, OSError):
            pass
        finally:
            for sock in (client, backend):
                with contextlib.suppress(OSError):
                    sock.close()

    def _startup(self, code: int, body: bytes) -> bytes:
        """The startup message with the Redshift database mapped to the backing one (others refused)."""
        parts = body.rstrip(b"\0").split(b"\0")
        params = dict(zip(parts[::2], parts[1::2], strict=True))
        if params.get(b"database", b"").decode() == self.database:
            params[b"database"] = self.backend_database.encode()
        payload = struct.pack("!i", code) + b"".join(k + b"\0" + v + b"\0" for k, v in params.items()) + b"\0"
        return struct.pack("!i", len(payload) + 4) + payload

    def _backend_to_client(self, backend: socket.socket, client: socket.socket, state: dict[str, bytes]) -> None:
        try:
            while True:
                kind, payload = _message(backend)
                if kind == b"Z":
                    state["status"] = payload[:1]
                client.sendall(_frame(kind, payload))
        except (ConnectionError, OSError):
            client.close()

    def _client_to_backend(self, client: socket.socket, backend: socket.socket, state: dict[str, bytes]) -> None:
        session = RedshiftSession(
            region=self.region, describe=lambda table: committed_columns(self.backend_conninfo, table)
        )
        while True:
            kind, payload = _message(client)
            if kind == b"Q":
                payload = self._translate(session, payload[:-1], state).encode() + b"\0"
            elif kind == b"P":
                name, query, rest = payload.split(b"\0", 2)
                payload = name + b"\0" + self._translate(session, query, state).encode() + b"\0" + rest
            backend.sendall(_frame(kind, payload))
            if kind == b"X":
                return

    def _translate(self, session: RedshiftSession, query: bytes, state: dict[str, bytes]) -> str:
        text = query.decode()
        self.received.append(text)
        try:
            return session.translate(text, in_transaction=state["status"] in (b"T", b"E"))
        except RedshiftError as error:
            return raising(error)
