"""HTTP: the Freeport service's REST API (DESIGN.md "HTTP Freeport API"), spoken with the standard library.

    {"client": "HTTP", "base_url": "https://freeport.example.com/api", "token": "env:FREEPORT_TOKEN"}

    POST {base}/deliverables                          {"name", "demo_name", "module_name", "sandbox_table",
                                                       "prod_table"}           -> {"id"}
    POST {base}/deliverables/{id}/materializations    {"source_table", "idempotency_key"} -> {"id", "status"}
    POST {base}/materializations/{id}/release                                  -> {"id", "status"}
    GET  {base}/materializations/{id}                                          -> {"id", "status", "error"?}

Every call sends ``Authorization: Bearer <token>`` and is bounded by ``timeout_seconds``. HTTP 429 and
503, a refused or reset connection and a timed-out call are tried again with `dwh.retry.RetryPolicy`
(``retries`` attempts, exponential backoff, at least the server's ``Retry-After``); any other error
status is a `FreeportError` carrying the server's ``{"error": ...}`` message, with the token masked.
Every call is idempotent on the server's side (same name, same key, releasing twice), so retrying is safe.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlsplit

from pydantic import Field, PositiveInt, PrivateAttr, field_validator

from dwh.config import Secret
from dwh.retry import TRANSIENT_STATUSES, RetryPolicy
from dwh.secrets import SCRUBBER, resolve_reference
from dwh.strategies.freeport.base import FreeportClient, FreeportError, Materialization, checked_status

#: The longest ``Retry-After`` honoured; a server asking for more gets the policy's own backoff instead.
MAX_RETRY_AFTER_SECONDS = 30.0
#: How much of a non-JSON error body goes into the message.
BODY_EXCERPT = 200


class FreeportUnavailable(ConnectionError):
    """A transient failure (429, 503, no connection, a timeout): `dwh.retry.is_transient` retries it."""


class HttpFreeportClient(FreeportClient):
    """Talks to the Freeport service over HTTPS with a bearer token."""

    kind: ClassVar[str] = "HTTP"
    client: Literal["HTTP"] = "HTTP"
    base_url: str = Field(description="The API's base URL, e.g. https://freeport.example.com/api.")
    token: Secret = Field(description="The bearer token (a secret: literal or reference).")
    timeout_seconds: float = Field(30.0, gt=0, le=600, description="Timeout in seconds for every HTTP call.")
    retries: PositiveInt = Field(5, description="Attempts for a call that fails transiently (429, 503, connection).")
    _token: str | None = PrivateAttr(None)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    def describe(self) -> str:
        """``HTTP <host>`` (no token, no path)."""
        return f"HTTP {urlsplit(self.base_url).hostname}"

    def create_deliverable(
        self, *, name: str, demo_name: str, module_name: str, sandbox_table: str, prod_table: str
    ) -> str:
        """``POST /deliverables``; the same name gives the same id."""
        body = {
            "name": name,
            "demo_name": demo_name,
            "module_name": module_name,
            "sandbox_table": sandbox_table,
            "prod_table": prod_table,
        }
        return _text(self._call("POST", "/deliverables", body), "id", "POST /deliverables")

    def create_materialization(
        self, deliverable_id: str, *, source_table: str, idempotency_key: str
    ) -> Materialization:
        """``POST /deliverables/{id}/materializations``; the same key gives the same materialization."""
        path = f"/deliverables/{quote(deliverable_id, safe='')}/materializations"
        answer = self._call("POST", path, {"source_table": source_table, "idempotency_key": idempotency_key})
        return _materialization(answer, f"POST {path}")

    def release(self, materialization_id: str) -> Materialization:
        """``POST /materializations/{id}/release``: the release starts; the answer is ``releasing`` (or later)."""
        path = f"/materializations/{quote(materialization_id, safe='')}/release"
        return _materialization(self._call("POST", path, None), f"POST {path}")

    def get(self, materialization_id: str) -> Materialization:
        """``GET /materializations/{id}``: the status, and ``error`` when it failed."""
        path = f"/materializations/{quote(materialization_id, safe='')}"
        return _materialization(self._call("GET", path, None), f"GET {path}")

    def _bearer(self) -> str:
        # An unresolved reference works too (a caller that skipped resolve_secrets): looked up once, then kept.
        if self._token is None:
            self._token = resolve_reference(self.token.get_secret_value(), field="client.token")
        SCRUBBER.register(self._token)  # again: tests and long-lived processes clear the scrubber between runs
        return self._token

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """One API call, retried while it fails transiently; the answer's JSON object."""
        token = self._bearer()
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "User-Agent": "dwh-freeport"}
        data = None
        if method != "GET":
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode() if body is not None else b""
        what = f"{method} {path}"

        made = [0]

        def attempt() -> dict[str, Any]:
            made[0] += 1
            request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
            return self._attempt(request, what, last=made[0] >= self.retries)

        try:
            return RetryPolicy(attempts=self.retries).call(attempt, what=f"Freeport {what}")
        except FreeportUnavailable as exc:
            raise FreeportError(f"Freeport did not answer {what} after {self.retries} attempt(s): {exc}") from None

    def _attempt(self, request: urllib.request.Request, what: str, *, last: bool) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            message = server_message(exc)
            if exc.code in TRANSIENT_STATUSES:
                if not last:  # no point waiting before giving up
                    _honour_retry_after(exc.headers.get("Retry-After"))
                raise FreeportUnavailable(f"HTTP {exc.code}: {message}") from None
            raise FreeportError(f"Freeport answered HTTP {exc.code} to {what}: {message}") from None
        except urllib.error.URLError as exc:
            raise FreeportUnavailable(f"no connection ({_reason(exc.reason)})") from None
        except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            raise FreeportUnavailable(f"no answer within {self.timeout_seconds:g} s ({_reason(exc)})") from None
        try:
            answer = json.loads(payload or b"{}")
        except ValueError:
            raise FreeportError(f"Freeport answered {what} with non-JSON: {_excerpt(payload)}") from None
        if not isinstance(answer, dict):
            raise FreeportError(f"Freeport answered {what} with {type(answer).__name__}, not a JSON object")
        return answer


def server_message(error: urllib.error.HTTPError) -> str:
    """The server's ``{"error": ...}`` message, else an excerpt of its body, else the reason phrase."""
    try:
        payload = error.read()
    except Exception:
        payload = b""
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and answer.get("error"):
        return " ".join(str(answer["error"]).split())
    return _excerpt(payload) or str(error.reason)


def _honour_retry_after(value: str | None) -> None:
    """Sleep the seconds the server asked for (bounded); the retry policy's backoff comes on top."""
    try:
        seconds = float(value) if value else 0.0
    except ValueError:  # an HTTP-date: leave the waiting to the policy
        return
    if 0 < seconds <= MAX_RETRY_AFTER_SECONDS:
        time.sleep(seconds)


def _reason(reason: object) -> str:
    text = str(reason)
    return f"{type(reason).__name__}: {text}" if text else type(reason).__name__


def _excerpt(payload: bytes) -> str:
    return " ".join(payload[:BODY_EXCERPT].decode("utf-8", "replace").split())


def _text(answer: dict[str, Any], key: str, what: str) -> str:
    value = answer.get(key)
    if not isinstance(value, (str, int)) or value == "":
        raise FreeportError(f"Freeport answered {what} without {key!r}")
    return str(value)


def _materialization(answer: dict[str, Any], what: str) -> Materialization:
    error = answer.get("error")
    return Materialization(
        id=_text(answer, "id", what),
        status=checked_status(answer.get("status"), what=f"Freeport {what}"),
        error=SCRUBBER.scrub(" ".join(str(error).split())) if error else None,
    )
