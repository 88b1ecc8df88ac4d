"""A process manager process for the race tests: import everything, say ``ready``, wait for ``go``, run.

    python -m tests.jobs.process_manager.manager_worker <generic_entry argv...>

Both processes of a race pay their start-up first, so they reach the control table at the same moment.
The exit code is generic_entry's.
"""

from __future__ import annotations

import sys

import databricks.sdk  # noqa: F401 - imported before "ready", so start-up cost is not part of the race
import sqlalchemy  # noqa: F401

from dwh.generic_entry import main as generic_entry_main


def main() -> int:
    """Report ready, wait for go, run generic_entry with the rest of argv."""
    print("ready", flush=True)
    sys.stdin.readline()
    return generic_entry_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
