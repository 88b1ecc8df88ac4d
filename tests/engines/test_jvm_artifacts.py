"""The JVM jars: what `scripts/fetch_jvm_artifacts.py` fetches for the installed pyspark, the cache it keeps,
and what the local session builder puts on ``spark.jars`` from it (real mvn, real files; no Spark started)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dwh.platforms import jvm_artifacts
from dwh.platforms.spark import local_jars

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "fetch_jvm_artifacts.py"


def fetch(*arguments: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the fetch script with this interpreter and `env` added."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, **env},
    )


def fake_group(root: Path, group: jvm_artifacts.ArtifactGroup, *, complete: bool = True) -> list[Path]:
    """Jar files for `group` in the cache at `root`, with (or without) the marker of a finished fetch."""
    directory = root / group.directory
    directory.mkdir(parents=True)
    jars = [directory / f"{artifact.split(':')[1]}.jar" for artifact in group.artifacts]
    for jar in jars:
        jar.write_bytes(b"PK")
    if complete:
        (directory / jvm_artifacts.COMPLETE).write_text("".join(f"{jar.name}\n" for jar in jars))
    return jars


def test_the_artifacts_follow_the_installed_pyspark() -> None:
    import pyspark

    version = jvm_artifacts.spark_version()
    assert version == pyspark.__version__
    bundled = {p.name for p in Path(pyspark.__file__).parent.joinpath("jars").glob("hadoop-client-api-*.jar")}
    assert bundled == {f"hadoop-client-api-{jvm_artifacts.hadoop_version()}.jar"}
    s3a = jvm_artifacts.s3a_group()
    assert s3a is not None and s3a.artifacts == (f"org.apache.hadoop:hadoop-aws:{jvm_artifacts.hadoop_version()}",)
    delta = jvm_artifacts.delta_group("4.2.1")
    assert delta is not None
    assert delta.artifacts == ("io.delta:delta-spark_4.2_2.13:4.4.0", "io.delta:delta-storage:4.4.0")
    spark35 = jvm_artifacts.delta_group("3.5.4")
    assert spark35 is not None and spark35.artifacts[0] == "io.delta:delta-spark_2.12:3.3.2"


@pytest.mark.parametrize(
    ("spark", "delta", "storage"),
    [
        ("3.5.9", "io.delta:delta-spark_2.12:3.3.2", "io.delta:delta-storage:3.3.2"),  # Glue 5 / EMR 7: Scala 2.12
        ("4.0.1", "io.delta:delta-spark_2.13:4.0.1", "io.delta:delta-storage:4.0.1"),
        ("4.1.0", "io.delta:delta-spark_4.1_2.13:4.4.0", "io.delta:delta-storage:4.4.0"),
        ("4.2.1", "io.delta:delta-spark_4.2_2.13:4.4.0", "io.delta:delta-storage:4.4.0"),
    ],
)
def test_each_spark_line_gets_its_delta_build_in_its_own_directory(spark: str, delta: str, storage: str) -> None:
    group = jvm_artifacts.delta_group(spark)
    assert group is not None and group.artifacts == (delta, storage)
    assert group.directory == f"{delta.split(':')[1]}-{delta.split(':')[2]}"  # two venvs share one cache


def test_a_spark_newer_than_every_delta_build_has_no_delta_group() -> None:
    assert jvm_artifacts.delta_group("4.3.0") is None
    assert jvm_artifacts.missing_jars_message(None, "DWH_SPARK_DELTA=1").startswith(
        "DWH_SPARK_DELTA=1: no Delta build supports pyspark "
    )


def test_a_warm_cache_needs_no_maven(tmp_path: Path) -> None:
    groups = [jvm_artifacts.postgres_group(), jvm_artifacts.delta_group("4.2.1")]
    for group in groups:
        assert group is not None
        fake_group(tmp_path, group)
    no_mvn = str(Path(sys.executable).parent)  # a PATH without mvn: only the cache can satisfy the script
    done = fetch("--groups", "postgresql", DWH_JARS_DIR=str(tmp_path), PATH=no_mvn)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"jvm-artifacts: postgresql: {tmp_path / groups[0].directory} (1 jars, 0 MB, cached)\n"


def test_a_missing_artifact_is_one_line_naming_it(tmp_path: Path) -> None:
    empty_repository = tmp_path / "m2"
    done = fetch(
        "--groups",
        "postgresql",
        "--offline",
        DWH_JARS_DIR=str(tmp_path / "cache"),
        MAVEN_OPTS=f"-Dmaven.repo.local={empty_repository}",
    )
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith(f"jvm-artifacts: cannot fetch {jvm_artifacts.POSTGRES_JDBC}: ")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == []  # no half-made group left behind


def test_unknown_group_is_refused() -> None:
    done = fetch("--groups", "delta,ivy")
    assert done.returncode == 2
    assert "unknown group(s) ivy; choose from delta, postgresql, s3a" in done.stderr


def test_the_builder_uses_only_complete_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWH_JARS_DIR", str(tmp_path))
    monkeypatch.delenv("DWH_SPARK_DELTA_JARS", raising=False)
    monkeypatch.delenv("DWH_SPARK_S3A", raising=False)
    [driver] = fake_group(tmp_path, jvm_artifacts.postgres_group())
    delta = jvm_artifacts.delta_group()
    monkeypatch.setenv("DWH_SPARK_DELTA", "1")
    if delta is None:  # this pyspark has no Delta build: asking for Delta is one line saying so
        with pytest.raises(RuntimeError, match="no Delta build supports pyspark"):
            local_jars()
        return
    half = fake_group(tmp_path, delta, complete=False)  # a fetch that died before its marker
    with pytest.raises(RuntimeError) as caught:
        local_jars()
    assert str(caught.value) == (
        f"DWH_SPARK_DELTA=1: {', '.join(delta.artifacts)} not in {tmp_path / delta.directory}: "
        "run `make jvm-artifacts` (scripts/fetch_jvm_artifacts.py)"
    )
    (tmp_path / delta.directory / jvm_artifacts.COMPLETE).write_text("".join(f"{jar.name}\n" for jar in half))
    assert local_jars() == ([str(driver), *map(str, half)], True)
    monkeypatch.setenv("DWH_SPARK_DELTA", "0")
    assert local_jars() == ([str(driver)], False)


def test_explicit_delta_jars_win_and_s3a_is_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWH_JARS_DIR", str(tmp_path))
    monkeypatch.delenv("DWH_SPARK_S3A", raising=False)  # the Delta lanes' conftest sets it for their process
    monkeypatch.setenv("DWH_SPARK_DELTA", "1")
    monkeypatch.setenv("DWH_SPARK_DELTA_JARS", "/opt/delta/a.jar,/opt/delta/b.jar")
    jars, delta = local_jars()
    assert delta and jars[-2:] == ["/opt/delta/a.jar", "/opt/delta/b.jar"]
    monkeypatch.setenv("DWH_SPARK_S3A", "1")
    with pytest.raises(RuntimeError, match=r"DWH_SPARK_S3A=1: org\.apache\.hadoop:hadoop-aws:.* not in "):
        local_jars()
    s3a = jvm_artifacts.s3a_group()
    assert s3a is not None
    [aws] = fake_group(tmp_path, s3a)
    assert str(aws) in local_jars()[0]
