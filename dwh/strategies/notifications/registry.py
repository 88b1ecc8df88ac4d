"""`NotifierConfig`: the union of every notification channel, keyed on ``notification_service``; `NotificationSlot`.

A new channel is one new module with a `Notifier` subclass plus one line here.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag

from dwh.strategies.notifications.email import EmailNotifier
from dwh.strategies.notifications.noop import NoopNotifier
from dwh.strategies.notifications.slack import SlackNotifier
from dwh.strategies.notifications.sns import SnsNotifier

NotifierConfig = Annotated[
    NoopNotifier | EmailNotifier | SlackNotifier | SnsNotifier,
    Field(discriminator="notification_service"),
]


def _slot_shape(value: Any) -> str:
    return "LIST" if isinstance(value, list) else "ONE"


#: A notification slot: one channel object or a list of them. The shape picks the branch up front, so
#: an error names the one place that is wrong (``job_failed_notifications[1].recipients: ...``)
#: instead of reporting both branches; the upper-case tags are left out of error paths.
NotificationSlot = Annotated[
    Annotated[NotifierConfig, Tag("ONE")] | Annotated[list[NotifierConfig], Tag("LIST")],
    Discriminator(_slot_shape),
]
