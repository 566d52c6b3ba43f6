"""The ONNX importer (docs/importers.md): the CNNs of the onnx wheel's backend test data, and
torchvision's models exported by torch.onnx against the examples, layer for layer."""

from __future__ import annotations

import glob
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rfcalc.api import describe
from rfcalc.cli import app
from tests.helpers import EXAMPLES

onnx = pytest.importorskip("onnx")

_LIGHT = sorted(
    glob.glob(os.path.join(os.path.dirname(onnx.__file__), "backend/test/data/light/*.onnx"))
)


def _declared_weights(path: str) -> int:
    """The elements of every weight the graph holds or declares: an initializer's own, or
    for the stripped ('light') models the shape its ConstantOfShape makes; a Reshape's
    target shape is no weight."""
    from onnx import numpy_helper

    model = onnx.load(path, load_external_data=False)
    inits = {i.name: i for i in model.graph.initializer}
    made = {n.input[0] for n in model.graph.node if n.op_type == "ConstantOfShape"}
    targets = {n.input[1] for n in model.graph.node if n.op_type == "Reshape"}
    read = {name for n in model.graph.node for name in n.input}
    total = 0
    for node in model.graph.node:
        if node.op_type == "ConstantOfShape":
            total += math.prod(int(v) for v in numpy_helper.to_array(inits[node.input[0]]))
    for name, init in inits.items():
        if name in read and name not in made and name not in targets:
            total += math.prod(init.dims)
    return total


def test_the_backend_data_holds_stripped_models() -> None:
    assert len(_LIGHT) == 9, _LIGHT  # AlexNet … ZFNet-512: the 'real' folder only points here


@pytest.mark.parametrize("path", _LIGHT, ids=lambda p: Path(p).stem)
def test_backend_cnn_params_and_output(path: str) -> None:
    model = onnx.load(path, load_external_data=False)
    report = describe(Path(path))
    # rfcalc counts batch-norm running statistics as buffers, the graph as tensors
    assert report.totals.params + report.totals.buffers == _declared_weights(path)
    declared = [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert list(report.output_shape) == declared[1:]


def test_no_onnx_or_torch_for_yaml() -> None:
    code = (
        "import sys, rfcalc; from rfcalc.api import describe; "
        f"describe({str(EXAMPLES / 'resnet18.yaml')!r}); "
        "print(sorted(m for m in ('onnx', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- check, diff and rf

ALEXNET = next((p for p in _LIGHT if Path(p).stem == "light_bvlc_alexnet"), "")


def test_check_an_onnx_file() -> None:
    params = _declared_weights(ALEXNET)  # no batch norm: every weight is a parameter
    text = f"{params:,}"
    passed = CliRunner().invoke(app, ["check", ALEXNET, "--max-params", str(params)])
    assert (passed.exit_code, passed.stderr) == (0, "")
    assert passed.stdout == (
        f"PASS   {ALEXNET}\n"
        f"       ok    max_params: {text} is within the limit {text}\n"
        "checked 1 file: 1 passed, 0 failed, 0 invalid\n"
    )
    failed = CliRunner().invoke(
        app, ["check", ALEXNET, "--max-params", str(params - 1), "--output-shape", "1000"]
    )
    assert (failed.exit_code, failed.stderr) == (1, "")
    assert f"FAIL  max_params: {text} exceeds the limit {params - 1:,}\n" in failed.stdout
    assert "ok    output_shape: 1000 is the expected 1000\n" in failed.stdout


def test_check_an_unreadable_onnx_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"not a protobuf")
    result = CliRunner().invoke(app, ["check", str(path), "--max-params", "1"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:1:1: error: not a readable ONNX model: ")
    assert result.stdout.endswith("checked 1 file: 0 passed, 0 failed, 1 invalid\n")


def test_diff_an_onnx_file(tmp_path: Path) -> None:
    # against the file `rfcalc convert` writes of it: nothing changed
    converted = tmp_path / "alexnet.yaml"
    result = CliRunner().invoke(app, ["convert", ALEXNET, "-o", str(converted)])
    assert result.exit_code == 0, result.stderr
    same = CliRunner().invoke(app, ["diff", ALEXNET, str(converted), "--exit-code"])
    assert (same.exit_code, same.stderr) == (0, ""), same.stdout
    assert "Params   60,965,224  60,965,224       =\n" in same.stdout
    # against torchvision's AlexNet (examples/alexnet.yaml): 61,100,840 params (torchvision's
    # model table), 135,616 more than BVLC's 60,965,224 (the weights the graph declares)
    changed = CliRunner().invoke(
        app, ["diff", str(EXAMPLES / "alexnet.yaml"), ALEXNET, "--exit-code"]
    )
    assert (changed.exit_code, changed.stderr) == (1, "")
    assert "Params   61,100,840          60,965,224  -135,616 (-0.2%)\n" in changed.stdout


def test_rf_of_an_onnx_file() -> None:
    # BVLC AlexNet to pool5 (the graph's attributes): conv 11/4 → r 11, S 4; pool 3/2 → r 19,
    # S 8; conv 5 pad 2 → r 51, P 2·8 = 16; pool 3/2 → r 67, S 16; three convs 3 pad 1 →
    # r 67 + 3·2·16 = 163, P 16 + 3·16 = 64; pool 3/2 (pads 0 before, 1 after) → r 163 + 2·16
    # = 195, S 32. Its 6×6 output's centre unit (3, 3) starts at 3·32 − 64 = 32 and ends at
    # 32 + 194 = 226, 3 positions past the 224-wide input.
    result = CliRunner().invoke(app, ["rf", ALEXNET, "--map", "coverage"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert "layer   max_pool_2 (maxpool2d, output 256×6×6)\n" in result.stdout
    assert "unit    (3, 3) of 6×6\n" in result.stdout
    assert (  # wrapped at 80 columns
        "field H: 32 … 226: 195 positions; 32 … 223 inside the input, in the padding 3 after it"
        in " ".join(result.stdout.split())
    )


@pytest.mark.parametrize(
    "args",
    [["describe", "{m}"], ["check", "{m}"], ["diff", "{m}", "{m}"], ["rf", "{m}"]],
    ids=lambda a: a[0],
)
def test_without_onnx_every_command_says_how_to_install(
    args: list[str], tmp_path: Path, monkeypatch: Any
) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    result = CliRunner().invoke(app, [a.format(m=path) for a in args])
    assert result.exit_code == 2
    assert result.stderr == (
        f"{path}:1:1: error: reading an ONNX file needs the onnx package, which is not installed\n"
        "hint: pip install 'rfcalc[onnx]'\n"
    )
    # check reports each file on stdout, the error among them; the others print nothing
    if args[0] == "check":
        assert result.stdout == (
            f"ERROR  {path}: reading an ONNX file needs the onnx package, which is not "
            "installed\nchecked 1 file: 0 passed, 0 failed, 1 invalid\n"
        )
    else:
        assert result.stdout == ""


def test_unmapped_operators_are_one_error(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="/r/Relu"),
        helper.make_node("Sin", ["a"], ["b"], name="/s/Sin"),
        helper.make_node("Cos", ["b"], ["c"], name="/c/Cos"),
        helper.make_node("Sin", ["c"], ["y"], name="/s2/Sin"),
    ]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y]))
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    result = CliRunner().invoke(app, ["describe", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"{path}:1:1: error: 3 ONNX nodes rfcalc cannot map: ")
    assert "Sin at '/s/Sin', '/s2/Sin'; Cos at '/c/Cos'" in result.stderr


def test_nodes_after_an_unmapped_one_are_not_listed(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    # a node of another domain has no inferred output shape; the Concat reading it (a
    # mapped operator) is skipped, not run on a tensor of unknown shape (the graph's output
    # has symbolic dims: onnx.checker wants a shape there, not that it be known)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "c", "h", "w"])
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="/r/Relu"),
        helper.make_node("Mine", ["a"], ["b"], name="/m/Mine", domain="my.ops"),
        helper.make_node("Concat", ["a", "b"], ["y"], name="/c/Concat", axis=1),
    ]
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("my.ops", 1)]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y]), opset_imports=opsets)
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    result = CliRunner().invoke(app, ["describe", str(path)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(
        f"{path}:1:1: error: 1 ONNX node rfcalc cannot map: Mine (domain my.ops) at '/m/Mine'\n"
    ), result.stderr


def _erf_model(tmp_path: Path, mul_input: str) -> Path:
    """Conv, then GELU as torch.onnx writes nn.GELU before opset 20: x / √2 → Erf → + 1 →
    · x → · 0.5; ``mul_input`` is what the first Mul multiplies by (x for a GELU)."""
    import numpy
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6, 6])
    weight = numpy_helper.from_array(numpy.zeros((4, 3, 3, 3), numpy.float32), "w")

    def scalar(name: str, value: float) -> Any:
        return helper.make_node(
            "Constant",
            [],
            [name],
            value=numpy_helper.from_array(numpy.array(value, numpy.float32)),
        )

    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="/conv/Conv"),
        helper.make_node("Relu", ["c"], ["r"], name="/relu/Relu"),
        scalar("sqrt2", 2**0.5),
        helper.make_node("Div", ["c", "sqrt2"], ["d"], name="/act/Div"),
        helper.make_node("Erf", ["d"], ["e"], name="/act/Erf"),
        scalar("one", 1.0),
        helper.make_node("Add", ["e", "one"], ["a"], name="/act/Add"),
        helper.make_node("Mul", [mul_input, "a"], ["m"], name="/act/Mul"),
        scalar("half", 0.5),
        helper.make_node("Mul", ["m", "half"], ["y"], name="/act/Mul_1"),
    ]
    graph = helper.make_graph(nodes, "g", [x], [y], [weight])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_gelu_written_with_erf_is_one_gelu_layer(tmp_path: Path) -> None:
    report = describe(_erf_model(tmp_path, "c"))
    # conv without a bias: 4·3·3·3 = 108 params, 6·6·4 · 27 = 3,888 MACs; the relu nothing
    # reads is kept, as every node the graph computes
    assert [(r.name, r.type, r.inputs, r.params, r.macs) for r in report.layers] == [
        ("conv", "conv2d", ("input",), 108, 3888),
        ("relu", "relu", ("conv",), 0, 0),
        ("act", "gelu", ("conv",), 0, 0),
    ]


def test_erf_outside_gelu_is_an_unmapped_operator(tmp_path: Path) -> None:
    path = _erf_model(tmp_path, "r")  # relu(x) · (1 + erf(x / √2)): no GELU
    result = CliRunner().invoke(app, ["describe", str(path)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(
        f"{path}:1:1: error: 1 ONNX node rfcalc cannot map: Erf (rfcalc reads Erf only in "
        "GELU's x · (1 + erf(x / √2)) / 2) at '/act/Erf'\n"
    ), result.stderr


# ---------------------------------------------------------------- torchvision via torch.onnx

TORCHVISION = [
    "resnet18",
    "resnet50",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "convnext_tiny",
    "densenet121",
]
# torch.onnx leaves out what is the identity in eval mode
_NOT_EXPORTED = ("dropout", "stochasticdepth")


def _rows(report: Any) -> list[tuple[object, ...]]:
    return [
        (r.type, r.output_shape, r.params, r.buffers, r.macs, r.rf.size, r.rf.stride, r.rf.padding)
        for r in report.layers
        if r.type not in _NOT_EXPORTED
    ]


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the legacy exporter warns
@pytest.mark.parametrize("name", TORCHVISION)
def test_exported_torchvision_equals_the_example(name: str, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from tests.test_torchvision import _torchvision

    model = getattr(_torchvision().models, name)().eval()
    path = tmp_path / f"{name}.onnx"
    # the TorchScript exporter (the dynamo one needs onnxscript); no constant folding, which
    # would fold batch norm into the convolutions before it
    torch.onnx.export(
        model, (torch.zeros(1, 3, 224, 224),), str(path), dynamo=False, do_constant_folding=False
    )
    ours, theirs = describe(path), describe(str(EXAMPLES / f"{name}.yaml"))
    assert _rows(ours) == _rows(theirs)
    # activations differ by the rows the exporter leaves out (dropout, stochastic depth)
    assert ours.totals._replace(activation_bytes=0) == theirs.totals._replace(activation_bytes=0)
    # torchvision's own module names come through (functional steps are named by operator)
    names = {r.name for r in ours.layers}
    assert {r.name for r in theirs.layers if r.params} <= names


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the legacy exporter warns
def test_exported_convnext_with_erf_gelu_equals_the_example(tmp_path: Path) -> None:
    """Before opset 20 torch.onnx writes nn.GELU as Div, Erf, Add, Mul, Mul: read as one gelu
    per GELU module, named as the module (opset 20 has a Gelu operator)."""
    torch = pytest.importorskip("torch")
    from tests.test_torchvision import _torchvision

    model = _torchvision().models.convnext_tiny().eval()
    path = tmp_path / "convnext_tiny.onnx"
    torch.onnx.export(
        model,
        (torch.zeros(1, 3, 224, 224),),
        str(path),
        dynamo=False,
        do_constant_folding=False,
        opset_version=17,
    )
    assert sum(n.op_type == "Erf" for n in onnx.load(str(path)).graph.node) == 18  # 3+3+9+3
    ours, theirs = describe(path), describe(str(EXAMPLES / "convnext_tiny.yaml"))
    assert _rows(ours) == _rows(theirs)
    gelus = [r.name for r in theirs.layers if r.type == "gelu"]
    assert [r.name for r in ours.layers if r.type == "gelu"] == gelus
    assert len(gelus) == 18


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the legacy exporter warns
@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")  # the bridge's batch test
def test_exported_unet_equals_the_example(tmp_path: Path) -> None:
    """examples/unet.yaml has no PyTorch original here: the tests' bridge builds it as a
    module (its layers PyTorch's own, checked against the file by tests/test_torch.py), which
    torch.onnx exports."""
    torch = pytest.importorskip("torch")
    from rfcalc.build import build
    from rfcalc.loader import load_path
    from tests.torch_bridge import Final, GraphModule

    source = str(EXAMPLES / "unet.yaml")
    theirs = describe(source)
    module = GraphModule(build(load_path(source)), [r.output_shape for r in theirs.layers])
    path = tmp_path / "unet.onnx"
    torch.onnx.export(
        Final(module).eval(),
        (torch.zeros(1, *theirs.input_shape),),
        str(path),
        dynamo=False,
        do_constant_folding=False,
    )
    ours = describe(path)
    assert _rows(ours) == _rows(theirs)
    assert ours.totals == theirs.totals


def test_convert_writes_what_describe_reads(tmp_path: Path) -> None:
    path = _LIGHT[0]
    out = tmp_path / "m.yaml"
    result = CliRunner().invoke(app, ["convert", path, "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    text = out.read_text()
    assert text.startswith(f"# converted by `rfcalc convert` from {path}\n")
    assert describe(out).totals == describe(Path(path)).totals
