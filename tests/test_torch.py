"""Differential tests against PyTorch (``pytest -m torch``; skipped without torch).

Per layer, rfcalc's output shape, params, trainable params, buffers and MACs must equal what the
torch module reports (MACs counted from the module's own weights and output shapes); receptive
fields must equal the box of non-zero input gradient of chosen output units.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rfcalc.build import Graph, Node, build
from rfcalc.engine import Report, analyze
from rfcalc.errors import ShapeError
from rfcalc.layers.base import Tokens, axis_sizes, carried
from rfcalc.loader import load_path, load_text
from tests.helpers import EXAMPLES, SCALE
from tests.test_dag_oracle import dag, yaml_of
from tests.test_rf_oracle import layer, to_yaml

if TYPE_CHECKING:
    import torch
else:
    torch = pytest.importorskip("torch")
from torch import nn

from tests.torch_bridge import GraphModule, Measured, measured_macs, prepare_for_rf

pytestmark = pytest.mark.torch
torch.set_num_threads(1)

# ------------------------------------------------------------------ counting from torch


def _macs(module: nn.Module, inputs: list[torch.Tensor], out: torch.Tensor) -> int:
    """MACs from the module's weights and the tensors' shapes (torchvision/fvcore rule)."""
    if isinstance(module, Measured):
        return measured_macs(module, inputs)
    total = 0
    for m in module.modules():
        if isinstance(m, nn.modules.conv._ConvTransposeNd):
            # weight (Cin, Cout/groups, *k): every input element feeds Cout/groups·∏k products
            total += inputs[0][0].numel() * m.weight[0].numel()
        elif isinstance(m, nn.modules.conv._ConvNd):
            # weight (Cout, Cin/groups, *k): every output element is Cin/groups·∏k products
            total += out[0].numel() * m.weight[0].numel()
        elif isinstance(m, nn.Linear):
            total += out[0].numel() * m.in_features
    return total


@dataclass
class Counts:
    shape: tuple[int, ...]
    params: int
    trainable: int
    buffers: int
    macs: int


def torch_counts(graph: Graph, report: Report) -> list[Counts]:
    shapes = [r.output_shape for r in report.layers]
    module = GraphModule(graph, shapes).eval()
    x = torch.ones(2, *graph.input_shape)
    with torch.no_grad():
        outs = module(x)
    tensors = {-1: x} | dict(enumerate(outs))
    counts = []
    for node, layer_module, out in zip(graph.nodes, module.layers, outs, strict=True):
        inputs = [tensors[i] for i in node.inputs]
        params = sum(p.numel() for p in layer_module.parameters())
        trainable = sum(p.numel() for p in layer_module.parameters() if p.requires_grad)
        buffers = sum(
            b.numel()
            for n, b in layer_module.named_buffers()
            if n.endswith(("running_mean", "running_var"))
        )
        counts.append(
            Counts(
                tuple(out.shape[1:]), params, trainable, buffers, _macs(layer_module, inputs, out)
            )
        )
    return counts


def assert_numbers_match(graph: Graph, report: Report) -> None:
    for row, c in zip(report.layers, torch_counts(graph, report), strict=True):
        ours = Counts(row.output_shape, row.params, row.trainable_params, row.buffers, row.macs)
        assert ours == c, row.name


# ------------------------------------------------------------------ receptive fields


UNSAFE_FOR_EQUALITY = ("reflectionpad", "replicationpad")


def assert_rf_match(
    graph: Graph,
    report: Report,
    units_per_layer: int = 12,
    layers: list[int] | None = None,
    crops_exact: bool = False,
) -> int:
    """Compare per-unit fields with gradient boxes; returns how many units were compared exactly.

    ``crops_exact``: the caller knows that no layer reads the virtual units of a spatial crop
    (narrow, chunk, split), so that crops do not stop the exact comparison."""
    assert report.fields is not None
    if any(
        n.kind.name.startswith(("maxpool", "minpool"))
        and n.args["ceil_mode"]
        and _positive(n.args["dilation"], above=1)
        for n in graph.nodes
    ):
        return 0  # no average-pool stand-in for a dilated ceil-mode pool
    global_nodes = frozenset(r.index for r in report.layers if r.rf.is_global)
    module = GraphModule(graph, [r.output_shape for r in report.layers], "rf", global_nodes)
    prepare_for_rf(module)
    x = torch.ones(1, *graph.input_shape, dtype=torch.float64, requires_grad=True)
    outs = module(x)
    sizes = graph.input_shape[1:]
    rank = len(sizes)
    # docs/numbers.md's fields live on the extended index line. Where a layer crops (negative
    # padding, a transposed convolution's padding) or mirrors (reflection, replication), a
    # virtual unit's field can lie inside the input while the real value is padding: there the
    # gradient box is only checked to lie within the predicted field.
    exact_ok = not any(
        n.kind.name.startswith(UNSAFE_FOR_EQUALITY)
        or (n.kind.name.startswith(("zeropad", "constantpad")) and _negative(n.args["padding"]))
        or (n.kind.name.startswith("convtranspose") and _positive(n.args["padding"]))
        or (not crops_exact and _spatial_crop(n, report))
        for n in graph.nodes
    )
    exact = 0
    assert report.layouts is not None
    for i in layers if layers is not None else range(len(graph.nodes)):
        out, row, fields = outs[i], report.layers[i], report.fields[i]
        # the output dim that carries each input axis (channels first: 1, 2, …; permuted
        # elsewhere; several in a token dim; None where flattened away, the field then being
        # global)
        layout = report.layouts[i]
        dims = [
            next((j for j, t in enumerate(layout) if a in carried(t)), None) for a in range(rank)
        ]
        if any(d is not None for d in dims):
            lengths = axis_sizes(layout, row.output_shape, rank)
            grids = [range(lengths[a]) if d is not None else range(1) for a, d in enumerate(dims)]
            units = list(itertools.product(*grids))
            step = max(1, len(units) // units_per_layer)
            chosen = [*units[::step][:units_per_layer], units[-1]]
        else:
            chosen = [()]
        for unit in chosen:
            index: list[int | slice] = [slice(None)] * len(row.output_shape)
            for d, tag in enumerate(layout):
                if isinstance(tag, int) and unit:
                    index[d] = unit[tag]
                elif isinstance(tag, Tokens) and unit:  # row-major, after the lead tokens
                    flat = 0
                    for a, n in zip(tag.axes, tag.sizes, strict=True):
                        flat = flat * n + unit[a]
                    index[d] = tag.lead + flat
            target = out[0][tuple(index)].sum() if unit else out.sum()
            (grad,) = torch.autograd.grad(target, x, retain_graph=True)
            mask = grad[0].abs().sum(dim=0) > 0
            spans = [fields[a].span(unit[a]) for a in range(rank)] if unit else []
            # interior: the field lies inside the input on every axis (else padding may hide it)
            interior = bool(unit) and all(
                s is not None and s[0] >= 0 and s[1] < n for s, n in zip(spans, sizes, strict=True)
            )
            for axis in range(rank):
                others = tuple(d for d in range(rank) if d != axis)
                line = mask.any(dim=others) if others else mask
                hits = line.nonzero().flatten().tolist()
                measured = (min(hits), max(hits)) if hits else None
                y = unit[axis] if unit else 0
                predicted = fields[axis].span(y) if unit else _hull(fields[axis], row)
                clipped = None
                if predicted is not None:
                    lo, hi = max(predicted[0], 0), min(predicted[1], sizes[axis] - 1)
                    clipped = (lo, hi) if lo <= hi else None
                where = (row.name, unit, axis, predicted, measured)
                if measured is not None:
                    assert clipped is not None, where
                    assert clipped[0] <= measured[0], where
                    assert measured[1] <= clipped[1], where
                # an axis flattened into another dim is global by docs/numbers.md's convention (a
                # refold that happens to be the identity still counts): bounds only
                if exact_ok and interior and dims[axis] is not None:
                    assert measured == predicted, where
                    exact += 1
    return exact


def _spatial_crop(node: Node, report: Report) -> bool:
    """A slice (narrow, chunk, split) along a dim that carries a spatial axis crops it."""
    if node.kind.name not in ("narrow", "chunk", "split"):
        return False
    assert report.layouts is not None
    source = node.inputs[0]
    layout = report.layouts[source] if source >= 0 else (None, *range(len(report.input_shape) - 1))
    dim = node.args["dim"]
    assert isinstance(dim, int)
    return isinstance(layout[dim - 1 if dim > 0 else dim], int)


def _hull(field: object, row: object) -> tuple[int, int] | None:
    from rfcalc.rf import Global

    assert isinstance(field, Global)
    return (field.lo, field.hi)


def _positive(value: object, above: int = 0) -> bool:
    values = (value,) if isinstance(value, int) else value
    assert isinstance(values, tuple)
    return any(v > above for v in values)


def _negative(padding: object) -> bool:
    values = (padding,) if isinstance(padding, int) else padding
    assert isinstance(values, tuple)
    return any(v < 0 for v in values)


def _analyze(graph: Graph) -> Report:
    return analyze(graph, keep_fields=True)


# ------------------------------------------------------------------ examples

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_numbers_match_torch(path: Path) -> None:
    graph = build(load_path(str(path)))
    assert_numbers_match(graph, analyze(graph))


@pytest.mark.parametrize(
    ("example", "shape"),
    [
        ("textbook", None),
        ("lenet5", None),
        ("alexnet", (3, 127, 127)),
        ("vgg16", (3, 64, 64)),
        ("resnet18", (3, 64, 64)),
        ("resnet50", (3, 64, 64)),
        ("mobilenet_v2", (3, 64, 64)),
        ("unet", (3, 64, 64)),
        ("mobilenet_v3_large", (3, 64, 64)),
        ("efficientnet_b0", (3, 64, 64)),
        ("convnext_tiny", (3, 64, 64)),
        ("densenet121", (3, 64, 64)),
        ("shufflenet_v2_x1_0", (3, 64, 64)),
        ("wavenet", (1, 1100)),  # every unit's field (1024 wide, causal) against autograd
        ("tcn", None),
    ],
)
def test_example_receptive_fields_match_gradients(
    example: str, shape: tuple[int, ...] | None
) -> None:
    graph = build(load_path(str(EXAMPLES / f"{example}.yaml")), input_shape=shape)
    report = _analyze(graph)
    n = len(graph.nodes)
    picks = sorted({0, n // 4, n // 2, (3 * n) // 4, n - 1})
    assert_rf_match(graph, report, units_per_layer=6, layers=picks)


# ------------------------------------------------------------------ random models


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def channel_model(draw: st.DrawFn) -> str:
    rank = draw(st.integers(1, 2))
    channels = draw(st.integers(1, 4))
    sizes = [draw(st.integers(8, 24)) for _ in range(rank)]
    lines = [f"input: {[channels, *sizes]}", "layers:"]
    for _ in range(draw(st.integers(1, 5))):
        kind, axes, ceil = draw(layer(rank))
        text = to_yaml(kind, axes, ceil)
        if "out_channels: 1" in text:
            cout = draw(st.integers(1, 6))
            common = [d for d in _divisors(channels) if cout % d == 0]
            groups = draw(st.sampled_from(common))
            text = text.replace(
                "out_channels: 1",
                f"out_channels: {cout}, groups: {groups}, bias: {str(draw(st.booleans())).lower()}",
            )
            channels = cout
        if kind == "maxpool" and draw(st.booleans()):
            text = text.replace("maxpool", "minpool")
        lines.append(f"  - {text}")
        extra = draw(st.sampled_from(["", "", "batchnorm", "prelu", "sigmoid", "gelu"]))
        if extra == "batchnorm":
            lines.append(
                f"  - {{type: batchnorm{rank}d, affine: {str(draw(st.booleans())).lower()}}}"
            )
        elif extra == "prelu":
            lines.append(
                f"  - {{type: prelu, num_parameters: {draw(st.sampled_from([1, channels]))}}}"
            )
        elif extra:
            lines.append(f"  - {extra}")
    if draw(st.booleans()):
        lines.append("  - flatten")
        lines.append(
            f"  - {{type: linear, out_features: {draw(st.integers(1, 5))}, trainable: {str(draw(st.booleans())).lower()}}}"
        )
    return "\n".join(lines) + "\n"


def _load(text: str) -> tuple[Graph, Report]:
    try:
        graph = build(load_text(text, "random.yaml"))
        return graph, _analyze(graph)
    except ShapeError:
        assume(False)
        raise


@settings(
    max_examples=350 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(channel_model())
def test_random_models_match_torch(text: str) -> None:
    graph, report = _load(text)
    assert_numbers_match(graph, report)
    assert_rf_match(graph, report)


@settings(
    max_examples=200 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(st.integers(6, 24), dag())
def test_random_dags_match_torch(n: int, ops: list[tuple[str, list[int], object]]) -> None:
    graph, report = _load(yaml_of(n, ops))
    assert_numbers_match(graph, report)
    assert_rf_match(graph, report)


# ------------------------------------------------------------------ every unit-table layer

from tests.test_layers import SHAPES  # noqa: E402


@pytest.mark.parametrize(("layer_text", "shape"), [(row[0], row[1]) for row in SHAPES])
def test_unit_table_layers_match_torch(layer_text: str, shape: tuple[int, ...]) -> None:
    graph, report = _load(f"input: {list(shape)}\nlayers:\n  - {layer_text}\n")
    assert_numbers_match(graph, report)


RESAMPLING = [
    "{type: upsample, scale_factor: 2}",
    "{type: upsample, scale_factor: 3, mode: nearest-exact}",
    "{type: upsample, size: [7, 13]}",
    "{type: upsample, scale_factor: 2, mode: bilinear}",
    "{type: upsample, size: [5, 17], mode: bilinear}",
    "{type: upsample, scale_factor: 2, mode: bilinear, align_corners: true}",
    "{type: upsample, size: [9, 11], mode: bicubic}",
    "{type: upsample, scale_factor: 2, mode: bicubic, align_corners: true}",
    "{type: upsample, scale_factor: 0.5, mode: bilinear}",
    "{type: pixelshuffle, upscale_factor: 2}",
    "{type: adaptivemaxpool2d, output_size: [3, 5]}",
    "{type: convtranspose2d, out_channels: 2, kernel_size: 3, stride: 2, dilation: 2}",
    # not resampling, but as global as can be along one axis: softmax over a spatial dim
    "{type: softmax, dim: 3}",
    "{type: logsoftmax, dim: -2}",
]


@pytest.mark.parametrize("layer_text", RESAMPLING)
def test_resampling_fields_match_gradients(layer_text: str) -> None:
    # followed by a padded conv, so that virtual units near the edges are read as well
    text = (
        f"input: [4, 6, 8]\nlayers:\n  - {layer_text}\n"
        "  - {type: conv2d, out_channels: 1, kernel_size: 3, padding: 1}\n"
    )
    graph, report = _load(text)
    assert_numbers_match(graph, report)
    assert assert_rf_match(graph, report, units_per_layer=200) > 0


# ------------------------------------------------------------------ global context (docs/numbers.md)

GATED = [
    # the minimal gate: conv, its pooled self, their product, two strided convs
    """input: [1, 16]
layers:
  - {type: conv1d, name: c0, out_channels: 4, kernel_size: 3, padding: 1}
  - {type: adaptiveavgpool1d, name: pool, output_size: 1}
  - {type: mul, from: [c0, pool]}
  - {type: conv1d, out_channels: 4, kernel_size: 3, stride: 2, padding: 1}
  - {type: conv1d, out_channels: 4, kernel_size: 3, stride: 2, padding: 1}
""",
    # a squeeze-and-excitation block as torchvision writes it, between strided convs
    """input: [3, 40, 40]
layers:
  - {type: conv2d, name: stem, out_channels: 8, kernel_size: 3, stride: 2, padding: 1}
  - {type: adaptiveavgpool2d, output_size: 1}
  - {type: conv2d, out_channels: 2, kernel_size: 1}
  - relu
  - {type: conv2d, out_channels: 8, kernel_size: 1}
  - {type: sigmoid, name: scale}
  - {type: mul, from: [stem, scale]}
  - {type: conv2d, out_channels: 8, kernel_size: 3, stride: 2, padding: 1}
  - {type: conv2d, out_channels: 8, kernel_size: 5, padding: 2}
""",
    # DeepLab's image-pooling branch, upsampled and concatenated back
    """input: [3, 33, 33]
layers:
  - {type: conv2d, name: feat, out_channels: 4, kernel_size: 3, padding: 2, dilation: 2}
  - {type: adaptiveavgpool2d, output_size: 1}
  - {type: upsample, size: [33, 33]}
  - {type: concat, name: both, from: [feat, upsample_0]}
  - {type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}
""",
]


@pytest.mark.parametrize("text", GATED, ids=["minimal", "squeeze-excitation", "image-pooling"])
def test_global_context_fields_match_gradients_with_the_gate_detached(text: str) -> None:
    graph, report = _load(text)
    assert_numbers_match(graph, report)
    assert report.final.rf.global_context
    assert not report.final.rf.is_global
    assert assert_rf_match(graph, report, units_per_layer=50) > 0


# ------------------------------------------------------------------ layouts (permute, slicing)

from tests.test_layout import CONVNEXT_BLOCK, MODELS, SHUFFLENET_V2_UNIT  # noqa: E402

CONVNEXT_STAGE = """input: [3, 32, 32]
layers:
  - {type: conv2d, name: stem, out_channels: 16, kernel_size: 4, stride: 4}
  - {type: layernorm2d, normalized_shape: 16, eps: 1.0e-6}
  - {type: conv2d, name: dw, out_channels: 16, kernel_size: 7, padding: 3, groups: 16}
  - {type: permute, dims: [0, 2, 3, 1]}
  - {type: layernorm, normalized_shape: 16, eps: 1.0e-6}
  - {type: linear, out_features: 64}
  - gelu
  - {type: linear, out_features: 16}
  - {type: permute, dims: [0, 3, 1, 2]}
  - {type: stochasticdepth, p: 0.1, mode: row}
  - {type: add, from: [layernorm2d_0, stochasticdepth_0]}
  - {type: layernorm2d, normalized_shape: 16, eps: 1.0e-6}
  - {type: conv2d, out_channels: 32, kernel_size: 2, stride: 2}
"""


@pytest.mark.parametrize("text", [CONVNEXT_BLOCK, CONVNEXT_STAGE], ids=["block", "stage"])
def test_convnext_matches_torch(text: str) -> None:
    # torchvision's CNBlock: dwconv 7×7, permute to channels last, LayerNorm, Linear, GELU,
    # Linear, permute back, stochastic depth, residual; LayerNorm2d and a 2×2 downsampling
    graph, report = _load(text)
    assert_numbers_match(graph, report)
    assert assert_rf_match(graph, report, units_per_layer=40) > 0


@pytest.mark.parametrize(
    "text",
    [f"input: {list(shape)}\nlayers:{layers}\n" for layers, shape, *_ in MODELS]
    + [SHUFFLENET_V2_UNIT],
)
def test_layout_models_match_torch(text: str) -> None:
    graph, report = _load(text)
    assert_numbers_match(graph, report)
    # no layer here reads a crop's virtual units (nothing pads after a crop)
    assert assert_rf_match(graph, report, units_per_layer=60, crops_exact=True) > 0


CROPS = [
    "{type: narrow, dim: 2, start: 1, length: 4}",
    "{type: narrow, dim: -1, start: -5, length: 3}",
    "{type: chunk, chunks: 3, dim: 3, index: 1}",
    "{type: split, split_size_or_sections: [2, 3, 1], dim: 2, index: 1}",
]


@pytest.mark.parametrize("layer_text", CROPS)
def test_crops_match_gradients(layer_text: str) -> None:
    # a padded conv after the crop reads its virtual units: those are padding in PyTorch, so
    # only the bounds are compared there; without the padding every unit is exact
    for padding, exact in ((1, False), (0, True)):
        text = (
            f"input: [4, 6, 8]\nlayers:\n  - {layer_text}\n"
            f"  - {{type: conv2d, out_channels: 1, kernel_size: 3, padding: {padding}}}\n"
        )
        graph, report = _load(text)
        assert_numbers_match(graph, report)
        compared = assert_rf_match(graph, report, units_per_layer=200, crops_exact=exact)
        assert (compared > 0) is exact


@st.composite
def layout_model(draw: st.DrawFn) -> str:
    """A random stack of dim moves, slices and layers that act on named dims, with convs
    wherever the layout is channels first again; sizes and layouts simulated alongside."""
    rank = draw(st.integers(1, 2))
    sizes = [draw(st.integers(1, 4)), *(draw(st.integers(4, 10)) for _ in range(rank))]
    tags: list[object] = ["C", *range(rank)]
    lines = [f"input: {sizes}", "layers:"]
    for _ in range(draw(st.integers(1, 6))):
        n = len(sizes)
        ops = ["permute", "transpose", "narrow", "chunk", "split", "linear", "layernorm"]
        ops += ["softmax", "refold"]
        if n == rank + 1 and not isinstance(tags[0], int) and "C" not in tags[1:]:
            ops += ["conv", "conv"]
        op = draw(st.sampled_from(ops))
        d = draw(st.integers(0, n - 1))  # a dim, no batch
        if op == "permute":
            order = draw(st.permutations(range(n)))
            dims = [0, *(p + 1 if draw(st.booleans()) else p - n for p in order)]
            lines.append(f"  - {{type: permute, dims: {dims}}}")
            sizes, tags = [sizes[p] for p in order], [tags[p] for p in order]
        elif op == "transpose":
            e = draw(st.integers(0, n - 1))
            lines.append(f"  - {{type: transpose, dim0: {d + 1}, dim1: {e - n}}}")
            sizes[d], sizes[e], tags[d], tags[e] = sizes[e], sizes[d], tags[e], tags[d]
        elif op == "narrow" and sizes[d] > 1:
            start = draw(st.integers(0, sizes[d] - 1))
            length = draw(st.integers(1, sizes[d] - start))
            lines.append(f"  - {{type: narrow, dim: {d + 1}, start: {start}, length: {length}}}")
            sizes[d] = length
        elif op == "chunk" and sizes[d] > 1:
            chunks = draw(st.integers(1, 3))
            step = -(-sizes[d] // chunks)
            pieces = [min(step, sizes[d] - s) for s in range(0, sizes[d], step)]
            index = draw(st.integers(-len(pieces), len(pieces) - 1))
            lines.append(f"  - {{type: chunk, chunks: {chunks}, dim: {d - n}, index: {index}}}")
            sizes[d] = pieces[index]
        elif op == "split" and sizes[d] > 1:
            cut = draw(st.integers(1, sizes[d] - 1))
            sections = [cut, sizes[d] - cut]
            index = draw(st.integers(0, 1))
            lines.append(
                f"  - {{type: split, split_size_or_sections: {sections}, dim: {d + 1}, "
                f"index: {index}}}"
            )
            sizes[d] = sections[index]
        elif op == "linear":
            out = draw(st.integers(1, 5))
            lines.append(f"  - {{type: linear, out_features: {out}}}")
            sizes[-1] = out
            tags[-1] = tags[-1] if tags[-1] == "C" else None
        elif op == "layernorm" and not isinstance(tags[-1], int):
            # over the channels; over a spatial dim it would read that whole dim, which
            # rfcalc counts as pointwise (docs/numbers.md: normalisation is pointwise)
            lines.append(f"  - {{type: layernorm, normalized_shape: {sizes[-1]}}}")
        elif op == "refold":
            # unflatten a dim into (a, b) and flatten it back: the dim keeps its meaning
            # when a or b is 1, else it is derived (an axis in it becomes global)
            a = draw(st.sampled_from([f for f in range(1, sizes[d] + 1) if sizes[d] % f == 0]))
            b = sizes[d] // a
            lines.append(f"  - {{type: unflatten, dim: {d + 1}, unflattened_size: [{a}, -1]}}")
            if draw(st.booleans()):
                lines.append(f"  - {{type: flatten, start_dim: {d + 1}, end_dim: {d + 2}}}")
            else:
                total = [*sizes[:d], sizes[d], *sizes[d + 1 :]]
                lines.append(f"  - {{type: reshape, shape: {total}}}")
            if a > 1 and b > 1:
                tags[d] = None
        elif op == "softmax":
            lines.append(f"  - {{type: softmax, dim: {d + 1}}}")
        elif op == "conv":
            k = draw(st.integers(1, min(3, *sizes[1:])))
            p = draw(st.integers(0, (k - 1) // 2))
            cout = draw(st.integers(1, 4))
            lines.append(
                f"  - {{type: conv{rank}d, out_channels: {cout}, kernel_size: {k}, padding: {p}}}"
            )
            sizes = [cout, *(s + 2 * p - k + 1 for s in sizes[1:])]
    if len(lines) == 2:
        lines.append("  - relu")
    return "\n".join(lines) + "\n"


@settings(
    max_examples=100 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(layout_model())
def test_random_layouts_match_torch(text: str) -> None:
    graph, report = _load(text)
    assert_numbers_match(graph, report)
    assert_rf_match(graph, report)


@pytest.mark.parametrize("example", ["efficientnet_b0", "mobilenet_v3_large"])
def test_gated_fields_keep_growing_and_match_gradients(example: str) -> None:
    """docs/numbers.md's "global context" on the real networks: after the first squeeze-excitation
    gate every field is spatial and marked, and equals the input-gradient box with the
    gates' pooled branches detached, on layers whose field fits in the 160×160 input (so
    it is not clipped)."""
    graph = build(load_path(str(EXAMPLES / f"{example}.yaml")), input_shape=(3, 160, 160))
    report = _analyze(graph)
    gated = [
        r.index
        for r in report.layers
        if r.rf.global_context and not r.rf.is_global and max(r.rf.size) < 160
    ]
    assert len(gated) > 20
    sizes = [report.layers[i].rf.size[0] for i in gated]
    assert sizes[-1] > sizes[0]  # the field grows through the gated blocks
    picks = gated[:: max(1, len(gated) // 6)]
    assert assert_rf_match(graph, report, units_per_layer=12, layers=picks) > 0
