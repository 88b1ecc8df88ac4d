"""The notifier contract: a `Notice` goes to every configured channel, each channel isolated.

A channel that raises or hangs is logged and skipped; it never changes the job's outcome, its
exit code, or delivery on the other channels. Every text a notifier sends is scrubbed of secrets.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import Field

from dwh.config import StrictModel
from dwh.secrets import SCRUBBER

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    """One message about a run: ``kind`` is ``success``, ``failure`` or ``data_quality``."""

    kind: str
    subject: str
    text: str
    report: dict[str, Any] = field(default_factory=dict)

    def scrubbed(self) -> Notice:
        """A copy with every registered secret masked in subject and text."""
        return Notice(self.kind, SCRUBBER.scrub(self.subject), SCRUBBER.scrub(self.text), self.report)


class Notifier(StrictModel, ABC):
    """Base of every notification channel's config; the model is also the channel."""

    service: ClassVar[str]
    timeout_seconds: float = Field(10.0, gt=0, description="Timeout for every network call of this channel.")

    @abstractmethod
    def send(self, notice: Notice) -> None:
        """Deliver `notice`; raise on failure (the dispatcher isolates the error)."""

    def describe(self) -> str:
        """A short, secret-free name of the channel for logs."""
        return self.service


def send_notice(notifiers: list[Notifier], notice: Notice) -> dict[str, str]:
    """Send `notice` on every channel concurrently; return ``{channel: "sent" | "failed: ..." | "timed out"}``.

    Each channel runs in a daemon thread with a deadline of its own timeout plus a margin, so a hung
    channel can neither block the others nor keep the process alive at exit.
    """
    clean = notice.scrubbed()
    outcomes: dict[str, str] = {}
    threads: list[tuple[str, Notifier, threading.Thread]] = []
    for index, notifier in enumerate(notifiers):
        label = f"{index}:{notifier.describe()}"

        def deliver(notifier: Notifier = notifier, label: str = label) -> None:
            try:
                notifier.send(clean)
                outcomes[label] = "sent"
            except Exception as exc:
                outcomes[label] = SCRUBBER.scrub(f"failed: {type(exc).__name__}: {exc}")[:300]

        thread = threading.Thread(target=deliver, name=f"notify-{label}", daemon=True)
        thread.start()
        threads.append((label, notifier, thread))
    for label, notifier, thread in threads:
        thread.join(timeout=notifier.timeout_seconds * 3 + 5)
        outcome = outcomes.setdefault(label, "timed out")
        if outcome == "sent":
            log.info("%s notice sent via %s", notice.kind, label)
        else:
            log.warning("%s notice via %s %s", notice.kind, label, outcome)
    return outcomes
