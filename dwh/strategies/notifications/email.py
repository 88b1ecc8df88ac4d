"""EMAIL: a plain-text notice over SMTP (STARTTLS, SSL or plain), several recipients, auth from a secret."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from dwh.config import Secret
from dwh.strategies.notifications.base import Notice, Notifier


class EmailNotifier(Notifier):
    """Sends the notice as a plain-text e-mail through an SMTP server."""

    service: ClassVar[str] = "EMAIL"
    notification_service: Literal["EMAIL"] = "EMAIL"
    smtp_host: str = Field(..., description="SMTP server host name.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 SSL, 25 plain).")
    security: Literal["starttls", "ssl", "none"] = Field("starttls", description="Transport security.")
    username: str | None = Field(None, description="SMTP login; omit for an unauthenticated relay.")
    password: Secret | None = Field(None, description="SMTP password (literal or secret reference).")
    sender: str = Field(..., description="From address.")
    recipients: list[str] = Field(..., min_length=1, description="To addresses.")
    subject_prefix: str = Field("[dwh]", description="Prepended to every subject.")

    @model_validator(mode="after")
    def _auth_pair(self) -> EmailNotifier:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        return self

    def describe(self) -> str:
        """Channel name with the server (never the credentials)."""
        return f"EMAIL({self.smtp_host}:{self.smtp_port})"

    def send(self, notice: Notice) -> None:
        """Deliver the notice to every recipient in one SMTP transaction."""
        message = EmailMessage()
        message["Subject"] = f"{self.subject_prefix} {notice.subject}".strip()
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message.set_content(notice.text)
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(self.smtp_host, self.smtp_port, timeout=self.timeout_seconds, context=context)
        else:
            smtp = smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=self.timeout_seconds)
        with smtp:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username and self.password:
                smtp.login(self.username, self.password.get_secret_value())
            smtp.send_message(message)
