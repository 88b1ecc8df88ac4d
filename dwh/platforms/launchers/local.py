"""LOCAL: run a job as a detached ``generic_entry`` process on this machine.

    {"launcher": "LOCAL", "runs_dir": "/var/lib/dwh/runs"}     # runs_dir: default <warehouse>/dwh_runs

Each run has its own directory ``<runs_dir>/<run_id>`` holding ``run.log`` (the process's stdout and
stderr), ``pid.json`` (pid + the process's start time, for an operator and so that a reused pid is
not taken for ours) and ``exit_code``, which the child (`local_child`) writes when it ends.

The run id is derived from the idempotency key and the directory is created with one atomic
``mkdir``: a second launch with the same key finds the directory, returns that run and starts
nothing (`idempotent`). `launch` imports nothing heavy and does not wait for the child.

States: ``exit_code`` 0 is SUCCEEDED; another code is FAILED ("exit code N: <last log line>"); no
exit code and the process alive is RUNNING; no exit code and the process gone (or a zombie) is
FAILED "process ended without an exit code".
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from dwh.platforms.launchers.base import LaunchedRun, Launcher, LaunchError, LaunchState, RunState, as_argv, map_state
from dwh.platforms.launchers.local_child import EXIT_FILE, write_atomically
from dwh.secrets import SCRUBBER

LOG_FILE, PID_FILE = "run.log", "pid.json"
#: The LOCAL launcher's own platform states.
LOCAL_STATES: Mapping[str, RunState] = {
    "STARTING": RunState.PENDING,  # the run directory exists, the process is not recorded yet
    "RUNNING": RunState.RUNNING,
    "SUCCEEDED": RunState.SUCCEEDED,
    "FAILED": RunState.FAILED,  # ended with a non-zero exit code
    "DIED": RunState.FAILED,  # ended without an exit code (SIGKILL, the machine went down)
    "NOT_STARTED": RunState.FAILED,  # the launching process died before it recorded a process
}
#: How long a run directory may lack a recorded process before the launch counts as never started.
START_GRACE_SECONDS = 60.0
#: Children this process started, kept so that `state` reaps them (no zombies in long-lived launchers).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
_CHILDREN_LOCK = threading.Lock()


def default_runs_dir() -> Path:
    """``<warehouse>/dwh_runs``, the warehouse being ``DWH_WAREHOUSE_DIR`` or ./spark-warehouse."""
    return Path(os.environ.get("DWH_WAREHOUSE_DIR") or "spark-warehouse") / "dwh_runs"


def local_run_id(key: str) -> str:
    """A directory name from the idempotency key: its sanitised head plus a short hash of the whole key."""
    if not key:
        raise LaunchError("LOCAL: an idempotency key is required")
    head = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._-")[:60] or "run"
    return f"{head}-{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


class LocalLauncher(Launcher):
    """Starts ``generic_entry`` in a new session of this machine, with the same interpreter."""

    launcher: Literal["LOCAL"] = "LOCAL"
    runs_dir: str | None = Field(None, description="Where run directories go; default <warehouse>/dwh_runs.")

    idempotent: ClassVar[bool] = True
    STATES: ClassVar[Mapping[str, RunState]] = LOCAL_STATES

    def runs_path(self) -> Path:
        """The runs directory as an absolute path."""
        return (Path(self.runs_dir) if self.runs_dir else default_runs_dir()).absolute()

    def command(self, run_dir: Path, job: str | None, parameters: Mapping[str, str]) -> list[str]:
        """The child's command line."""
        return [
            sys.executable,
            "-m",
            "dwh.platforms.launchers.local_child",
            str(run_dir),
            "--",
            *as_argv(job, parameters),
        ]

    def launch(self, job: str | None, parameters: Mapping[str, str], key: str) -> LaunchedRun:
        """Start the run of `key` unless its directory already exists; returns without waiting for the child."""
        run_id = local_run_id(key)
        runs = self.runs_path()
        try:
            runs.mkdir(parents=True, exist_ok=True)
            (runs / run_id).mkdir()  # the claim: exactly one launch per key gets here
        except FileExistsError:
            return self._launched(run_id)
        except OSError as exc:
            raise LaunchError(f"LOCAL: cannot create the run directory under {runs}: {exc.strerror}") from None
        self._start(runs / run_id, self.command(runs / run_id, job, parameters), key)
        return self._launched(run_id)

    def _start(self, run_dir: Path, command: list[str], key: str) -> None:
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}  # the log follows the run line by line
        try:
            with open(run_dir / LOG_FILE, "ab") as log, open(os.devnull, "rb") as devnull:
                child = subprocess.Popen(
                    command,
                    stdin=devnull,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env=environment,
                )
        except OSError as exc:
            write_atomically(
                run_dir / EXIT_FILE, "127\n"
            )  # the run exists and has failed: a retry with this key sees it
            raise LaunchError(f"LOCAL: cannot start {command[0]}: {exc.strerror}") from None
        with _CHILDREN_LOCK:
            _CHILDREN[child.pid] = child
        record = {
            "pid": child.pid,
            "start_time": process_start_time(child.pid),
            "key": key,
            "command": [SCRUBBER.scrub(part) for part in command],
        }
        write_atomically(run_dir / PID_FILE, json.dumps(record, indent=2) + "\n")

    def _launched(self, run_id: str) -> LaunchedRun:
        run_dir = self.runs_path() / run_id
        record = read_pid_record(run_dir)
        detail = {"run_dir": str(run_dir), "log": str(run_dir / LOG_FILE)}
        if record is not None:
            detail["pid"] = str(record[0])
        return LaunchedRun(launcher=self.launcher, run_id=run_id, run_url=(run_dir / LOG_FILE).as_uri(), detail=detail)

    def state(self, run: LaunchedRun) -> LaunchState:
        """Read the run directory: exit code, else whether the recorded process is still alive."""
        run_dir = self.runs_path() / run.run_id
        if not run_dir.is_dir():
            raise LaunchError(f"LOCAL: no run {run.run_id} under {self.runs_path()}")
        reap_children()
        finished = self._finished(run_dir)
        if finished is not None:
            return finished
        record = read_pid_record(run_dir)
        if record is None:
            if time.time() - run_dir.stat().st_mtime < START_GRACE_SECONDS:
                return self._state("STARTING", None, run_dir)
            return self._state("NOT_STARTED", "the launch never recorded a process", run_dir)
        if process_alive(*record):
            return self._state("RUNNING", None, run_dir)
        # It may have written its exit code and ended between the two reads.
        return self._finished(run_dir) or self._state("DIED", "process ended without an exit code", run_dir)

    def _finished(self, run_dir: Path) -> LaunchState | None:
        code = read_exit_code(run_dir)
        if code is None:
            return None
        if code == 0:
            return self._state("SUCCEEDED", None, run_dir)
        last = last_log_line(run_dir / LOG_FILE)
        return self._state("FAILED", f"exit code {code}" + (f": {last}" if last else ""), run_dir)

    def _state(self, platform_state: str, message: str | None, run_dir: Path) -> LaunchState:
        state = map_state(self.STATES, platform_state, launcher=self.launcher)
        return LaunchState(state, platform_state, message, (run_dir / LOG_FILE).as_uri())


def reap_children() -> None:
    """Collect the exit status of children this process started that have ended."""
    with _CHILDREN_LOCK:
        for pid, child in list(_CHILDREN.items()):
            if child.poll() is not None:
                del _CHILDREN[pid]


def read_exit_code(run_dir: Path) -> int | None:
    """The code in ``exit_code``, or None while there is none."""
    try:
        return int((run_dir / EXIT_FILE).read_text(encoding="utf-8").strip())
    except FileNotFoundError:
        return None
    except ValueError:
        return 1  # written by something else than the child: not a success


def read_pid_record(run_dir: Path) -> tuple[int, int | None] | None:
    """(pid, start time in clock ticks or None) from ``pid.json``, or None when not written yet."""
    try:
        data = json.loads((run_dir / PID_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    start = data.get("start_time")
    return int(data["pid"]), (int(start) if start is not None else None)


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), or None when absent."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()  # the command name may hold spaces and parentheses


def process_start_time(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat); None without /proc."""
    fields = _proc_stat(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def process_alive(pid: int, start_time: int | None) -> bool:
    """True when `pid` runs and is the process that started at `start_time` (a zombie counts as dead)."""
    fields = _proc_stat(pid)
    if fields is None:
        if Path("/proc/self/stat").exists():
            return False
        try:  # no /proc (macOS): only whether some process has this pid
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    if fields[0] in ("Z", "X"):
        return False
    return start_time is None or len(fields) <= 19 or int(fields[19]) == start_time


def last_log_line(log: Path, limit: int = 8192) -> str | None:
    """The last non-empty line of the log (read from its end), secrets masked."""
    try:
        with open(log, "rb") as handle:
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - limit))
            tail = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return SCRUBBER.scrub(lines[-1])[:500] if lines else None
