"""The process a LOCAL launch starts: ``python -m dwh.platforms.launchers.local_child RUN_DIR -- ARGV...``.

It runs ``dwh.generic_entry.main(ARGV)`` and, however that ends (a return, an exception, SIGTERM or
SIGINT), writes the exit code to ``RUN_DIR/exit_code`` before it exits. The file is written to a
temporary name and renamed (`write_atomically`), so a reader sees the whole code or no file. Only a
process that could not run its last lines (SIGKILL, the machine going down) leaves no exit code,
which the LOCAL launcher reports as "process ended without an exit code".
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

#: The file the child's exit code is written to, in its run directory.
EXIT_FILE = "exit_code"
USAGE = "usage: python -m dwh.platforms.launchers.local_child RUN_DIR -- GENERIC_ENTRY_ARGS..."


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename: readers never see half of it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


_TERMINATED: list[int] = []


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    # SystemExit unwinds through the finally below, so a terminated run still records its code (128 + signal);
    # the signal is remembered too, in case library code on the way swallows the SystemExit.
    _TERMINATED.append(signum)
    raise SystemExit(128 + signum)


def run_entry(argv: Sequence[str]) -> int:
    """``generic_entry.main(argv)`` as an exit code, whatever it raises."""
    try:
        from dwh.generic_entry import main as generic_entry_main

        return int(generic_entry_main(list(argv)))
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return int(exc.code or 0)
        print(exc.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except BaseException:
        traceback.print_exc()
        return 1


def main(args: Sequence[str] | None = None) -> int:
    """Run generic_entry with the arguments after ``--`` and record its exit code in RUN_DIR."""
    args = list(sys.argv[1:] if args is None else args)
    if len(args) < 2 or args[1] != "--" or not Path(args[0]).is_dir():
        print(USAGE, file=sys.stderr)
        return 2
    run_dir, argv = Path(args[0]), args[2:]
    signal.signal(signal.SIGTERM, _exit_on_signal)
    code = 1
    try:
        code = run_entry(argv)
        if _TERMINATED:
            code = 128 + _TERMINATED[0]
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        write_atomically(run_dir / EXIT_FILE, f"{code}\n")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
