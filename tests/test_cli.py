"""The command line through typer's runner: exit code, stdout and stderr checked separately."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rfcalc import __version__
from rfcalc.cli import app
from tests.helpers import EXAMPLES, ROOT

INVALID = sorted((Path(__file__).parent / "data" / "invalid").glob("*.yaml"))
runner = CliRunner()


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_file(path: Path) -> None:
    """Each invalid file: exit 2, nothing on stdout, the expected positioned error."""
    expected = path.with_suffix(".err").read_text(encoding="utf-8")
    result = runner.invoke(app, ["describe", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"{path}:")
    # every error line is 'path:line:col: error: …'; the .err file holds them without the path
    assert result.stderr.replace(f"{path}:", "") == expected
    assert "Traceback" not in result.stderr


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"rfcalc {__version__}\n", "")


def test_describe_table_plain_when_piped() -> None:
    result = runner.invoke(app, ["describe", str(EXAMPLES / "textbook.yaml")])
    assert result.exit_code == 0
    assert result.stderr == ""
    assert "\x1b[" not in result.stdout  # no colour codes
    assert "head      conv2d  64×22×22  36,928   17.84 M   7" in result.stdout


def test_describe_json_from_stdin() -> None:
    text = (EXAMPLES / "textbook.yaml").read_text(encoding="utf-8")
    result = runner.invoke(app, ["describe", "-", "--format", "json"], input=text)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["model"] == {"name": "textbook-convnet", "source": "<stdin>"}
    first = data["layers"][0]
    # docs/json.md's rf.covers_input: r 3 on a 28-wide input does not cover it
    assert first["rf"].pop("covers_input") is False
    assert first["rf"].pop("global_context") is False  # docs/json.md's key, on every row
    # docs/json.md's example row, verbatim (the two keys above taken out)
    assert first == {
        "index": 0,
        "name": "conv2d_0",
        "type": "conv2d",
        "inputs": ["input"],
        "output_shape": [32, 26, 26],
        "params": 320,
        "trainable_params": 320,
        "buffers": 0,
        "macs": 194688,
        "output_bytes": 86528,
        "rf": {
            "size": [3, 3],
            "stride": [1, 1],
            "padding": [0, 0],
            "uniform": True,
            "global": False,
        },
    }
    assert data["output_shape"] == [64, 22, 22]
    assert data["totals"]["params"] == 55744


def test_batch_and_dtype_scale_memory() -> None:
    args = ["describe", str(EXAMPLES / "textbook.yaml"), "-f", "json"]
    base = json.loads(runner.invoke(app, args).stdout)["totals"]
    half = json.loads(runner.invoke(app, [*args, "--batch", "8", "--dtype", "float16"]).stdout)[
        "totals"
    ]
    # 1·28·28 = 784 elements: 3,136 B in float32; ×8 batch, 2 B each: 12,544 B
    assert (base["input_bytes"], half["input_bytes"]) == (3136, 12544)
    assert half["activation_bytes"] == base["activation_bytes"] * 8 // 2
    # parameters do not scale with the batch: 55,744 · 2 B
    assert half["param_bytes"] == 111488


def test_input_override() -> None:
    result = runner.invoke(
        app, ["describe", str(EXAMPLES / "textbook.yaml"), "--input", "1,32,32", "-f", "json"]
    )
    assert result.exit_code == 0
    # 32 − 3·2 = 26
    assert json.loads(result.stdout)["output_shape"] == [64, 26, 26]


def test_bad_input_option() -> None:
    result = runner.invoke(app, ["describe", str(EXAMPLES / "textbook.yaml"), "--input", "1,x"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "rfcalc: error: --input takes sizes such as 3,224,224; got '1,x'\n"


def test_markdown_and_csv() -> None:
    md = runner.invoke(app, ["describe", str(EXAMPLES / "textbook.yaml"), "-f", "markdown"])
    assert md.exit_code == 0
    assert "| head | conv2d | 64×22×22 | 36,928 | 17.84 M | 7 | 1 | 0 |" in md.stdout
    csv = runner.invoke(app, ["describe", str(EXAMPLES / "textbook.yaml"), "-f", "csv"])
    lines = csv.stdout.splitlines()
    assert lines[0].startswith("index,name,type,inputs,output_shape,params")
    assert lines[4].startswith("3,head,conv2d,conv2d_1,64x22x22,36928,36928,0,17842176,")
    assert len(lines) == 5


def test_missing_file_and_directory() -> None:
    missing = runner.invoke(app, ["describe", "no/such.yaml"])
    assert (missing.exit_code, missing.stdout, missing.stderr) == (
        2,
        "",
        "no/such.yaml:1:1: error: no such file\n",
    )
    folder = runner.invoke(app, ["describe", str(ROOT / "examples")])
    assert folder.exit_code == 2
    assert folder.stderr.endswith("error: is a directory, not a model file\n")


def test_layers_lists_registry() -> None:
    result = runner.invoke(app, ["layers"])
    assert result.exit_code == 0
    for name in (
        "conv2d",
        "convtranspose3d",
        "maxpool1d",
        "minpool2d",
        "adaptiveavgpool2d",
        "globalavgpool2d",
        "linear",
        "layernorm",
        "upsample",
        "zeropad2d",
        "concat",
    ):
        assert f"  {name} " in result.stdout


def test_layers_one_type_and_misspelt_type() -> None:
    ok = runner.invoke(app, ["layers", "Conv_2d"])
    assert ok.exit_code == 0
    assert "kernel_size   required" in ok.stdout
    bad = runner.invoke(app, ["layers", "conv2"])
    assert (bad.exit_code, bad.stdout) == (2, "")
    assert bad.stderr == "rfcalc: error: unknown layer type 'conv2'\nhint: did you mean 'conv2d'?\n"


def test_several_errors_reported_together_and_capped(tmp_path: Path) -> None:
    lines = ["input: [3, 8, 8]", "layers:"] + [f"  - {{type: relu, bad_{i}: 1}}" for i in range(25)]
    path = tmp_path / "many.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["describe", str(path)])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 20
    assert errors[0] == f"{path}:3:18: error: layer 'relu_0' (relu): unknown argument 'bad_0'"
    assert result.stderr.endswith("… and 5 more errors\n")


def test_output_written_atomically(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("previous report\n", encoding="utf-8")
    bad = runner.invoke(
        app,
        [
            "describe",
            str(Path(__file__).parent / "data/invalid/unknown_type.yaml"),
            "-o",
            str(target),
        ],
    )
    assert bad.exit_code == 2
    assert target.read_text(encoding="utf-8") == "previous report\n"  # untouched
    ok = runner.invoke(
        app, ["describe", str(EXAMPLES / "textbook.yaml"), "-o", str(target), "-f", "json"]
    )
    assert (ok.exit_code, ok.stdout) == (0, "")
    assert json.loads(target.read_text(encoding="utf-8"))["totals"]["params"] == 55744
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temp files left


def test_output_never_overwrites_the_model(tmp_path: Path) -> None:
    model = tmp_path / "m.yaml"
    text = (EXAMPLES / "textbook.yaml").read_text(encoding="utf-8")
    model.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["describe", str(model), "-o", str(model)])
    assert result.exit_code == 2
    assert "is the model file itself; refusing to overwrite it" in result.stderr
    assert model.read_text(encoding="utf-8") == text


def test_convert_takes_one_source() -> None:
    # neither a file nor --torch, or both: one usage error, exit 2; an rfcalc file is not
    # something to convert
    for args in (["convert"], ["convert", "m.onnx", "--torch", "torchvision.models:resnet18"]):
        result = runner.invoke(app, args)
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr.startswith(
            "rfcalc: error: convert takes an ONNX file or --torch SPEC (a PyTorch model), one of"
            " them\nhint: e.g. rfcalc convert model.onnx -o model.yaml"
        )
    result = runner.invoke(app, ["convert", "m.onnx", "--input", "3,8,8"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "rfcalc: error: --input: an ONNX file declares its own input shape\nhint: drop --input\n"
    )
    textbook = str(EXAMPLES / "textbook.yaml")
    result = runner.invoke(app, ["convert", textbook])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"{textbook}:1:1: error: not an Ultralytics model config (no 'backbone' and 'head')\n"
        "hint: convert reads ONNX files, Ultralytics model configs such as yolov8n.yaml and"
        " --torch models; an rfcalc model file needs no converting\n"
    )


# ---------------------------------------------------------------- --count (docs/counting.md)

_CONV_BN = """input: [3, 8, 8]
layers:
  - {type: conv2d, out_channels: 2, kernel_size: 3}
  - batchnorm2d
  - relu
  - {type: maxpool2d, kernel_size: 2}
"""


def test_count_unknown_convention_suggests_the_nearest() -> None:
    result = runner.invoke(app, ["describe", "--example", "lenet5", "--count", "thopp"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert (
        result.stderr
        == "rfcalc: error: --count thopp: unknown convention\nhint: did you mean 'thop'?\n"
    )


def test_count_near_a_convention_names_it() -> None:
    result = runner.invoke(app, ["describe", "--example", "lenet5", "--count", "flops"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.endswith("hint: did you mean 'ptflops'?\n")


def test_count_far_from_every_convention_lists_them() -> None:
    result = runner.invoke(app, ["describe", "--example", "lenet5", "--count", "xyz"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "rfcalc: error: --count xyz: unknown convention\n"
        "hint: one of torchvision, fvcore, thop, ultralytics, ptflops, torchinfo, all\n"
    )


def test_count_all_prints_a_line_per_convention(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(_CONV_BN, encoding="utf-8")
    result = runner.invoke(app, ["describe", str(path), "--count", "all"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("MACs"))
    # conv: 2·6·6 outputs · 3·3·3 = 1944 weight MACs, bias 72 outputs; batch norm (running
    # stats, affine) over n = 72 elements; ReLU over 72; max pool 2 reads 72, writes 18
    assert lines[start].startswith("MACs           1,944 = 1944 (")
    assert lines[start + 1 : start + 7] == [
        "  torchvision  1944 (weights only: conv, linear, attention products; bias excluded)",
        # + batchnorm_flop_jit, eval, affine: 2 · 72 = 2088
        "  fvcore       2088 (weights; batch/group/layer/instance norm; 2-D upsampling and adaptive avg pool)",
        # + count_normalization: 2 · 72 · 2 (affine) = 2232; ReLU, max pooling 0
        "  thop         2232 (weights; norms, PReLU, softmax, avg pooling, interpolating upsampling)",
        "  ultralytics  4464 (thop × 2 (Ultralytics' GFLOPs))",  # 2 · 2232
        # + bias 72 + BN 2 · 72 + ReLU 2 · 72 (hook and F.relu) + pool 2 · 72 (its input,
        # hook and F.max_pool2d) = 2448
        "  ptflops      2448 (weights with bias; norms, activations, pooling, upsampling, softmax, attention)",
        # conv params (2·27 + 2) · 36 positions = 2016, BN params 4
        "  torchinfo    2020 (conv params × output positions (bias included); other layers their params)",
    ]
    assert lines[start + 7].startswith("FLOPs          3,888 = 3888 (2 × MACs)")


def test_count_one_convention_sets_every_row(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(_CONV_BN, encoding="utf-8")
    result = runner.invoke(app, ["describe", str(path), "--count", "ptflops", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    # per layer as above: conv 1944 + 72, BN 2 · 72, ReLU 2 · 72, max pool 2 · 72
    assert [row["macs"] for row in data["layers"]] == [2016, 144, 144, 144]
    assert data["totals"]["macs"] == 2448
    assert data["count"] == "ptflops"
