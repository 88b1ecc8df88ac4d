"""The HTTP side of the Jobs API stand-in: one handler thread per connection, on a real socket.

Each request is read, delayed by the stand-in's latency, answered with a scripted fault or the
service's answer (`tests.stand_ins.jobs_api.JobsApi.answer`), and recorded.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from tests.stand_ins.jobs_api_model import ApiError, Fault, RecordedRequest

if TYPE_CHECKING:
    from tests.stand_ins.jobs_api import JobsApi


class JobsApiServer(ThreadingHTTPServer):
    """A thread per connection; a listen backlog deep enough for a benchmark's burst of clients."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, api: JobsApi) -> None:
        super().__init__(("127.0.0.1", 0), JobsApiHandler)
        self.api = api


def serve(api: JobsApi) -> JobsApiServer:
    """A server on a free port of 127.0.0.1 answering for `api` (not yet serving: call serve_forever)."""
    return JobsApiServer(api)


class JobsApiHandler(BaseHTTPRequestHandler):
    """One request: record it, wait the latency, answer a scripted fault or the service's answer."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two sends: without this, Nagle + delayed ACK hold each answer ~40 ms on loopback.
    disable_nagle_algorithm = True
    timeout = 10  # an idle keep-alive connection is closed, so no handler thread lingers

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the request log, not stderr."""

    def _handle(self, method: str) -> None:
        api = self.server.api  # type: ignore[attr-defined]  # BaseHTTPRequestHandler types server loosely
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {name.lower(): value for name, value in self.headers.items()}
        query = dict(parse_qsl(url.query))
        if api.latency_seconds:
            time.sleep(api.latency_seconds)
        fault = api.take_fault(url.path)
        answer = _answer(api, fault, method, url.path, query, body, headers)
        # Recorded before the client can see the answer, so a test never reads a log one request short.
        status = 0 if answer is None else (answer.status if isinstance(answer, ApiError) else 200)
        api.record(RecordedRequest(method, url.path, query, body, headers, status))
        if answer is None:
            self.close_connection = True  # no answer at all: the client sees the connection drop
        else:
            self._send(answer, retry_after=fault.retry_after if fault is not None else None)

    def _send(self, answer: dict[str, Any] | ApiError, *, retry_after: int | str | None = None) -> None:
        status, payload = (answer.status, answer.body()) if isinstance(answer, ApiError) else (200, answer)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.end_headers()
        self.wfile.write(data)


def _answer(
    api: JobsApi,
    fault: Fault | None,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    headers: dict[str, str],
) -> dict[str, Any] | ApiError | None:
    """What to answer: a JSON object, an error, or None to drop the connection."""
    if fault is not None and fault.status is not None:
        return fault.error()
    if fault is not None and not fault.after_processing:
        return None
    if path == "/.well-known/databricks-config":
        return ApiError(404, "NOT_FOUND", "No host metadata on this stand-in")
    try:
        _authorize(headers.get("authorization"), api.token)
        answer: dict[str, Any] | ApiError = api.answer(method, path, query, body)
    except ApiError as error:
        answer = error
    # A lost response: the answer above took effect, the client never sees it.
    return None if fault is not None else answer


def _authorize(header: str | None, token: str) -> None:
    if not header or not header.startswith("Bearer "):
        raise ApiError(401, "UNAUTHENTICATED", "Credential was not sent or was of an unsupported type for this API.")
    if header.removeprefix("Bearer ") != token:
        raise ApiError(403, "PERMISSION_DENIED", "Invalid access token.")
