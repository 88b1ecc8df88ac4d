"""The process-wide `SCRUBBER`: remembers secret values and masks them in any text we emit.

Stdlib only, so the log handler (and with it ``generic_entry --help``) needs no pydantic. Secret
references and their resolution live in `dwh.secrets`, which registers every value here.
"""

from __future__ import annotations

import json
import re
import threading

MASK = "***"
# Very short values (e.g. "x") would turn every log line into noise if masked; they are not secrets.
_MIN_SCRUB_LENGTH = 4


class SecretScrubber:
    """Remembers secret values and replaces them with ``***`` in any text."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None

    def register(self, value: str | None) -> None:
        """Add a secret value (and its URL-encoded form) to the set that is masked."""
        if not value or len(value) < _MIN_SCRUB_LENGTH:
            return
        from urllib.parse import quote, quote_plus

        with self._lock:
            # The value as written, URL-encoded the usual ways (DSNs, query strings) and JSON-escaped (reports).
            self._values.update(
                {value, quote(value, safe=""), quote(value), quote_plus(value), json.dumps(value)[1:-1]}
            )
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def scrub(self, text: str) -> str:
        """Return `text` with every registered secret replaced by ``***``."""
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def clear(self) -> None:
        """Forget every registered value (tests and long-lived processes between runs)."""
        with self._lock:
            self._values.clear()
            self._pattern = None


SCRUBBER = SecretScrubber()
