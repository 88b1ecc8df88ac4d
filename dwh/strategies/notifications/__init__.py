"""Notification channels, selected by ``notification_service``: NOOP, EMAIL, SLACK, SNS.

A notification slot in a job config takes one channel object or a list of them; `send_notice`
delivers a `Notice` to all of them, each isolated (see `dispatch`). A new channel is one new
module with a `Notifier` subclass plus one line in `registry.NotifierConfig`.
"""

from __future__ import annotations

from dwh.strategies.notifications.base import Notice, Notifier
from dwh.strategies.notifications.dispatch import send_notice
from dwh.strategies.notifications.email import EmailNotifier
from dwh.strategies.notifications.noop import NoopNotifier
from dwh.strategies.notifications.registry import NotificationSlot, NotifierConfig
from dwh.strategies.notifications.slack import SlackNotifier
from dwh.strategies.notifications.sns import SnsNotifier

__all__ = [
    "EmailNotifier",
    "NoopNotifier",
    "Notice",
    "NotificationSlot",
    "Notifier",
    "NotifierConfig",
    "SlackNotifier",
    "SnsNotifier",
    "send_notice",
]
