"""One retry policy for every network call: transient errors are retried with backoff, permanent ones are not.

dlt's split, on tenacity: a call that failed because the other side was busy or the connection
dropped (HTTP 429/503, AWS throttling, a connection reset, a PostgreSQL `OperationalError`) is
tried again with exponential backoff and jitter, within a bounded number of attempts and seconds;
anything else (400, 403, 404, a validation error) fails at once with the platform's own message.

    policy = RetryPolicy(attempts=5, initial_seconds=0.5, max_seconds=10)
    run = policy.call(lambda: client.start_job_run(...))

`is_transient` recognises errors by their attributes (status codes, AWS error codes, class names),
so this module imports none of the libraries whose errors it classifies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

#: HTTP statuses that mean "try again later".
TRANSIENT_STATUSES = frozenset({429, 503})
#: AWS error codes that mean the same (botocore's throttling list plus the usual service-side ones).
TRANSIENT_AWS_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServiceException",
        "ConcurrentRunsExceededException",
    }
)
#: Exception class names (any module) that are transient by nature.
TRANSIENT_CLASS_NAMES = frozenset(
    {
        "OperationalError",  # psycopg: the server went away or refused the connection
        "TooManyRequests",  # databricks-sdk
        "TemporarilyUnavailable",  # databricks-sdk
        "EndpointConnectionError",  # botocore
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "ProtocolError",  # urllib3: connection reset mid-response
        "ChunkedEncodingError",  # requests
    }
)


def http_status(error: BaseException) -> int | None:
    """The HTTP status an error carries, whichever library raised it."""
    for holder in (error, getattr(error, "response", None)):
        for name in ("status_code", "status", "code"):
            value = getattr(holder, name, None)
            if isinstance(value, int) and 100 <= value < 600:
                return value
    response = getattr(error, "response", None)
    if isinstance(response, dict):  # botocore ClientError
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(status, int):
            return status
    return None


def aws_error_code(error: BaseException) -> str | None:
    """The AWS error code of a botocore `ClientError`, else None."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def is_transient(error: BaseException) -> bool:
    """True when trying the same call again later can succeed."""
    if isinstance(error, (ConnectionError, TimeoutError)):
        return True
    if type(error).__name__ in TRANSIENT_CLASS_NAMES:
        return True
    code = aws_error_code(error)
    if code is not None:
        return code in TRANSIENT_AWS_CODES or http_status(error) in TRANSIENT_STATUSES
    status = http_status(error)
    if status is not None:
        return status in TRANSIENT_STATUSES
    cause = error.__cause__ or error.__context__
    return cause is not None and cause is not error and isinstance(cause, (ConnectionError, TimeoutError))


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently transient failures are retried (exponential backoff with jitter)."""

    attempts: int = 5
    initial_seconds: float = 0.5
    max_seconds: float = 10.0
    #: The whole budget: no new attempt starts after this many seconds since the first.
    budget_seconds: float | None = None
    transient: Callable[[BaseException], bool] = field(default=is_transient, compare=False)

    def call(self, action: Callable[[], T], *, what: str = "call") -> T:
        """Run `action`; retry it while it raises transient errors; re-raise the last error unchanged."""
        from tenacity import (
            Retrying,
            retry_if_exception,
            stop_after_attempt,
            stop_after_delay,
            wait_exponential_jitter,
        )

        stop: Any = stop_after_attempt(max(1, self.attempts))
        if self.budget_seconds is not None:
            stop = stop | stop_after_delay(self.budget_seconds)

        def before_sleep(state: Any) -> None:
            error = state.outcome.exception() if state.outcome else None
            log.warning("%s failed (attempt %d), retrying: %s", what, state.attempt_number, type(error).__name__)

        retrying = Retrying(
            retry=retry_if_exception(self.transient),
            stop=stop,
            wait=wait_exponential_jitter(initial=self.initial_seconds, max=self.max_seconds),
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(action)
