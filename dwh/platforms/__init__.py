"""Where a job runs and how to reach the platforms.

- `detect`: which platform this is (`ServiceProvider`), the platform's own arguments, run ids.
- `context`: `RunContext`, what a job knows about its run.
- `spark`: the lazy SparkSession.
- `databricks`: the one place a `WorkspaceClient` is built.
- `launchers`: start a job on any platform and read its state back.

Nothing here imports pyspark, boto3 or databricks-sdk at import time.
"""
