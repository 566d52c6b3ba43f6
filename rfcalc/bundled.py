"""The example models shipped with rfcalc: ``rfcalc describe --example NAME``, ``rfcalc examples``.

There is one copy of them, the repository's top-level ``examples/`` folder. The wheel installs
it as ``rfcalc/examples`` (pyproject.toml maps the package ``rfcalc.examples`` to that folder);
run from a checkout, the folder beside the package is used.
"""

from __future__ import annotations

from pathlib import Path

from rfcalc.errors import InputError, did_you_mean

_PACKAGE = Path(__file__).parent


def examples_dir() -> Path:
    """Where the examples are: installed inside the package, or a checkout's ``examples/``."""
    installed = _PACKAGE / "examples"
    return installed if installed.is_dir() else _PACKAGE.parent / "examples"


def example_names() -> list[str]:
    """The examples' names (their file names without ``.yaml``), sorted."""
    return sorted(p.stem for p in examples_dir().glob("*.yaml"))


def example_path(name: str) -> str:
    """The file of the example ``name``; an unknown name is an error naming ``--example``."""
    names = example_names()
    if name not in names:
        near = did_you_mean(name, names)
        raise InputError(
            f"--example: no bundled example '{name}'",
            None,
            f"{near} ('rfcalc examples' lists them)"
            if near
            else f"the examples are: {', '.join(names)}",
        )
    return str(examples_dir() / f"{name}.yaml")
