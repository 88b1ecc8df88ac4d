"""SLACK: a notice through slack-sdk, by incoming webhook or by bot token + channel."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from dwh.config import Secret
from dwh.strategies.notifications.base import Notice, Notifier

#: Slack rejects text blocks over 3000 characters; keep the message well inside.
SLACK_TEXT_LIMIT = 2900


class SlackNotifier(Notifier):
    """Posts the notice to Slack: ``webhook_url`` alone, or ``token`` with ``channel``."""

    service: ClassVar[str] = "SLACK"
    notification_service: Literal["SLACK"] = "SLACK"
    webhook_url: Secret | None = Field(None, description="Incoming-webhook URL (a secret).")
    token: Secret | None = Field(None, description="Bot token (xoxb-...) for chat.postMessage.")
    channel: str | None = Field(None, description="Channel id or #name; required with token.")
    api_base_url: str = Field("https://slack.com/api/", description="Slack Web API base URL.")

    @model_validator(mode="after")
    def _one_way_in(self) -> SlackNotifier:
        if (self.webhook_url is None) == (self.token is None):
            raise ValueError("give exactly one of webhook_url or token")
        if self.token is not None and not self.channel:
            raise ValueError("channel is required with token")
        return self

    def describe(self) -> str:
        """Channel name without the webhook URL or token."""
        return f"SLACK({self.channel or 'webhook'})"

    def send(self, notice: Notice) -> None:
        """Post ``*subject*`` and the text; raises when Slack answers with an error."""
        try:
            from slack_sdk import WebClient
            from slack_sdk.webhook import WebhookClient
        except ImportError:
            raise RuntimeError("SLACK needs slack-sdk: pip install 'dwh-business-logic[slack]'") from None
        text = f"*{notice.subject}*\n{notice.text}"[:SLACK_TEXT_LIMIT]
        timeout = max(1, int(self.timeout_seconds))
        if self.webhook_url is not None:
            response = WebhookClient(self.webhook_url.get_secret_value(), timeout=timeout).send(text=text)
            if response.status_code != 200:
                raise RuntimeError(f"Slack webhook answered HTTP {response.status_code}")
            return
        assert self.token is not None and self.channel is not None
        client = WebClient(token=self.token.get_secret_value(), base_url=self.api_base_url, timeout=timeout)
        client.chat_postMessage(channel=self.channel, text=text)
