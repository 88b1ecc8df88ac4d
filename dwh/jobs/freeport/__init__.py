"""Freeport: asynchronous release of a demo's module tables.

- `parallel_modules_job_factory` (the main job): builds the modules concurrently, triggers one release each.
- `release_job_factory`: one module's release through a Freeport client; its tracking row ends terminal.
- `monitor_job_factory`: reconciles the tracking rows with the launchers and sends ONE completion notice.
"""
