"""README's Freeport section: its config and each launcher line are valid for the models the jobs use."""

from __future__ import annotations

import json
import re
from pathlib import Path

from dwh.config import StrictModel, validate_model
from dwh.jobs.freeport.modules_config import ParallelModulesJobConfig
from dwh.platforms.launchers.registry import LauncherConfig

README = Path(__file__).resolve().parents[3] / "README.md"


class _OneLauncher(StrictModel):
    launcher: LauncherConfig


def _json_blocks() -> list[str]:
    section = README.read_text().split("## Freeport", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```json\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_main_job_config_validates() -> None:
    config = validate_model(ParallelModulesJobConfig, json.loads(_json_blocks()[0]), argument="--readme")
    assert [module.name for module in config.modules] == ["geo_analysis"]
    assert config.freeport.prod_table("demo", "geo_analysis") == "prod.demo_geo_analysis"


def test_every_readme_launcher_block_validates() -> None:
    text = _json_blocks()[1]
    blocks = [json.loads(chunk) for chunk in re.split(r"\n(?=\{)", text.strip())]
    kinds = [validate_model(_OneLauncher, {"launcher": block}, argument="--readme").launcher for block in blocks]
    assert [type(k).__name__ for k in kinds] == [
        "LocalLauncher",
        "DatabricksLauncher",
        "GlueLauncher",
        "EmrLauncher",
        "EmrServerlessLauncher",
    ]
