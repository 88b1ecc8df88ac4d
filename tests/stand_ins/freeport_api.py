"""A local stand-in of the Freeport HTTP API (DESIGN.md "HTTP Freeport API") on a real socket on 127.0.0.1.

It serves the client tests and the Freeport jobs' end-to-end tests, whose release jobs run as separate
processes: anything that can reach ``base_url`` can use it. Thread-safe; it records every request.

    api = FreeportApi(release_seconds=2).start()     # or the `freeport_api` fixture
    api.base_url                                     # http://127.0.0.1:<port>/api
    api.token                                        # the bearer token it accepts (401 otherwise)
    api.fail_next(2, status=429, retry_after=1)      # the next 2 requests answer 429 (then 503, ...)
    api.delay_next(1, seconds=3)                     # the next request is answered 3 s late
    api.fail_release("demo_geo", "quota exceeded")   # that deliverable's releases end failed
    api.requests                                     # every RecordedRequest, in arrival order

Behaviour: the same deliverable name gives the same id (``d-1``, ...); the same idempotency key on a
deliverable gives the same materialization (``m-1``, ...); a release answers ``releasing`` and GET reports
``released`` (or ``failed`` with ``error``) once ``release_seconds`` have passed since the first release
call; releasing again changes nothing. Errors answer ``{"error": "<message>"}`` with their status: 401
for a missing or wrong bearer token, 400 for a bad body, 404 for an unknown id or route.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

DEFAULT_TOKEN = "fp-stand-in-token-7f3a9c"
DELIVERABLE_FIELDS = ("name", "demo_name", "module_name", "sandbox_table", "prod_table")
MATERIALIZATION_FIELDS = ("source_table", "idempotency_key")
#: The parsed body of a request whose body is not JSON.
NOT_JSON: Any = object()


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received: path below the base path, lower-case header names, the JSON body (or None)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw_body: bytes


@dataclass(frozen=True)
class Fault:
    """A scripted answer for one request: an error status and message, or only a delay (status None)."""

    status: int | None = None
    error: str = ""
    retry_after: float | None = None
    delay_seconds: float = 0.0


@dataclass
class StoredMaterialization:
    """A materialization as the stand-in holds it."""

    id: str
    deliverable_id: str
    source_table: str
    idempotency_key: str
    status: str = "created"
    error: str | None = None
    release_started: float | None = None

    def answer(self) -> dict[str, Any]:
        """The JSON the API answers for it."""
        body: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.error is not None:
            body["error"] = self.error
        return body


class ApiError(Exception):
    """An error answer: status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class FreeportState:
    """Everything the stand-in knows, behind one lock."""

    token: str
    release_seconds: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    deliverables: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> body
    ids_by_name: dict[str, str] = field(default_factory=dict)
    materializations: dict[str, StoredMaterialization] = field(default_factory=dict)
    ids_by_key: dict[tuple[str, str], str] = field(default_factory=dict)
    forced_failures: dict[str, str] = field(default_factory=dict)  # deliverable name -> error
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def refresh(self, stored: StoredMaterialization) -> None:
        """A releasing materialization whose release time has passed ends released or failed."""
        if stored.status != "releasing" or stored.release_started is None:
            return
        if time.monotonic() - stored.release_started < self.release_seconds:
            return
        name = self.deliverables[stored.deliverable_id]["name"]
        forced = self.forced_failures.get(name)
        stored.status, stored.error = ("failed", forced) if forced is not None else ("released", None)

    def route(self, method: str, path: str, body: Any) -> dict[str, Any]:
        """The answer to an authorized request (caller holds the lock)."""
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["deliverables"]:
            return self.create_deliverable(body)
        if method == "POST" and len(parts) == 3 and parts[0] == "deliverables" and parts[2] == "materializations":
            return self.create_materialization(parts[1], body)
        if len(parts) >= 2 and parts[0] == "materializations":
            stored = self.materializations.get(parts[1])
            if stored is None:
                raise ApiError(404, f"no materialization {parts[1]}")
            if method == "POST" and len(parts) == 3 and parts[2] == "release":
                if stored.status == "created":  # the release starts: "releasing", even with release_seconds 0
                    stored.status, stored.release_started = "releasing", time.monotonic()
                else:
                    self.refresh(stored)
                return stored.answer()
            if method == "GET" and len(parts) == 2:
                self.refresh(stored)
                return stored.answer()
        raise ApiError(404, f"no route {method} {path}")

    def create_deliverable(self, body: Any) -> dict[str, Any]:
        """Same name, same id."""
        fields = _required(body, DELIVERABLE_FIELDS)
        known = self.ids_by_name.get(fields["name"])
        if known is None:
            known = f"d-{next(self.counter)}"
            self.ids_by_name[fields["name"]] = known
            self.deliverables[known] = fields
        return {"id": known}

    def create_materialization(self, deliverable_id: str, body: Any) -> dict[str, Any]:
        """Same idempotency key on the deliverable, same materialization."""
        if deliverable_id not in self.deliverables:
            raise ApiError(404, f"no deliverable {deliverable_id}")
        fields = _required(body, MATERIALIZATION_FIELDS)
        key = (deliverable_id, fields["idempotency_key"])
        known = self.ids_by_key.get(key)
        if known is None:
            known = f"m-{next(self.counter)}"
            self.ids_by_key[key] = known
            self.materializations[known] = StoredMaterialization(
                id=known,
                deliverable_id=deliverable_id,
                source_table=fields["source_table"],
                idempotency_key=fields["idempotency_key"],
            )
        stored = self.materializations[known]
        self.refresh(stored)
        return stored.answer()


def _required(body: Any, names: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    for name in names:
        if not isinstance(body.get(name), str) or not body[name]:
            raise ApiError(400, f"missing or empty field {name!r}")
    return {name: body[name] for name in names}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
        return

    def _handle(self, method: str) -> None:
        api = self.server.api
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = NOT_JSON
        path = self.path.split("?", 1)[0]
        recorded = RecordedRequest(
            method=method,
            path=path[len(api.base_path) :] if path.startswith(api.base_path) else path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=None if body is NOT_JSON else body,
            raw_body=raw,
        )
        with api.state.lock:
            api.state.requests.append(recorded)
            fault = api.state.faults.pop(0) if api.state.faults else None
        if fault is not None and fault.delay_seconds:
            api.stopping.wait(fault.delay_seconds)
        if fault is not None and fault.status is not None:
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            self._answer(fault.status, {"error": fault.error}, headers)
            return
        try:
            status, answer = 200, api.answer(recorded, body)
        except ApiError as exc:
            status, answer = exc.status, {"error": str(exc)}
        self._answer(status, answer, {})

    def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: FreeportApi


class FreeportApi:
    """The stand-in server: start it, point a client at `base_url`, script faults, read `requests`."""

    def __init__(self, *, token: str = DEFAULT_TOKEN, release_seconds: float = 0.0, base_path: str = "/api") -> None:
        self.base_path = base_path.rstrip("/")
        self.state = FreeportState(token=token, release_seconds=release_seconds)
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def token(self) -> str:
        """The bearer token the stand-in accepts."""
        return self.state.token

    @property
    def release_seconds(self) -> float:
        """L: how long a release takes before GET reports it released (or failed)."""
        return self.state.release_seconds

    @release_seconds.setter
    def release_seconds(self, seconds: float) -> None:
        with self.state.lock:
            self.state.release_seconds = seconds

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1."""
        assert self._server is not None, "start() the stand-in first"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port><base_path>``: what a client's ``base_url`` is set to."""
        return f"http://127.0.0.1:{self.port}{self.base_path}"

    def start(self) -> FreeportApi:
        """Listen on a free port and serve in a background thread."""
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="freeport-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (delayed answers are abandoned)."""
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FreeportApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, request: RecordedRequest, body: Any) -> dict[str, Any]:
        """The answer to a request that got no scripted fault: bearer check, then the API."""
        if request.headers.get("authorization") != f"Bearer {self.state.token}":
            raise ApiError(401, "missing or invalid bearer token")
        if body is NOT_JSON:
            raise ApiError(400, "the body is not JSON")
        with self.state.lock:
            return self.state.route(request.method, request.path, body)

    # -- knobs -------------------------------------------------------------------------------------------

    def fail_next(
        self, count: int = 1, *, status: int = 503, error: str = "service unavailable", retry_after: float | None = None
    ) -> None:
        """The next `count` requests answer `status` with ``{"error": error}`` (and ``Retry-After`` when given)."""
        with self.state.lock:
            self.state.faults += [Fault(status=status, error=error, retry_after=retry_after)] * count

    def delay_next(self, count: int = 1, *, seconds: float) -> None:
        """The next `count` requests are answered normally, but only after `seconds`."""
        with self.state.lock:
            self.state.faults += [Fault(delay_seconds=seconds)] * count

    def fail_release(self, deliverable_name: str, error: str) -> None:
        """Releases of that deliverable (``<demo>_<module>``) end ``failed`` with `error`, now and later."""
        with self.state.lock:
            self.state.forced_failures[deliverable_name] = error

    # -- what happened -----------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self.state.lock:
            return list(self.state.requests)

    def requests_to(self, method: str, path_suffix: str = "") -> list[RecordedRequest]:
        """The requests with that method whose path ends with `path_suffix` (e.g. ``"/release"``)."""
        return [r for r in self.requests if r.method == method and r.path.endswith(path_suffix)]

    def deliverable_id(self, name: str) -> str | None:
        """The id given to the deliverable `name`, None when none was created."""
        with self.state.lock:
            return self.state.ids_by_name.get(name)

    def materializations(self, deliverable_name: str | None = None) -> list[dict[str, Any]]:
        """Each materialization (of one deliverable, or all) as a dict of its fields plus its ``deliverable`` name."""
        with self.state.lock:
            for stored in self.state.materializations.values():
                self.state.refresh(stored)
            rows = [
                {**asdict(stored), "deliverable": self.state.deliverables[stored.deliverable_id]["name"]}
                for stored in self.state.materializations.values()
            ]
        return [row for row in rows if deliverable_name in (None, row["deliverable"])]


@pytest.fixture
def freeport_api() -> Iterator[FreeportApi]:
    """A started `FreeportApi` (token `DEFAULT_TOKEN`, release_seconds 0), stopped after the test."""
    api = FreeportApi().start()
    yield api
    api.stop()
