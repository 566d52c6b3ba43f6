"""Each counting convention (rfcalc/counting.py, docs/counting.md) against the real tool, run on
the torch module the bridge builds from the same graph (``pytest -m torch``): every example and
random models. The tools are the ``test`` extra's (fvcore, ultralytics-thop, torchinfo)."""

from __future__ import annotations

import contextlib
import io
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfcalc.build import Graph, build
from rfcalc.engine import Report, analyze
from rfcalc.loader import load_path, load_text
from tests.helpers import EXAMPLES

pytestmark = pytest.mark.torch
if TYPE_CHECKING:
    import torch
else:
    torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from tests.test_torch import _load, channel_model  # noqa: E402
from tests.torch_bridge import GraphModule  # noqa: E402


class _Last(nn.Module):
    """The bridge's module, returning the last layer's output only (what the tools expect)."""

    def __init__(self, inner: GraphModule):
        super().__init__()
        self.inner = inner

    def forward(self, x: Any) -> Any:
        return self.inner(x)[-1]


def _fvcore(model: Any, x: Any) -> int:
    from fvcore.nn import FlopCountAnalysis  # type: ignore[import-untyped]

    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    return int(analysis.total())


def _thop(model: Any, x: Any) -> int:
    from thop import profile  # type: ignore[import-untyped]

    return int(profile(model, inputs=(x,), verbose=False)[0])


def _torchinfo(model: Any, x: Any) -> int:
    from torchinfo import summary

    return int(summary(model, input_data=x, verbose=0).total_mult_adds)


def _ptflops(model: Any, x: Any) -> int:
    # ptflops imports torchvision.ops if it can, catching ImportError only: a torchvision
    # whose operators do not load for this torch raises RuntimeError, so it is hidden (its
    # DeformConv2d is no layer of rfcalc's)
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] == "torchvision"}
    sys.modules["torchvision"] = None  # type: ignore[assignment]
    try:
        from ptflops import get_model_complexity_info  # type: ignore[import-untyped]
    finally:
        del sys.modules["torchvision"]
        sys.modules.update(saved)
    macs, _ = get_model_complexity_info(
        model,
        tuple(x.shape[1:]),
        as_strings=False,
        print_per_layer_stat=False,
        backend="pytorch",
        input_constructor=lambda _: {"x": x},
    )
    return int(macs)


TOOLS: dict[str, Callable[[Any, Any], int]] = {
    "fvcore": _fvcore,
    "thop": _thop,
    "ultralytics": lambda m, x: 2 * _thop(m, x),  # get_flops: thop.profile(…)[0] · 2
    "torchinfo": _torchinfo,
    "ptflops": _ptflops,
}


def tool_totals(graph: Graph, report: Report) -> dict[str, int]:
    """Each tool's total on one sample (batch 1: torchinfo's linear layers count per batch)."""
    shapes = [r.output_shape for r in report.layers]
    model = _Last(GraphModule(graph, shapes)).eval()
    x = torch.rand(1, *graph.input_shape)
    totals = {}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        for name, tool in TOOLS.items():
            totals[name] = tool(model, x)
    return totals


def ours(report: Report) -> dict[str, int]:
    every = dict(report.macs_by_convention)
    return {name: every[name] for name in TOOLS}


# a smaller input where the example allows it (the counts' formulas do not depend on the size;
# the tools' run time does)
SMALL = {"vgg16": "3,64,64", "alexnet": "3,95,95", "densenet121": "3,64,64", "unet": "3,64,64"}
EXAMPLE_NAMES = sorted(p.stem for p in EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_convention_equals_its_tool_on_the_examples(name: str) -> None:
    graph = build(load_path(str(EXAMPLES / f"{name}.yaml")), None, _shape(SMALL.get(name)))
    report = analyze(graph)
    assert ours(report) == tool_totals(graph, report)


def _shape(text: str | None) -> tuple[int, ...] | None:
    return None if text is None else tuple(int(v) for v in text.split(","))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(channel_model())
def test_every_convention_equals_its_tool_on_random_models(text: str) -> None:
    graph, report = _load(text)
    assert ours(report) == tool_totals(graph, report)


def test_the_default_convention_is_todays() -> None:
    # torchvision's convention is the weights alone: resnet18's 1.81 G MACs (torchvision's
    # model docs: 1.81 GFLOPS), whatever the other conventions say
    graph = build(
        load_text(
            "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 2, kernel_size: 3}\n  - batchnorm2d\n",
            "m.yaml",
        )
    )
    report = analyze(graph)
    # conv: 2·6·6 outputs · 3·3·3 = 1944; bias 2·6·6 = 72; BN over 72 elements, affine
    assert report.totals.macs == 1944
    assert dict(report.macs_by_convention) == {
        "torchvision": 1944,
        "fvcore": 1944 + 2 * 72,  # batchnorm_flop_jit, eval, affine: 2 · numel
        "thop": 1944 + 4 * 72,  # count_normalization: 2 · numel · 2 (affine)
        "ultralytics": 2 * (1944 + 4 * 72),
        # conv_flops_counter_hook: weights + bias 72; bn_flops_counter_hook: 2 · numel (affine)
        "ptflops": 1944 + 72 + 2 * 72,
        "torchinfo": (2 * 3 * 9 + 2) * 36 + 4,  # conv params · 6·6 positions; BN params 4
    }


# the layers channel_model (tests/test_torch.py) does not draw, which the conventions weigh
# differently: activations, softmax, norms, adaptive pools, upsampling
_ZOO = (
    "relu",
    "relu6",
    "{type: leakyrelu, negative_slope: 0.1}",
    "elu",
    "gelu",
    "silu",
    "selu",
    "mish",
    "hardswish",
    "tanh",
    "{type: softmax, dim: 1}",
    "{type: softmax, dim: -1, module: false}",
    "{type: logsoftmax, dim: 1}",
    "{type: groupnorm, num_groups: 1, affine: AFFINE}",
    "{type: instancenorm2d, affine: AFFINE}",
    "{type: batchnorm2d, affine: AFFINE, track_running_stats: AFFINE}",
    "{type: layernorm2d, elementwise_affine: AFFINE}",
    "{type: localresponsenorm, size: 2}",
    "{type: adaptiveavgpool2d, output_size: [3, 2]}",
    "{type: adaptivemaxpool2d, output_size: 2}",
    "{type: upsample, scale_factor: 2, mode: nearest}",
    "{type: upsample, size: [9, 7], mode: bilinear, align_corners: AFFINE}",
    "{type: upsample, scale_factor: [2, 1], mode: bicubic}",
    "{type: conv2d, out_channels: 4, kernel_size: 3, padding: 1, bias: AFFINE}",
    "{type: convtranspose2d, out_channels: 2, kernel_size: 2, stride: 2, bias: AFFINE}",
    "{type: avgpool2d, kernel_size: 2, ceil_mode: AFFINE}",
    # calls (F.avg_pool2d, F.interpolate …), which no module hook sees
    "{type: avgpool2d, kernel_size: 2, stride: 1, module: false}",
    "{type: maxpool2d, kernel_size: 3, stride: 2, padding: 1, module: false}",
    "{type: adaptiveavgpool2d, output_size: [3, 2], module: false}",
    "{type: adaptivemaxpool2d, output_size: 2, module: false}",
    "{type: upsample, scale_factor: 2, mode: nearest, module: false}",
    "{type: upsample, size: [9, 7], module: false}",
    "{type: upsample, scale_factor: 2, mode: bilinear, align_corners: AFFINE, module: false}",
)


@st.composite
def zoo_model(draw: st.DrawFn) -> str:
    c, h, w = draw(st.integers(1, 4)), draw(st.integers(4, 12)), draw(st.integers(4, 12))
    lines = [f"input: [{c}, {h}, {w}]", "layers:"]
    for _ in range(draw(st.integers(1, 4))):
        text = draw(st.sampled_from(_ZOO))
        lines.append(f"  - {text.replace('AFFINE', str(draw(st.booleans())).lower())}")
    return "\n".join(lines) + "\n"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(zoo_model())
def test_every_convention_equals_its_tool_on_random_layer_zoos(text: str) -> None:
    graph, report = _load(text)
    assert ours(report) == tool_totals(graph, report)


@st.composite
def sequence_model(draw: st.DrawFn) -> str:
    """Attention of every kind PyTorch has, with random dims and flags."""
    heads = draw(st.integers(1, 3))
    d = heads * draw(st.integers(1, 3))
    tokens, memory = draw(st.integers(1, 6)), draw(st.integers(1, 6))

    def flag() -> str:
        return str(draw(st.booleans())).lower()

    kind = draw(st.sampled_from(["mha", "cross", "encoder", "decoder"]))
    lines = [f"input: [{tokens}, {d}]", "layers:"]
    if kind in ("cross", "decoder"):
        kdim = draw(st.integers(1, 5)) if kind == "cross" else d
        lines.append(f"  - {{name: m, type: parameter, shape: [{memory}, {kdim}]}}")
    if kind in ("mha", "cross"):
        common = (
            f"type: multiheadattention, embed_dim: {d}, num_heads: {heads}, bias: {flag()}, "
            f"add_bias_kv: {flag()}, add_zero_attn: {flag()}, need_weights: {flag()}"
        )
        source = f", kdim: {kdim}, vdim: {kdim}, from: [input, m, m]" if kind == "cross" else ""
        lines.append(f"  - {{{common}{source}}}")
    else:
        ff = draw(st.integers(1, 8))
        layer = "transformerencoderlayer" if kind == "encoder" else "transformerdecoderlayer"
        source = ", from: [input, m]" if kind == "decoder" else ""
        lines.append(
            f"  - {{type: {layer}, d_model: {d}, nhead: {heads}, dim_feedforward: {ff}, bias: {flag()}{source}}}"
        )
    return "\n".join(lines) + "\n"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(sequence_model())
def test_every_convention_equals_its_tool_on_random_attention(text: str) -> None:
    graph, report = _load(text)
    assert ours(report) == tool_totals(graph, report)
