"""EMAIL against real aiosmtpd servers: plain relay, STARTTLS + AUTH with an ``env:`` password, SSL, failures."""

from __future__ import annotations

import smtplib
import ssl
from typing import Any

import pytest

from dwh.config import validate_model
from dwh.devtools.local_postgres import free_port
from dwh.errors import ConfigError
from dwh.jobs.job_config import JobConfig
from dwh.secrets import resolve_secrets
from dwh.strategies.notifications import EmailNotifier, Notice
from tests.stand_ins.local_servers import SMTP_PASSWORD, SMTP_USER, HangingTcpServer, SmtpServer, TlsFiles

pytestmark = pytest.mark.integration


def email(**fields: Any) -> EmailNotifier:
    """An EMAIL channel parsed like a job config would parse it, secret references resolved."""
    data = {"notification_service": "EMAIL", "sender": "dwh@example.com", "recipients": ["team@example.com"], **fields}
    notifier = validate_model(EmailNotifier, data, argument="--test")
    notifier = resolve_secrets(notifier)
    return notifier


def body(message: Any) -> str:
    """The decoded plain-text body of a received message (quoted-printable or base64 undone)."""
    payload: bytes = message.get_payload(decode=True)
    return payload.decode(message.get_content_charset() or "utf-8").replace("\r\n", "\n")


def test_plain_relay_delivers_one_message_to_every_recipient(smtp_server: Any, notice: Notice) -> None:
    notifier = email(
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        security="none",
        recipients=["team@example.com", "oncall@example.com"],
        subject_prefix="[etl-prod]",
    )
    notifier.send(notice)

    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received["Subject"] == "[etl-prod] load_promos FAILED (LOCAL, run local-1)"
    assert received["From"] == "dwh@example.com"
    assert received["To"] == "team@example.com, oncall@example.com"
    assert smtp_server.envelopes[0].rcpt_tos == ["team@example.com", "oncall@example.com"]
    assert body(received) == notice.text
    assert received["Message-ID"].endswith("@example.com>")


def test_starttls_and_auth_with_a_password_from_env(
    smtp_tls_server: SmtpServer, tls_files: TlsFiles, notice: Notice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DWH_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    notifier = email(
        smtp_host="127.0.0.1",
        smtp_port=smtp_tls_server.port,
        security="starttls",
        ca_file=str(tls_files.ca_file),
        username=SMTP_USER,
        password="env:DWH_TEST_SMTP_PASSWORD",
    )
    notifier.send(notice)

    # The server only takes MAIL after STARTTLS and a successful AUTH: delivery proves both.
    assert smtp_tls_server.logins == [(SMTP_USER, SMTP_PASSWORD)]
    assert [m["Subject"] for m in smtp_tls_server.messages] == ["[dwh] load_promos FAILED (LOCAL, run local-1)"]
    assert body(smtp_tls_server.messages[0]) == notice.text


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_implicit_ssl_with_auth(smtp_ssl_server: SmtpServer, tls_files: TlsFiles, notice: Notice) -> None:
    notifier = email(
        smtp_host="localhost",
        smtp_port=smtp_ssl_server.port,
        security="ssl",
        ca_file=str(tls_files.ca_file),
        username=SMTP_USER,
        password=SMTP_PASSWORD,
    )
    notifier.send(notice)

    assert smtp_ssl_server.logins == [(SMTP_USER, SMTP_PASSWORD)]
    assert len(smtp_ssl_server.messages) == 1


def test_a_certificate_from_an_untrusted_ca_is_refused(smtp_tls_server: SmtpServer, notice: Notice) -> None:
    notifier = email(smtp_host="127.0.0.1", smtp_port=smtp_tls_server.port, username=SMTP_USER, password=SMTP_PASSWORD)
    with pytest.raises(ssl.SSLCertVerificationError):
        notifier.send(notice)
    assert smtp_tls_server.logins == []
    assert smtp_tls_server.messages == []


def test_a_wrong_password_is_an_error_and_nothing_is_sent(
    smtp_tls_server: SmtpServer, tls_files: TlsFiles, notice: Notice
) -> None:
    notifier = email(
        smtp_host="127.0.0.1",
        smtp_port=smtp_tls_server.port,
        ca_file=str(tls_files.ca_file),
        username=SMTP_USER,
        password="not-the-password",
    )
    with pytest.raises(smtplib.SMTPAuthenticationError):
        notifier.send(notice)
    assert smtp_tls_server.messages == []


def test_starttls_is_never_silently_skipped(smtp_server: Any, notice: Notice) -> None:
    notifier = email(smtp_host=smtp_server.host, smtp_port=smtp_server.port, security="starttls")
    with pytest.raises(smtplib.SMTPNotSupportedError):
        notifier.send(notice)
    assert smtp_server.messages == []


def test_a_refused_connection_raises(notice: Notice) -> None:
    notifier = email(smtp_host="127.0.0.1", smtp_port=free_port(), security="none", timeout_seconds=2)
    with pytest.raises(ConnectionRefusedError):
        notifier.send(notice)


def test_a_server_that_never_answers_times_out(hanging_server: HangingTcpServer, notice: Notice) -> None:
    notifier = email(smtp_host="127.0.0.1", smtp_port=hanging_server.port, security="none", timeout_seconds=0.5)
    with pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected)):
        notifier.send(notice)
    assert len(hanging_server.connections) == 1


def test_default_ports_follow_the_security_setting() -> None:
    ports = {
        security: email(smtp_host="mail", security=security).describe() for security in ("starttls", "ssl", "none")
    }
    assert ports == {"starttls": "EMAIL(mail:587)", "ssl": "EMAIL(mail:465)", "none": "EMAIL(mail:25)"}


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"recipients": ["team@example.com", "no address"]}, ".recipients: 'no address' is not an e-mail address"),
        ({"recipients": []}, ".recipients: List should have at least 1 item after validation, not 0"),
        ({"username": "alerts"}, ": username and password go together"),
        ({"security": "tls"}, ".security: 'tls' is not one of starttls, ssl, none"),
        ({"security": "none", "ca_file": __file__}, ": ca_file needs security starttls or ssl"),
        ({"ca_file": "/no/such/ca.pem"}, ".ca_file: /no/such/ca.pem is not a readable file"),
        ({"timeout_seconds": 0}, ".timeout_seconds: Input should be greater than 0"),
        ({"smtp_hots": "mail"}, ".smtp_hots: unknown field (check the spelling)"),
    ],
)
def test_config_errors_name_the_field_inside_the_slot(fields: dict[str, Any], error: str) -> None:
    channel = {
        "notification_service": "EMAIL",
        "smtp_host": "mail",
        "sender": "dwh@example.com",
        "recipients": ["team@example.com"],
        **fields,
    }
    slots = {"job_failed_notifications": [{"notification_service": "NOOP"}, channel]}
    with pytest.raises(ConfigError) as caught:
        validate_model(JobConfig, slots, argument="--x")
    assert str(caught.value) == f"--x: job_failed_notifications[1]{error}"
