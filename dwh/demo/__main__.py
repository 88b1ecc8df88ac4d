"""``python -m dwh.demo``: run the offline load_promos demo (see `dwh.demo.runner`)."""

from __future__ import annotations

from dwh.demo.runner import main

if __name__ == "__main__":
    raise SystemExit(main())
