"""NOOP: the channel that only logs; the default for every notification slot."""

from __future__ import annotations

import logging
from typing import ClassVar, Literal

from dwh.strategies.notifications.base import Notice, Notifier

log = logging.getLogger(__name__)


class NoopNotifier(Notifier):
    """Sends nothing; logs the subject so a local run still shows what would have gone out."""

    service: ClassVar[str] = "NOOP"
    notification_service: Literal["NOOP"] = "NOOP"

    def send(self, notice: Notice) -> None:
        """Log the notice's kind and subject."""
        log.info("NOOP %s notice: %s", notice.kind, notice.subject)
