"""NOOP: the default channel sends nothing and logs what would have gone out."""

from __future__ import annotations

import logging

import pytest

from dwh.jobs.job_config import JobConfig
from dwh.strategies.notifications import NoopNotifier, Notice, send_notice


def test_noop_is_the_default_of_every_slot_and_logs_the_subject(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dwh.strategies.notifications")
    config = JobConfig()
    notifiers = [*config.notifiers("job_success_notifications"), *config.notifiers("job_failed_notifications")]
    assert all(isinstance(notifier, NoopNotifier) for notifier in notifiers)

    outcomes = send_notice(notifiers[:1], Notice(kind="success", subject="promos succeeded (LOCAL, run 7)", text="t"))

    assert outcomes == {"0:NOOP": "sent"}
    assert "NOOP success notice: promos succeeded (LOCAL, run 7)" in caplog.messages
