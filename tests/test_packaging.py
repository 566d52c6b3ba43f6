"""The wheel and the sdist that ``python -m build`` makes install into a fresh venv and work.

Built once per session from a copy of the working tree (so that the build's ``build/`` and
``*.egg-info`` never land in the checkout), without build isolation (setuptools and build come
from the test extra: no download). Each artefact is installed with ``--no-deps`` into a venv of
its own; the running interpreter's site-packages is added to that venv by a ``.pth`` file, so
that typer, rich and PyYAML are found without installing them again, while rfcalc itself can
only come from the artefact (the venv's own site-packages comes first on the path).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parent.parent
# what .gitignore keeps out of the repository, and git itself
IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    "*.egg-info",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    "build",
    "dist",
    "crashes",
)


def _run(cmd: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, built once for the session."""
    work = tmp_path_factory.mktemp("build")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=IGNORED)
    out = work / "dist"
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source], cwd=work)
    return out


def _artefact(dist: Path, pattern: str) -> Path:
    (found,) = dist.glob(pattern)
    return found


def _venv(where: Path) -> Path:
    """A fresh venv without pip that also sees this interpreter's installed packages."""
    _run([sys.executable, "-m", "venv", "--without-pip", where], cwd=where.parent)
    python = where / "bin" / "python"
    purelib = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=where
    ).stdout.strip()
    (Path(purelib) / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _install(artefact: Path, venv: Path) -> Path:
    python = _venv(venv)
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            artefact,
        ],
        cwd=venv,
    )
    return venv / "bin" / "rfcalc"


def _repo_files(folder: str, suffixes: tuple[str, ...]) -> set[str]:
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / folder).rglob("*")
        if p.is_file() and p.suffix in suffixes and "__pycache__" not in p.parts
    }


def test_wheel_carries_the_package_the_libraries_and_the_examples(dist: Path) -> None:
    names = set(zipfile.ZipFile(_artefact(dist, "*.whl")).namelist())
    package = _repo_files("rfcalc", (".py", ".yaml", ".typed"))
    assert package - names == set()  # every module, library file and py.typed
    examples = {f"rfcalc/{f}" for f in _repo_files("examples", (".yaml",))}
    assert examples
    assert examples - names == set()
    assert not any(n.startswith(("examples/", "tests/", "docs/")) for n in names)


def test_sdist_carries_the_examples_and_the_docs(dist: Path) -> None:
    with tarfile.open(_artefact(dist, "*.tar.gz")) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    wanted = _repo_files("examples", (".yaml",)) | _repo_files("docs", (".md",))
    wanted |= _repo_files("rfcalc", (".py", ".yaml", ".typed"))
    assert wanted - names == set()
    assert {"README.md", "pyproject.toml", "tests/conftest.py"} <= names


@pytest.mark.parametrize("kind", ["whl", "tar.gz"])
def test_installed_artefact_describes_a_bundled_example(
    dist: Path, tmp_path: Path, kind: str
) -> None:
    rfcalc = _install(_artefact(dist, f"*.{kind}"), tmp_path / "venv")
    python = rfcalc.parent / "python"
    where = _run([python, "-c", "import rfcalc; print(rfcalc.__file__)"], cwd=tmp_path).stdout
    assert where.startswith(str(tmp_path / "venv")), where  # not this checkout
    listed = _run([rfcalc, "examples"], cwd=tmp_path).stdout
    assert "resnet50" in listed
    assert str(tmp_path / "venv") in listed  # read from the installed package
    table = _run([rfcalc, "describe", "--example", "resnet50"], cwd=tmp_path).stdout
    # torchvision's documentation of resnet50: 25,557,032 params (the example's own
    # `params:` check says the same)
    assert "Params    25,557,032" in table
    # the example includes the built-in torchvision library: its block names are in the table
    assert "layer4.2.conv3" in table
