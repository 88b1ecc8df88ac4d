"""EMAIL: a plain-text notice over SMTP (STARTTLS, implicit SSL or none), several recipients, auth from a secret.

    {"notification_service": "EMAIL", "smtp_host": "smtp.example.com", "security": "starttls",
     "username": "alerts", "password": "env:SMTP_PASSWORD",
     "sender": "dwh@example.com", "recipients": ["team@example.com", "oncall@example.com"]}

Every socket operation (connect, TLS handshake, each command) is bounded by ``timeout_seconds``.
TLS always verifies the server's certificate and host name; ``ca_file`` replaces the system CA
store with a PEM bundle (a corporate CA, or a test CA). Nothing here resolves DNS names other than
``smtp_host`` itself, so a broken resolver cannot hang the job.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from dwh.config import Secret
from dwh.strategies.notifications.base import Notice, Notifier, one_line

#: The port each kind of transport security uses unless ``smtp_port`` says otherwise.
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")


class EmailNotifier(Notifier):
    """Sends the notice as a plain-text e-mail to every recipient in one SMTP transaction."""

    service: ClassVar[str] = "EMAIL"
    notification_service: Literal["EMAIL"] = "EMAIL"
    smtp_host: str = Field(..., min_length=1, description="SMTP server host name.")
    smtp_port: int | None = Field(
        None, ge=1, le=65535, description="SMTP port; default 587 for starttls, 465 for ssl, 25 for none."
    )
    security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="starttls (upgrade after connect), ssl (implicit TLS) or none (trusted relay only)."
    )
    ca_file: str | None = Field(
        None, description="PEM file of CA certificates to trust instead of the system store (corporate CA)."
    )
    username: str | None = Field(None, description="SMTP login; omit for an unauthenticated relay.")
    password: Secret | None = Field(None, description="SMTP password (literal or secret reference, e.g. env:NAME).")
    sender: str = Field(..., description="From address.")
    recipients: list[str] = Field(..., min_length=1, description="To addresses (one message to all of them).")
    subject_prefix: str = Field("[dwh]", description="Prepended to every subject.")
    local_hostname: str | None = Field(
        None, description="Name sent with EHLO; default this machine's host name (no DNS lookup)."
    )

    @field_validator("sender")
    @classmethod
    def _sender_is_address(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value

    @field_validator("recipients")
    @classmethod
    def _recipients_are_addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not _ADDRESS.match(address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return value

    @field_validator("ca_file")
    @classmethod
    def _ca_file_exists(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"{value} is not a readable file")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EmailNotifier:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.ca_file is not None and self.security == "none":
            raise ValueError("ca_file needs security starttls or ssl")
        return self

    @property
    def port(self) -> int:
        """The port to connect to (``smtp_port`` or the default of ``security``)."""
        return self.smtp_port or DEFAULT_PORTS[self.security]

    def describe(self) -> str:
        """Channel name with the server (never the credentials)."""
        return f"EMAIL({self.smtp_host}:{self.port})"

    def send(self, notice: Notice) -> None:
        """Deliver the notice; raises on any SMTP, TLS or network error and when a recipient is refused."""
        message = self.build_message(notice)
        smtp = self._connect()
        with smtp:
            if self.security == "starttls":
                # Raises SMTPNotSupportedError when the server does not offer STARTTLS: never downgrade.
                smtp.starttls(context=self._tls_context())
            if self.username is not None and self.password is not None:
                smtp.login(self.username, self.password.get_secret_value())
            refused = smtp.send_message(message)
        if refused:
            detail = ", ".join(f"{address} ({code})" for address, (code, _) in sorted(refused.items()))
            raise RuntimeError(f"SMTP server refused {len(refused)} of {len(self.recipients)} recipients: {detail}")

    def build_message(self, notice: Notice) -> EmailMessage:
        """The e-mail for `notice`: one-line subject with the prefix, plain-text body."""
        message = EmailMessage()
        message["Subject"] = one_line(f"{self.subject_prefix} {notice.subject}")
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Date"] = formatdate(usegmt=True)
        # make_msgid would otherwise look up this host's FQDN in DNS.
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2])
        message.set_content(notice.text)
        return message

    def _connect(self) -> smtplib.SMTP:
        hostname = self.local_hostname or socket.gethostname()
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.smtp_host,
                self.port,
                local_hostname=hostname,
                timeout=self.timeout_seconds,
                context=self._tls_context(),
            )
        return smtplib.SMTP(self.smtp_host, self.port, local_hostname=hostname, timeout=self.timeout_seconds)

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)
