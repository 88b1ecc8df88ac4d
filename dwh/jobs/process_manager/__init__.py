"""The process manager (seed 002): trigger or repair the waiting Databricks runs of a PostgreSQL control table.

    generic_entry --module_name dwh.jobs.process_manager.process_manager_job_factory \\
        --process_manager_job '{"control_database": {"jdbc_url": "jdbc:postgresql://host:5432/db",
                                 "properties": {"user": "pm", "password": "env:PG_PASSWORD"}},
                                "databricks": {"host": "https://adb-1.2.azuredatabricks.net",
                                               "token": "databricks:pm/token"},
                                "job_failed_notifications": {"notification_service": "EMAIL", ...}}'

Scheduled as the bundle's Process_Manager job (timeout 900 s, max 1 concurrent run, queue off, e-mail on
failure). Each run: take back stale claims, read the wait view, claim rows, decide and call the Jobs API
for each in a bounded pool, write each outcome, report, and exit 0 — or 1 after the failure notice when a
row went to ERROR. Bad config, an unreachable control database or a control table lacking columns is exit 2
before any API call.

Rows: ``WAITING -> CLAIMED -> SCHEDULED | ERROR``, or back to ``WAITING`` when the run is still in progress
or the calls' retries ran out (``last_error`` says why; the next run tries again). Who sets a SCHEDULED row
WAITING again (the job's own last task, an operator) is outside the manager.

Claims and crashes. A claim sets ``state = 'CLAIMED', updated_at = now()`` on rows still WAITING, with
``FOR UPDATE SKIP LOCKED`` on the table's rows (ids read from the view): two managers never hold one
row. Every write-back is fenced by that ``updated_at``. A manager that dies leaves its rows CLAIMED; the
next manager takes back claims older than ``claim_timeout_seconds`` (default 1800: twice the job's 900 s
timeout, so a live manager's claim is never taken) and decides again. The decision is safe to repeat:
run_now re-sends the same token ``dwh-pm-<control_id>-<attempts>`` (Databricks answers the run it already
started), and a REPAIR entry newer than the row's repair_id is adopted instead of repairing again.

Modules: `config` (the job's JSON), `control_table` (DDL, checks, claims), `runs_api` (run_now / get_run /
repair_run through the one WorkspaceClient, with the retry rules), `decisions` (what to do with one row),
`process_manager_job` (the pool, the report, the notice), `process_manager_job_factory` (the entry module).
"""
