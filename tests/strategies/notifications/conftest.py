"""Fixtures for the notification channel tests: TLS material, SMTP with STARTTLS/SSL + AUTH, a hanging server, SNS->SQS.

The servers themselves live in `tests.stand_ins.local_servers` (the end-to-end tests use them too).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dwh.strategies.notifications import Notice
from tests.stand_ins.local_servers import (
    SMTP_PASSWORD,
    SMTP_USER,
    HangingTcpServer,
    SmtpServer,
    SubscribedQueue,
    TlsFiles,
    make_tls_files,
    start_smtp_server,
    subscribe_queue,
)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throw-away CA and a server certificate for 127.0.0.1, generated once per run."""
    directory: Path = tmp_path_factory.mktemp("tls")
    return make_tls_files(directory)


@pytest.fixture
def smtp_tls_server(tls_files: TlsFiles) -> Iterator[SmtpServer]:
    """aiosmtpd that requires STARTTLS, then AUTH as ``alerts`` / `SMTP_PASSWORD`, before it takes mail."""
    server = start_smtp_server(security="starttls", tls=tls_files, users={SMTP_USER: SMTP_PASSWORD})
    yield server
    server.stop()


@pytest.fixture
def smtp_ssl_server(tls_files: TlsFiles) -> Iterator[SmtpServer]:
    """aiosmtpd behind implicit TLS (SMTPS), AUTH required."""
    server = start_smtp_server(security="ssl", tls=tls_files, users={SMTP_USER: SMTP_PASSWORD})
    yield server
    server.stop()


@pytest.fixture
def hanging_server() -> Iterator[HangingTcpServer]:
    """A TCP server that accepts connections and never answers."""
    server = HangingTcpServer()
    yield server
    server.stop()


@pytest.fixture
def sns_queue(aws_env: str) -> SubscribedQueue:
    """An SNS topic on the moto server with an SQS queue subscribed to it."""
    return subscribe_queue()


@pytest.fixture
def notice() -> Notice:
    """A typical failure notice."""
    return Notice(
        kind="failure",
        subject="load_promos FAILED (LOCAL, run local-1)",
        text="load_promos FAILED (LOCAL, run local-1)\n\nerror: RuntimeError: boom\n",
        report={"context": {"job_name": "load_promos", "run_ids": {"run_id": "local-1"}}, "outcome": "failed"},
    )
