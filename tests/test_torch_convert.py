"""`rfcalc convert --torch` (rfcalc/torch_import.py; ``pytest -m torch``).

What is compared is what `rfcalc describe` computes from the converted file against what it
computes from an independent source: for torchvision's models the hand-written examples
(themselves checked layer for layer against torchvision by tests/test_torchvision.py), for
random models the rfcalc file the torch module was built from (tests/torch_bridge.py's layers,
so the module's numbers are PyTorch's): per layer the name, output shape, params, buffers,
MACs and receptive field (size, stride, padding).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from rfcalc.api import describe
from rfcalc.build import INPUT, Graph, build
from rfcalc.cli import app
from rfcalc.errors import ShapeError
from rfcalc.loader import load_text
from tests.helpers import EXAMPLES
from tests.test_dag_oracle import dag
from tests.test_rf_oracle import to_yaml
from tests.test_torch import channel_model

if TYPE_CHECKING:
    import torch
else:
    torch = pytest.importorskip("torch")
from torch import nn

from tests.test_torchvision import _torchvision
from tests.torch_bridge import build_layer

pytestmark = pytest.mark.torch
RUNNER = CliRunner()


def rows(report: Any) -> dict[str, tuple[object, ...]]:
    return {
        r.name: (r.output_shape, r.params, r.buffers, r.macs, r.rf.size, r.rf.stride, r.rf.padding)
        for r in report.layers
    }


def convert(spec: str, tmp_path: Path, shape: str = "3,224,224") -> Path:
    out = tmp_path / "converted.yaml"
    result = RUNNER.invoke(app, ["convert", "--torch", spec, "--input", shape, "-o", str(out)])
    assert (result.exit_code, result.stderr) == (0, ""), result.stderr
    return out


# ------------------------------------------------------------------ torchvision's models

TORCHVISION = [
    "resnet18",
    "resnet50",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "convnext_tiny",
    "efficientnet_b0",
    "densenet121",
]


def _dense_concat(name: str) -> str:
    """The example's name of a converted DenseNet concat. torchvision's _DenseLayer
    concatenates the features it is given at its start (torch.cat of its block's list: none
    in the first layer, which gets one tensor) and _DenseBlock once more at its end; the
    example's DenseLayer concatenates its input and its new features at its end. So the
    concats come in the same places of the order, each one layer later by name:
    ``denselayer{i+1}.concat_0`` is the example's ``denselayer{i}.concat``, and the block's
    own ``concat_0`` its last layer's."""
    block, _, last = name.rpartition(".")
    if last != "concat_0":
        return name
    scope, _, layer = block.rpartition(".")
    if layer.startswith("denselayer"):
        return f"{scope}.denselayer{int(layer.removeprefix('denselayer')) - 1}.concat"
    count = {"denseblock1": 6, "denseblock2": 12, "denseblock3": 24, "denseblock4": 16}
    return f"{block}.denselayer{count[layer]}.concat"  # DenseNet-121's block_config


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_model_converts_to_the_example(name: str, tmp_path: Path) -> None:
    _torchvision()
    path = convert(f"torchvision.models:{name}", tmp_path)
    text = path.read_text()
    assert text.startswith(f"# Converted by rfcalc convert --torch 'torchvision.models:{name}'")
    assert f"with torch {torch.__version__}" in text
    ours, example = describe(str(path)), describe(str(EXAMPLES / f"{name}.yaml"))
    # the same rows in the same order: shapes, params, buffers, MACs, receptive fields
    assert ours.totals == example.totals
    assert list(rows(ours).values()) == list(rows(example).values())
    names = [r.name for r in ours.layers]
    if name == "densenet121":  # PyTorch's places of the concats (above): 64 renamed
        renamed = [_dense_concat(n) for n in names]
        assert sum(a != b for a, b in zip(names, renamed, strict=True)) == 5 + 11 + 23 + 15 + 4
        names = renamed
    assert names == [r.name for r in example.layers]


def test_an_uncalled_dropout_is_written_after_the_last_step(tmp_path: Path) -> None:
    # torchvision's MBConv without a residual (features.1.0: 32 → 16 channels) builds
    # stochastic_depth but never calls it: written after the block's last step
    _torchvision()
    text = convert("torchvision.models:efficientnet_b0", tmp_path).read_text()
    assert (
        "  MBConv:\n"
        "    layers:\n"
        "      - name: block\n"
        "        layers:\n"
        "          - {name: '0', type: Conv2dNormActivation_1}\n"
        "          - {name: '1', type: SqueezeExcitation}\n"
        "          - {name: '2', type: Conv2dNormActivation_2}\n"
        "      - {name: stochastic_depth, type: stochasticdepth}\n"
        "  Conv2dNormActivation_3:\n"
    ) in text


def test_resnet50_is_written_with_blocks_and_torchs_names(tmp_path: Path) -> None:
    _torchvision()
    text = convert("torchvision.models:resnet50", tmp_path).read_text()
    # each stage: its first Bottleneck (a downsample) and the rest, identical, repeated
    assert "      - {type: Bottleneck_1, repeat: 2}\n" in text  # layer1.1, layer1.2
    assert "      - {type: Bottleneck_5, repeat: 5}\n" in text  # layer3.1 … layer3.5
    assert text.count("\n  Bottleneck") == 8
    assert "  - {name: fc, type: linear, out_features: 1000}\n" in text


# ------------------------------------------------------------------ the round trip


class FromGraph(nn.Module):
    """An rfcalc graph as a PyTorch module a user might write: its layers as submodules
    named as rfcalc names them, add and concat as torch functions in forward."""

    def __init__(self, graph: Graph, shapes: list[tuple[int, ...]]):
        super().__init__()
        self.graph = graph
        known = {INPUT: graph.input_shape} | dict(enumerate(shapes))
        for node in graph.nodes:
            if node.kind.name in ("add", "concat"):
                continue
            layer = build_layer(node, [known[i] for i in node.inputs], "exact")
            assume(type(layer).__module__.startswith("torch.nn"))  # not a test-side stand-in
            self.add_module(node.name, layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = {INPUT: x}
        for node in self.graph.nodes:
            ins = [outs[i] for i in node.inputs]
            if node.kind.name == "add":
                y = torch.add(ins[0], ins[1])
            elif node.kind.name == "concat":
                y = torch.cat(ins, int(str(node.args["dim"])))
            else:
                y = getattr(self, node.name)(*ins)
            outs[node.index] = y
        return y


def round_trip(text: str, tmp_path: Path) -> None:
    try:
        graph = build(load_text(text, "random.yaml"))
        report = describe(text)
    except ShapeError:
        assume(False)
        raise
    _NET[:] = [FromGraph(graph, [r.output_shape for r in report.layers])]
    shape = ",".join(map(str, graph.input_shape))
    out = convert("tests.test_torch_convert:current_net", tmp_path, shape)
    again = describe(str(out))
    assert list(rows(again)) == list(rows(report))
    assert rows(again) == rows(report)


_NET: list[nn.Module] = []


def current_net() -> nn.Module:
    """The round trip's module: `convert --torch tests.test_torch_convert:current_net`."""
    return _NET[-1]


def named_merges(text: str) -> str:
    """tests.test_dag_oracle's models with their merges named as rfcalc names unnamed layers
    (add_0, concat_0, …): a PyTorch forward's functional steps have no names of their own."""
    counts: dict[str, int] = {}
    renames: dict[str, str] = {}
    out = []
    for line in text.splitlines():
        for kind in ("add", "concat"):
            if f"{{type: {kind}," in line:
                old = line.split("name: ")[1].split(",")[0]
                renames[old] = f"{kind}_{counts.get(kind, 0)}"
                counts[kind] = counts.get(kind, 0) + 1
        out.append(line)
    text = "\n".join(out) + "\n"
    for old, new in sorted(renames.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(f"name: {old},", f"name: {new},")
        text = text.replace(f"[{old},", f"[{new},").replace(f" {old}]", f" {new}]")
        text = text.replace(f"[{old}]", f"[{new}]")
    return text


SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[
        HealthCheck.filter_too_much,
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
    ],
)


@SETTINGS
@given(text=channel_model())
def test_round_trip_random_chains(text: str, tmp_path: Path) -> None:
    assume("minpool" not in text)
    round_trip(text, tmp_path)


@SETTINGS
@given(ops=dag())
def test_round_trip_random_dags(ops: list[tuple[str, list[int], object]], tmp_path: Path) -> None:
    lines = ["input: [2, 12, 12]", "layers:"]
    for i, (kind, sources, spec) in enumerate(ops):
        src = ", ".join("input" if s < 0 else f"n{s}" for s in sources)
        if kind == "layer":
            assert isinstance(spec, tuple)
            flow = to_yaml(*spec).replace("conv1d", "conv2d").replace("pool1d", "pool2d")
            body = "type: relu" if flow == "relu" else flow[1:-1]
            lines.append(f"  - {{{body}, name: n{i}, from: [{src}]}}")
        else:
            merge = "type: add" if kind == "add" else "type: concat, dim: 1"
            lines.append(f"  - {{{merge}, name: n{i}, from: [{src}]}}")
    round_trip(named_merges("\n".join(lines) + "\n"), tmp_path)


class Body(nn.Module):
    """A block of the user's own: its layers run in order (the converter writes a block
    named after the class, and a run of identical instances as one `repeat`)."""

    def __init__(self, layers: dict[str, nn.Module]):
        super().__init__()
        for name, layer in layers.items():
            self.add_module(name, layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.children():
            x = layer(x)
        return x


@st.composite
def scoped_chain(draw: st.DrawFn) -> tuple[str, list[tuple[str, int, list[str]]]]:
    """A random chain (tests.test_torch's channel_model) cut into consecutive groups, each
    at the top level, in a nested list or as a block repeated in a nested list; its layers
    named ``l0``, ``l1``, … Returns the rfcalc text and the groups: (scope name or '',
    repeats (0: a nested list, not a block), the layers' flow mappings)."""
    text = draw(channel_model())
    assume("minpool" not in text)
    head, *lines = text.splitlines()
    entries = []
    for i, line in enumerate(lines[1:]):
        body = line.removeprefix("  - ")
        flow = body[1:-1] if body.startswith("{") else f"type: {body}"
        entries.append(f"{{name: l{i}, {flow}}}")
    groups: list[tuple[str, int, list[str]]] = []
    while entries:
        take = draw(st.integers(1, len(entries)))
        kind = draw(st.sampled_from(["top", "nested", "block", "block"]))
        scope = "" if kind == "top" else f"s{len(groups)}"
        repeats = draw(st.integers(1, 3)) if kind == "block" else 0
        groups.append((scope, repeats, entries[:take]))
        entries = entries[take:]
    out = [head]
    blocks = [(f"Body{i}", g) for i, g in enumerate(groups) if g[1]]
    if blocks:
        out.append("blocks:")
        for name, (_, _, layers) in blocks:
            out += [f"  {name}:", "    layers:", *(f"      - {e}" for e in layers)]
    out.append("layers:")
    for i, (scope, repeats, layers) in enumerate(groups):
        if not scope:
            out += [f"  - {e}" for e in layers]
            continue
        out += [f"  - name: {scope}", "    layers:"]
        if repeats:
            out.append(f"      - {{type: Body{i}, repeat: {repeats}}}")
        else:
            out += [f"      - {e}" for e in layers]
    return "\n".join(out) + "\n", groups


def scoped_net(graph: Graph, shapes: list[tuple[int, ...]], groups: list[Any]) -> nn.Module:
    """The PyTorch modules of a scoped chain: its nested lists as nn.Sequential, its blocks
    as Body instances, its layers the bridge's (PyTorch's own)."""
    known = {INPUT: graph.input_shape} | dict(enumerate(shapes))
    modules: dict[str, nn.Module] = {}
    for node in graph.nodes:
        layer = build_layer(node, [known[i] for i in node.inputs], "exact")
        assume(type(layer).__module__.startswith("torch.nn"))  # not a test-side stand-in
        modules[node.name] = layer

    def leaves(prefix: str, layers: list[str]) -> dict[str, nn.Module]:
        names = [e.split(",")[0].removeprefix("{name: ") for e in layers]
        return {n: modules[f"{prefix}{n}"] for n in names}

    top: dict[str, nn.Module] = {}
    for scope, repeats, layers in groups:
        if not scope:
            top.update(leaves("", layers))
        elif repeats:
            instances = {str(i): Body(leaves(f"{scope}.{i}.", layers)) for i in range(repeats)}
            top[scope] = nn.Sequential(OrderedDict(instances))
        else:
            top[scope] = nn.Sequential(OrderedDict(leaves(f"{scope}.", layers)))
    return nn.Sequential(OrderedDict(top))


@SETTINGS
@given(chain=scoped_chain())
def test_round_trip_nested_lists_and_blocks(
    chain: tuple[str, list[tuple[str, int, list[str]]]], tmp_path: Path
) -> None:
    text, groups = chain
    try:
        graph = build(load_text(text, "random.yaml"))
        report = describe(text)
    except ShapeError:
        assume(False)
        raise
    _NET[:] = [scoped_net(graph, [r.output_shape for r in report.layers], groups)]
    shape = ",".join(map(str, graph.input_shape))
    out = convert("tests.test_torch_convert:current_net", tmp_path, shape)
    converted = out.read_text()
    for _, repeats, _ in groups:
        if repeats > 1:  # identical instances: one block, repeated
            event("a block repeated")
            assert f"repeat: {repeats}}}" in converted, converted
    again = describe(str(out))
    assert list(rows(again)) == list(rows(report))
    assert rows(again) == rows(report)


# ------------------------------------------------------------------ errors and the spec

NET_PY = """import torch
from torch import nn

class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.rnn = nn.LSTM(8, 8)

    def forward(self, x):
        return self.rnn(self.conv(x).flatten(2))[0]

class Odd(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return torch.erf(self.conv(x))

class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))
"""


@pytest.fixture
def net_py(tmp_path: Path) -> Path:
    path = tmp_path / "net.py"
    path.write_text(NET_PY)
    return path


def test_a_py_file_spec(net_py: Path, tmp_path: Path) -> None:
    out = convert(f"{net_py}:Small", tmp_path, "3,16,16")
    report = describe(str(out))
    # body.0: 3·8·3·3 + 8 = 224 params, 16·16·8·27 = 55,296 MACs; head: 8·2 + 2 = 18
    assert [(r.name, r.output_shape, r.params, r.macs) for r in report.layers] == [
        ("body.0", (8, 16, 16), 224, 55296),
        ("body.1", (8, 16, 16), 0, 0),
        ("globalavgpool2d_0", (8,), 0, 0),
        ("head", (2,), 18, 16),
    ]


@pytest.mark.parametrize(
    ("attr", "message"),
    [
        ("Twice", "cannot convert torch.nn.modules.rnn.LSTM: no rfcalc layer type at 'rnn'"),
        ("Odd", "cannot convert the function torch.erf at the model's forward"),
    ],
)
def test_what_cannot_be_mapped_is_named(net_py: Path, attr: str, message: str) -> None:
    result = RUNNER.invoke(app, ["convert", "--torch", f"{net_py}:{attr}", "--input", "3,8,8"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"rfcalc: error: {message}"), result.stderr


def test_bad_specs(net_py: Path) -> None:
    for spec, message in [
        ("resnet50", "--torch resnet50: expected MODULE:ATTR or FILE.py:ATTR"),
        (f"{net_py}:Nope", f"--torch {net_py}:Nope: {net_py} has no callable 'Nope'"),
        ("no_such_module_xyz:Net", "--torch no_such_module_xyz:Net: cannot import"),
    ]:
        result = RUNNER.invoke(app, ["convert", "--torch", spec])
        assert result.exit_code == 2
        assert result.stderr.startswith(f"rfcalc: error: {message}"), result.stderr


def test_without_torch_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    result = RUNNER.invoke(app, ["convert", "--torch", "torchvision.models:resnet18"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "rfcalc: error: convert --torch needs PyTorch, which is not installed\n"
        "hint: install PyTorch: pip install torch (and torchvision for its models)\n"
    )


def test_describe_of_a_yaml_file_imports_no_framework() -> None:
    code = (
        "import sys, rfcalc\n"
        "from rfcalc.cli import app\n"
        "from rfcalc.api import describe\n"
        f"describe({str(EXAMPLES / 'resnet50.yaml')!r})\n"
        "from typer.testing import CliRunner\n"
        f"CliRunner().invoke(app, ['describe', {str(EXAMPLES / 'resnet18.yaml')!r}])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'onnx')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")
