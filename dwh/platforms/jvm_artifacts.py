"""The JVM jars local Spark needs, as Maven artifacts matched to the installed pyspark, and where they are cached.

Three groups, each kept in its own directory of the cache (``DWH_JARS_DIR``, default ``~/.cache/dwh-jars``):

* ``delta``: ``delta-spark`` + ``delta-storage`` for the installed Spark's major.minor (PLATFORMS.md: Delta
  4.4 builds for Spark 4.2 and 4.1, 4.0.x for 4.0, 3.3.x for 3.5; no build for a newer Spark);
* ``postgresql``: the PostgreSQL JDBC driver;
* ``s3a``: ``hadoop-aws`` at the Hadoop version pyspark bundles, with its AWS SDK bundle (transitive).

`scripts/fetch_jvm_artifacts.py` fills the cache with ``mvn``; `dwh.platforms.spark.local_session_builder`
reads it. A group's directory counts only once it holds its ``.complete`` list, written after every jar
arrived, so a half-finished fetch is never put on a classpath.

Nothing here imports pyspark: versions come from package metadata and the jar names pyspark ships.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

#: The marker listing a group's jars, written last.
COMPLETE = ".complete"
POSTGRES_JDBC = "org.postgresql:postgresql:42.7.14"
#: Spark major.minor -> (Delta version, delta-spark artifact id); the Scala 2.13 builds (2.12 for Spark 3.5).
DELTA_FOR_SPARK = {
    "4.2": ("4.4.0", "delta-spark_4.2_2.13"),
    "4.1": ("4.4.0", "delta-spark_4.1_2.13"),
    "4.0": ("4.0.1", "delta-spark_2.13"),
    "3.5": ("3.3.2", "delta-spark_2.12"),
}


@dataclass(frozen=True)
class ArtifactGroup:
    """Maven artifacts fetched together into one cache directory."""

    name: str
    directory: str
    artifacts: tuple[str, ...]
    #: True: the artifacts with their runtime dependencies (hadoop-aws -> the AWS SDK bundle).
    transitive: bool = False


def cache_dir() -> Path:
    """Where the jars are kept: ``DWH_JARS_DIR``, else ``~/.cache/dwh-jars``."""
    configured = os.environ.get("DWH_JARS_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "dwh-jars"


def spark_version() -> str | None:
    """The installed pyspark's version, or None without pyspark."""
    try:
        return importlib.metadata.version("pyspark")
    except importlib.metadata.PackageNotFoundError:
        return None


def spark_minor(version: str) -> str:
    """``4.2`` of ``4.2.1``."""
    return ".".join(version.split(".")[:2])


def hadoop_version() -> str | None:
    """The Hadoop version pyspark bundles (its ``jars/hadoop-client-api-X.jar``), or None."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        for jar in Path(location, "jars").glob("hadoop-client-api-*.jar"):
            found = re.fullmatch(r"hadoop-client-api-(.+)\.jar", jar.name)
            if found:
                return found.group(1)
    return None


def delta_group(version: str | None = None) -> ArtifactGroup | None:
    """The Delta artifacts for Spark `version` (default: the installed one); None when no Delta build supports it."""
    version = version or spark_version()
    if version is None or spark_minor(version) not in DELTA_FOR_SPARK:
        return None
    delta, artifact = DELTA_FOR_SPARK[spark_minor(version)]
    return ArtifactGroup(
        name="delta",
        directory=f"{artifact}-{delta}",
        artifacts=(f"io.delta:{artifact}:{delta}", f"io.delta:delta-storage:{delta}"),
    )


def postgres_group() -> ArtifactGroup:
    """The PostgreSQL JDBC driver."""
    return ArtifactGroup(name="postgresql", directory=POSTGRES_JDBC.replace(":", "-"), artifacts=(POSTGRES_JDBC,))


def s3a_group(hadoop: str | None = None) -> ArtifactGroup | None:
    """``hadoop-aws`` at pyspark's Hadoop version (+ its AWS SDK bundle); None when pyspark is not installed."""
    hadoop = hadoop or hadoop_version()
    if hadoop is None:
        return None
    return ArtifactGroup(
        name="s3a",
        directory=f"hadoop-aws-{hadoop}",
        artifacts=(f"org.apache.hadoop:hadoop-aws:{hadoop}",),
        transitive=True,
    )


def cached_jars(group: ArtifactGroup | None, root: Path | None = None) -> list[Path]:
    """The group's jars in the cache, or [] when the group is absent or was not fetched completely."""
    if group is None:
        return []
    directory = (root or cache_dir()) / group.directory
    marker = directory / COMPLETE
    if not marker.is_file():
        return []
    jars = [directory / name for name in marker.read_text().split()]
    return jars if jars and all(jar.is_file() for jar in jars) else []


def missing_jars_message(group: ArtifactGroup | None, what: str) -> str:
    """One line saying which jars are missing and how to fetch them."""
    if group is None:
        version = spark_version() or "(none installed)"
        return f"{what}: no Delta build supports pyspark {version} (Delta builds exist for Spark {_supported()})"
    return (
        f"{what}: {', '.join(group.artifacts)} not in {cache_dir() / group.directory}: "
        "run `make jvm-artifacts` (scripts/fetch_jvm_artifacts.py)"
    )


def _supported() -> str:
    return ", ".join(sorted(DELTA_FOR_SPARK))
