"""Small helpers shared by the tests."""

from __future__ import annotations

import os
from pathlib import Path

from rfcalc.build import build
from rfcalc.engine import LayerRow, Report, analyze
from rfcalc.loader import load_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# RFCALC_EXAMPLES_SCALE=10 multiplies every property test's examples (for long local runs).
SCALE = int(os.environ.get("RFCALC_EXAMPLES_SCALE", "1"))


def report_of(text: str, path: str = "model.yaml") -> Report:
    return analyze(build(load_text(text, path)))


def one_layer(layer: str, shape: tuple[int, ...]) -> LayerRow:
    """Analyse a single layer, written as a YAML flow mapping, on an input shape."""
    text = f"input: {list(shape)}\nlayers:\n  - {layer}\n"
    return report_of(text).layers[0]


def rf_triple(row: LayerRow) -> tuple[tuple[int, ...], tuple[object, ...], tuple[int, ...]]:
    return row.rf.size, tuple(row.rf.stride), row.rf.padding
