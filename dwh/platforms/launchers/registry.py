"""`LauncherConfig`: the union of every launcher, keyed on ``launcher``.

A new launcher is one new module with a `Launcher` subclass plus one line here.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dwh.platforms.launchers.databricks import DatabricksLauncher
from dwh.platforms.launchers.emr import EmrLauncher
from dwh.platforms.launchers.emr_serverless import EmrServerlessLauncher
from dwh.platforms.launchers.glue import GlueLauncher
from dwh.platforms.launchers.local import LocalLauncher

LauncherConfig = Annotated[
    LocalLauncher | DatabricksLauncher | GlueLauncher | EmrLauncher | EmrServerlessLauncher,
    Field(discriminator="launcher"),
]
