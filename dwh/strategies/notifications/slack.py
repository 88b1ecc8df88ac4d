"""SLACK: a notice through slack-sdk, by incoming webhook or by bot token + channel.

    {"notification_service": "SLACK", "webhook_url": "env:SLACK_WEBHOOK_URL"}
    {"notification_service": "SLACK", "token": "databricks:alerts/slack_bot", "channel": "#data-alerts"}

The webhook URL is itself a credential, so it is a secret like the token. Every HTTP call is bounded
by ``timeout_seconds``; slack-sdk retries a failed connection once. An HTTP error or ``ok: false``
raises here, and the dispatcher logs it without touching the job.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from dwh.config import Secret
from dwh.strategies.notifications.base import Notice, Notifier, one_line

#: Slack asks to keep a message's text under 4,000 characters (longer text is truncated or split).
SLACK_TEXT_LIMIT = 3900
TRUNCATED = "\n… (truncated)"


class SlackNotifier(Notifier):
    """Posts the notice to Slack: ``webhook_url`` alone, or ``token`` with ``channel``."""

    service: ClassVar[str] = "SLACK"
    notification_service: Literal["SLACK"] = "SLACK"
    webhook_url: Secret | None = Field(None, description="Incoming-webhook URL (a secret: literal or reference).")
    token: Secret | None = Field(None, description="Bot token (xoxb-...) for chat.postMessage (a secret).")
    channel: str | None = Field(None, description="Channel id or #name; required with token.")
    api_base_url: str = Field("https://slack.com/api/", description="Slack Web API base URL (token form).")

    @field_validator("api_base_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        # slack-sdk joins the method name with urljoin: without the slash, ".../api" would lose "api".
        return value if value.endswith("/") else value + "/"

    @model_validator(mode="after")
    def _one_way_in(self) -> SlackNotifier:
        if (self.webhook_url is None) == (self.token is None):
            raise ValueError("give exactly one of webhook_url or token")
        if self.token is not None and not self.channel:
            raise ValueError("channel is required with token")
        if self.webhook_url is not None and self.channel:
            raise ValueError("channel goes with token; an incoming webhook posts to its own channel")
        return self

    def required_packages(self) -> dict[str, str]:
        """slack-sdk, from the ``slack`` extra."""
        return {"slack_sdk": "slack"}

    def describe(self) -> str:
        """Channel name without the webhook URL or token."""
        return f"SLACK({self.channel or 'webhook'})"

    def send(self, notice: Notice) -> None:
        """Post the bold subject and the text; raises when Slack answers with an error."""
        try:
            from slack_sdk import WebClient
            from slack_sdk.webhook import WebhookClient
        except ImportError:
            raise RuntimeError("SLACK needs slack-sdk: pip install 'dwh-business-logic[slack]'") from None
        text = format_text(notice)
        timeout = math.ceil(self.timeout_seconds)
        if self.webhook_url is not None:
            response = WebhookClient(self.webhook_url.get_secret_value(), timeout=timeout).send(text=text)
            if response.status_code != 200:
                body = one_line(str(response.body or ""))[:200]
                raise RuntimeError(f"Slack webhook answered HTTP {response.status_code}: {body}")
            return
        if self.token is None or self.channel is None:  # excluded by validation; keeps mypy informed
            raise RuntimeError("SLACK token form needs token and channel")
        client = WebClient(token=self.token.get_secret_value(), base_url=self.api_base_url, timeout=timeout)
        # Raises SlackApiError on an HTTP error status and on ``"ok": false``.
        client.chat_postMessage(channel=self.channel, text=text)


def format_text(notice: Notice) -> str:
    """``*subject*`` then the notice text, cut to Slack's limit with a visible marker."""
    text = f"*{one_line(notice.subject)}*\n{notice.text}"
    if len(text) > SLACK_TEXT_LIMIT:
        text = text[: SLACK_TEXT_LIMIT - len(TRUNCATED)] + TRUNCATED
    return text
