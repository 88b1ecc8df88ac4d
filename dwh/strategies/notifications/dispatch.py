"""`send_notice`: deliver one notice to every channel of a slot, each channel isolated.

Secrets are masked once, before any channel sees the notice. Every channel runs in its own daemon
thread; the caller waits at most until the latest channel deadline (`Notifier.deadline_seconds`,
counted from the start, not one after the other). A channel that raises is logged as failed, one
that is still running at its deadline is logged as timed out and abandoned: as a daemon thread it
cannot keep the process alive, and it never changes the job's outcome or the other channels.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from dwh.secrets import SCRUBBER
from dwh.strategies.notifications.base import Notice, Notifier

log = logging.getLogger(__name__)

#: How much of a channel's error message goes into the log and the outcome.
ERROR_TEXT_LIMIT = 300
SENT = "sent"
TIMED_OUT = "timed out"


class _Delivery:
    """One channel's send in a daemon thread; `outcome` stays None until the send returns or raises."""

    def __init__(self, *, label: str, notifier: Notifier, notice: Notice) -> None:
        self.label = label
        self.notifier = notifier
        self.notice = notice
        self.outcome: str | None = None
        self.thread = threading.Thread(target=self._deliver, name=f"notify-{label}", daemon=True)

    def _deliver(self) -> None:
        # No logging in here: an abandoned thread may still be running while the interpreter exits.
        try:
            self.notifier.send(self.notice)
        except BaseException as exc:  # a channel must never take the job down, whatever it raises
            detail = " ".join(f"{type(exc).__name__}: {exc}".split())
            self.outcome = SCRUBBER.scrub(f"failed: {detail}")[:ERROR_TEXT_LIMIT]
        else:
            self.outcome = SENT


def _label(index: int, notifier: Notifier) -> str:
    try:
        return f"{index}:{notifier.describe()}"
    except Exception:
        return f"{index}:{type(notifier).__name__}"


def send_notice(notifiers: Sequence[Notifier], notice: Notice) -> dict[str, str]:
    """Send `notice` on every channel concurrently; return ``{label: "sent" | "failed: ..." | "timed out"}``.

    Labels are ``"<index>:<channel description>"``. Never raises because of a channel.
    """
    clean = notice.scrubbed()
    started = time.monotonic()
    deliveries = [
        _Delivery(label=_label(index, notifier), notifier=notifier, notice=clean)
        for index, notifier in enumerate(notifiers)
    ]
    for delivery in deliveries:
        delivery.thread.start()
    outcomes: dict[str, str] = {}
    for delivery in deliveries:
        remaining = started + delivery.notifier.deadline_seconds - time.monotonic()
        delivery.thread.join(timeout=max(0.0, remaining))
        outcome = delivery.outcome or TIMED_OUT
        outcomes[delivery.label] = outcome
        if outcome == SENT:
            log.info("%s notice sent via %s", clean.kind, delivery.label)
        elif outcome == TIMED_OUT:
            log.warning(
                "%s notice via %s timed out after %.0f s; abandoned",
                clean.kind,
                delivery.label,
                delivery.notifier.deadline_seconds,
            )
        else:
            log.warning("%s notice via %s %s", clean.kind, delivery.label, outcome)
    return outcomes
