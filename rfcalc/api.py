"""The small public API: load a model file and analyse it."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from rfcalc.build import Graph, build
from rfcalc.engine import Report, analyze
from rfcalc.loader import load_path

__all__ = ["Graph", "Report", "analyze", "analyze_graph", "describe", "load"]


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: a model's structures hold no cycles, and on a
    100,000-layer model its repeated scans of the growing heap doubled the run time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load(
    path: str,
    overrides: Mapping[str, str] | None = None,
    input_shape: tuple[int, ...] | None = None,
) -> Graph:
    """Read and validate a model file ('-' for stdin) into a graph."""
    with _no_cyclic_gc():
        return build(load_path(path), overrides, input_shape)


def describe(
    path: str,
    overrides: Mapping[str, str] | None = None,
    input_shape: tuple[int, ...] | None = None,
    batch: int = 1,
    dtype: str = "float32",
    ignore: frozenset[str] = frozenset(),
) -> Report:
    """``ignore``: warning codes to leave out (see rfcalc.lint.CODES)."""
    return analyze_graph(load(path, overrides, input_shape), batch, dtype, ignore)


def analyze_graph(
    graph: Graph, batch: int = 1, dtype: str = "float32", ignore: frozenset[str] = frozenset()
) -> Report:
    with _no_cyclic_gc():
        return analyze(graph, batch, dtype, ignore=ignore)
