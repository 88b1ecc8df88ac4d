"""Logging set-up: one stderr handler whose every line (tracebacks included) is scrubbed of secrets."""

from __future__ import annotations

import logging
import os
import sys

from dwh.scrubber import SCRUBBER

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ScrubbingFormatter(logging.Formatter):
    """A formatter that masks every registered secret in the final text, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        """Format as usual, then scrub."""
        return SCRUBBER.scrub(super().format(record))


def configure_logging(level: str | None = None) -> None:
    """Install the scrubbing handler on the root logger (idempotent) and quieten chatty libraries."""
    root = logging.getLogger()
    for handler in root.handlers:
        # Platforms (Glue, Databricks) install handlers of their own: make them scrub too.
        handler.setFormatter(ScrubbingFormatter(LOG_FORMAT))
    if not any(getattr(h, "_dwh", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(ScrubbingFormatter(LOG_FORMAT))
        handler._dwh = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level or os.environ.get("DWH_LOG_LEVEL", "INFO"))
    for noisy in ("py4j", "urllib3", "botocore", "boto3", "s3transfer", "slack_sdk", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
