"""SLACK through the real slack-sdk against a local HTTP server: webhook and bot-token forms, errors, timeouts."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from slack_sdk.errors import SlackApiError
from werkzeug import Request, Response

from dwh.config import validate_model
from dwh.errors import ConfigError
from dwh.jobs.job_config import JobConfig
from dwh.secrets import resolve_secrets
from dwh.strategies.notifications import Notice, SlackNotifier
from dwh.strategies.notifications.slack import SLACK_TEXT_LIMIT

pytestmark = pytest.mark.integration

WEBHOOK_PATH = "/services/T0DWH/B0DWH/hook-secret-4242"
BOT_TOKEN = "xoxb-1111-2222-bot-token-secret"


def slack(**fields: Any) -> SlackNotifier:
    """A SLACK channel parsed like a job config would parse it, secret references resolved."""
    notifier = validate_model(SlackNotifier, {"notification_service": "SLACK", **fields}, argument="--test")
    notifier = resolve_secrets(notifier)
    return notifier


def received_json(httpserver: HTTPServer) -> list[Any]:
    """The JSON bodies of every request the server received."""
    return [request.get_json() for request, _ in httpserver.log]


def test_incoming_webhook_from_env_posts_subject_and_text(
    httpserver: HTTPServer, notice: Notice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DWH_TEST_SLACK_WEBHOOK", httpserver.url_for(WEBHOOK_PATH))
    httpserver.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("ok")

    slack(webhook_url="env:DWH_TEST_SLACK_WEBHOOK").send(notice)

    assert received_json(httpserver) == [{"text": f"*{notice.subject}*\n{notice.text}"}]


def test_bot_token_posts_to_the_channel_with_the_token_as_bearer(
    httpserver: HTTPServer, notice: Notice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DWH_TEST_SLACK_TOKEN", BOT_TOKEN)
    httpserver.expect_request("/api/chat.postMessage", method="POST").respond_with_json(
        {"ok": True, "channel": "C0DWH", "ts": "1700000000.000100"}
    )
    # No trailing slash on purpose: slack-sdk would otherwise drop the "api" segment.
    notifier = slack(token="env:DWH_TEST_SLACK_TOKEN", channel="#data-alerts", api_base_url=httpserver.url_for("/api"))
    notifier.send(notice)

    request, _ = httpserver.log[0]
    assert request.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert request.get_json() == {"channel": "#data-alerts", "text": f"*{notice.subject}*\n{notice.text}"}


def test_a_long_notice_is_cut_with_a_visible_marker(httpserver: HTTPServer) -> None:
    httpserver.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("ok")
    long_notice = Notice(kind="success", subject="big", text="x" * 10_000)

    slack(webhook_url=httpserver.url_for(WEBHOOK_PATH)).send(long_notice)

    text = received_json(httpserver)[0]["text"]
    assert len(text) == SLACK_TEXT_LIMIT
    assert text.startswith("*big*\nxxx")
    assert text.endswith("\n… (truncated)")


def test_webhook_http_500_raises(httpserver: HTTPServer, notice: Notice) -> None:
    httpserver.expect_request(WEBHOOK_PATH).respond_with_data("internal_error", status=500)
    with pytest.raises(RuntimeError, match="Slack webhook answered HTTP 500: internal_error"):
        slack(webhook_url=httpserver.url_for(WEBHOOK_PATH)).send(notice)


def test_token_ok_false_raises(httpserver: HTTPServer, notice: Notice) -> None:
    httpserver.expect_request("/api/chat.postMessage").respond_with_json({"ok": False, "error": "channel_not_found"})
    notifier = slack(token=BOT_TOKEN, channel="#nope", api_base_url=httpserver.url_for("/api/"))
    with pytest.raises(SlackApiError, match="channel_not_found"):
        notifier.send(notice)


def test_token_http_500_raises(httpserver: HTTPServer, notice: Notice) -> None:
    httpserver.expect_request("/api/chat.postMessage").respond_with_data("oops", status=500)
    notifier = slack(token=BOT_TOKEN, channel="#alerts", api_base_url=httpserver.url_for("/api/"))
    with pytest.raises(SlackApiError):
        notifier.send(notice)


def test_an_endpoint_slower_than_the_timeout_raises(httpserver: HTTPServer, notice: Notice) -> None:
    def slow(request: Request) -> Response:
        time.sleep(2.5)
        return Response("ok")

    httpserver.expect_request(WEBHOOK_PATH).respond_with_handler(slow)
    with pytest.raises(OSError, match="timed out"):
        slack(webhook_url=httpserver.url_for(WEBHOOK_PATH), timeout_seconds=1).send(notice)


@pytest.mark.parametrize(
    ("channel", "error"),
    [
        ({}, "give exactly one of webhook_url or token"),
        ({"webhook_url": "https://hooks.slack.com/x", "token": "xoxb-1"}, "give exactly one of webhook_url or token"),
        ({"token": "xoxb-1"}, "channel is required with token"),
        ({"webhook_url": "https://hooks.slack.com/x", "channel": "#a"}, "channel goes with token; an incoming"),
        ({"webhook": "https://hooks.slack.com/x"}, "webhook: unknown field"),
    ],
)
def test_config_errors(channel: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError, match=r"^--x: job_success_notifications") as caught:
        validate_model(
            JobConfig, {"job_success_notifications": {"notification_service": "SLACK", **channel}}, argument="--x"
        )
    assert error in str(caught.value)
