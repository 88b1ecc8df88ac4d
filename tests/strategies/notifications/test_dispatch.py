"""`send_notice`: every channel tried, failures and hangs isolated, secrets masked before any channel sees them."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import pytest
from pytest_httpserver import HTTPServer

from dwh.devtools.local_postgres import free_port
from dwh.secrets import resolve_reference
from dwh.strategies.notifications import EmailNotifier, Notice, Notifier, SlackNotifier, SnsNotifier, send_notice
from tests.stand_ins.local_servers import HangingTcpServer, SubscribedQueue

pytestmark = pytest.mark.integration

WEBHOOK_PATH = "/services/T0/B0/dispatch-hook"
SECRET = "sup3r-s3cret-value-91"


class BlockingNotifier(Notifier):
    """A channel that ignores its own timeout and blocks until released: the worst case for the dispatcher."""

    service: ClassVar[str] = "BLOCKING"
    notification_service: Literal["BLOCKING"] = "BLOCKING"
    release: ClassVar[threading.Event] = threading.Event()

    def send(self, notice: Notice) -> None:
        """Block until the test releases every blocked channel."""
        self.release.wait()


class LeakyNotifier(Notifier):
    """A channel whose error message carries whatever it was given: here, a secret."""

    service: ClassVar[str] = "LEAKY"
    notification_service: Literal["LEAKY"] = "LEAKY"

    def send(self, notice: Notice) -> None:
        """Fail with the secret in the message."""
        raise RuntimeError(f"server rejected credentials {SECRET}")


@pytest.fixture
def released_blockers() -> Iterator[None]:
    """Let blocked channel threads end after the test."""
    BlockingNotifier.release.clear()
    yield
    BlockingNotifier.release.set()


def plain_email(smtp_server: Any, **fields: Any) -> EmailNotifier:
    """An EMAIL channel to the plain aiosmtpd sink."""
    return EmailNotifier(
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        security="none",
        sender="dwh@example.com",
        recipients=["team@example.com"],
        **fields,
    )


def test_broken_channels_do_not_stop_the_others(
    smtp_server: Any, httpserver: HTTPServer, sns_queue: SubscribedQueue, notice: Notice
) -> None:
    httpserver.expect_request(WEBHOOK_PATH).respond_with_data("boom", status=500)
    refused_port = free_port()
    channels: list[Notifier] = [
        EmailNotifier(
            smtp_host="127.0.0.1", smtp_port=refused_port, security="none", sender="a@b.c", recipients=["d@e.f"]
        ),
        SlackNotifier(webhook_url=httpserver.url_for(WEBHOOK_PATH)),
        plain_email(smtp_server),
        SnsNotifier(topic_arn=sns_queue.topic_arn),
    ]
    outcomes = send_notice(channels, notice)

    topic = sns_queue.topic_arn.rsplit(":", 1)[-1]
    assert outcomes[f"0:EMAIL(127.0.0.1:{refused_port})"].startswith("failed: ConnectionRefusedError")
    assert outcomes["1:SLACK(webhook)"] == "failed: RuntimeError: Slack webhook answered HTTP 500: boom"
    assert outcomes[f"2:EMAIL(127.0.0.1:{smtp_server.port})"] == "sent"
    assert outcomes[f"3:SNS({topic})"] == "sent"
    assert len(smtp_server.messages) == 1
    assert [envelope["Subject"] for envelope in sns_queue.receive(1)] == [notice.subject]


def test_a_hung_channel_is_abandoned_at_its_deadline(
    smtp_server: Any, notice: Notice, released_blockers: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dwh.strategies.notifications.dispatch")
    outcomes = send_notice([BlockingNotifier(timeout_seconds=0.1), plain_email(smtp_server)], notice)

    assert outcomes == {"0:BLOCKING": "timed out", f"1:EMAIL(127.0.0.1:{smtp_server.port})": "sent"}
    assert len(smtp_server.messages) == 1
    assert "failure notice via 0:BLOCKING timed out after 2 s; abandoned" in caplog.messages


def test_a_server_that_never_answers_fails_on_the_channel_timeout(
    hanging_server: HangingTcpServer, smtp_server: Any, notice: Notice
) -> None:
    silent = EmailNotifier(
        smtp_host="127.0.0.1",
        smtp_port=hanging_server.port,
        security="none",
        sender="a@b.c",
        recipients=["d@e.f"],
        timeout_seconds=0.5,
    )
    outcomes = send_notice([silent, plain_email(smtp_server)], notice)

    hung = outcomes[f"0:EMAIL(127.0.0.1:{hanging_server.port})"]
    assert hung.startswith("failed: ") and "timed out" in hung
    assert outcomes[f"1:EMAIL(127.0.0.1:{smtp_server.port})"] == "sent"


def test_a_hung_channel_does_not_keep_the_process_alive() -> None:
    script = textwrap.dedent(
        """
        import json, threading
        from typing import ClassVar, Literal
        from dwh.strategies.notifications import Notice, Notifier, send_notice

        class Forever(Notifier):
            service: ClassVar[str] = "FOREVER"
            notification_service: Literal["FOREVER"] = "FOREVER"
            def send(self, notice):
                threading.Event().wait()

        print(json.dumps(send_notice([Forever(timeout_seconds=0.1)], Notice("failure", "s", "t"))))
        """
    )
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)

    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout) == {"0:FOREVER": "timed out"}


def test_secrets_are_masked_in_what_every_channel_sends(
    smtp_server: Any,
    httpserver: HTTPServer,
    sns_queue: SubscribedQueue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DWH_TEST_SECRET", SECRET)
    resolve_reference("env:DWH_TEST_SECRET", field="--test api_token")
    httpserver.expect_request(WEBHOOK_PATH).respond_with_data("ok")
    leaky = Notice(
        kind="failure",
        subject=f"job failed with {SECRET}",
        text=f"error: RuntimeError: token {SECRET} rejected",
        report={"error": f"token {SECRET}", "steps": [{"detail": {"url": f"https://x/?t={SECRET}"}}]},
    )
    channels = [
        plain_email(smtp_server),
        SlackNotifier(webhook_url=httpserver.url_for(WEBHOOK_PATH)),
        SnsNotifier(topic_arn=sns_queue.topic_arn),
        LeakyNotifier(),
    ]
    outcomes = send_notice(channels, leaky)

    email_text = smtp_server.messages[0].as_string()
    slack_text = httpserver.log[0][0].get_json()["text"]
    sns_text = json.dumps(sns_queue.receive(1)[0])
    for sent in (email_text, slack_text, sns_text):
        assert SECRET not in sent
        assert "token *** rejected" in sent
    assert smtp_server.messages[0]["Subject"] == "[dwh] job failed with ***"
    assert outcomes["3:LEAKY"] == "failed: RuntimeError: server rejected credentials ***"


def test_scrubbed_notice_masks_every_string_of_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWH_TEST_SECRET", SECRET)
    resolve_reference("env:DWH_TEST_SECRET", field="x")
    notice = Notice("success", "s", "t", report={"a": [SECRET, {"b": f"x{SECRET}x", "n": 3}], "c": None})

    assert notice.scrubbed().report == {"a": ["***", {"b": "x***x", "n": 3}], "c": None}
