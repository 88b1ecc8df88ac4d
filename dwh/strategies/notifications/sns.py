"""SNS: publish the notice to an Amazon SNS topic with boto3.

    {"notification_service": "SNS", "topic_arn": "arn:aws:sns:eu-west-1:123456789012:dwh-alerts"}

Credentials come from boto3's usual chain (instance profile, Glue/EMR role, environment). The
message carries ``kind`` and ``job_name`` attributes so subscriptions can filter (e.g. only
failures to the pager). Connect and read are bounded by ``timeout_seconds``; at most two attempts.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar, Literal

from pydantic import Field

from dwh.strategies.notifications.base import Notice, Notifier, one_line

#: SNS subjects must be under 100 characters, without line breaks or control characters.
SNS_SUBJECT_LIMIT = 99
#: SNS messages are at most 256 KiB of UTF-8.
SNS_MESSAGE_LIMIT_BYTES = 256 * 1024 - 1024
TRUNCATED = "\n... (truncated)"


class SnsNotifier(Notifier):
    """Publishes the notice to ``topic_arn``; region defaults to the ARN's, endpoint to boto3's own lookup."""

    service: ClassVar[str] = "SNS"
    notification_service: Literal["SNS"] = "SNS"
    topic_arn: str = Field(
        ..., pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$", description="Target topic ARN."
    )
    region: str | None = Field(None, description="AWS region; defaults to the topic ARN's region.")
    endpoint_url: str | None = Field(
        None, description="Custom endpoint (VPC endpoint, local server); default boto3's (AWS_ENDPOINT_URL)."
    )

    def required_packages(self) -> dict[str, str]:
        """boto3, from the ``aws`` extra."""
        return {"boto3": "aws"}

    def describe(self) -> str:
        """Channel name with the topic."""
        return f"SNS({self.topic_arn.rsplit(':', 1)[-1]})"

    def send(self, notice: Notice) -> None:
        """Publish one message; raises on any AWS or network error (the dispatcher isolates it)."""
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise RuntimeError("SNS needs boto3: pip install 'dwh-business-logic[aws]'") from None
        config = Config(
            connect_timeout=self.timeout_seconds,
            read_timeout=self.timeout_seconds,
            retries={"total_max_attempts": 2, "mode": "standard"},
        )
        client = boto3.client(
            "sns",
            region_name=self.region or self.topic_arn.split(":")[3],
            endpoint_url=self.endpoint_url,
            config=config,
        )
        client.publish(**self.publish_arguments(notice))

    def publish_arguments(self, notice: Notice) -> dict[str, Any]:
        """The keyword arguments of ``sns.publish`` for `notice` (FIFO topics get a group and dedup id)."""
        job_name = str(notice.report.get("context", {}).get("job_name") or "dwh")
        arguments: dict[str, Any] = {
            "TopicArn": self.topic_arn,
            "Subject": sns_subject(notice.subject),
            "Message": _truncate_utf8(notice.text, SNS_MESSAGE_LIMIT_BYTES),
            "MessageAttributes": {
                "kind": {"DataType": "String", "StringValue": notice.kind},
                "job_name": {"DataType": "String", "StringValue": job_name},
            },
        }
        if self.topic_arn.endswith(".fifo"):
            # One notice per run, kind and start: a repaired run (same run id) still gets its notice.
            run_id = str(notice.report.get("context", {}).get("run_ids", {}).get("run_id", ""))
            identity = f"{run_id}:{notice.kind}:{notice.report.get('started_at', '')}"
            arguments["MessageGroupId"] = job_name
            arguments["MessageDeduplicationId"] = hashlib.sha256(identity.encode()).hexdigest()
        return arguments


def sns_subject(subject: str) -> str:
    """A subject SNS accepts: printable ASCII on one line, under 100 characters."""
    ascii_only = one_line(subject).encode("ascii", "replace").decode("ascii")
    text = ascii_only[:SNS_SUBJECT_LIMIT].strip()
    return text or "dwh notice"


def _truncate_utf8(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    cut = encoded[: limit - len(TRUNCATED.encode())].decode("utf-8", "ignore")
    return cut + TRUNCATED
