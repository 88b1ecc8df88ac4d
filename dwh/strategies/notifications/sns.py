"""SNS: publish the notice to an Amazon SNS topic with boto3."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from dwh.strategies.notifications.base import Notice, Notifier

#: SNS limits a subject to 100 characters.
SNS_SUBJECT_LIMIT = 100


class SnsNotifier(Notifier):
    """Publishes the notice to ``topic_arn``; region and endpoint default to boto3's own lookup."""

    service: ClassVar[str] = "SNS"
    notification_service: Literal["SNS"] = "SNS"
    topic_arn: str = Field(..., pattern=r"^arn:aws[a-z-]*:sns:", description="Target topic ARN.")
    region: str | None = Field(None, description="AWS region; defaults to the topic ARN's region.")
    endpoint_url: str | None = Field(None, description="Custom endpoint (VPC endpoint, local test server).")

    def describe(self) -> str:
        """Channel name with the topic."""
        return f"SNS({self.topic_arn.rsplit(':', 1)[-1]})"

    def send(self, notice: Notice) -> None:
        """Publish one message; raises on any AWS error (the dispatcher isolates it)."""
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise RuntimeError("SNS needs boto3: pip install 'dwh-business-logic[aws]'") from None
        region = self.region or self.topic_arn.split(":")[3]
        config = Config(
            connect_timeout=self.timeout_seconds,
            read_timeout=self.timeout_seconds,
            retries={"max_attempts": 2},
        )
        client = boto3.client("sns", region_name=region, endpoint_url=self.endpoint_url, config=config)
        client.publish(TopicArn=self.topic_arn, Subject=notice.subject[:SNS_SUBJECT_LIMIT], Message=notice.text)
