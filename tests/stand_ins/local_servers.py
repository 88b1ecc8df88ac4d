"""Real local servers the notification tests talk to: TLS material, SMTP with TLS/AUTH, a hanging TCP server, SNS->SQS.

Shared by tests/strategies/notifications (channel tests) and tests/jobs (end-to-end through
generic_entry), so they live in an importable module rather than in one folder's conftest.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any, Literal

#: The login the AUTH-requiring SMTP servers of the tests accept.
SMTP_USER = "alerts"
SMTP_PASSWORD = "smtp-Pa55word-7f3a"


@dataclass(frozen=True)
class TlsFiles:
    """A throw-away CA and a server certificate for 127.0.0.1 / localhost it signed (PEM files)."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """An SSL context a server presents the certificate with."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_tls_files(directory: Path) -> TlsFiles:
    """Generate a CA and a server certificate (SAN 127.0.0.1, localhost) into `directory`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = _ca_certificate(ca_key)
    server_cert = _server_certificate(ca_key, ca_cert, server_key)
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


def _builder(subject: Any, issuer: Any, public_key: Any) -> Any:
    from cryptography import x509

    now = dt.datetime.now(dt.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )


def _ca_certificate(ca_key: Any) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dwh test CA")])
    return (
        _builder(name, name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _server_certificate(ca_key: Any, ca_cert: Any, server_key: Any) -> Any:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        _builder(subject, ca_cert.subject, server_key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _key_usage(*, cert_sign: bool) -> Any:
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class SmtpServer:
    """A running aiosmtpd server: what it received, which logins it saw, and `stop()`."""

    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    raw_messages: list[bytes] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    controller: Any = None

    def stop(self) -> None:
        """Stop the server thread."""
        self.controller.stop()


def start_smtp_server(
    *,
    security: Literal["starttls", "ssl", "none"],
    tls: TlsFiles | None = None,
    users: dict[str, str] | None = None,
) -> SmtpServer:
    """Start aiosmtpd on a free port; with `users`, AUTH is required before MAIL."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = SmtpServer(host="127.0.0.1", port=port)

    class Handler:
        async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
            server.raw_messages.append(envelope.original_content or envelope.content)
            server.messages.append(message_from_bytes(envelope.content))
            server.recipients.append(list(envelope.rcpt_tos))
            return "250 OK"

    def authenticator(smtp: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        login, password = auth_data.login.decode(), auth_data.password.decode()
        server.logins.append((login, password))
        # handled=False: aiosmtpd itself answers a failed login with 535.
        return AuthResult(success=(users or {}).get(login) == password, handled=False)

    options: dict[str, Any] = {}
    if users is not None:
        # aiosmtpd only sees TLS it negotiated itself (STARTTLS); under implicit TLS the check must be off
        # (it then warns "Requiring AUTH while not requiring TLS" for every connection).
        options.update(authenticator=authenticator, auth_required=True, auth_require_tls=security == "starttls")
    if security == "starttls":
        assert tls is not None
        options.update(tls_context=tls.server_context(), require_starttls=True)
    if security == "ssl":
        assert tls is not None
        options.update(ssl_context=tls.server_context())
    server.controller = Controller(Handler(), hostname=server.host, port=port, **options)
    server.controller.start()
    return server


class HangingTcpServer:
    """Accepts TCP connections and never sends a byte: the worst kind of broken server."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="hanging-tcp", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections.append(connection)

    def stop(self) -> None:
        """Close the listener and every held connection."""
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in self.connections:
            connection.close()
        self._sock.close()


@dataclass
class SubscribedQueue:
    """An SNS topic with an SQS queue subscribed to it, on the moto server boto3 is pointed at."""

    topic_arn: str
    queue_url: str
    sqs: Any

    def receive(self, count: int = 1, *, wait_seconds: float = 15.0) -> list[dict[str, Any]]:
        """The SNS envelopes (``Subject``, ``Message``, ``MessageAttributes``) of up to `count` messages."""
        envelopes: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_seconds
        while len(envelopes) < count and time.monotonic() < deadline:
            response = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in response.get("Messages", []):
                envelopes.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return envelopes


def subscribe_queue(region: str = "us-east-1", *, fifo: bool = False) -> SubscribedQueue:
    """Create a topic and a queue on the current AWS endpoint and subscribe the queue to the topic."""
    import boto3

    name = f"dwh-notices-{uuid.uuid4().hex[:8]}" + (".fifo" if fifo else "")
    sns, sqs = boto3.client("sns", region_name=region), boto3.client("sqs", region_name=region)
    attributes = {"FifoTopic": "true"} if fifo else {}
    topic_arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"} if fifo else {})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return SubscribedQueue(topic_arn=topic_arn, queue_url=queue_url, sqs=sqs)
