"""Launchers: start a job on LOCAL, DATABRICKS, GLUE, EMR or EMR_SERVERLESS and read its state back.

The contract is in `base` (`Launcher`, `LaunchedRun`, `LaunchState`, `RunState`); the union of config
blocks in `registry` (`LauncherConfig`). Platform SDKs (boto3, databricks-sdk) are imported only when
a launcher makes its first call.
"""

from dwh.platforms.launchers.base import LaunchedRun, Launcher, LaunchError, LaunchState, RunState

__all__ = ["LaunchError", "LaunchState", "LaunchedRun", "Launcher", "RunState"]
