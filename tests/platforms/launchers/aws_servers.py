"""What the AWS launcher tests share: a fault-injecting HTTP proxy in front of moto, moto's state manager, backends.

`FaultProxy` answers the first requests with the faults it is given (AWS throttling, a bare 503, a
connection reset, a permanent AWS error in the service's own JSON shape) and forwards every other
request to moto unchanged, so real boto3 sees exactly what a busy or refusing AWS endpoint sends.
moto's server runs in this process (tests/conftest.py), so a test can also edit its backends to
put a run in a state moto's API cannot reach (PLATFORMS.md).
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

REGION = "us-east-1"
THROTTLE = ("ThrottlingException", "Rate exceeded", 400)
RESET = "reset"
UNAVAILABLE = "503"


@dataclass
class FaultProxy:
    """An HTTP server on 127.0.0.1 that plays `faults` in order, then forwards to `upstream` (moto)."""

    upstream: str
    faults: list[Any] = field(default_factory=list)
    #: (method, path) of every request received, faults included.
    requests: list[tuple[str, str]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The endpoint_url to give boto3."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        """Serve in a daemon thread."""
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                proxy._handle(self)

            do_POST = do_PUT = do_DELETE = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        self.requests.append((request.command, request.path))
        fault = self.faults.pop(0) if self.faults else None
        if fault == RESET:
            request.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            request.connection.close()  # linger 0: the client gets a TCP reset instead of a response
            request.close_connection = True
        elif fault == UNAVAILABLE:
            _reply(request, 503, {"Content-Type": "text/plain"}, b"Service Unavailable")
        elif fault is not None:
            code, message, status = fault
            payload = json.dumps({"__type": code, "message": message, "Message": message}).encode()
            _reply(request, status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}, payload)
        else:
            self._forward(request, body)

    def _forward(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        target = urlsplit(self.upstream)
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=30)
        headers = {name: value for name, value in request.headers.items() if name.lower() != "connection"}
        connection.request(request.command, request.path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        skip = {"transfer-encoding", "connection", "content-length"}
        _reply(request, response.status, {k: v for k, v in response.getheaders() if k.lower() not in skip}, payload)
        connection.close()


def _reply(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    request.send_response(status)
    for name, value in headers.items():
        request.send_header(name, value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


@contextmanager
def fault_proxy(upstream: str, *faults: Any) -> Iterator[FaultProxy]:
    """A started `FaultProxy` playing `faults`, stopped afterwards."""
    proxy = FaultProxy(upstream=upstream, faults=list(faults)).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@contextmanager
def manual_progression(endpoint: str, model_name: str, times: int) -> Iterator[None]:
    """moto's state manager: runs of `model_name` move one state per `times` reads, until the block ends."""
    _moto_api(
        endpoint, "set-transition", {"model_name": model_name, "transition": {"progression": "manual", "times": times}}
    )
    try:
        yield
    finally:
        _moto_api(endpoint, "unset-transition", {"model_name": model_name})


def _moto_api(endpoint: str, action: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/state-manager/{action}", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status < 300


def backend(service: str) -> Any:
    """moto's in-process backend of `service` (``glue``, ``emr``, ``emr-serverless``) for the default account."""
    from moto.core import DEFAULT_ACCOUNT_ID

    if service == "glue":
        from moto.glue.models import glue_backends as backends
    elif service == "emr":
        from moto.emr.models import emr_backends as backends
    else:
        from moto.emrserverless.models import emrserverless_backends as backends
    return backends[DEFAULT_ACCOUNT_ID][REGION]


def service_states(service: str, shape: str) -> list[str]:
    """The enum `shape` of `service` as botocore's own service model (its data files) lists it."""
    import botocore.session

    return list(botocore.session.get_session().get_service_model(service).shape_for(shape).enum)


def boto3_client(service: str, endpoint: str) -> Any:
    """A plain boto3 client on moto for setting up fixtures (jobs, clusters, applications)."""
    import boto3

    return boto3.client(service, region_name=REGION, endpoint_url=endpoint)


def fast_retry_policy(attempts: int = 4) -> Any:
    """The AWS launchers' retry policy with millisecond backoff (the real one waits up to seconds)."""
    from dwh.retry import RetryPolicy

    return RetryPolicy(attempts=attempts, initial_seconds=0.01, max_seconds=0.05)
