"""Notifications end to end through the real ``generic_entry`` console script, a Spark-free test job and real servers.

Proves: broken channels (refused SMTP, Slack 500, an SMTP server that never answers) change neither the
exit code nor the other channels (SNS still arrives in a subscribed SQS queue); channel lists in a slot
send to all; the default notice carries window, created_by, steps, quality, error and the run report;
secrets given as ``env:`` appear in no stderr line, no notice and not in the run report, masked as ``***``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from dwh.devtools.local_postgres import free_port
from tests.stand_ins.local_servers import (
    SMTP_PASSWORD,
    SMTP_USER,
    HangingTcpServer,
    SmtpServer,
    SubscribedQueue,
    make_tls_files,
    start_smtp_server,
    subscribe_queue,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / ".venv" / "bin" / "generic_entry"
WEBHOOK_PATH = "/services/T0E2E/B0E2E/e2e-hook"
API_TOKEN = 'api-"tok3n-5150'  # a quote inside: masking must not depend on how a text escapes it
SLACK_TOKEN = "xoxb-e2e-slack-token-8080"


@dataclass
class Finished:
    """What a user sees of one generic_entry run: exit code and output."""

    returncode: int
    stdout: str
    stderr: str

    def run_report(self) -> dict[str, Any]:
        """The run report JSON line from the log."""
        [line] = [line for line in self.stderr.splitlines() if " run_report {" in line]
        return dict(json.loads(line.split(" run_report ", 1)[1]))


FIXTURES = "tests.jobs.fixtures_jobs"


def run_job(config: dict[str, Any], **env: str) -> Finished:
    """Run the notice test job through the installed console script, as a scheduler would."""
    environment = {
        **os.environ,
        "DWH_ALLOWED_MODULE_PREFIXES": "tests.jobs.fixtures_jobs",
        "DWH_LOG_LEVEL": "INFO",
        **env,
    }
    environment.pop("DWH_SERVICE_PROVIDER", None)
    argv = [
        str(ENTRY),
        "--module_name",
        "tests.jobs.fixtures_jobs.notice_job_factory",
        "--notice_job",
        json.dumps(config),
    ]
    argv += ["--start_date", "2025-03-01", "--end_date", "2025-03-02", "--created_by", "airflow-e2e"]
    done = subprocess.run(argv, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    return Finished(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def sns_queue(aws_env: str) -> SubscribedQueue:
    """An SNS topic on the moto server with an SQS queue subscribed (the subprocess inherits AWS_ENDPOINT_URL)."""
    return subscribe_queue()


@pytest.fixture
def tls_smtp(tmp_path: Path) -> Iterator[tuple[SmtpServer, Path]]:
    """An SMTP server requiring STARTTLS + AUTH, and the CA file that trusts its certificate."""
    tls = make_tls_files(tmp_path)
    server = start_smtp_server(security="starttls", tls=tls, users={SMTP_USER: SMTP_PASSWORD})
    yield server, tls.ca_file
    server.stop()


@pytest.fixture
def hanging_server() -> Iterator[HangingTcpServer]:
    """A TCP server that accepts and never answers."""
    server = HangingTcpServer()
    yield server
    server.stop()


def email(port: int, **fields: Any) -> dict[str, Any]:
    """An EMAIL channel block to 127.0.0.1:`port`."""
    return {
        "notification_service": "EMAIL",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "security": "none",
        "sender": "dwh@example.com",
        "recipients": ["team@example.com", "oncall@example.com"],
        "timeout_seconds": 3,
        **fields,
    }


def broken_channels_and_sns(httpserver: HTTPServer, queue: SubscribedQueue) -> list[dict[str, Any]]:
    """A refused SMTP port, a Slack webhook answering 500, and a working SNS topic."""
    httpserver.expect_request(WEBHOOK_PATH).respond_with_data("internal_error", status=500)
    return [
        email(free_port()),
        {"notification_service": "SLACK", "webhook_url": httpserver.url_for(WEBHOOK_PATH), "timeout_seconds": 3},
        {"notification_service": "SNS", "topic_arn": queue.topic_arn, "timeout_seconds": 3},
    ]


def test_success_exits_0_although_email_is_refused_and_slack_answers_500(
    httpserver: HTTPServer, sns_queue: SubscribedQueue
) -> None:
    channels = broken_channels_and_sns(httpserver, sns_queue)
    run = run_job({"api_token": "literal-token", "job_success_notifications": channels})

    assert run.returncode == 0, run.stderr
    assert "success notice via 0:EMAIL(127.0.0.1:" in run.stderr
    assert "failed: ConnectionRefusedError" in run.stderr
    assert "success notice via 1:SLACK(webhook) failed: RuntimeError: Slack webhook answered HTTP 500" in run.stderr
    assert len(httpserver.log) >= 1  # Slack was really called
    [envelope] = sns_queue.receive(1)
    assert envelope["Subject"].startswith("notice_job succeeded (LOCAL, run local-")


def test_failure_exits_1_although_email_is_refused_and_slack_answers_500(
    httpserver: HTTPServer, sns_queue: SubscribedQueue
) -> None:
    channels = broken_channels_and_sns(httpserver, sns_queue)
    config = {"api_token": "literal-token", "fail_with": "source API down", "job_failed_notifications": channels}
    run = run_job(config)

    assert run.returncode == 1
    assert run.stderr.splitlines()[-1] == (
        "generic_entry: notice_job failed: RuntimeError: source API down (source API rejected token ***)"
    )
    assert "failure notice via 1:SLACK(webhook) failed: RuntimeError: Slack webhook answered HTTP 500" in run.stderr
    [envelope] = sns_queue.receive(1)
    assert envelope["Subject"].startswith("notice_job FAILED (LOCAL, run local-")
    assert "error: RuntimeError: source API down (source API rejected token ***)" in envelope["Message"]


def test_an_smtp_server_that_never_answers_does_not_hold_the_job(
    hanging_server: HangingTcpServer, sns_queue: SubscribedQueue
) -> None:
    channels = [
        email(hanging_server.port, timeout_seconds=1),
        {"notification_service": "SNS", "topic_arn": sns_queue.topic_arn},
    ]
    run = run_job({"api_token": "literal-token", "job_success_notifications": channels})

    assert run.returncode == 0, run.stderr
    [hung] = [line for line in run.stderr.splitlines() if "success notice via 0:EMAIL" in line]
    assert "failed: " in hung and "timed out" in hung
    assert len(sns_queue.receive(1)) == 1


def test_default_notice_has_window_created_by_steps_quality_and_run_report(smtp_server: Any) -> None:
    channel = email(smtp_server.port)
    config = {"api_token": "literal-token", "failing_quality_rows": 2}
    run = run_job({**config, "job_success_notifications": channel, "data_quality_notifications": [channel]})

    assert run.returncode == 0, run.stderr
    report = run.run_report()
    run_id = report["context"]["run_ids"]["run_id"]
    subjects = [message["Subject"] for message in smtp_server.messages]
    assert subjects == [
        f"[dwh] notice_job succeeded (LOCAL, run {run_id})",
        f"[dwh] notice_job data-quality issues (LOCAL, run {run_id})",
    ]
    body = decoded(smtp_server.messages[0])
    assert body.startswith(f"notice_job succeeded (LOCAL, run {run_id})\n\n")
    assert "window: 2025-03-01 .. 2025-03-02 (end exclusive)" in body
    assert "created_by: airflow-e2e    wheel: " in body
    assert "step extract: rows in None, rows out 3," in body
    assert "step load: rows in 3, rows out 3," in body
    assert "quality amount_positive [warn]: 2 failing rows (amount > 0)" in body
    assert json.loads(body.split("run report:\n", 1)[1]) == report


def decoded(message: Any) -> str:
    """The plain-text body of a received message, transfer encoding undone."""
    payload: bytes = message.get_payload(decode=True)
    return payload.decode(message.get_content_charset() or "utf-8").replace("\r\n", "\n")


def secret_config(smtp: SmtpServer, ca_file: Path, httpserver: HTTPServer, queue: SubscribedQueue) -> dict[str, Any]:
    """A failing run whose token, SMTP password and Slack token are all ``env:`` references; two list slots."""
    httpserver.expect_request("/api/chat.postMessage").respond_with_json({"ok": True, "channel": "C1", "ts": "1.1"})
    secure_email = email(
        smtp.port, security="starttls", ca_file=str(ca_file), username=SMTP_USER, password="env:DWH_E2E_SMTP_PASSWORD"
    )
    slack = {
        "notification_service": "SLACK",
        "token": "env:DWH_E2E_SLACK_TOKEN",
        "channel": "#data-alerts",
        "api_base_url": httpserver.url_for("/api/"),
    }
    return {
        "api_token": "env:DWH_E2E_API_TOKEN",
        "fail_with": "source API down",
        "failing_quality_rows": 2,
        "job_failed_notifications": [
            secure_email,
            slack,
            {"notification_service": "SNS", "topic_arn": queue.topic_arn},
        ],
        "data_quality_notifications": [secure_email, slack],
    }


def assert_no_secret_in(outputs: list[str]) -> None:
    """None of the three secrets, as is or JSON-escaped, occurs in any output."""
    for secret in (API_TOKEN, SMTP_PASSWORD, SLACK_TOKEN):
        for form in {secret, json.dumps(secret)[1:-1]}:
            for output in outputs:
                assert form not in output


def test_env_secrets_appear_nowhere_and_every_channel_of_a_slot_is_told(
    tls_smtp: tuple[SmtpServer, Path], httpserver: HTTPServer, sns_queue: SubscribedQueue
) -> None:
    smtp, ca_file = tls_smtp
    config = secret_config(smtp, ca_file, httpserver, sns_queue)
    secrets = {"DWH_E2E_API_TOKEN": API_TOKEN, "DWH_E2E_SMTP_PASSWORD": SMTP_PASSWORD}
    run = run_job(config, **secrets, DWH_E2E_SLACK_TOKEN=SLACK_TOKEN)

    assert run.returncode == 1, run.stderr
    # The references were resolved and used: the servers saw the real credentials...
    assert smtp.logins == [(SMTP_USER, SMTP_PASSWORD)] * 2
    assert [request.headers["Authorization"] for request, _ in httpserver.log] == [f"Bearer {SLACK_TOKEN}"] * 2
    # ...and every channel of both slots was told (failure: EMAIL, SLACK, SNS; data quality: EMAIL, SLACK).
    assert [message["Subject"].split(" (")[0] for message in smtp.messages] == [
        "[dwh] notice_job FAILED",
        "[dwh] notice_job data-quality issues",
    ]
    assert [request.get_json()["channel"] for request, _ in httpserver.log] == ["#data-alerts"] * 2
    envelopes = sns_queue.receive(1)
    assert len(envelopes) == 1

    report = run.run_report()
    emails = [raw.decode("utf-8", "replace") for raw in smtp.raw_messages] + [decoded(m) for m in smtp.messages]
    slack_bodies = [request.get_data(as_text=True) for request, _ in httpserver.log]
    slack_bodies += [request.get_json()["text"] for request, _ in httpserver.log]
    sns_bodies = [json.dumps(envelope) for envelope in envelopes] + [envelope["Message"] for envelope in envelopes]
    assert_no_secret_in([run.stderr, run.stdout, json.dumps(report), *emails, *slack_bodies, *sns_bodies])

    masked_error = "RuntimeError: source API down (source API rejected token ***)"
    assert "calling the source API with token *** for airflow-e2e" in run.stderr
    assert report["error"] == masked_error
    assert f"error: {masked_error}" in decoded(smtp.messages[0])
    assert f"error: {masked_error}" in httpserver.log[0][0].get_json()["text"]
    assert f"error: {masked_error}" in envelopes[0]["Message"]
