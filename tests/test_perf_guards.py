"""Deterministic guards for rfcalc's speed (issue 13): what a command imports, and how many
objects a layer costs. Timings live in benchmarks/perf.py, which asserts nothing; these
count, so they fail the same way on any machine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfcalc import loader, yamltree
from rfcalc.api import describe
from rfcalc.errors import InputError, RfcalcError, SourcePos
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
    # nor for the Python API (its Report and Graph classes, pandas and HTML helpers): the
    # command line runs rfcalc.pipeline; nor for dataclasses, which only the API's uses
    assert "rfcalc.pipeline" in modules
    assert not modules & {"rfcalc.api", "dataclasses"}
    # nor for the hints that name other tools' spellings, which only a mistake needs
    assert "rfcalc.foreign" not in modules
    # a stride is an int until a layer makes it fractional (rfcalc.rf.ratio): resnet50 never
    # loads fractions, nor decimal and numbers, which fractions imports; the writer uses json's
    # C string encoder without the json package (its decoder and its scanner's regexes)
    assert not {"fractions", "decimal", "numbers", "json"} & top_level(modules)
    # a UTF-8 byte-order mark is dropped without the utf-8-sig codec's module
    assert "encodings.utf_8_sig" not in modules


def test_a_fractional_stride_is_a_fraction_and_a_whole_one_an_int() -> None:
    """rfcalc.rf.ratio: 6/3 = 2 and 7/1 = 7 are ints (what resnet50's strides and its
    adaptive 7->1 pooling give), 1/2 (an upsampling's stride) and 7/2 Fractions."""
    from fractions import Fraction

    from rfcalc.rf import ratio

    whole = [ratio(6, 3), ratio(7, 1), ratio(0, 5), ratio(-4, 2)]
    assert whole == [2, 7, 0, -2]
    assert all(type(value) is int for value in whole)
    assert ratio(1, 2) == Fraction(1, 2)
    assert ratio(7, 2) == Fraction(7, 2)
    assert ratio(-3, 2) == Fraction(-3, 2)


def _built_commands(monkeypatch: pytest.MonkeyPatch, *args: str) -> list[str | None]:
    """The commands that typer builds (reads the signature of, makes the options of) while
    rfcalc runs with ``args``, in order."""
    import typer.main
    from typer.testing import CliRunner

    from rfcalc.cli import app

    built: list[str | None] = []
    real = typer.main.get_command_from_info

    def spy(info: typer.models.CommandInfo, **settings: Any) -> object:
        built.append(info.name)
        return real(info, **settings)

    monkeypatch.setattr(typer.main, "get_command_from_info", spy)
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return built


COMMANDS = ["describe", "check", "diff", "rf", "convert", "schema", "examples", "layers"]


def test_a_run_builds_only_the_command_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    model = str(ROOT / "examples" / "lenet5.yaml")
    assert _built_commands(monkeypatch, "describe", model, "-f", "json") == ["describe"]
    assert _built_commands(monkeypatch, "layers") == ["layers"]
    # the group's help lists them all, in the order they are registered
    assert _built_commands(monkeypatch, "--help") == COMMANDS


def test_version_imports_neither_rich_nor_yaml() -> None:
    modules = imported("--version")
    assert "typer" in top_level(modules)
    assert not {"rich", "yaml"} & top_level(modules)


LAYERS = 10_000
# Measured on 2026-11-22 (CPython 3.11): 12.5 blocks and 1,679 bytes per layer (2,255 bytes
# before the graph stopped holding the spec, and a scalar and an argument their position
# objects; 2,660 before layers alike shared one validation, a layer's argument places were
# read from its spec and the names a layer mentions shared one empty set; 16.7 blocks and
# 3.3 KiB before a layer's output bytes, the steps and fields of its square axes, its lint
# set, its line's number and its YAML strings were shared; 17.7 before a stride's Fraction was).
# A rise past these bounds is a new object (or a dict) per layer somewhere: find it before
# raising them.
MAX_BLOCKS_PER_LAYER = 14
MAX_PEAK_BYTES_PER_LAYER = 1_800


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


def test_describe_of_resnet50_parses_only_the_library_file_it_uses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`include: [torchvision]` names ten files of blocks; resnet50 uses one of them
    (Bottleneck, in torchvision/resnet.yaml): the others are known by their blocks' names,
    never parsed."""
    from rfcalc import loader, yamltree

    parsed: list[str] = []
    real = yamltree.parse

    def parse(text: str, path: str, layer: object = None) -> object:
        parsed.append(os.path.relpath(path, ROOT))
        return real(text, path, layer)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "parse", parse)
    describe(str(ROOT / "examples" / "resnet50.yaml"))
    library = os.path.join("rfcalc", "library")
    assert parsed == [
        os.path.join("examples", "resnet50.yaml"),
        os.path.join(library, "torchvision.yaml"),
        os.path.join(library, "torchvision", "resnet.yaml"),
    ]


LIBRARY_FILES = sorted((ROOT / "rfcalc" / "library").rglob("*.yaml"))


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: p.name)
def test_the_library_index_names_the_blocks_each_file_defines(path: Path) -> None:
    """What library_index reads from a file's lines is what parsing it gives: every name, in
    order. Each file of blocks (one folder down) is indexed, so that none is parsed unused."""
    from rfcalc.loader import _blocks_of, _library_top, library_index
    from rfcalc.yamltree import parse

    top = _library_top(parse(path.read_text(encoding="utf-8"), str(path)))
    names = tuple(block.name for block in _blocks_of(top))
    indexed = library_index(str(path))
    if path.parent.name == "library":  # torchvision.yaml: the list of files, parsed
        assert indexed is None
    else:
        assert names
        assert indexed == names


def test_the_library_index_reads_no_file_outside_the_library(tmp_path: Path) -> None:
    """A user's file of blocks is parsed whole when included: its mistakes are reported even in
    blocks the model does not use."""
    from rfcalc.loader import library_index

    mine = tmp_path / "blocks.yaml"
    mine.write_text("blocks:\n  unit:\n    layers: [relu]\n", encoding="utf-8")
    assert library_index(str(mine)) is None


PLAIN_OR_NOT = st.text(
    st.sampled_from("ab \t\n\r\x00\x1b\x7f\x85\u202e\u2066é\udc80"), max_size=12
) | st.text(max_size=12)


@given(PLAIN_OR_NOT, st.booleans())
def test_printable_skips_its_pattern_only_for_text_it_would_not_change(
    text: str, newlines: bool
) -> None:
    """printable answers plain ASCII text without compiling its pattern (the first compile
    of each costs most of a millisecond); what it gives is always what the pattern gives."""
    from rfcalc import errors

    pattern = errors._CONTROL if newlines else errors._CONTROL_OR_NEWLINE
    assert errors.printable(text, newlines) == re.sub(pattern, errors._escape, text)


COLLECTIONS_PROBE = """
import gc, os, sys
from rfcalc import cli

real_exit = os._exit
before = sum(s["collections"] for s in gc.get_stats())

def exit_(code):
    after = sum(s["collections"] for s in gc.get_stats())
    sys.stderr.write(f"\\nCOLLECTIONS {after - before}\\n")
    sys.stderr.flush()
    real_exit(code)

os._exit = exit_
sys.argv = ["rfcalc", *sys.argv[1:]]
cli.main()
"""


def test_the_script_runs_no_garbage_collection() -> None:
    """From the start of the rfcalc script's main() to its exit, through the imports of the
    command and its work, the cyclic garbage collector never runs a pass."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            COLLECTIONS_PROBE,
            "describe",
            "examples/resnet50.yaml",
            "-f",
            "json",
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("{")
    assert done.stderr.strip().splitlines()[-1] == "COLLECTIONS 0"


def test_every_character_the_escaping_patterns_match_is_unprintable() -> None:
    """rfcalc.errors.may_hold_controls skips the escaping patterns (and their compiling) for
    text that str.isprintable passes: sound only if every character they match is one that
    isprintable refuses. Checked over all of Unicode, one search per pattern."""
    from rfcalc import errors
    from rfcalc.render import json_out

    everything = "".join(map(chr, range(0x110000)))
    for pattern in (errors._CONTROL, errors._CONTROL_OR_NEWLINE, json_out._UNSAFE):
        matched = re.findall(pattern, everything)
        # DEL and C1 (33) and the bidi overrides (5 + 4): 42, and C0 and surrogates for errors
        assert len(matched) >= 42
        assert not [c for c in matched if c.isprintable()]
    # the layout characters are let through, and text with nothing else is left alone
    assert not errors.may_hold_controls("a\tb\n−×", "\t\n")
    assert errors.may_hold_controls("a\tb\n−×", "\t")
    assert errors.may_hold_controls("x\u202ey", "\t\n")
    assert errors.printable("3×3 −1\n") == "3×3 −1\n"
    assert errors.printable("3×3\x1b[2J\u202e") == "3×3\\x1b[2J\\u202e"


def test_the_script_pauses_the_collector_before_typer_loads() -> None:
    """The console script (rfcalc.script) turns the cyclic collector off before the command
    line's modules load: their import then makes no passes over the heap (about 5 ms of a
    command's start, measured with benchmarks/perf.py). A finder that runs at typer's import
    reports whether the collector is on then."""
    probe = (
        "import gc, sys\n"
        "class Spy:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'typer':\n"
        "            sys.stderr.write(f'TYPER_GC {gc.isenabled()}\\n')\n"
        "        return None\n"
        "sys.meta_path.insert(0, Spy())\n"
        "sys.argv = ['rfcalc', '--version']\n"
        "from rfcalc.script import main\n"
        "main()\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("rfcalc ")
    assert "TYPER_GC False" in done.stderr.splitlines()


def test_the_top_level_layers_reach_the_loader_one_by_one() -> None:
    """Each item of the top-level ``layers`` list is handed over as soon as it is read, and
    not kept in the tree: a long model's reading peak is its spec, not its spec and tree."""
    seen: list[yamltree.YNode] = []
    text = (
        "input: [3, 8, 8]\n"
        "layers:\n"
        "  - relu\n"
        "  - {type: conv2d, out_channels: 4, kernel_size: 3}\n"
        "  - {layers: [relu]}\n"
        "checks: {max_params: [1]}\n"
    )
    root = yamltree.parse(text, "m.yaml", seen.append)
    assert [yamltree.what_node(node) for node in seen] == [
        "'relu' (a string)",
        "a mapping",
        "a mapping",
    ]
    assert [node.pos.line for node in seen] == [3, 4, 5]
    assert isinstance(root, yamltree.YMap)
    layers, checks = root.get("layers"), root.get("checks")
    assert isinstance(layers, yamltree.YSeq)
    assert layers.items == ()
    assert isinstance(checks, yamltree.YMap)  # lists elsewhere are kept
    assert checks.items[0][1] == yamltree.YSeq(
        (yamltree.YScalar(1, "m.yaml", 6, 23),), SourcePos("m.yaml", 6, 22)
    )
    nested = seen[2]
    assert isinstance(nested, yamltree.YMap)  # and the lists inside an item
    assert nested.items[0][1] == yamltree.YSeq(
        (yamltree.YScalar("relu", "m.yaml", 5, 15),), SourcePos("m.yaml", 5, 14)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a bad layer, then an unknown top-level key: the key, whose check comes first
        ("input: [3, 8, 8]\nlayers:\n  - {name: a}\nbogus: 1\n", "4:1: unknown top-level key"),
        # a bad layer, then a YAML error: the YAML error, found before anything is read
        ("input: [3, 8, 8]\nlayers:\n  - {name: a}\n  - [relu\n", "5:1: invalid YAML"),
        # two bad layers: the first
        ("input: [3, 8, 8]\nlayers:\n  - {name: a}\n  - 3\n", "3:5: layer has no 'type'"),
        # a bad layer and no input: the input
        ("layers:\n  - {name: a}\n", "1:1: the model has no 'input' shape"),
        # a bad layer and a bad variable before it in the spec's order: the variable
        ("layers:\n  - {name: a}\nvars: 3\ninput: [3, 8, 8]\n", "3:7: 'vars' must be a mapping"),
    ],
)
def test_layers_read_one_by_one_report_errors_in_the_same_order(text: str, expected: str) -> None:
    with pytest.raises(InputError) as caught:
        loader.load_text(text, "m.yaml")
    error = caught.value
    assert error.pos is not None
    assert f"{error.pos.line}:{error.pos.col}: {error.message}".startswith(expected)


def test_an_anchored_layers_list_is_kept_for_its_aliases() -> None:
    text = (
        "input: [3, 8, 8]\n"
        "layers: &body\n"
        "  - {type: conv2d, out_channels: 4, kernel_size: 3}\n"
        "blocks:\n"
        "  twice: {layers: *body}\n"
    )
    spec = loader.load_text(text, "m.yaml")
    assert [layer.type for layer in spec.layers] == ["conv2d"]
    assert [layer.type for layer in spec.blocks["twice"].layers] == ["conv2d"]


@pytest.mark.parametrize(
    ("layer", "where"),
    [
        # a block mapping: kernel_size's value on the layer's third line, after 'kernel_size: '
        ("  - type: conv2d\n    out_channels: 8\n    kernel_size: 7\n", "m.yaml:5:18"),
        # a flow mapping: '  - {' is 5 columns, 'type: conv2d, ' 14, 'out_channels: 8, ' 17,
        # 'kernel_size: ' 13: the value is at column 5 + 14 + 17 + 13 + 1 = 50
        ("  - {type: conv2d, out_channels: 8, kernel_size: 7}\n", "m.yaml:3:50"),
        # a block of another file, on its line 4: '      - {' is 9 columns, 'type: conv2d, '
        # 14, 'kernel_size: ' 13: the value is at column 9 + 14 + 13 + 1 = 37
        ("  - {type: b}\n", "lib.yaml:4:37"),
    ],
)
def test_a_layer_knows_where_its_arguments_are_without_its_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layer: str, where: str
) -> None:
    """The graph keeps a layer's position and a layout shared with layers laid out alike,
    not its spec: an error found in analysis still points at the argument's own place."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lib.yaml").write_text(
        "blocks:\n  b:\n    layers:\n      - {type: conv2d, kernel_size: 7, out_channels: 8}\n"
    )
    (tmp_path / "m.yaml").write_text(f"input: [3, 4, 4]\nlayers:\n{layer}include: [lib.yaml]\n")
    with pytest.raises(RfcalcError) as caught:
        describe("m.yaml")
    assert caught.value.message.endswith(
        "kernel spans 7 positions but the padded input has 4 on axis H"
    )
    assert str(caught.value.pos) == where


@pytest.mark.parametrize("item", ["{type: relu}", "5"])
def test_an_ultralytics_config_ignores_a_layers_list_read_one_by_one(item: str) -> None:
    """Ultralytics ignores keys it does not know: a top-level ``layers`` list handed over
    while the file was read is dropped with the rest, valid or not."""
    config = (
        "nc: 80\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n  - [-1, 1, Conv, [64, 3, 1]]\n"
    )
    alone = loader.load_text(config, "u.yaml")
    assert loader.load_text(config + f"layers:\n  - {item}\n", "u.yaml") == alone
