"""README's "Deploying" section names files that ship and commands the Makefile has."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _section(title: str) -> str:
    return (ROOT / "README.md").read_text().split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def test_every_deploy_file_the_readme_names_exists() -> None:
    named = set(re.findall(r"deploy/[\w/.-]+\.(?:json|yml|py)", _section("Deploying")))
    named |= {f"deploy/databricks/{m}" for m in re.findall(r"resources/[\w.]+\.yml", _section("Process manager"))}
    assert named, "the section names no deploy file"
    assert sorted(path for path in named if not (ROOT / path).is_file()) == []


def test_every_aws_payload_is_in_the_readme() -> None:
    shipped = {f"deploy/aws/{path.name}" for path in (ROOT / "deploy" / "aws").glob("*.json")}
    assert shipped <= set(re.findall(r"deploy/aws/[\w.]+\.json", _section("Deploying")))


def test_the_make_targets_the_readme_uses_exist() -> None:
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), flags=re.MULTILINE))
    used = set(re.findall(r"make ([a-z-]+)", _section("Deploying")))
    assert used and used <= targets


def test_the_readme_process_manager_config_validates() -> None:
    import json

    from dwh.config import validate_model
    from dwh.jobs.process_manager.config import ProcessManagerConfig

    block = re.findall(r"```json\n(.*?)```", _section("Process manager"), flags=re.DOTALL)[0]
    config = validate_model(ProcessManagerConfig, json.loads(block), argument="--readme")
    assert (config.max_parallel_calls, config.dry_run) == (8, False)
