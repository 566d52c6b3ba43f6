"""The renderer table, the tree of blocks, --columns, colour, the format from --output's
extension and the JSON ``blocks`` key. Every expected number is worked out by hand below."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rfcalc.api import describe
from rfcalc.cli import app
from rfcalc.render import FORMATS, PLAIN, View, renderer
from rfcalc.render.blocks import blocks
from rfcalc.render.tree import tree_rows
from tests.helpers import EXAMPLES, ROOT, report_of

runner = CliRunner()

TINY = """\
name: tiny
input: [3, 8, 8]
blocks:
  unit:
    args: {c: null}
    layers:
      - {type: conv2d, name: conv, out_channels: $c, kernel_size: 3, padding: 1, bias: false}
      - {type: batchnorm2d, name: bn}
      - relu
layers:
  - {type: conv2d, name: stem, out_channels: 4, kernel_size: 3, padding: 1}
  - {type: unit, name: stage, c: 4, repeat: 2}
  - {type: unit, name: head, c: 8, trainable: false}
  - {type: maxpool2d, name: pool, kernel_size: 2}
  - globalavgpool2d
  - {type: linear, name: fc, out_features: 10}
"""
# By hand, on 3×8×8 ('same' padding keeps 8×8 until the pool):
#   stem   conv 3→4, 3×3, bias: 4·3·9 + 4 = 112 params; 4·8·8 = 256 outputs · 3·9 = 6,912 MACs
#   unit c=4 (stage.0, stage.1): conv 4·4·9 = 144, bn 2·4 = 8 → 152 params; 256 · 4·9 = 9,216 MACs
#   unit c=8 (head, frozen):     conv 8·4·9 = 288, bn 2·8 = 16 → 304 params; 512 · 36 = 18,432
#   pool 8×8 → 4×4; global pool → 8; fc 8·10 + 10 = 90 params, 10·8 = 80 MACs
#   totals: 112 + 2·152 + 304 + 90 = 810 params (304 frozen); 6,912 + 2·9,216 + 18,432 + 80
#   = 43,856 MACs
#   receptive fields (size/stride/padding): stem 3/1/1, stage.0 5/1/2, stage.1 7/1/3,
#   head 9/1/4 (the first to cover all 8 inputs: unit 4 sees [0, 8]), pool 10/2/4, then global
#   with the hull of the pool's units [-4, 11]: size 16, padding 4.
# Leaf positions: stem 0, stage.0 1-3, stage.1 4-6, head 7-9, pool 10, global pool 11, fc 12.


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


TREE_ART = re.compile("(?:│  |   )*[├└]─ ")


def _cells(line: str) -> list[str]:
    """A table line's cells (columns are two spaces apart, cells hold at most one; the
    tree's branches belong to the name)."""
    art = TREE_ART.match(line)
    prefix = art.group() if art else ""
    cells = re.split(r"\s{2,}", line[len(prefix) :].strip())
    return [prefix + cells[0], *cells[1:]]


def _body(text: str) -> list[str]:
    lines = text.splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("---")]
    return lines[rules[0] + 1 : rules[1]]


# ---------------------------------------------------------------- the renderer table


def test_every_format_is_a_module_with_one_signature() -> None:
    report = report_of(TINY)
    for name in FORMATS:
        render = renderer(name)
        assert list(inspect.signature(render).parameters) == ["report", "view"]
        assert isinstance(render(report, PLAIN), str)


def test_tree_of_a_small_model_by_hand() -> None:
    text = renderer("tree")(report_of(TINY), PLAIN)
    rows = [_cells(line) for line in _body(text)]
    # (tree cell, depth-idx, type, params, MACs, RF); depth-idx counts each level on through
    # the model, as torchinfo's: head's children continue level 2 after stage's 2-1, 2-2
    expected = [
        ("├─ stem", "1-1", "conv2d", "112", "6912", "3"),
        ("├─ stage", "1-2", "(6 layers)", "304", "18.43 K", "7"),
        ("│  ├─ 0", "2-1", "(3 layers)", "152", "9216", "5"),
        ("│  │  ├─ conv", "3-1", "conv2d", "144", "9216", "5"),
        ("│  │  ├─ bn", "3-2", "batchnorm2d", "8", "0", "5"),
        ("│  │  └─ relu_0", "3-3", "relu", "0", "0", "5"),
        ("│  └─ 1", "2-2", "(3 layers)", "152", "9216", "7"),
        ("│     ├─ conv", "3-4", "conv2d", "144", "9216", "7"),
        ("│     ├─ bn", "3-5", "batchnorm2d", "8", "0", "7"),
        ("│     └─ relu_0", "3-6", "relu", "0", "0", "7"),
        ("├─ head", "1-3", "(3 layers)", "304", "18.43 K", "9"),
        ("│  ├─ conv", "2-3", "conv2d", "288", "18.43 K", "9"),
        ("│  ├─ bn", "2-4", "batchnorm2d", "16", "0", "9"),
        ("│  └─ relu_0", "2-5", "relu", "0", "0", "9"),
        ("├─ pool", "1-4", "maxpool2d", "0", "0", "10"),
        ("├─ globalavgpool2d_0", "1-5", "globalavgpool2d", "0", "0", "16"),
        ("└─ fc", "1-6", "linear", "90", "80", "16"),
    ]
    assert [(r[0], r[1], r[2], r[4], r[5], r[6]) for r in rows] == expected


def test_tree_depth_folds_as_the_table_does() -> None:
    report = report_of(TINY)
    text = renderer("tree")(report, View(depth=1))
    names = [_cells(line)[0] for line in _body(text)]
    assert names == ["├─ stem", "├─ stage", "├─ head", "├─ pool", "├─ globalavgpool2d_0", "└─ fc"]
    # at depth N the table's rows are the tree's rows that have no children shown
    two = tree_rows(report, depth=2)
    table = renderer("table")(report, View(depth=2))
    shown = [r.name for r in two if not r.block or r.depth_idx.startswith("2-")]
    assert [_cells(line)[0] for line in _body(table)] == [
        "stem",
        "stage.0",
        "stage.1",
        "head.conv",
        "head.bn",
        "head.relu_0",
        "pool",
        "globalavgpool2d_0",
        "fc",
    ]
    assert shown == ["stem", "0", "1", "conv", "bn", "relu_0", "pool", "globalavgpool2d_0", "fc"]


def test_resnet50_block_subtotals_by_hand() -> None:
    report = describe(str(EXAMPLES / "resnet50.yaml"))
    # layer1.0 (a bottleneck on 64×56×56 with a downsample to 256 channels):
    #   conv1 1×1 64→64: 4,096; bn1 128; conv2 3×3 64→64: 36,864; bn2 128;
    #   conv3 1×1 64→256: 16,384; bn3 512; downsample conv 1×1 64→256: 16,384; its bn 512
    #   = 75,008 params. MACs on 56·56 = 3,136 positions: 3,136 · (4,096 + 36,864 + 16,384
    #   + 16,384) = 3,136 · 73,728 = 231,211,008.
    # layer1.1 and layer1.2 (256 channels in): conv1 256·64 = 16,384; 36,864; 16,384; bns
    #   128 + 128 + 512 → 70,400. layer1 = 75,008 + 2 · 70,400 = 215,808.
    # layer1 holds 3 instances of 12 + 10 + 10 leaves = 32, after conv1, bn1, relu, maxpool.
    found = {b.name: b for b in blocks(report)}
    assert (found["layer1.0"].params, found["layer1.0"].macs) == (75_008, 231_211_008)
    assert found["layer1.1"].params == found["layer1.2"].params == 70_400
    assert (found["layer1"].params, found["layer1"].first, found["layer1"].last) == (215_808, 4, 35)
    tree = renderer("tree")(report, View(depth=2))
    assert "├─ layer1" in tree
    assert _cells(next(x for x in tree.splitlines() if x.startswith("│  ├─ 0 "))) == [
        "│  ├─ 0",
        "2-1",
        "(12 layers)",
        "256×56×56",
        "75,008",
        "231.21 M",
        "19",
        "4",
        "9",
    ]


def test_deep_nesting_needs_no_recursion() -> None:
    """300 blocks inside one another: the tree and the JSON list them without recursing."""
    n = 300
    lines = ["input: [1, 8]", "blocks:"]
    for i in range(n):
        lines += [f"  b{i}:", "    layers:", f"      - {f'b{i + 1}' if i < n - 1 else 'relu'}"]
    report = report_of("\n".join([*lines, "layers:", "  - b0", ""]))
    found = blocks(report)
    assert [b.depth for b in found] == list(range(1, n + 1))
    tree = renderer("tree")(report, PLAIN)
    assert f"{'   ' * (n - 1)}└─ b{n - 1}" in tree  # each level its own, the last one alone
    assert f"{'   ' * n}└─ relu_0" in tree
    assert len(json.loads(renderer("json")(report, PLAIN))["blocks"]) == n


# ---------------------------------------------------------------- JSON 'blocks'


def test_json_blocks_by_hand(tiny: Path) -> None:
    result = runner.invoke(app, ["describe", str(tiny), "--format", "json"])
    assert (result.exit_code, result.stderr) == (0, "")
    doc = json.loads(result.stdout)
    assert len(doc["layers"]) == 13  # still leaf-level
    # buffers: 2 per batch-norm channel; output bytes: float32 outputs, 4·8·8·4 = 1,024 each
    # in stage, 8·8·8·4 = 2,048 each in head
    assert doc["blocks"] == [
        {
            "name": "stage",
            "parent": None,
            "depth": 1,
            "first": 1,
            "last": 6,
            "output_shape": [4, 8, 8],
            "params": 304,
            "trainable_params": 304,
            "buffers": 16,
            "macs": 18_432,
            "output_bytes": 6 * 1024,
        },
        {
            "name": "stage.0",
            "parent": "stage",
            "depth": 2,
            "first": 1,
            "last": 3,
            "output_shape": [4, 8, 8],
            "params": 152,
            "trainable_params": 152,
            "buffers": 8,
            "macs": 9_216,
            "output_bytes": 3 * 1024,
        },
        {
            "name": "stage.1",
            "parent": "stage",
            "depth": 2,
            "first": 4,
            "last": 6,
            "output_shape": [4, 8, 8],
            "params": 152,
            "trainable_params": 152,
            "buffers": 8,
            "macs": 9_216,
            "output_bytes": 3 * 1024,
        },
        {
            "name": "head",
            "parent": None,
            "depth": 1,
            "first": 7,
            "last": 9,
            "output_shape": [8, 8, 8],
            "params": 304,
            "trainable_params": 0,
            "buffers": 16,
            "macs": 18_432,
            "output_bytes": 3 * 2048,
        },
    ]


@pytest.mark.parametrize("example", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_top_level_blocks_and_loose_layers_add_up_to_the_totals(example: str) -> None:
    report = describe(str(EXAMPLES / f"{example}.yaml"))
    top = [b for b in blocks(report) if b.parent is None]
    loose = [r for r in report.layers if not r.groups]
    assert sum(b.params for b in top) + sum(r.params for r in loose) == report.totals.params
    assert sum(b.macs for b in top) + sum(r.macs for r in loose) == report.totals.macs
    # each block's range holds exactly the layers whose names start with its own
    for b in blocks(report):
        inside = [i for i, r in enumerate(report.layers) if r.name.startswith(b.name + ".")]
        assert (inside[0], inside[-1], len(inside)) == (b.first, b.last, b.last - b.first + 1)


# ---------------------------------------------------------------- --columns


def test_the_documented_columns_are_the_columns() -> None:
    """--help and docs/cli.md list the formats and the columns there are, in their order."""
    from rfcalc.render.rows import COLUMNS

    help_text = " ".join(runner.invoke(app, ["describe", "--help"]).stdout.split())
    assert ", ".join(COLUMNS) + "." in help_text
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    formats, columns = doc.split("### Formats")[1], doc.split("### Columns")[1]
    listed = re.compile(r"^\| `([a-z_%]+)` \|", re.MULTILINE)
    assert listed.findall(formats.split("###")[0]) == list(FORMATS)
    assert listed.findall(columns.split("###")[0]) == list(COLUMNS)


def test_every_column_by_hand(tiny: Path) -> None:
    every = "kernel,stride,padding,dilation,input,output,params%,macs%,trainable,output_bytes"
    result = runner.invoke(app, ["describe", str(tiny), "--columns", every + ",rf_axes"])
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert _cells(lines[2]) == [
        "Layer",
        "Kernel",
        "Stride",
        "Padding",
        "Dilation",
        "Input",
        "Output",
        "Params %",
        "MACs %",
        "Trainable",
        "Out bytes",
        "RF H",
        "RF W",
    ]
    rows = {line.split()[0]: line for line in _body(result.stdout)}
    # stem: 112/810 = 13.827…% of the params, 6,912/43,856 = 15.760…% of the MACs;
    # output 4·8·8 float32 = 1,024 B
    assert _cells(rows["stem"]) == [
        "stem",
        "3",
        "1",
        "1",
        "1",
        "3×8×8",
        "4×8×8",
        "13.83%",
        "15.76%",
        "yes",
        "1.00 KiB",
        "3/1/1",
        "3/1/1",
    ]
    # head's batch-norm: frozen, 16/810 = 1.975…%; no kernel (blank cells)
    assert _cells(rows["head.bn"]) == [
        "head.bn",
        "8×8×8",
        "8×8×8",
        "1.98%",
        "0%",
        "no",
        "2.00 KiB",
        "9/1/4",
        "9/1/4",
    ]
    # a pool's stride defaults to its kernel, as in PyTorch; 8·4·4·4 = 512 B
    assert _cells(rows["pool"])[1:5] == ["2", "2", "0", "1"]
    assert _cells(rows["pool"])[-3:] == ["512 B", "10/2/4", "10/2/4"]
    # fc: 90/810 = 11.11%, 80/43,856 = 0.182…%; a relu has no parameters to train
    assert _cells(rows["fc"])[-6:-3] == ["11.11%", "0.18%", "yes"]
    assert _cells(rows["stage.0.relu_0"])[-4] == "–"


def test_added_columns_and_the_renamed_rf_headers(tiny: Path) -> None:
    result = runner.invoke(app, ["describe", str(tiny), "--columns", "+kernel,+stride"])
    assert (result.exit_code, result.stderr) == (0, "")
    # the layer's stride beside the field's: the field's columns say they are the field's
    assert _cells(result.stdout.splitlines()[2]) == [
        "Layer",
        "Type",
        "Output",
        "Params",
        "MACs",
        "RF",
        "RF stride",
        "Padding",  # no layer padding shown: no ambiguity
        "Kernel",
        "Stride",
    ]


@pytest.mark.parametrize(
    ("value", "message", "hint"),
    [
        ("params,parms", "--columns: unknown column 'parms'", "did you mean 'params'?"),
        ("rf_stide", "--columns: unknown column 'rf_stide'", "did you mean 'rf_stride'?"),
        (
            "zzz",
            "--columns: unknown column 'zzz'",
            "the columns: type, from, input, output, params, params%, trainable, macs, macs%, "
            "output_bytes, kernel, stride, padding, dilation, rf, rf_stride, rf_padding, rf_axes",
        ),
        (
            "+kernel,params",
            "--columns: either name every column, or add to the default ones with +NAME",
            "to add them all: --columns +kernel,+params",
        ),
        (
            " , ",
            "--columns names no column",
            "the columns: type, from, input, output, params, params%, trainable, macs, macs%, "
            "output_bytes, kernel, stride, padding, dilation, rf, rf_stride, rf_padding, rf_axes",
        ),
    ],
)
def test_bad_columns(tiny: Path, value: str, message: str, hint: str) -> None:
    result = runner.invoke(app, ["describe", str(tiny), "--columns", value])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"rfcalc: error: {message}\nhint: {hint}\n"


def test_unknown_format(tiny: Path) -> None:
    result = runner.invoke(app, ["describe", str(tiny), "--format", "jsno"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert (
        result.stderr
        == "rfcalc: error: --format: unknown format 'jsno'\nhint: did you mean 'json'?\n"
    )


def test_markdown_takes_the_columns(tiny: Path) -> None:
    result = runner.invoke(
        app, ["describe", str(tiny), "-f", "markdown", "--columns", "params,macs%"]
    )
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[2:5] == [
        "| Layer | Params | MACs % |",
        "|---|---:|---:|",
        "| stem | 112 | 15.76% |",
    ]


# ---------------------------------------------------------------- choosing the format


@pytest.mark.parametrize(
    ("name", "extra", "starts"),
    [
        ("out.json", [], "{\n"),
        ("out.JSON", [], "{\n"),
        ("out.md", [], "## tiny\n"),
        ("out.csv", [], "index,name,type,"),
        ("out.txt", [], "tiny\n\nLayer "),
        ("out.csv", ["--format", "json"], "{\n"),  # --format wins
        ("out.json", ["--depth", "1"], "{\n"),
    ],
)
def test_format_follows_the_output_extension(
    tiny: Path, tmp_path: Path, name: str, extra: list[str], starts: str
) -> None:
    out = tmp_path / name
    result = runner.invoke(app, ["describe", str(tiny), "-o", str(out), *extra])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert out.read_text(encoding="utf-8").startswith(starts)


def test_depth_shows_the_tree_unless_a_table_is_asked_for(tiny: Path) -> None:
    tree = runner.invoke(app, ["describe", str(tiny), "--depth", "1"])
    assert (tree.exit_code, tree.stderr) == (0, "")
    assert _cells(_body(tree.stdout)[1])[:3] == ["├─ stage", "1-2", "(6 layers)"]
    table = runner.invoke(app, ["describe", str(tiny), "--depth", "1", "--format", "table"])
    assert (table.exit_code, table.stderr) == (0, "")
    assert _cells(_body(table.stdout)[1])[:3] == ["stage", "(6 layers)", "4×8×8"]
    full = runner.invoke(app, ["describe", str(tiny), "--format", "tree"])
    assert "│  │  └─ relu_0" in full.stdout


def test_wide_changes_nothing_in_a_pipe(tiny: Path) -> None:
    plain = runner.invoke(app, ["describe", str(tiny)])
    wide = runner.invoke(app, ["describe", str(tiny), "--wide"])
    assert (wide.exit_code, wide.stderr) == (0, "")
    assert wide.stdout == plain.stdout


# ---------------------------------------------------------------- colour

DIM, GREEN, YELLOW, ITALIC, RESET = "\x1b[2m", "\x1b[32m", "\x1b[33m", "\x1b[3m", "\x1b[0m"


def test_colour_carries_meaning() -> None:
    text = renderer("tree")(report_of(TINY), View(colour=True))
    body = _body(text)
    stem, head, head_conv = body[0], body[10], body[11]
    assert head.startswith("├─ head")
    assert head_conv.startswith("│  ├─ conv")
    # head is frozen: its params dim; the trainable stem's not
    assert re.search(rf"{re.escape(DIM)}\s*304{re.escape(RESET)}", head)
    assert DIM not in stem
    # head's conv is the first whose field (9 on 8 inputs) covers the input: its RF is green
    assert re.search(rf"{re.escape(GREEN)}\s*9{re.escape(RESET)}", head_conv)
    assert GREEN not in stem
    assert GREEN not in body[7]  # stage.1's conv: 7 < 8
    key = f"colours: {GREEN}RF: covers the whole input{RESET}, {DIM}params: frozen{RESET}"
    assert key in text.splitlines()
    assert "\x1b" not in renderer("tree")(report_of(TINY), PLAIN)


def test_a_warned_layer_is_highlighted() -> None:
    text = """\
input: [1, 16]
layers:
  - {type: conv1d, name: a, out_channels: 2, kernel_size: 3, padding: 1}
  - {type: conv1d, name: b, from: input, out_channels: 2, kernel_size: 2, padding: [[1, 0]]}
  - {type: add, name: sum, from: [a, b]}
"""
    # a's field is [x-1, x+1], b's [x-1, x]: their centres differ by 1/2, a warning on 'sum'
    out = renderer("table")(report_of(text), View(colour=True))
    assert f"{YELLOW}sum" in out
    assert f"{YELLOW}warning{RESET}: sum: " in out
    assert f"{YELLOW}a" not in out
