"""Notification channels, selected by ``notification_service``: NOOP, EMAIL, SLACK, SNS.

A new channel is one new module with a `Notifier` subclass plus one line in `NotifierConfig` below.
A notification slot in a job config takes one channel object or a list of them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dwh.strategies.notifications.base import Notice, Notifier, send_notice
from dwh.strategies.notifications.email import EmailNotifier
from dwh.strategies.notifications.noop import NoopNotifier
from dwh.strategies.notifications.slack import SlackNotifier
from dwh.strategies.notifications.sns import SnsNotifier

NotifierConfig = Annotated[
    NoopNotifier | EmailNotifier | SlackNotifier | SnsNotifier,
    Field(discriminator="notification_service"),
]

__all__ = [
    "EmailNotifier",
    "NoopNotifier",
    "Notice",
    "Notifier",
    "NotifierConfig",
    "SlackNotifier",
    "SnsNotifier",
    "send_notice",
]
