"""What the AWS launchers (GLUE, EMR, EMR_SERVERLESS) share: one boto3 client per service, every call
through `dwh.retry.RetryPolicy`, and AWS errors as one-line `LaunchError`s.

botocore's own retries are off (one attempt per call), so `AwsLauncher.retry_policy` alone decides:
throttling, 503 and connection resets are tried again with exponential backoff and jitter inside a
bounded budget; anything else (ValidationException, EntityNotFoundException / ResourceNotFoundException,
AccessDeniedException, ...) fails at once with AWS's own message, secrets scrubbed.

A call that is not safe to repeat (starting a run on an API without an idempotency token: Glue's
``start_job_run``, EMR's ``add_job_flow_steps``) is retried only when AWS surely did not act on it
(throttled, 503, no connection made). A connection that broke after the request went out
(``ConnectionClosedError``, ``ReadTimeoutError``) may have started a run, so repeating it could start
a second one: it fails with a message saying so instead.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, ClassVar

from pydantic import Field

from dwh.platforms.launchers.base import Launcher, LaunchError
from dwh.retry import RetryPolicy, is_transient
from dwh.secrets import SCRUBBER

#: The default policy of every AWS launcher call: at most 5 attempts within 60 s.
AWS_RETRY = RetryPolicy(attempts=5, initial_seconds=0.5, max_seconds=8.0, budget_seconds=60.0)
#: us-east-1, eu-west-3, us-gov-west-1, ap-southeast-2, ...
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"
#: Where the AWS console lives (run URLs point into it).
CONSOLE = "https://console.aws.amazon.com"
#: Failures between sending a request and getting its answer: AWS may have carried the call out.
AMBIGUOUS_ERRORS = frozenset({"ConnectionClosedError", "ReadTimeoutError"})
_CLIENTS: dict[tuple[str, str, str | None, float], Any] = {}
_CLIENTS_LOCK = threading.Lock()


class AwsLauncher(Launcher):
    """Base of the AWS launchers: region, optional endpoint, timeouts, and the retried, error-mapped `call`."""

    region: str = Field(..., pattern=REGION_PATTERN, description="AWS region of the job, cluster or application.")
    endpoint_url: str | None = Field(
        None, description="Custom endpoint (VPC endpoint, local server); default boto3's own (AWS_ENDPOINT_URL)."
    )
    timeout_seconds: float = Field(30.0, gt=0, le=300, description="Connect and read timeout of each API call.")

    #: How transient failures are retried (tests swap in a faster one).
    retry_policy: ClassVar[RetryPolicy] = AWS_RETRY

    def required_packages(self) -> dict[str, str]:
        """boto3, from the ``aws`` extra."""
        return {"boto3": "aws"}

    @property
    def name(self) -> str:
        """The launcher's tag (``GLUE``, ``EMR``, ``EMR_SERVERLESS``), for messages."""
        return str(getattr(self, "launcher", type(self).__name__))

    def client(self, service: str) -> Any:
        """A boto3 client for `service` with this region, endpoint and timeout (created once per process;
        boto3 clients are thread-safe, and the launcher config stays a plain, copyable model)."""
        identity = (service, self.region, self.endpoint_url, self.timeout_seconds)
        with _CLIENTS_LOCK:
            if identity not in _CLIENTS:
                _CLIENTS[identity] = self._new_client(service)
            return _CLIENTS[identity]

    def _new_client(self, service: str) -> Any:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise LaunchError(f"{self.name} needs boto3: pip install 'dwh-business-logic[aws]'") from None
        config = Config(
            connect_timeout=self.timeout_seconds,
            read_timeout=self.timeout_seconds,
            retries={"total_max_attempts": 1, "mode": "standard"},  # the retry policy decides, not botocore
        )
        # A session of our own: boto3's default session is not safe to create clients from in several threads.
        session = boto3.session.Session()
        return session.client(service, region_name=self.region, endpoint_url=self.endpoint_url, config=config)

    def call(self, service: str, operation: str, *, repeatable: bool = True, **arguments: Any) -> dict[str, Any]:
        """``client(service).<operation>(**arguments)``, transient errors retried; any failure is a `LaunchError`.

        ``repeatable=False`` for a call that must not be carried out twice: then only failures where
        AWS surely did not act are retried.
        """
        method = getattr(self.client(service), operation)
        policy = self.retry_policy if repeatable else dataclasses.replace(self.retry_policy, transient=surely_refused)
        try:
            response: dict[str, Any] = policy.call(lambda: method(**arguments), what=f"{self.name} {operation}")
        except Exception as exc:
            if not _is_botocore_error(exc):
                raise
            message = aws_error_message(exc, launcher=self.name, operation=operation)
            if not repeatable and type(exc).__name__ in AMBIGUOUS_ERRORS:
                message += " (the request was sent: it may have started a run; check before launching again)"
            raise LaunchError(message) from None
        return response


def surely_refused(error: BaseException) -> bool:
    """Transient, and AWS did not act on the request (it answered with a refusal, or no connection was made)."""
    return is_transient(error) and type(error).__name__ not in AMBIGUOUS_ERRORS


def _is_botocore_error(error: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(error, (BotoCoreError, ClientError))


def aws_error_message(error: BaseException, *, launcher: str, operation: str) -> str:
    """``GLUE start_job_run: EntityNotFoundException: Job nightly not found.`` (one line, secrets masked)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        code = response["Error"].get("Code") or "Error"
        text = response["Error"].get("Message") or str(error)
        detail = f"{code}: {text}"
    else:
        detail = f"{type(error).__name__}: {error}"
    return SCRUBBER.scrub(f"{launcher} {operation}: {' '.join(detail.split())}")[:1000]
