"""Session-wide real services for the suite: one local SparkSession, PostgreSQL, moto, SMTP.

Each service is started by the first test that needs it and stopped at the end of the run.
Nothing here mocks our own boundaries: the code under test talks to real servers on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from dwh.devtools.local_postgres import LocalPostgres, free_port, start_local_postgres
from dwh.secrets import SCRUBBER

#: Fixtures of the stand-ins, available to every test by name.
pytest_plugins = ["tests.stand_ins.jobs_api"]
ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("DWH_WAREHOUSE_DIR", tempfile.mkdtemp(prefix="dwh-warehouse-"))


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """Each test starts with an empty secret scrubber (secrets are process-wide by design)."""
    SCRUBBER.clear()
    yield
    SCRUBBER.clear()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local SparkSession for the whole run (start-up costs ~8 s); DWH_SPARK_CONNECT=1: a Spark Connect client."""
    os.environ.setdefault("DWH_SPARK_MASTER", "local[2]")
    os.environ.setdefault("DWH_SHUFFLE_PARTITIONS", "4")
    from dwh.platforms.spark import local_session_builder

    if os.environ.get("DWH_SPARK_CONNECT") == "1":  # the Spark Connect lane (tests/engines/connect/conftest.py)
        from dwh.platforms.spark_connect import start_local_connect

        session = start_local_connect(local_session_builder("dwh-tests"), export_remote=True, log_level="ERROR")
    else:
        session = _classic_session(local_session_builder)
        session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _classic_session(local_session_builder: Any) -> Any:
    """The classic session, with hadoop-aws on it when cached (tests/engines/s3 needs s3a://).

    DWH_SPARK_S3A is set only while the session is built: left in the environment it would reach every
    subprocess the tests start (spark-submit, generic_entry children), which must decide for themselves.
    """
    from dwh.platforms import jvm_artifacts

    asked = "DWH_SPARK_S3A" not in os.environ and bool(jvm_artifacts.cached_jars(jvm_artifacts.s3a_group()))
    if asked:
        os.environ["DWH_SPARK_S3A"] = "1"
    try:
        return local_session_builder("dwh-tests").getOrCreate()
    finally:
        if asked:
            os.environ.pop("DWH_SPARK_S3A", None)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPostgres]:
    """A real PostgreSQL server started from the machine's binaries."""
    data_dir = Path(tempfile.mkdtemp(prefix="dwh-pg-"))
    data_dir.chmod(0o755)  # mkdtemp makes it 0700; as root, the server runs as postgres and must get through
    server = start_local_postgres(data_dir / "data")
    yield server
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def postgres_db(postgres_server: LocalPostgres) -> Iterator[LocalPostgres]:
    """A fresh, empty database on the shared server for one test."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server.conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield LocalPostgres(data_dir=postgres_server.data_dir, port=postgres_server.port, dbname=name)
    with psycopg.connect(postgres_server.conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's standalone server on 127.0.0.1; real boto3 talks to it over HTTP."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 (in this process and in subprocesses) at the moto server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return moto_endpoint


@dataclass
class SmtpSink:
    """A real aiosmtpd server that keeps every message it receives."""

    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """An aiosmtpd SMTP server on 127.0.0.1 collecting messages."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink(host="127.0.0.1", port=free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            sink.envelopes.append(envelope)
            sink.messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    controller = Controller(Handler(), hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()
