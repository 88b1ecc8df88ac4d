"""Session fixtures for the platform tests: one built wheel, the venvs it is installed into, a zip of the package.

* `dwh_wheel`: ``python -m build --wheel`` of the working tree, built once per session.
* `bare_venv`: a fresh venv with the wheel and its core dependencies only (pip may fetch them from PyPI).
* `local_venv`: a fresh venv with the wheel installed ``--no-deps``; a ``.pth`` then lends it the dev
  ``.venv``'s site-packages (pyspark & co., the ``local`` extra) without downloading them again. That
  ``.pth`` line only appends a directory: the dev venv's own ``.pth`` files (its editable install of the
  source tree) are not processed, so ``dwh`` and ``generic_entry`` come from the wheel.
* `deps_venv`: the same loan of dependencies but no ``dwh`` at all, for spark-submit's ``--py-files``.
* `dwh_zip`: the ``dwh`` package from the wheel as a zip, what EMR steps ship with ``--py-files``.
* `glue_script`: the top-level ``generic_entry.py`` shim copied alone into a directory, like Glue's script.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from dwh.platforms.detect import PLATFORM_ENV_VARS

ROOT = Path(__file__).resolve().parents[2]
DEV_PYTHON = ROOT / ".venv" / "bin" / "python"
SPARK_SUBMIT = ROOT / ".venv" / "bin" / "spark-submit"
#: Environment that would change what the runs detect or import; removed from every subprocess.
HOST_ENV = (
    *PLATFORM_ENV_VARS,
    "PYTHONPATH",
    "DWH_ALLOWED_MODULE_PREFIXES",
    "DWH_SPARK_MASTER",
    "PYSPARK_PYTHON",
    "PYSPARK_DRIVER_PYTHON",
    "PYSPARK_SUBMIT_ARGS",
    "SPARK_HOME",
)


@dataclass(frozen=True)
class Venv:
    """A virtual environment made for the tests."""

    root: Path

    @property
    def python(self) -> Path:
        """Its interpreter."""
        return self.root / "bin" / "python"

    @property
    def console_script(self) -> Path:
        """The ``generic_entry`` console script pip generated from the wheel's entry points."""
        return self.root / "bin" / "generic_entry"


def clean_env(**extra: str) -> dict[str, str]:
    """This machine's environment without platform hints or Python path tweaks, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if key not in HOST_ENV}
    env.update(SPARK_LOCAL_IP="127.0.0.1", **extra)
    return env


def _run(*command: str | Path, timeout: int = 600) -> None:
    finished = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=timeout, env=clean_env()
    )
    assert finished.returncode == 0, f"{command}\n{finished.stdout}\n{finished.stderr}"


def _dev_site_packages() -> Path:
    out = subprocess.run(
        [str(DEV_PYTHON), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def _make_venv(root: Path, *, wheel: Path | None, with_deps: bool, lend_dev_packages: bool) -> Venv:
    venv = Venv(root)
    _run(DEV_PYTHON, "-m", "venv", "--without-pip", root)
    if wheel is not None:
        # The dev venv's pip installs into the new interpreter (pip --python): no ensurepip per venv.
        deps = [] if with_deps else ["--no-deps"]
        pip = [DEV_PYTHON, "-m", "pip", "--python", venv.python, "install", "-q", "--disable-pip-version-check"]
        _run(*pip, *deps, wheel)
    if lend_dev_packages:
        # Written after the install, so pip never sees the dev venv's own dwh-business-logic.
        purelib = subprocess.run(
            [str(venv.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        (Path(purelib) / "dwh_dev_dependencies.pth").write_text(f"{_dev_site_packages()}\n")
    return venv


@pytest.fixture(scope="session")
def dwh_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built once from the working tree."""
    out_dir = tmp_path_factory.mktemp("dist")
    _run(DEV_PYTHON, "-m", "build", "--wheel", "--no-isolation", "--outdir", out_dir, ROOT)
    [wheel] = out_dir.glob("dwh_business_logic-*-py3-none-any.whl")
    return wheel


@pytest.fixture(scope="session")
def bare_venv(dwh_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """The wheel with its core dependencies and none of the extras."""
    root = tmp_path_factory.mktemp("bare") / "venv"
    return _make_venv(root, wheel=dwh_wheel, with_deps=True, lend_dev_packages=False)


@pytest.fixture(scope="session")
def local_venv(dwh_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """The wheel plus the ``local`` extra's packages (lent from the dev venv)."""
    root = tmp_path_factory.mktemp("local") / "venv"
    return _make_venv(root, wheel=dwh_wheel, with_deps=False, lend_dev_packages=True)


@pytest.fixture(scope="session")
def deps_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """pydantic, pyspark & co. but no dwh: only a ``--py-files`` zip can provide it."""
    return _make_venv(tmp_path_factory.mktemp("deps") / "venv", wheel=None, with_deps=False, lend_dev_packages=True)


@pytest.fixture(scope="session")
def dwh_zip(dwh_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``dwh.zip``: the package as the wheel ships it, for spark-submit ``--py-files``."""
    target = tmp_path_factory.mktemp("pyfiles") / "dwh.zip"
    with zipfile.ZipFile(dwh_wheel) as wheel, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for name in wheel.namelist():
            if name.startswith("dwh/"):
                out.writestr(name, wheel.read(name))
    return target


@pytest.fixture(scope="session")
def glue_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``generic_entry.py`` shim alone in a directory, as Glue downloads its script_location."""
    directory = tmp_path_factory.mktemp("glue_script")
    return Path(shutil.copy(ROOT / "generic_entry.py", directory / "generic_entry.py"))
