"""A model file read, built and analysed, as the command line runs it: a path ('-' for standard
input), never YAML text, and errors left as they are for the command line to render.
:mod:`rfcalc.api` offers the same functions beside the Python API, which the command line
does not import."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from rfcalc import build, engine
from rfcalc.loader import ModelSpec, load_path


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: a model's structures hold no cycles, and on a
    100,000-layer model its repeated scans of the growing heap doubled the run time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_model(path: str, scale: str | None = None) -> ModelSpec:
    """The spec of a model file: an ``.onnx`` file through the ONNX importer (which needs
    the ``onnx`` package: ``rfcalc[onnx]``), anything else ('-' too) as YAML: rfcalc's, or an
    Ultralytics model config at ``scale`` (docs/ultralytics.md)."""
    if path.lower().endswith(".onnx"):
        from rfcalc.onnx_import import load_onnx

        return load_onnx(path)
    return load_path(path, scale)


def load_file(
    path: str,
    overrides: Mapping[str, str] | None = None,
    input_shape: tuple[int, ...] | None = None,
    scale: str | None = None,
) -> build.Graph:
    """Read and validate a model file ('-' for stdin) into a graph (the CLI's reader);
    ``scale``: an Ultralytics model config's scale (docs/ultralytics.md)."""
    with no_cyclic_gc():
        return build.build(read_model(path, scale), overrides, input_shape)


def analyze_graph(
    graph: build.Graph,
    batch: int = 1,
    dtype: str = "float32",
    ignore: frozenset[str] = frozenset(),
    count: str = "torchvision",
    keep_fields: bool = False,
) -> engine.Report:
    """The engine's report on a graph (the CLI's analysis); ``ignore``: warning codes to
    leave out (rfcalc.lint.CODES); ``count``: the MACs' convention (rfcalc.counting);
    ``keep_fields``: keep every unit's field (for the maps and the HTML page)."""
    with no_cyclic_gc():
        return engine.analyze(
            graph, batch, dtype, ignore=ignore, count=count, keep_fields=keep_fields
        )


def describe_file(
    path: str,
    overrides: Mapping[str, str] | None = None,
    input_shape: tuple[int, ...] | None = None,
    batch: int = 1,
    dtype: str = "float32",
    ignore: frozenset[str] = frozenset(),
    count: str = "torchvision",
    scale: str | None = None,
    keep_fields: bool = False,
) -> engine.Report:
    """:func:`load_file` then :func:`analyze_graph` (what ``rfcalc describe`` computes)."""
    graph = load_file(path, overrides, input_shape, scale)
    return analyze_graph(graph, batch, dtype, ignore, count, keep_fields)
