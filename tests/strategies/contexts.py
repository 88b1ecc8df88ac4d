"""One way for strategy tests to make a local `RunContext` (the session is the active test session)."""

from __future__ import annotations

import datetime as dt

from dwh.platforms.context import RunContext
from dwh.platforms.detect import ServiceProvider


def local_context(
    start: dt.date | None = None, end: dt.date | None = None, *, job_name: str = "test", run_id: str = "local-test"
) -> RunContext:
    """A LOCAL run context with the window ``[start, end)`` (none by default)."""
    return RunContext(
        job_name=job_name,
        service_provider=ServiceProvider.LOCAL,
        run_ids={"run_id": run_id},
        start_date=start,
        end_date=end,
    )
