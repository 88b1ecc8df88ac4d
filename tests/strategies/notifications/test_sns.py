"""SNS through real boto3 against moto's standalone server; delivery proven by an SQS queue subscribed to the topic."""

from __future__ import annotations

from typing import Any

import pytest

from dwh.config import validate_model
from dwh.devtools.local_postgres import free_port
from dwh.errors import ConfigError
from dwh.jobs.job_config import JobConfig
from dwh.strategies.notifications import Notice, SnsNotifier
from tests.stand_ins.local_servers import SubscribedQueue, subscribe_queue

pytestmark = pytest.mark.integration


def sns(**fields: Any) -> SnsNotifier:
    """An SNS channel parsed like a job config would parse it."""
    return validate_model(SnsNotifier, {"notification_service": "SNS", **fields}, argument="--test")


def test_publish_arrives_in_the_subscribed_queue(sns_queue: SubscribedQueue, notice: Notice) -> None:
    sns(topic_arn=sns_queue.topic_arn).send(notice)

    [envelope] = sns_queue.receive(1)
    assert envelope["TopicArn"] == sns_queue.topic_arn
    assert envelope["Subject"] == notice.subject
    assert envelope["Message"] == notice.text
    assert envelope["MessageAttributes"]["kind"] == {"Type": "String", "Value": "failure"}
    assert envelope["MessageAttributes"]["job_name"] == {"Type": "String", "Value": "load_promos"}


def test_subject_is_made_acceptable_to_sns(sns_queue: SubscribedQueue) -> None:
    subject = "promos\nFAILED — " + "y" * 200
    sns(topic_arn=sns_queue.topic_arn).send(Notice(kind="failure", subject=subject, text="body"))

    [envelope] = sns_queue.receive(1)
    assert envelope["Subject"] == ("promos FAILED ? " + "y" * 200)[:99]


def fifo_messages(queue: SubscribedQueue, count: int) -> list[tuple[str, str, str]]:
    """(MessageGroupId, MessageDeduplicationId, SNS message) of the queue's messages: `count`, then an empty poll."""
    import json
    import time

    received: list[tuple[str, str, str]] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        response = queue.sqs.receive_message(
            QueueUrl=queue.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"]
        )
        messages = response.get("Messages", [])
        if not messages and len(received) >= count:
            return received
        for message in messages:
            attributes = message["Attributes"]
            body = json.loads(message["Body"])["Message"]
            received.append((attributes["MessageGroupId"], attributes["MessageDeduplicationId"], body))
            queue.sqs.delete_message(QueueUrl=queue.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return received


def test_fifo_topic_gets_group_and_deduplication_ids(aws_env: str, notice: Notice) -> None:
    import hashlib

    queue = subscribe_queue(fifo=True)
    notifier = sns(topic_arn=queue.topic_arn)
    notifier.send(notice)
    notifier.send(notice)  # the same run's notice sent again (a retried send): SNS drops it as a duplicate
    context = {**notice.report["context"], "run_ids": {"run_id": "local-2"}}
    notifier.send(Notice(kind=notice.kind, subject="second run", text="run 2", report={"context": context}))

    # group: the job; deduplication id: sha256 of "<run id>:<kind>:<started_at>" (no started_at in these reports)
    assert fifo_messages(queue, 2) == [
        ("load_promos", hashlib.sha256(b"local-1:failure:").hexdigest(), notice.text),
        ("load_promos", hashlib.sha256(b"local-2:failure:").hexdigest(), "run 2"),
    ]


def test_a_missing_topic_raises(aws_env: str, notice: Notice) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="NotFound"):
        sns(topic_arn="arn:aws:sns:us-east-1:123456789012:no-such-topic").send(notice)


def test_an_unreachable_endpoint_raises(aws_env: str, notice: Notice) -> None:
    from botocore.exceptions import EndpointConnectionError

    notifier = sns(
        topic_arn="arn:aws:sns:us-east-1:123456789012:alerts",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        timeout_seconds=1,
    )
    with pytest.raises(EndpointConnectionError):
        notifier.send(notice)


def test_a_bad_topic_arn_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_model(
            JobConfig,
            {"job_failed_notifications": {"notification_service": "SNS", "topic_arn": "arn:aws:sqs:us-east-1:1:q"}},
            argument="--x",
        )
    assert str(caught.value).startswith("--x: job_failed_notifications.topic_arn: String should match pattern")
