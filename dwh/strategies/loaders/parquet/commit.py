"""All-or-nothing commits for a Parquet directory: stage beside it, then a journalled series of renames.

The PARQUET loader never writes into its target directory ``<parent>/<name>``. Spark writes into a
hidden sibling ``<parent>/.<name>.dwh-stage-<id>``; the commit then moves directories/files with
renames, recorded first in a journal ``<parent>/.<name>.dwh-journal.json``. Deleting the journal is
the commit point. `recover` (run before every load) rolls back a journal left behind by a killed
commit and removes stage/trash leftovers, so a failed or killed load leaves the previous output
exactly as it was. Names starting with ``.`` are skipped by Spark's and Hive's readers, so readers
of the parent never see the stage.

Renames are atomic on local disks, HDFS and ABFS (hierarchical namespace); on S3 they are copies,
so readers may see a partial state while a commit runs (a killed commit is still rolled back by the
next load). One writer per target at a time.

Files go through `session_files`, the one place that picks how: on a classic session, Hadoop's
FileSystem API of the session (`HadoopFiles`), so every URI the session can read works (file:, hdfs:,
s3a:, abfss:, dbfs:); on Spark Connect, which has no JVM handle, the driver commits through
``pyarrow.fs`` on the same path (`ArrowFiles`): local paths and ``file:`` URIs only, which the driver
must see at the same path as the Connect server (`connect_path_problem`, checked when the config is
parsed on a run that will be on Connect).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from dwh.platforms.spark_connect import is_connect

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

STAGE, TRASH, JOURNAL = "dwh-stage", "dwh-trash", "dwh-journal.json"


def visible(name: str) -> bool:
    """True for a directory entry Spark's reader lists: not hidden (``.``, or ``_`` outside a ``col=value`` name)."""
    return not (name.startswith(".") or (name.startswith("_") and "=" not in name))


class Files(Protocol):
    """The few file-system calls a commit needs (`HadoopFiles` on a classic session, `ArrowFiles` on Connect)."""

    def exists(self, path: str) -> bool:
        """True when `path` exists."""

    def rename(self, source: str, target: str) -> None:
        """Rename `source` to `target` (which must not exist; its parent is created)."""

    def delete(self, path: str) -> None:
        """Delete `path` recursively (no error when it is absent)."""

    def children(self, path: str) -> list[tuple[str, bool]]:
        """``(name, is_directory)`` of the entries in `path` (empty when it does not exist)."""

    def files_under(self, path: str, prefix: str = "") -> list[str]:
        """Relative paths of the data files under `path` (hidden names, see `visible`, are skipped)."""

    def write_text(self, path: str, text: str) -> None:
        """Create `path` with `text` (UTF-8)."""

    def read_text(self, path: str) -> str:
        """The UTF-8 text of `path`."""


#: URI schemes the Connect path (`ArrowFiles`) commits to: the driver's own local file system.
CONNECT_SCHEMES = ("", "file")


def connect_path_problem(path: str) -> str | None:
    """Why the PARQUET commit cannot reach `path` from a Spark Connect driver, or None when it can."""
    scheme = urlparse(path).scheme.lower()
    if len(scheme) == 1 or scheme in CONNECT_SCHEMES:  # one letter: a Windows drive, C:/...
        return None
    return (
        f"'{scheme}:' targets cannot be committed on Spark Connect (no JVM handle for Hadoop's FileSystem; "
        "the driver commits local paths and file: URIs only, seen at the same path as the server); "
        "use a DELTA loader or a classic Spark session"
    )


def session_files(spark: SparkSession, path: str) -> Files:
    """The file calls of a commit to `path` for this session: Hadoop's FileSystem, or pyarrow.fs on Spark Connect."""
    if not is_connect(spark):
        return HadoopFiles(spark, path)
    problem = connect_path_problem(path)
    if problem:
        raise ValueError(f"PARQUET {path}: {problem}")
    return ArrowFiles()


def _files_under(files: Files, path: str, prefix: str) -> list[str]:
    found: list[str] = []
    for name, is_dir in files.children(path):
        if not visible(name):
            continue
        if is_dir:
            found += _files_under(files, f"{path}/{name}", f"{prefix}{name}/")
        else:
            found.append(prefix + name)
    return found


class HadoopFiles:
    """The few Hadoop FileSystem calls the commit needs, through the session's JVM (a classic session)."""

    def __init__(self, spark: SparkSession, path: str) -> None:
        jvm = getattr(spark, "_jvm", None)
        if jvm is None:
            raise ValueError("HadoopFiles needs a classic Spark session (Spark Connect has no JVM handle)")
        self._jvm = jvm
        self._fs = jvm.org.apache.hadoop.fs.Path(path).getFileSystem(spark._jsc.hadoopConfiguration())

    def _path(self, path: str) -> Any:
        return self._jvm.org.apache.hadoop.fs.Path(path)

    def exists(self, path: str) -> bool:
        """True when `path` exists."""
        return bool(self._fs.exists(self._path(path)))

    def rename(self, source: str, target: str) -> None:
        """Rename `source` to `target` (which must not exist; its parent is created)."""
        if not self.exists(source):
            raise RuntimeError(f"cannot move {source} to {target}: the source is missing")
        if self.exists(target):
            raise RuntimeError(f"cannot move {source} to {target}: the target exists")
        self._fs.mkdirs(self._path(target).getParent())
        try:
            moved = self._fs.rename(self._path(source), self._path(target))
        except Exception as exc:  # py4j wraps the Java IOException
            raise RuntimeError(f"cannot move {source} to {target}: {str(exc).splitlines()[0]}") from None
        if not moved:
            raise RuntimeError(f"cannot move {source} to {target}")

    def delete(self, path: str) -> None:
        """Delete `path` recursively (no error when it is absent)."""
        self._fs.delete(self._path(path), True)

    def children(self, path: str) -> list[tuple[str, bool]]:
        """``(name, is_directory)`` of the entries in `path` (empty when it does not exist)."""
        if not self.exists(path):
            return []
        return [
            (status.getPath().getName(), bool(status.isDirectory())) for status in self._fs.listStatus(self._path(path))
        ]

    def files_under(self, path: str, prefix: str = "") -> list[str]:
        """Relative paths of the data files under `path` (hidden names, see `visible`, are skipped)."""
        return _files_under(self, path, prefix)

    def write_text(self, path: str, text: str) -> None:
        """Create `path` with `text` (UTF-8)."""
        stream = self._fs.create(self._path(path), True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()

    def read_text(self, path: str) -> str:
        """The UTF-8 text of `path`."""
        stream = self._fs.open(self._path(path))
        try:
            return str(self._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
        finally:
            stream.close()


class ArrowFiles:
    """The same calls on the driver's local file system through ``pyarrow.fs`` (Spark Connect: no JVM handle).

    A rename is the operating system's ``rename``, atomic within one file system, as with Hadoop's local
    file system. Paths are those Spark writes to: local paths (a relative one against this process's
    working directory, as the local server resolves it) or ``file:`` URIs.
    """

    def __init__(self) -> None:
        from pyarrow import fs

        self._fs = fs.LocalFileSystem()
        self._types = fs.FileType

    @staticmethod
    def _local(path: str) -> str:
        parsed = urlparse(path)
        if parsed.scheme.lower() == "file":
            path = parsed.path
        return os.path.abspath(path)

    def _type(self, path: str) -> Any:
        return self._fs.get_file_info(self._local(path)).type

    def exists(self, path: str) -> bool:
        """True when `path` exists."""
        return bool(self._type(path) != self._types.NotFound)

    def rename(self, source: str, target: str) -> None:
        """Rename `source` to `target` (which must not exist; its parent is created)."""
        if not self.exists(source):
            raise RuntimeError(f"cannot move {source} to {target}: the source is missing")
        if self.exists(target):
            raise RuntimeError(f"cannot move {source} to {target}: the target exists")
        destination = self._local(target)
        try:
            self._fs.create_dir(os.path.dirname(destination), recursive=True)
            self._fs.move(self._local(source), destination)
        except OSError as exc:
            raise RuntimeError(f"cannot move {source} to {target}: {str(exc).splitlines()[0]}") from None

    def delete(self, path: str) -> None:
        """Delete `path` recursively (no error when it is absent)."""
        kind = self._type(path)
        if kind == self._types.Directory:
            self._fs.delete_dir(self._local(path))
        elif kind != self._types.NotFound:
            self._fs.delete_file(self._local(path))

    def children(self, path: str) -> list[tuple[str, bool]]:
        """``(name, is_directory)`` of the entries in `path` (empty when it does not exist)."""
        from pyarrow import fs

        if self._type(path) != self._types.Directory:
            return []
        entries = self._fs.get_file_info(fs.FileSelector(self._local(path)))
        return [(entry.base_name, entry.type == self._types.Directory) for entry in entries]

    def files_under(self, path: str, prefix: str = "") -> list[str]:
        """Relative paths of the data files under `path` (hidden names, see `visible`, are skipped)."""
        return _files_under(self, path, prefix)

    def write_text(self, path: str, text: str) -> None:
        """Create `path` with `text` (UTF-8)."""
        with self._fs.open_output_stream(self._local(path)) as stream:
            stream.write(text.encode("utf-8"))

    def read_text(self, path: str) -> str:
        """The UTF-8 text of `path`."""
        with self._fs.open_input_stream(self._local(path)) as stream:
            return bytes(stream.read()).decode("utf-8")


@dataclass(frozen=True)
class TargetDir:
    """A Parquet target directory and the hidden siblings its commits use."""

    path: str

    @property
    def parent(self) -> str:
        """The directory holding the target."""
        return self.path.rstrip("/").rsplit("/", 1)[0]

    @property
    def name(self) -> str:
        """The target's own name."""
        return self.path.rstrip("/").rsplit("/", 1)[1]

    def sibling(self, kind: str, run_id: str | None = None) -> str:
        """``<parent>/.<name>.<kind>[-<run_id>]``."""
        return f"{self.parent}/.{self.name}.{kind}" + (f"-{run_id}" if run_id else "")

    @property
    def journal(self) -> str:
        """Where an open commit is recorded."""
        return self.sibling(JOURNAL)


def new_run_id() -> str:
    """A short unique id for one load's stage and trash directories."""
    return uuid.uuid4().hex[:12]


def recover(files: Files, target: TargetDir) -> bool:
    """Roll back a commit a killed load left open; remove stage/trash leftovers. True when it rolled back."""
    rolled_back = False
    if files.exists(target.journal):
        moves = json.loads(files.read_text(target.journal))["moves"]
        for source, destination in reversed(moves):
            if files.exists(destination) and not files.exists(source):
                files.rename(destination, source)
        files.delete(target.journal)
        rolled_back = True
    for name, _ in files.children(target.parent):
        if name.startswith((f".{target.name}.{STAGE}-", f".{target.name}.{TRASH}-")):
            files.delete(f"{target.parent}/{name}")
    return rolled_back


def commit(files: Files, target: TargetDir, moves: Iterable[tuple[str, str]]) -> int:
    """Apply the renames all or nothing: journal them, rename in order, then delete the journal (the commit point)."""
    planned = [list(move) for move in moves]
    files.write_text(target.journal, json.dumps({"moves": planned}))
    try:
        for source, destination in planned:
            files.rename(source, destination)
    except Exception:
        recover(files, target)
        raise
    files.delete(target.journal)
    return len(planned)
