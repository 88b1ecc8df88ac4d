"""Entry module of the probe job in a variant that requires ``--start_date`` and ``--end_date``."""

from __future__ import annotations

from typing import Any

from tests.jobs.fixtures_jobs.probe_job_factory import ProbeJobFactory


class WindowJobFactory(ProbeJobFactory):
    """`ProbeJobFactory` whose runs need a date window."""

    job_name = "window_probe"
    requires_window = True


def main(**kwargs: Any) -> Any:
    """Job module contract: build the factory and run it."""
    return WindowJobFactory().run(**kwargs)
