"""The architecture lint (docs/lint.md): each warning code on a model worked out by hand, the
silencing (per layer, --ignore) and check --strict."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rfcalc.cli import app
from rfcalc.engine import Report
from rfcalc.lint import CODES
from tests.helpers import EXAMPLES, ROOT, report_of

runner = CliRunner()


def codes(report: Report) -> list[tuple[str, str]]:
    return [(w.layer, w.code) for w in report.warnings]


def model(*layers: str, shape: str = "[1, 28, 28]") -> str:
    return f"input: {shape}\nlayers:\n" + "".join(f"  - {layer}\n" for layer in layers)


# ------------------------------------------------------------------ the cases


def test_stride_2_unpadded_conv_drops_row_and_column_27() -> None:
    # 3×3, stride 2, no padding on 28: units read 2x … 2x+2; the last unit (12) reads 24–26;
    # (28 − 3) mod 2 = 1 position unread: row 27 and column 27, all input (no padding)
    report = report_of(model("{type: conv2d, name: c, out_channels: 1, kernel_size: 3, stride: 2}"))
    found = [w for w in report.warnings if w.code == "dropped-input"]
    assert len(found) == 1
    assert found[0].layer == "c"
    assert "row 27 and column 27" in found[0].message
    assert "(28 − 3) mod 2 = 1" in found[0].message
    assert "unused-padding" not in [w.code for w in report.warnings]


def test_alexnet_first_conv_leaves_padding_unread() -> None:
    # torchvision AlexNet's first conv: k11, s4, p2 on 224: (224 + 4 − 11) mod 4 = 217 mod 4 = 1:
    # the last unit (54) reads 54·4 − 2 … 54·4 − 2 + 10 = 214 … 224; position 225 (the second
    # right padding column) is never read; 224 is padding too, so no input is lost
    report = report_of(
        model(
            "{type: conv2d, name: conv, out_channels: 64, kernel_size: 11, stride: 4, padding: 2}",
            shape="[3, 224, 224]",
        )
    )
    assert report.layers[0].output_shape == (64, 55, 55)  # (224 + 4 − 11) // 4 + 1 = 55
    found = {w.code: w for w in report.warnings}
    assert "dropped-input" not in found
    assert found["unused-padding"].layer == "conv"
    assert "last row and column of padding" in found["unused-padding"].message
    assert "(224 + 4 − 11) mod 4 = 1" in found["unused-padding"].message


def test_alexnet_example_warns_unused_padding_on_conv1() -> None:
    report = report_of((EXAMPLES / "alexnet.yaml").read_text(), "alexnet.yaml")
    assert ("conv2d_0", "unused-padding") in codes(report)
    assert not any(code == "dropped-input" for _, code in codes(report))


def test_textbook_field_smaller_than_input() -> None:
    # three unpadded 3×3 convolutions: field 3 + 2 + 2 = 7 < 28 on both axes
    report = report_of((EXAMPLES / "textbook.yaml").read_text(), "textbook.yaml")
    assert codes(report) == [("head", "rf-smaller-than-input")]
    assert "7 on axis H (input 28), 7 on axis W (input 28)" in report.warnings[0].message


# ------------------------------------------------------------------ each code


def test_explicit_pad_layer_then_valid_conv() -> None:
    # TensorFlow-style: ZeroPad2d((0, 1, 0, 1)) then a valid 3×3 stride-2 conv on 224:
    # 225 positions, (225 − 3) mod 2 = 0: all read; a symmetric pad of 1 instead: 226,
    # (226 − 3) mod 2 = 1: the conv's last input position (225, the pad layer's) is unread.
    # The lint is the layer's own: to the conv, that position is input.
    def run(pad: str) -> list[tuple[str, str]]:
        return codes(
            report_of(
                model(
                    f"{{type: zeropad2d, padding: {pad}}}",
                    "{type: conv2d, name: c, out_channels: 1, kernel_size: 3, stride: 2}",
                    "{type: adaptiveavgpool2d, output_size: 1}",
                    shape="[1, 224, 224]",
                )
            )
        )

    assert ("c", "dropped-input") not in run("[0, 1, 0, 1]")
    assert ("c", "dropped-input") in run("1")


def test_mixed_axes_name_each() -> None:
    # 1×(k3 s2) on a 28×27 input: H (28 − 3) mod 2 = 1 → row 27; W (27 − 3) mod 2 = 0 → nothing
    report = report_of(
        model("{type: conv2d, out_channels: 1, kernel_size: 3, stride: 2}", shape="[1, 28, 27]")
    )
    (warning,) = [w for w in report.warnings if w.code == "dropped-input"]
    assert warning.message == "no unit reads input row 27 ((28 − 3) mod 2 = 1 on H)"


def test_stride_larger_than_span_is_not_a_trailing_drop() -> None:
    # a 1×1 stride-2 convolution on 56 reads 0, 2, …, 54: 55 is unread, but so is every odd
    # position: the tail is the regular gap (stride − span = 1), not a trailing loss
    report = report_of(
        model("{type: conv1d, out_channels: 1, kernel_size: 1, stride: 2}", shape="[1, 56]")
    )
    assert "dropped-input" not in [w.code for w in report.warnings]


def test_ceil_mode_pooling_reads_to_the_end() -> None:
    # maxpool k2 s2 on 7, ceil_mode: 4 units, the last reads 6 and 7 (implicit padding):
    # nothing unread; floor mode: 3 units read 0–5, (7 − 2) mod 2 = 1 → position 6 dropped
    ceil = report_of(model("{type: maxpool1d, kernel_size: 2, ceil_mode: true}", shape="[1, 7]"))
    floor = report_of(model("{type: maxpool1d, kernel_size: 2}", shape="[1, 7]"))
    assert "dropped-input" not in [w.code for w in ceil.warnings]
    (warning,) = [w for w in floor.warnings if w.code == "dropped-input"]
    assert warning.message == "no unit reads input position 6 ((7 − 2) mod 2 = 1 on L)"


def test_destructive_pooling() -> None:
    # window 4 > 3; stride 5 over a span of 4 skips 1 of every 5 positions; 3×3 stride 2 is fine
    report = report_of(
        model(
            "{type: maxpool2d, name: big, kernel_size: 4, stride: 4}",
            "{type: avgpool2d, name: gappy, kernel_size: 2, stride: 3}",
            "{type: maxpool2d, name: fine, kernel_size: 3, stride: 1, padding: 1}",
            shape="[1, 64, 64]",
        )
    )
    pooling = [w for w in report.warnings if w.code == "destructive-pooling"]
    assert [w.layer for w in pooling] == ["big", "gappy"]
    assert pooling[0].message == "pooling window 4 (larger than 3: too destructive) on H and W"
    assert "stride 3 over a span of 2 (1 of every 3 positions never read)" in pooling[1].message


def test_even_kernel_same() -> None:
    # 'same' with k2: total padding 1 → 0 before, 1 after; k3 pads 1 and 1
    report = report_of(
        model(
            "{type: conv1d, name: even, out_channels: 1, kernel_size: 2, padding: same}",
            "{type: conv1d, name: odd, out_channels: 1, kernel_size: 3, padding: same}",
            shape="[1, 16]",
        )
    )
    found = [w for w in report.warnings if w.code == "even-kernel-same"]
    assert [w.layer for w in found] == ["even"]
    assert found[0].message == "'same' padding with an even span 2 pads 0 before and 1 after on L"


def test_unused_output() -> None:
    # 'side' is read by nothing and is not the last layer; 'out' is the model's output
    report = report_of(
        model(
            "{type: conv1d, name: a, out_channels: 1, kernel_size: 1}",
            "{type: relu, name: side}",
            "{type: sigmoid, name: out, from: a}",
            shape="[1, 16]",
        )
    )
    assert [w.layer for w in report.warnings if w.code == "unused-output"] == ["side"]


def test_rf_smaller_than_input_judges_the_last_spatial_layer() -> None:
    # the field 3 on 8 positions; flatten and linear after it are global: the conv is named
    report = report_of(
        model(
            "{type: conv1d, name: c, out_channels: 2, kernel_size: 3}",
            "flatten",
            "{type: linear, out_features: 2}",
            shape="[1, 8]",
        )
    )
    assert codes(report) == [("c", "rf-smaller-than-input")]
    assert "3 on axis L (input 8)" in report.warnings[0].message


def test_rf_smaller_than_input_looks_past_global_pooling_not_past_attention() -> None:
    # a 3-field conv on 8 positions, then a global average pool: the pool's one unit sees all
    # 8, but it averages features that each see 3: the conv is named
    pooled = report_of(
        model(
            "{type: conv1d, name: c, out_channels: 4, kernel_size: 3}",
            "{type: adaptiveavgpool1d, output_size: 1}",
            shape="[1, 8]",
        )
    )
    assert codes(pooled) == [("c", "rf-smaller-than-input")]
    # the same conv's 6 outputs as tokens (L, E) through self-attention: every token depends
    # on all 8 positions, so no warning
    attended = report_of(
        model(
            "{type: conv1d, name: c, out_channels: 4, kernel_size: 3}",
            "{type: transpose, dim0: 1, dim1: 2}",
            "{type: multiheadattention, embed_dim: 4, num_heads: 1}",
            shape="[1, 8]",
        )
    )
    assert [w for w in attended.warnings if w.code == "rf-smaller-than-input"] == []


def test_examples_warnings_are_the_documented_ones() -> None:
    # the judgement in docs/lint.md: the torchvision nets' stride-2 layers on even sizes leave a
    # padding row and column unread (unused-padding), AlexNet, VGG-16, U-Net and the textbook
    # net's last spatial fields are smaller than their inputs, and nothing else warns
    expected_other = {
        "alexnet": {"rf-smaller-than-input"},
        "vgg16": {"rf-smaller-than-input"},
        "unet": {"rf-smaller-than-input"},
        "textbook": {"rf-smaller-than-input"},
    }
    for path in sorted(EXAMPLES.glob("*.yaml")):
        report = report_of(path.read_text(), str(path))
        other = {w.code for w in report.warnings} - {"unused-padding"}
        assert other == expected_other.get(path.stem, set()), path.stem
    resnet = report_of((EXAMPLES / "resnet18.yaml").read_text(), "resnet18.yaml")
    # 224 → conv1 (224 + 6 − 7) mod 2 = 1, maxpool (112 + 2 − 3) mod 2 = 1, and the first
    # 3×3 stride-2 conv of layers 2–4: (56 | 28 | 14 + 2 − 3) mod 2 = 1
    assert [w.layer for w in resnet.warnings] == [
        "conv1",
        "maxpool",
        "layer2.0.conv1",
        "layer3.0.conv1",
        "layer4.0.conv1",
    ]


# ------------------------------------------------------------------ silencing


STRIDED = model(
    "{type: conv2d, name: c, out_channels: 1, kernel_size: 3, stride: 2, lint: {ignore: [dropped-input]}}",
    "{type: conv2d, name: d, out_channels: 1, kernel_size: 3, stride: 2}",
)


def test_lint_ignore_in_a_layer() -> None:
    # c: (28 − 3) mod 2 = 1, silenced; d on 13: (13 − 3) mod 2 = 0; field 3 + 2·2 = 7 < 28
    assert codes(report_of(STRIDED)) == [("d", "rf-smaller-than-input")]


def test_lint_ignore_on_a_block_applies_inside() -> None:
    text = """\
input: [1, 28, 28]
blocks:
  Down:
    layers:
      - {type: conv2d, name: conv, out_channels: 1, kernel_size: 3, stride: 2}
layers:
  - {type: Down, name: a, lint: {ignore: dropped-input}}
  - {type: Down, name: b}
"""
    # a.conv on 28: silenced; b.conv on 13: (13 − 3) mod 2 = 0
    assert [c for _, c in codes(report_of(text))] == ["rf-smaller-than-input"]


def test_unknown_code_in_a_file_is_a_positioned_error(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    layer = "{type: conv2d, out_channels: 1, kernel_size: 3, lint: {ignore: [dropped-inputs]}}"
    path.write_text(model(layer))
    column = len("  - ") + layer.index("dropped-inputs") + 1  # 1-based, the code's own node
    result = runner.invoke(app, ["describe", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"{path}:3:{column}: error: lint ignore: unknown warning code 'dropped-inputs'\n"
        "hint: did you mean 'dropped-input'?\n"
    )


def test_unknown_lint_key_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(model("{type: relu, lint: {ignores: [dropped-input]}}"))
    result = runner.invoke(app, ["describe", str(path)])
    assert result.exit_code == 2
    assert "error: unknown lint key 'ignores'" in result.stderr
    assert "hint: did you mean 'ignore'?" in result.stderr


@pytest.fixture
def strided(tmp_path: Path) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(STRIDED)
    return path


def test_describe_ignore(strided: Path) -> None:
    shown = runner.invoke(app, ["describe", str(strided), "--format", "json"])
    assert shown.exit_code == 0
    assert [w["code"] for w in json.loads(shown.stdout)["warnings"]] == ["rf-smaller-than-input"]
    result = runner.invoke(
        app, ["describe", str(strided), "--format", "json", "--ignore", "rf-smaller-than-input"]
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["warnings"] == []
    table = runner.invoke(app, ["describe", str(strided)])
    assert "warning: d: the last spatial layer's receptive field" in table.stdout


def test_describe_unknown_ignore(strided: Path) -> None:
    result = runner.invoke(app, ["describe", str(strided), "--ignore", "unused-paddin"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "rfcalc: error: --ignore: unknown warning code 'unused-paddin'\n"
        "hint: did you mean 'unused-padding'?\n"
    )


def test_check_strict(strided: Path) -> None:
    failed = runner.invoke(app, ["check", str(strided), "--strict"])
    assert failed.exit_code == 1
    assert "strict: 1 warning: rf-smaller-than-input (d)" in failed.stdout
    passed = runner.invoke(
        app, ["check", str(strided), "--strict", "--ignore", "rf-smaller-than-input"]
    )
    assert passed.exit_code == 0, passed.stdout
    plain = runner.invoke(app, ["check", str(strided)])
    assert plain.exit_code == 0  # warnings alone never fail check


def test_check_strict_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(STRIDED + "checks: {strict: true}\n")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert "strict: 1 warning" in result.stdout


def test_check_unknown_ignore(strided: Path) -> None:
    result = runner.invoke(app, ["check", str(strided), "--ignore", "nope"])
    assert result.exit_code == 2
    assert "rfcalc: error: --ignore: unknown warning code 'nope'" in result.stderr


# ------------------------------------------------------------------ one table of codes


def test_every_code_is_documented() -> None:
    # docs/lint.md has one section per code of rfcalc.lint.CODES, and no other
    text = (ROOT / "docs" / "lint.md").read_text()
    documented = re.findall(r"^### `([a-z-]+)`$", text, re.MULTILINE)
    assert sorted(documented) == sorted(CODES)
    assert "lint.md" in (ROOT / "docs" / "README.md").read_text()


def test_schema_lists_the_codes() -> None:
    from rfcalc.schema import generate

    text = json.dumps(generate())
    for code in CODES:
        assert f'"{code}"' in text
