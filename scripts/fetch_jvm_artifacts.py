"""Fetch the JVM jars local Spark needs, once, with Maven, into the cache outside the repo (`make jvm-artifacts`).

    .venv/bin/python scripts/fetch_jvm_artifacts.py [--groups delta,postgresql,s3a] [--offline]

The groups and their versions follow the interpreter's pyspark (`dwh.platforms.jvm_artifacts`): run it with
the venv whose Spark will use the jars. A group already complete in the cache is not fetched again, so an
offline re-run calls no Maven at all. Each artifact is fetched with ``mvn dependency:copy`` (hadoop-aws with
``dependency:copy-dependencies``, which brings the AWS SDK bundle its pom names) into a temporary directory
that becomes the group's directory only once every jar is there. An artifact that cannot be fetched stops the
script (exit 1) with one line naming it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from dwh.platforms.jvm_artifacts import (
    COMPLETE,
    ArtifactGroup,
    cache_dir,
    cached_jars,
    delta_group,
    postgres_group,
    s3a_group,
    spark_version,
)

GROUPS = ("delta", "postgresql", "s3a")
MVN_TIMEOUT_SECONDS = 1800
PREFIX = "jvm-artifacts:"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class FetchFailed(Exception):
    """One artifact could not be fetched; the message is the one line to print."""


def mvn(arguments: list[str], *, offline: bool, cwd: Path) -> None:
    """Run Maven in batch mode; raise FetchFailed with its first error line when it fails."""
    command = ["mvn", "-B", "-q", "-Dstyle.color=never", *(["-o"] if offline else []), *arguments]
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=MVN_TIMEOUT_SECONDS)
    except FileNotFoundError:
        raise FetchFailed("mvn is not installed (apt-get install maven)") from None
    if done.returncode != 0:
        errors = [line for line in (done.stdout + done.stderr).splitlines() if "[ERROR]" in line and line.strip()]
        reason = errors[0].replace("[ERROR]", "").split(" -> [Help")[0] if errors else f"mvn exited {done.returncode}"
        raise FetchFailed(ANSI.sub("", reason).strip()[:300])


def transitive_pom(artifacts: tuple[str, ...]) -> str:
    """A throwaway pom depending on `artifacts`, for ``dependency:copy-dependencies``."""
    dependencies = "".join(
        f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>"
        for g, a, v in (artifact.split(":") for artifact in artifacts)
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>dwh.local</groupId><artifactId>jvm-artifacts</artifactId><version>0</version>"
        f"<dependencies>{dependencies}</dependencies></project>"
    )


def fetch_group(group: ArtifactGroup, root: Path, *, offline: bool) -> list[Path]:
    """The group's jars, fetched into ``root/<directory>`` unless the cache already holds them all."""
    cached = cached_jars(group, root)
    if cached:
        return cached
    staging = root / f".staging-{group.directory}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        return _fetch_into(group, root, staging, offline=offline)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fetch_into(group: ArtifactGroup, root: Path, staging: Path, *, offline: bool) -> list[Path]:
    jars_dir = staging / "jars"
    jars_dir.mkdir(parents=True)
    if group.transitive:
        (staging / "pom.xml").write_text(transitive_pom(group.artifacts))
        copy = ["dependency:copy-dependencies", f"-DoutputDirectory={jars_dir}", "-DincludeScope=runtime"]
        _fetch(group.artifacts, ["-f", str(staging / "pom.xml"), *copy], offline=offline, cwd=staging)
    else:
        for artifact in group.artifacts:
            copy = ["dependency:copy", f"-Dartifact={artifact}", f"-DoutputDirectory={jars_dir}"]
            _fetch((artifact,), copy, offline=offline, cwd=staging)
    names = sorted(jar.name for jar in jars_dir.glob("*.jar"))
    if not names:
        raise FetchFailed(f"cannot fetch {', '.join(group.artifacts)}: Maven copied no jar")
    (jars_dir / COMPLETE).write_text("\n".join(names) + "\n")
    target = root / group.directory
    shutil.rmtree(target, ignore_errors=True)
    jars_dir.rename(target)
    return [target / name for name in names]


def _fetch(artifacts: tuple[str, ...], arguments: list[str], *, offline: bool, cwd: Path) -> None:
    try:
        mvn(arguments, offline=offline, cwd=cwd)
    except FetchFailed as failed:
        raise FetchFailed(f"cannot fetch {', '.join(artifacts)}: {failed}") from None


def selected_groups(names: list[str]) -> list[ArtifactGroup]:
    """The groups to fetch for this interpreter's pyspark; a note for a Spark without a Delta build."""
    groups: list[ArtifactGroup] = []
    for name in names:
        group = {"delta": delta_group, "postgresql": postgres_group, "s3a": s3a_group}[name]()
        if group is None:
            print(f"{PREFIX} no {name} jars for pyspark {spark_version() or '(not installed)'}: skipped", flush=True)
        else:
            groups.append(group)
    return groups


def main(argv: list[str] | None = None) -> int:
    """Fetch the selected groups; 0 when all are in the cache, 1 (one line) when an artifact is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", default=",".join(GROUPS), help="comma-separated: delta, postgresql, s3a")
    parser.add_argument("--offline", action="store_true", help="never ask Maven Central (mvn -o)")
    options = parser.parse_args(argv)
    names = [name.strip() for name in options.groups.split(",") if name.strip()]
    unknown = sorted(set(names) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    for group in selected_groups(names):
        started = time.monotonic()
        was_cached = bool(cached_jars(group, root))
        try:
            jars = fetch_group(group, root, offline=options.offline)
        except FetchFailed as failed:
            print(f"{PREFIX} {failed}", file=sys.stderr, flush=True)
            return 1
        size = sum(jar.stat().st_size for jar in jars) / 1e6
        how = "cached" if was_cached else f"fetched in {time.monotonic() - started:.0f} s"
        print(f"{PREFIX} {group.name}: {root / group.directory} ({len(jars)} jars, {size:.0f} MB, {how})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
