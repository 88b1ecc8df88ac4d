"""The two kinds of failure generic_entry turns into exit codes.

`ConfigError` means the invocation or the configuration is wrong: nothing ran, exit 2, one line.
`JobFailedError` means the job ran and failed after sending its failure notice: exit 1.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """Bad invocation or configuration; the message is one line naming the argument or field path."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class JobFailedError(RuntimeError):
    """A job ran and failed; its failure notice has already been sent."""
