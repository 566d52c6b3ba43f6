"""Deterministic guards for rfcalc's speed (issue 13): what a command imports, and how many
objects a layer costs. Timings live in benchmarks/perf.py, which asserts nothing; these
count, so they fail the same way on any machine."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

from rfcalc.api import describe
from rfcalc.render import PLAIN
from rfcalc.render.json_out import stream
from tests.helpers import ROOT

# runs the CLI as the script does, then names every module the process imported
PROBE = """
import sys
from rfcalc.cli import app
try:
    app(sys.argv[1:], prog_name="rfcalc")
except SystemExit:
    pass
sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n")
"""


def imported(*args: str) -> set[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("MODULES "), done.stderr
    return set(last.split()[1:])


def top_level(modules: set[str]) -> set[str]:
    return {m.partition(".")[0] for m in modules}


def test_describe_json_imports_no_rich() -> None:
    modules = imported("describe", "examples/resnet50.yaml", "--format", "json")
    assert "rfcalc.engine" in modules  # the probe did run the command
    assert "rich" not in top_level(modules)
    # the importers' frameworks are optional extras: a YAML model never loads them
    assert not {"torch", "onnx", "ultralytics", "PIL", "pandas"} & top_level(modules)
    # renderers are imported when used: the JSON pays for no table code
    assert "rfcalc.render.json_out" in modules
    assert not modules & {"rfcalc.render.text", "rfcalc.render.rows", "csv"}
    # nor for the checks, which only `check` and api.check run
    assert "rfcalc.checks" not in modules


def test_version_imports_neither_rich_nor_yaml() -> None:
    modules = imported("--version")
    assert "typer" in top_level(modules)
    assert not {"rich", "yaml"} & top_level(modules)


LAYERS = 10_000
# Measured on 2026-11-22 (CPython 3.11): 12.8 blocks and 2.6 KiB per layer (16.7 blocks and
# 3.3 KiB before a layer's output bytes, the steps and fields of its square axes, its lint
# set, its line's number and its YAML strings were shared; 17.7 before a stride's Fraction was).
# A rise past these bounds is a new object (or a dict) per layer somewhere: find it before
# raising them.
MAX_BLOCKS_PER_LAYER = 14
MAX_PEAK_BYTES_PER_LAYER = 2_900


def test_objects_per_layer_on_a_long_chain(tmp_path: Path) -> None:
    """A chain of 10,000 convolutions written out: the memory blocks that the report keeps
    per layer, and the peak of everything traced while it is read, built, analysed and
    written as JSON, per layer."""
    path = tmp_path / "chain.yaml"
    layer = "  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}\n"
    path.write_text("input: [8, 32, 32]\nlayers:\n" + layer * LAYERS, encoding="utf-8")
    written = [0]

    def sink(text: str) -> None:
        written[0] += len(text)

    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        tracemalloc.reset_peak()
        report = describe(str(path))
        after = tracemalloc.take_snapshot()
        stream(report, PLAIN, sink)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    kept = sum(stat.count_diff for stat in after.compare_to(before, "filename"))
    assert len(report.layers) == LAYERS
    assert written[0] > 500 * LAYERS  # the JSON was written (about 640 bytes a layer)
    assert kept / LAYERS < MAX_BLOCKS_PER_LAYER
    assert peak / LAYERS < MAX_PEAK_BYTES_PER_LAYER
