"""Branches and reuse (docs/format.md): names, from, merges, blocks, repeat, vars, --set, trainable."""

from __future__ import annotations

import json
import time
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rfcalc.api import describe
from rfcalc.cli import app
from rfcalc.errors import RfcalcError, SourcePos
from rfcalc.expr import evaluate
from tests.helpers import EXAMPLES, report_of

runner = CliRunner()


@pytest.mark.parametrize(
    ("example", "params", "macs", "buffers"),
    [
        # torchvision docs (ResNet18_Weights.IMAGENET1K_V1): 11,689,512 params, 1.81 GFLOPS
        ("resnet18", 11689512, 1814073344, 9600),
        # torchvision docs (ResNet50_Weights.IMAGENET1K_V1): 25,557,032 params, 4.09 GFLOPS;
        # BN buffers: 2 · (sum of BN channels = 26,560) = 53,120 (the figure)
        ("resnet50", 25557032, 4089184256, 53120),
        # torchvision docs (MobileNet_V2_Weights.IMAGENET1K_V1): 3,504,872 params, 0.30 GFLOPS
        ("mobilenet_v2", 3504872, 300774272, 34112),
        # torchvision docs (MobileNet_V3_Large_Weights.IMAGENET1K_V1): 5,483,032 params,
        # 0.22 GFLOPS. MACs (and buffers) counted from the real torchvision 0.28 model: forward
        # hooks on a 1×3×224×224 input summing out.numel() · in_channels / groups · kh · kw per
        # Conv2d and in · out per Linear (buffers: numel of every running_mean and running_var);
        # the same script gives mobilenet_v2's row above
        ("mobilenet_v3_large", 5483032, 216589760, 24400),
        # torchvision docs (DenseNet121_Weights.IMAGENET1K_V1): 7,978,856 params, 2.83 GFLOPS;
        # MACs and buffers counted from the real model as for mobilenet_v3_large
        ("densenet121", 7978856, 2834161664, 83648),
        # torchvision docs (EfficientNet_B0_Weights.IMAGENET1K_V1): 5,288,548 params,
        # 0.39 GFLOPS; MACs and buffers counted from the real model as for mobilenet_v3_large
        # (the SE's 1×1 convs included, its sigmoid gate and the residual adds not)
        ("efficientnet_b0", 5288548, 385814752, 42016),
        # torchvision docs (ShuffleNet_V2_X1_0_Weights.IMAGENET1K_V1): 2,278,604 params,
        # 0.14 GFLOPS; MACs and buffers counted from the real model as for mobilenet_v3_large
        # (chunk, cat, channel_shuffle and the mean over [2, 3] count nothing)
        ("shufflenet_v2_x1_0", 2278604, 144907992, 16180),
        # torchvision docs (ConvNeXt_Tiny_Weights.IMAGENET1K_V1): 28,589,128 params, 4.46 GFLOPS
        # (_ops 4.456); MACs counted from the real torchvision 0.28 model as for
        # mobilenet_v3_large, each Linear's in · out at every one of its positions (the CNBlock
        # MLPs act on channels-last 56×56 … 7×7 maps); LayerNorm, GELU, the layer-scale mul
        # and the residual adds count nothing; no buffers (no batch norm)
        ("convnext_tiny", 28589128, 4455531264, 0),
    ],
)
def test_torchvision_totals(example: str, params: int, macs: int, buffers: int) -> None:
    report = describe(str(EXAMPLES / f"{example}.yaml"))
    assert (report.totals.params, report.totals.macs) == (params, macs)
    assert report.totals.buffers == buffers
    assert report.output_shape == (1000,)
    # every merge aligned (the lint's other warnings, e.g. unused-padding, are docs/lint.md's)
    assert [w for w in report.warnings if w.code == "misaligned-merge"] == []


def test_resnet_names_and_inputs() -> None:
    report = describe(str(EXAMPLES / "resnet18.yaml"))
    rows = {r.name: r for r in report.layers}
    assert "layer1.0.conv1" in rows
    assert "layer4.1.bn2" in rows
    add = rows["layer2.0.add_0"]
    # torchvision's names: the downsample is an nn.Sequential, conv 0 and batch norm 1
    assert add.inputs == ("layer2.0.bn2", "layer2.0.downsample.1")
    # the shortcut reads the block's input: the previous block's last layer
    assert rows["layer2.0.downsample.0"].inputs == ("layer1.1.relu_0",)
    # layer1 keeps 64 channels at stride 1: no downsample, and 'downsample' means the input
    assert "layer1.0.downsample.0" not in rows
    assert rows["layer1.0.add_0"].inputs == ("layer1.0.bn2", "maxpool")
    # conv1 7/2/3 → r 7, S 2, P 3; maxpool 3/2/1 → r 7+2·2 = 11, S 4, P 3+1·2 = 5
    assert rows["maxpool"].rf.size == (11, 11)
    assert rows["maxpool"].rf.padding == (5, 5)


def test_unet_concat_and_transposed() -> None:
    report = describe(str(EXAMPLES / "unet.yaml"))
    rows = {r.name: r for r in report.layers}
    assert rows["cat1"].output_shape == (1024, 32, 32)
    assert rows["cat1"].inputs == ("down3.conv.relu_1", "up1")
    assert report.output_shape == (2, 256, 256)
    assert rows["up1"].rf.uniform is False
    assert rows["outc"].rf.stride == (Fraction(1), Fraction(1))


TWO_BRANCHES = """\
input: [1, 16]
layers:
  - {type: conv1d, name: a, out_channels: 1, kernel_size: 3}
  - {type: conv1d, name: b, from: input, out_channels: 1, kernel_size: 5, padding: 1}
  - {type: add, name: sum, from: [a, b]}
"""


def test_merge_union_by_hand() -> None:
    # a: unit x reads x … x+2; b (k5, p1): x−1 … x+3; the union x−1 … x+3: r 5, P 1.
    # Both are centred at x+1, so no warning.
    row = report_of(TWO_BRANCHES).layers[2]
    assert (row.rf.size, row.rf.padding, row.rf.uniform) == ((5,), (1,), True)
    assert [w.code for w in report_of(TWO_BRANCHES).warnings] == ["rf-smaller-than-input"]


def test_misaligned_merge_warns() -> None:
    # b with padding [2, 0] reads x−2 … x+2 (centre x, length 16+2−5+1 = 14); a centres at x+1
    text = TWO_BRANCHES.replace("padding: 1", "padding: [[2, 0]]")
    report = report_of(text)
    assert [w.code for w in report.warnings] == ["misaligned-merge", "rf-smaller-than-input"]
    assert report.warnings[0].layer == "sum"
    assert "'a', 'b'" in report.warnings[0].message
    stride_text = TWO_BRANCHES.replace("padding: 1}", "padding: 1, stride: 2}").replace(
        "kernel_size: 3}", "kernel_size: 3, stride: 2}"
    )
    # no misaligned-merge; the lint: a (k3 s2) leaves (16 − 3) mod 2 = 1 input position unread,
    # b (k5 s2 p1) (16 + 2 − 5) mod 2 = 1 of its padding; the field 7 < 16
    codes = [w.code for w in report_of(stride_text).warnings]
    assert codes == ["dropped-input", "unused-padding", "rf-smaller-than-input"]


def test_squeeze_excitation_gate_broadcasts_and_is_context() -> None:
    text = """\
input: [8, 10, 10]
layers:
  - {type: conv2d, name: body, out_channels: 8, kernel_size: 3, padding: 1}
  - {type: globalavgpool2d, keepdims: true}
  - {type: conv2d, out_channels: 2, kernel_size: 1}
  - relu
  - {type: conv2d, out_channels: 8, kernel_size: 1}
  - {type: sigmoid, name: gate}
  - {type: mul, name: scaled, from: [body, gate]}
"""
    report = report_of(text)
    scaled = report.layers[-1]
    assert scaled.output_shape == (8, 10, 10)
    # the gate saw the whole padded input (hull −1 … 10 on both axes), which docs/numbers.md counts
    # as global context: the field is body's, 3×3 with padding 1
    gate = report.layers[-2]
    assert gate.rf.is_global
    assert (gate.rf.size, gate.rf.padding) == ((12, 12), (1, 1))
    assert (scaled.rf.is_global, scaled.rf.global_context) == (False, True)
    assert (scaled.rf.size, scaled.rf.padding) == ((3, 3), (1, 1))


def test_repeat_names_and_last_instance() -> None:
    text = """\
input: [1, 20]
layers:
  - {type: conv1d, name: c, out_channels: 1, kernel_size: 3, repeat: 3}
  - {type: relu, from: c.1}
  - {type: add, from: [c, c.2]}
"""
    report = report_of(text)
    assert [r.name for r in report.layers] == ["c.0", "c.1", "c.2", "relu_0", "add_0"]
    assert report.layers[3].inputs == ("c.1",)
    assert report.layers[4].inputs == ("c.2", "c.2")
    assert report.layers[2].rf.size == (7,)  # 3 + 2 + 2


def test_set_doubles_width() -> None:
    base = describe(str(EXAMPLES / "resnet50.yaml"))
    wide = describe(str(EXAMPLES / "resnet50.yaml"), {"width": "128"})
    assert base.layers[0].output_shape == (64, 112, 112)
    assert wide.layers[0].output_shape == (128, 112, 112)
    # conv1: 128·3·49 = 18,816 = 2 × 9,408
    assert wide.layers[0].params == 2 * base.layers[0].params == 18816
    result = runner.invoke(
        app, ["describe", str(EXAMPLES / "resnet50.yaml"), "--set", "width=128", "-f", "json"]
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["layers"][0]["output_shape"] == [128, 112, 112]


def test_set_unknown_variable() -> None:
    result = runner.invoke(app, ["describe", str(EXAMPLES / "resnet50.yaml"), "--set", "widht=2"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "the model has no variable 'widht'" in result.stderr
    assert "did you mean 'width'?" in result.stderr


def test_frozen_block() -> None:
    text = """\
input: [3, 8, 8]
blocks:
  unit:
    args: {c: null}
    layers:
      - {type: conv2d, out_channels: $c, kernel_size: 3, padding: 1}
      - batchnorm2d
layers:
  - {type: unit, name: backbone, c: 4, trainable: false}
  - {type: conv2d, name: head, out_channels: 2, kernel_size: 1}
"""
    t = report_of(text).totals
    # backbone: conv 4·3·9+4 = 112, BN 8 → 120 frozen; head 2·4+2 = 10 trainable
    assert (t.params, t.trainable_params, t.non_trainable_params) == (130, 10, 120)
    assert t.buffers == 8


def test_depth_folds_display_not_totals() -> None:
    path = str(EXAMPLES / "resnet50.yaml")
    full = runner.invoke(app, ["describe", path]).stdout
    folded = runner.invoke(app, ["describe", path, "--depth", "1", "--format", "table"]).stdout
    assert "layer3     (62 layers)" in folded
    assert "layer3.0.conv1" in full
    assert "layer3.0.conv1" not in folded
    assert full[full.index("\nParams ") :] == folded[folded.index("\nParams ") :]


# (expression, variables, value)
EXPRESSIONS = [
    ("$w", {"w": 8}, 8),
    ("${w * 4}", {"w": 8}, 32),
    ("${8 / 2}", {}, 4.0),
    ("${7 // 2 + 7 % 2}", {}, 4),
    ("${2 ** 10}", {}, 1024),
    ("${-(3 - 5)}", {}, 2),
    ("${max(8, w // 2)}", {"w": 10}, 8),
    ("${min(3, 1, 2)}", {}, 1),
    ("${round(2.5)}", {}, 2),  # Python's banker's rounding
    ("${floor(2.7) + ceil(2.1)}", {}, 5),
    ("${abs(-4)}", {}, 4),
    # torchvision _make_divisible(32 · 0.75, 8) = 24; (30, 8) = 32; (12, 8) → 16 (≥ 0.9·12 rule)
    ("${make_divisible(32 * 0.75)}", {}, 24),
    ("${make_divisible(30, 8)}", {}, 32),
    ("${make_divisible(12, 8)}", {}, 16),
]


@pytest.mark.parametrize(("source", "names", "value"), EXPRESSIONS)
def test_expressions(source: str, names: dict[str, int], value: float) -> None:
    assert evaluate(source, names, SourcePos("m.yaml")) == value


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("${__import__('os')}", "'__import__' is not a function rfcalc knows"),
        ("${w.real}", "unexpected character '.'"),
        ("${open(1)}", "'open' is not a function"),
        ("${9**9**9}", "too large"),
        ("${2 ** 64}", "too large"),
        ("${1 / 0}", "division by zero"),
        ("${wdth}", "unknown name 'wdth'"),
        ("${(1 + 2}", "expected ')'"),
        ("${" + "(" * 60 + "1" + ")" * 60 + "}", "nested deeper"),
        ("$1abc", "is not a variable name"),
    ],
)
def test_expression_errors(source: str, fragment: str) -> None:
    start = time.perf_counter()
    with pytest.raises(RfcalcError) as info:
        evaluate(source, {"w": 3}, SourcePos("m.yaml", 4, 9))
    assert fragment in info.value.message
    assert info.value.pos == SourcePos("m.yaml", 4, 9)
    assert time.perf_counter() - start < 1.0


# ---------------------------------------------------------------- global context (docs/numbers.md)

GATE = """input: [1, 16]
layers:
  - {type: conv1d, name: c0, out_channels: 4, kernel_size: 3, padding: 1}
  - {type: adaptiveavgpool1d, name: pool, output_size: 1}
  - {type: mul, name: gate, from: [c0, pool]}
  - {type: conv1d, name: c1, out_channels: 4, kernel_size: 3, stride: 2, padding: 1}
  - {type: conv1d, name: c2, out_channels: 4, kernel_size: 3, stride: 2, padding: 1}
"""


def test_a_gate_keeps_the_field_it_gates() -> None:
    """The issue's minimal case. Without the gate: c0 r 3, S 1, P 1; c1 r 3 + 2·1 = 5,
    S 2, P 1 + 1·1 = 2; c2 r 5 + 2·2 = 9, S 4, P 2 + 1·2 = 4. The gate adds the pooled branch,
    global (the pool's hull: c0's fields of units 0…15, from −1 to 16, 18 positions), which
    is context: the fields stay 3, 5, 9, and say so. (It reported 18/global/1 everywhere.)"""
    report = report_of(GATE)
    rows = {r.name: r for r in report.layers}
    assert (rows["pool"].rf.size, rows["pool"].rf.is_global) == ((18,), True)
    assert not rows["pool"].rf.global_context
    assert not rows["c0"].rf.global_context
    for name, (size, stride, padding) in {
        "gate": (3, 1, 1),
        "c1": (5, 2, 2),
        "c2": (9, 4, 4),
    }.items():
        rf = rows[name].rf
        assert (rf.size, rf.stride, rf.padding) == ((size,), (Fraction(stride),), (padding,))
        assert (rf.is_global, rf.global_context) == (False, True)
    without = report_of(GATE.replace("from: [c0, pool]", "from: [c0, c0]"))
    assert without.final.rf.size == (9,)
    assert not without.final.rf.global_context


def test_a_gated_field_is_marked_in_the_table_and_json(tmp_path: Path) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text(GATE, encoding="utf-8")
    table = runner.invoke(app, ["describe", str(path)])
    assert table.exit_code == 0
    assert (
        "c2     conv1d                       4×4         52   192  9 +g       4        4"
        in table.stdout
    )
    assert (
        "Final RF  9, stride 4, padding 4; +g: every unit also sees the whole input" in table.stdout
    )
    doc = json.loads(runner.invoke(app, ["describe", str(path), "-f", "json"]).stdout)
    assert [r["rf"]["global_context"] for r in doc["layers"]] == [False, False, True, True, True]


def test_checks_judge_the_spatial_field_of_a_gated_layer(tmp_path: Path) -> None:
    """min_rf and rf_covers_input see 9 on a 16-wide input, not the gate's global branch."""
    path = tmp_path / "gate.yaml"
    path.write_text(GATE, encoding="utf-8")
    ok = runner.invoke(app, ["check", str(path), "--min-rf", "9"])
    assert ok.exit_code == 0, ok.stdout
    low = runner.invoke(app, ["check", str(path), "--min-rf", "10"])
    assert low.exit_code == 1
    covers = runner.invoke(app, ["check", str(path), "--rf-covers-input"])
    assert covers.exit_code == 1


def test_the_engine_refuses_a_graph_not_numbered_in_order() -> None:
    """The engine keeps its per-node values in lists by node index, the input's in the last
    slot: a graph whose nodes are not numbered 0, 1, … in order, each reading earlier ones
    (one edited through the API), fails rather than reading a slot not yet set."""
    from rfcalc import build, engine
    from rfcalc.loader import load_text

    graph = build.build(
        load_text(
            "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 3}\n"
            "  - {type: conv2d, out_channels: 4, kernel_size: 3}\n",
            "m.yaml",
        )
    )
    assert len(engine.analyze(graph).layers) == 2
    with pytest.raises(AssertionError):
        engine.analyze(graph._replace(nodes=graph.nodes[1:]))
    first, second = graph.nodes
    ahead = first._replace(inputs=(1,))  # reads a later node
    with pytest.raises(AssertionError):
        engine.analyze(graph._replace(nodes=(ahead, second)))
