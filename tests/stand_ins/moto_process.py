"""moto's S3 (and every other service it serves) as its own process: ``python -m moto.server`` on 127.0.0.1.

The suite's ``moto_endpoint`` runs moto in a thread of the test process. That is fine for boto3, but not for
a client that blocks the interpreter while it talks HTTP: some delta-rs calls keep the GIL for their whole S3
round-trip (``DeltaTable.is_deltatable`` in deltalake 1.6.6 hangs against in-process moto, while
``DeltaTable(uri)`` and ``write_deltalake`` release it; delta-rs#4402 lists ``update_incremental`` too), so
the in-process Werkzeug server never gets to answer. A separate process has its own interpreter, so delta-rs,
pyarrow's S3 file system and the JVM's S3A all reach it as they would reach S3.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dwh.devtools.local_postgres import free_port

START_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class MotoProcess:
    """A running ``moto.server`` process: its endpoint and its log."""

    endpoint: str
    pid: int
    log: Path

    def reset(self) -> None:
        """Forget every bucket and resource (moto's ``/moto-api/reset``)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass


@contextmanager
def moto_process() -> Iterator[MotoProcess]:
    """Start ``python -m moto.server -H 127.0.0.1 -p <free port>``; wait until it answers; stop its group after."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="dwh-moto-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(endpoint, process, log)
        yield MotoProcess(endpoint=endpoint, pid=process.pid, log=log)
    finally:
        stop_process_group(process)
        log.unlink(missing_ok=True)


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group a server leads (``start_new_session=True``), SIGKILL it after 20 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


def _wait_until_up(endpoint: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto.server exited {process.returncode} at start:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"moto.server did not answer on {endpoint} within {START_TIMEOUT_SECONDS} s")
