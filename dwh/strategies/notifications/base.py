"""The notifier contract: a `Notice` (what to say) and a `Notifier` (a channel that says it).

Every channel's config model is also the channel: it validates its own fields and implements
`Notifier.send`, which raises on any failure. `dwh.strategies.notifications.dispatch.send_notice`
delivers a notice to every configured channel with each channel isolated, after masking secrets.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import Field

from dwh.config import StrictModel
from dwh.secrets import SCRUBBER

#: The longest per-call timeout a channel may ask for; a notice must never hold a job for long.
MAX_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Notice:
    """One message about a run: ``kind`` is ``success``, ``failure`` or ``data_quality``.

    ``text`` is the readable body (it already contains the run report as JSON); ``report`` is the
    same run report as data for channels that want to send it structured.
    """

    kind: str
    subject: str
    text: str
    report: dict[str, Any] = field(default_factory=dict)

    def scrubbed(self) -> Notice:
        """A copy with every registered secret masked in subject, text and every string of the report."""
        return Notice(
            kind=self.kind,
            subject=SCRUBBER.scrub(self.subject),
            text=SCRUBBER.scrub(self.text),
            report=_scrub_value(self.report),
        )


def _scrub_value(value: Any) -> Any:
    """Mask secrets in every string inside nested dicts, lists and tuples."""
    if isinstance(value, str):
        return SCRUBBER.scrub(value)
    if isinstance(value, dict):
        return {_scrub_value(key): _scrub_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub_value(item) for item in value]
    return value


def one_line(text: str) -> str:
    """Collapse every run of whitespace (newlines included) to one space: safe for headers and subjects."""
    return " ".join(text.split())


class Notifier(StrictModel, ABC):
    """Base of every notification channel's config; the model is also the channel."""

    service: ClassVar[str]
    timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=MAX_TIMEOUT_SECONDS,
        description="Timeout in seconds for every network call of this channel (connect, each read, each write).",
    )

    @abstractmethod
    def send(self, notice: Notice) -> None:
        """Deliver `notice`; raise on failure (the dispatcher isolates and logs the error)."""

    def describe(self) -> str:
        """A short, secret-free name of the channel for logs."""
        return self.service

    @property
    def deadline_seconds(self) -> float:
        """How long the dispatcher waits for this channel before giving up on it.

        A send is a handful of network calls, each bounded by ``timeout_seconds``; a channel that is
        merely slow finishes within two of them, one that hangs is abandoned (its daemon thread dies
        with the process).
        """
        return self.timeout_seconds * 2 + 2
