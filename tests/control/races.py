"""Run two race_worker processes against the same store at the same moment and collect what each won."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def race(spec: dict[str, Any], mode: str, owners: tuple[str, ...] = ("p1", "p2")) -> dict[str, list[Any]]:
    """Start one worker per owner, release them together, and return owner -> what it won."""
    workers = {
        owner: subprocess.Popen(
            [sys.executable, "-m", "tests.control.race_worker", json.dumps(spec), owner, mode],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for owner in owners
    }
    try:
        for worker in workers.values():
            assert worker.stdout is not None
            ready = worker.stdout.readline().strip()
            assert ready == "ready", worker.communicate()[1]
        for worker in workers.values():
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = {}
        for owner, worker in workers.items():
            out, err = worker.communicate(timeout=300)
            assert worker.returncode == 0, err
            results[owner] = json.loads(out.strip().splitlines()[-1])
        return results
    finally:
        for worker in workers.values():
            if worker.poll() is None:
                worker.kill()
                worker.wait()
