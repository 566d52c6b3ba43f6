"""The small public API: load a model file and analyse it."""

from __future__ import annotations

from collections.abc import Mapping

from rfcalc.build import Graph, build
from rfcalc.engine import Report, analyze
from rfcalc.loader import load_path

__all__ = ["Graph", "Report", "analyze", "describe", "load"]


def load(
    path: str,
    overrides: Mapping[str, str] | None = None,
    input_shape: tuple[int, ...] | None = None,
) -> Graph:
    """Read and validate a model file ('-' for stdin) into a graph."""
    return build(load_path(path), overrides, input_shape)


def describe(
    path: str,
    overrides: Mapping[str, str] | None = None,
    input_shape: tuple[int, ...] | None = None,
    batch: int = 1,
    dtype: str = "float32",
) -> Report:
    return analyze(load(path, overrides, input_shape), batch, dtype)
