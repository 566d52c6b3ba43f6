"""Networks written as PyTorch writes them: nested scopes named as nn.Sequential names its
children, the repeat index, `if`, the input's shape in expressions, string and boolean block
arguments, a type given by an argument, and block libraries (`include`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rfcalc.cli import app
from rfcalc.errors import RfcalcError
from tests.helpers import report_of

runner = CliRunner()


def names(text: str) -> list[str]:
    return [r.name for r in report_of(text).layers]


def test_nested_layers_are_named_by_position() -> None:
    text = """\
input: [3, 8, 8]
layers:
  - {type: conv2d, name: stem, out_channels: 4, kernel_size: 3, padding: 1}
  - name: downsample
    layers:
      - {type: conv2d, out_channels: 8, kernel_size: 1, stride: 2}
      - batchnorm2d
  - {type: relu, from: downsample}
"""
    report = report_of(text)
    assert [r.name for r in report.layers] == ["stem", "downsample.0", "downsample.1", "relu_0"]
    # the scope's name means its last layer's output
    assert report.layers[-1].inputs == ("downsample.1",)


def test_unnamed_repeats_in_a_sequential_take_positions_of_their_own() -> None:
    """nn.Sequential(stem, *[block] * 2, head) names them 0, 1, 2, 3."""
    text = """\
input: [2, 8]
layers:
  - name: features
    layers:
      - {type: conv1d, out_channels: 2, kernel_size: 1}
      - {type: relu, repeat: 2}
      - {type: conv1d, out_channels: 2, kernel_size: 1}
"""
    assert names(text) == ["features.0", "features.1", "features.2", "features.3"]


def test_digit_names_and_from_a_position() -> None:
    text = """\
input: [2, 8]
layers:
  - {type: relu, name: 0}
  - {type: relu, name: "1"}
  - {type: add, from: [0, 1]}
"""
    report = report_of(text)
    assert report.layers[-1].inputs == ("0", "1")


def test_the_repeat_index() -> None:
    """stride 2 for the first instance only: 16 → 8 → 8 → 8."""
    text = """\
input: [1, 16]
layers:
  - {type: conv1d, name: stage, out_channels: 1, kernel_size: 1, stride: "${2 if i == 0 else 1}", repeat: 3}
"""
    report = report_of(text)
    assert [r.output_shape for r in report.layers] == [(1, 8), (1, 8), (1, 8)]
    assert [r.name for r in report.layers] == ["stage.0", "stage.1", "stage.2"]


def test_if_false_means_the_layer_does_not_exist() -> None:
    text = """\
input: [4, 8]
vars: {use_bn: false}
layers:
  - {type: conv1d, name: conv, out_channels: 4, kernel_size: 1}
  - {type: batchnorm1d, name: bn, if: $use_bn}
  - {type: relu, name: act}
  - {type: add, from: [act, bn]}
"""
    report = report_of(text)
    assert [r.name for r in report.layers] == ["conv", "act", "add_0"]
    # 'bn' means its input, conv
    assert report.layers[-1].inputs == ("act", "conv")
    with_bn = report_of(text.replace("use_bn: false", "use_bn: true"))
    assert [r.name for r in with_bn.layers] == ["conv", "bn", "act", "add_0"]


def test_repeat_zero_is_like_if_false() -> None:
    text = "input: [4, 8]\nlayers:\n  - relu\n  - {type: conv1d, out_channels: 9, kernel_size: 1, repeat: 0}\n"
    assert report_of(text).output_shape == (4, 8)


def test_in_channels_reads_the_layers_own_input() -> None:
    """A depthwise conv and a DenseNet-style transition: 6 → 6 (groups 6) → 3."""
    text = """\
input: [6, 8, 8]
layers:
  - {type: conv2d, name: dw, out_channels: $in_channels, groups: $in_channels, kernel_size: 3, padding: 1}
  - {type: conv2d, name: half, out_channels: "${in_channels // 2}", kernel_size: 1}
  - {type: relu, if: "${in_channels == 3}"}
"""
    report = report_of(text)
    rows = {r.name: r for r in report.layers}
    # depthwise: 6 · (6/6) · 9 + 6 = 60; transition 3 · 6 + 3 = 21
    assert (rows["dw"].params, rows["half"].params) == (60, 21)
    assert report.output_shape == (3, 8, 8)
    assert "relu_0" in rows


def test_strings_booleans_and_a_type_as_block_arguments() -> None:
    text = """\
input: [4, 8]
blocks:
  unit:
    args: {activation: relu, norm: true}
    layers:
      - {type: conv1d, out_channels: 4, kernel_size: 1, bias: "${not norm}"}
      - {type: batchnorm1d, if: $norm}
      - {type: $activation}
layers:
  - {type: unit, name: a}
  - {type: unit, name: b, activation: gelu, norm: false}
"""
    report = report_of(text)
    rows = {r.name: r for r in report.layers}
    assert list(rows) == ["a.conv1d_0", "a.batchnorm1d_0", "a.relu_0", "b.conv1d_0", "b.gelu_0"]
    # 4·4 without bias = 16 (norm); 4·4 + 4 = 20 (no norm)
    assert (rows["a.conv1d_0"].params, rows["b.conv1d_0"].params) == (16, 20)


def test_include_a_file_and_the_builtin_library(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.yaml").write_text(
        "blocks:\n  double:\n    layers: [relu, relu]\n", encoding="utf-8"
    )
    model = tmp_path / "model.yaml"
    model.write_text(
        "include: [torchvision, lib/blocks.yaml]\ninput: [3, 8, 8]\nlayers:\n"
        "  - {type: double, name: d}\n  - {type: BasicBlock, name: block, planes: 4}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["describe", str(model), "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert '"block.downsample.0"' in result.stdout  # 3 → 4 channels: torchvision's shortcut


@pytest.mark.parametrize("include", ["torchvision", "ultralytics, torchvision"])
def test_a_builtin_block_defined_again_names_where_the_library_defines_it(
    tmp_path: Path, include: str
) -> None:
    """The library's files are read when one of their blocks is used; a model's own block of
    the same name still meets torchvision's first definition: torchvision/resnet.yaml line 23
    is '  Bottleneck:', its body starts on line 24, column 5 ('    args: …'). Two built-in
    libraries may share the name (ultralytics' Bottleneck too); a model's block may not."""
    from rfcalc.loader import LIBRARY_DIR

    model = tmp_path / "model.yaml"
    model.write_text(
        f"include: [{include}]\ninput: [3, 8, 8]\nblocks:\n  Bottleneck:\n    layers: [relu]\n"
        "layers:\n  - {type: Bottleneck, planes: 4}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["describe", str(model)])
    first = LIBRARY_DIR / "torchvision" / "resnet.yaml"
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"{model}:5:5: error: block 'Bottleneck' is defined twice (first at {first}:24:5)\n"
        "hint: rename one of them\n"
    )


def test_a_misspelt_type_is_matched_against_every_library_block(tmp_path: Path) -> None:
    """The hint knows the names of the blocks in files not read: 'Botleneck' is one letter
    from torchvision's Bottleneck, 'InvertedResidul' from mobilenetv2's InvertedResidual."""
    for typo, meant in (("Botleneck", "Bottleneck"), ("InvertedResidul", "InvertedResidual")):
        model = tmp_path / "model.yaml"
        model.write_text(
            f"include: [torchvision]\ninput: [3, 8, 8]\nlayers:\n  - {{type: {typo}}}\n",
            encoding="utf-8",
        )
        result = runner.invoke(app, ["describe", str(model)])
        assert result.exit_code == 2
        assert result.stderr == (
            f"{model}:4:12: error: unknown layer type '{typo}'\nhint: did you mean '{meant}'?\n"
        )


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {
                "a.yaml": "include: [b.yaml]\nblocks: {x: {layers: [relu]}}\n",
                "b.yaml": "include: [a.yaml]\n",
            },
            "include 'a.yaml' includes itself",
        ),
        ({"a.yaml": "blocks: {unit: {layers: [relu]}}\n"}, "block 'unit' is defined twice"),
        ({}, "include 'a.yaml': no such file"),
    ],
)
def test_include_errors(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    model = tmp_path / "model.yaml"
    model.write_text(
        "include: [a.yaml]\ninput: [3]\nblocks: {unit: {layers: [relu]}}\nlayers: [unit]\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["describe", str(model)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "input: [3]\nlayers:\n  - {type: relu, if: 1}\n",
            "3:22: error: 'if' must be true or false, got 1",
        ),
        (
            "input: [3]\nlayers:\n  - {type: linear, out_features: $i}\n",
            "3:34: error: expression 'i': unknown name 'i'",
        ),
        (
            "input: [3]\nlayers:\n  - {type: relu, layers: [relu]}\n",
            "3:12: error: a layer has either 'type' or its own 'layers', not both",
        ),
        (
            "include: [torchvison]\ninput: [3]\nlayers: [relu]\n",
            "1:11: error: no built-in block library 'torchvison'",
        ),
        (
            "include: ['https://example.com/blocks.yaml']\ninput: [3]\nlayers: [relu]\n",
            "1:11: error: include 'https://example.com/blocks.yaml': includes are files, never URLs",
        ),
        (
            "input: [3]\nlayers:\n  - {type: $act}\n",
            "3:12: error: expression 'act': unknown name 'act'",
        ),
    ],
)
def test_construct_errors(text: str, message: str) -> None:
    with pytest.raises(RfcalcError) as info:
        report_of(text)
    assert info.value.render().startswith(f"model.yaml:{message}")


def test_name_templates_name_each_instance() -> None:
    """DenseNet's ModuleDict: denselayer1, denselayer2, … (1-based, no group name)."""
    text = """\
input: [4, 8]
layers:
  - {type: conv1d, name: "denselayer${i + 1}", out_channels: 4, kernel_size: 1, repeat: 3}
  - {type: relu, from: denselayer2}
"""
    report = report_of(text)
    assert [r.name for r in report.layers] == [
        "denselayer1",
        "denselayer2",
        "denselayer3",
        "relu_0",
    ]
    assert report.layers[-1].inputs == ("denselayer2",)
    with pytest.raises(RfcalcError) as info:
        report_of(text.replace("${i + 1}", "${i // 2}"))
    assert "duplicate layer name 'denselayer0'" in info.value.message


def test_a_layer_that_does_not_exist_has_no_type_to_look_up() -> None:
    """torchvision's `activation_layer=None`: Conv2dNormActivation with activation 'none'."""
    text = """\
include: [torchvision]
input: [3, 8, 8]
layers:
  - {type: Conv2dNormActivation, name: proj, out_channels: 4, kernel_size: 1, activation: none}
"""
    assert [r.name for r in report_of(text).layers] == ["proj.0", "proj.1"]


def test_block_arguments_read_each_instances_own_input() -> None:
    """ic is each copy's input channels: 8 → 16 → 32 → 64 (it was the first copy's for all)."""
    text = """\
input: [8, 4]
blocks:
  grow:
    args: {ic: null}
    layers:
      - {type: conv1d, out_channels: "${ic * 2}", kernel_size: 1}
layers:
  - {type: grow, name: g, ic: $in_channels, repeat: 3}
"""
    assert [r.output_shape for r in report_of(text).layers] == [(16, 4), (32, 4), (64, 4)]


def test_a_parameter_reads_nothing_and_counts_its_elements() -> None:
    """ConvNeXt's layer scale: 8·1·1 = 8 params; the product keeps the conv's field (7, pad 3)
    and is no global context."""
    text = """\
input: [8, 6, 6]
layers:
  - {type: conv2d, name: dw, out_channels: 8, kernel_size: 7, padding: 3, groups: 8}
  - {type: parameter, name: layer_scale, shape: [$in_channels, 1, 1]}
  - {type: mul, from: [dw, layer_scale]}
"""
    report = report_of(text)
    rows = {r.name: r for r in report.layers}
    assert (rows["layer_scale"].params, rows["layer_scale"].output_shape) == (8, (8, 1, 1))
    assert rows["layer_scale"].inputs == ()
    mul = rows["mul_0"]
    assert (mul.rf.size, mul.rf.padding, mul.rf.global_context) == ((7, 7), (3, 3), False)
    # 8 · 1 · 49 + 8 = 400 for the depthwise conv, 8 for the scale
    assert report.totals.params == 408
    with pytest.raises(RfcalcError) as info:
        report_of(text.replace("shape: [$in_channels, 1, 1]", "shape: [8, 1, 1], from: dw"))
    assert "a parameter takes no input; remove 'from'" in info.value.message


def test_a_layer_that_does_not_run_keeps_its_parameters_and_counts_no_work() -> None:
    """`runs: false` (a training-only branch): its shape and parameters as usual, its MACs 0
    in every convention, for everything inside a scope or block instance that says it."""
    text = """\
input: [3, 8, 8]
blocks:
  Aux:
    layers:
      - {type: conv2d, name: conv, out_channels: 4, kernel_size: 3, padding: 1}
      - {type: upsample, scale_factor: 2}
layers:
  - {type: conv2d, name: stem, out_channels: 2, kernel_size: 1, bias: false}
  - {type: Aux, name: aux, runs: false}
  - name: side
    from: stem
    runs: "${1 > 2}"
    layers:
      - {type: batchnorm2d}
  - {type: add, from: [stem, side]}
"""
    report = report_of(text)
    rows = {r.name: r for r in report.layers}
    # stem: 2·8·8 outputs · 3 inputs = 384 MACs, 6 params; it alone runs
    assert rows["stem"].macs == 384
    assert rows["aux.conv"].output_shape == (4, 8, 8)
    assert rows["aux.upsample_0"].output_shape == (4, 16, 16)
    assert (rows["aux.conv"].params, rows["aux.conv"].macs) == (4 * 2 * 9 + 4, 0)  # 76
    assert (rows["side.0"].params, rows["side.0"].macs) == (4, 0)  # BN: weight, bias of 2
    assert report.totals.params == 6 + 76 + 4
    assert report.totals.trainable_params == 6 + 76 + 4
    # every convention sees the 1×1 convolution alone: 384 weights (+ ptflops' 0 bias;
    # torchinfo: 6 params × 64 positions)
    assert dict(report.macs_by_convention) == {
        "torchvision": 384,
        "fvcore": 384,
        "thop": 384,
        "ultralytics": 768,
        "ptflops": 384,
        "torchinfo": 384,
    }


def test_runs_must_be_a_boolean(tmp_path: Path) -> None:
    model = tmp_path / "m.yaml"
    model.write_text(
        'input: [3, 8, 8]\nlayers:\n  - {type: relu, runs: "${2}"}\n', encoding="utf-8"
    )
    result = runner.invoke(app, ["describe", str(model)])
    assert (result.exit_code, result.stdout) == (2, "")
    # the value "${2}" starts at column 24
    assert result.stderr == f"{model}:3:24: error: runs must be true or false, got 2\n"
