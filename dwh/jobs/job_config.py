"""`JobConfig`: the notification slots every job config has, plus helpers to read them."""

from __future__ import annotations

from pydantic import Field

from dwh.config import StrictModel
from dwh.strategies.notifications import NoopNotifier, NotificationSlot, Notifier


def _noop() -> NoopNotifier:
    return NoopNotifier()


class JobConfig(StrictModel):
    """Base of every job's config model: where success, failure and data-quality notices go."""

    job_failed_notifications: NotificationSlot = Field(
        default_factory=_noop, description="Channel(s) told when the job fails."
    )
    job_success_notifications: NotificationSlot = Field(
        default_factory=_noop, description="Channel(s) told when the job succeeds."
    )
    data_quality_notifications: NotificationSlot = Field(
        default_factory=_noop, description="Channel(s) told when a data-quality rule has failing rows."
    )

    def notifiers(self, slot: str) -> list[Notifier]:
        """The channels of one slot (``job_failed_notifications`` ...) as a list."""
        value = getattr(self, slot)
        return list(value) if isinstance(value, list) else [value]
