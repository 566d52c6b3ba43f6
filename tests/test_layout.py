"""Layouts: which dim is the channels and which carries each spatial axis (layers.base.Layout).

Whole models, since a layout is what earlier layers leave behind: permute and transpose move
the fields with the dims; linear, layernorm and softmax act on whatever dim they name; layers
that read dim 0 as the channels refuse a permuted input. Every number is worked out by hand
beside it (conv out = floor((n + 2p − k)/s) + 1; MACs as torchvision/fvcore, docs/numbers.md).
"""

from __future__ import annotations

import pytest

from rfcalc.errors import RfcalcError
from tests.helpers import report_of, rf_triple

CONVNEXT_BLOCK = """\
input: [8, 10, 10]
layers:
  - {type: conv2d, name: dw, out_channels: 8, kernel_size: 7, padding: 3, groups: 8}
  - {type: permute, dims: [0, 2, 3, 1]}
  - {type: layernorm, normalized_shape: 8, eps: 1.0e-6}
  - {type: linear, out_features: 32}
  - gelu
  - {type: linear, out_features: 8}
  - {type: permute, dims: [0, 3, 1, 2]}
  - {type: stochasticdepth, p: 0.1, mode: row}
  - {type: add, from: [input, stochasticdepth_0]}
"""


def test_convnext_block() -> None:
    report = report_of(CONVNEXT_BLOCK)
    rows = {r.name: r for r in report.layers}
    # dw: 10 + 6 − 7 + 1 = 10; 8·1·49 + 8 = 400; 8·10·10 · 1·49 = 39,200; field 7, padding 3
    assert (rows["dw"].output_shape, rows["dw"].params, rows["dw"].macs) == (
        (8, 10, 10),
        400,
        39200,
    )
    # channels last: (H, W, C) = (10, 10, 8); H and W keep the dw's field in dims 0 and 1
    assert rows["permute_0"].output_shape == (10, 10, 8)
    assert rf_triple(rows["permute_0"]) == ((7, 7), (1, 1), (3, 3))
    # LayerNorm(8) over the channels: 2·8 = 16
    assert rows["layernorm_0"].params == 16
    # Linear(8, 32) on the channels: 8·32 + 32 = 288; 10·10·32 outputs · 8 = 25,600; pointwise
    r = rows["linear_0"]
    assert (r.output_shape, r.params, r.macs) == ((10, 10, 32), 288, 25600)
    assert rf_triple(r) == ((7, 7), (1, 1), (3, 3))
    assert not r.rf.is_global
    # Linear(32, 8): 32·8 + 8 = 264; 10·10·8 · 32 = 25,600
    r = rows["linear_1"]
    assert (r.output_shape, r.params, r.macs) == ((10, 10, 8), 264, 25600)
    # back to channels first; the residual add: input (1, padding 0) ∪ branch (7, padding 3),
    # both centred on x, so no misalignment warning
    assert rows["permute_1"].output_shape == (8, 10, 10)
    final = report.final
    assert final.output_shape == (8, 10, 10)
    assert rf_triple(final) == ((7, 7), (1, 1), (3, 3))
    assert (final.rf.uniform, final.rf.is_global) == (True, False)
    # 400 + 16 + 288 + 264 = 968; 39,200 + 25,600 + 25,600 = 90,400
    assert (report.totals.params, report.totals.macs) == (968, 90400)
    # the merges are aligned (rf-smaller-than-input, which these small nets get, is the lint's)
    assert [w for w in report.warnings if w.code == "misaligned-merge"] == []


# (layers, input, final shape, rf size, stride, padding, global)
MODELS = [
    # transposed spatial dims: the kernel's first entry acts on dim 1, which now carries W:
    # (1, 11, 9) → 11−3+1 = 9, 9−1+1 = 9; back: (1, 9, 9) with H field 1 and W field 3
    (
        """
  - {type: transpose, dim0: 2, dim1: 3}
  - {type: conv2d, out_channels: 1, kernel_size: [3, 1]}
  - {type: transpose, dim0: 2, dim1: 3}""",
        (1, 9, 11),
        (1, 9, 9),
        (1, 3),
        (1, 1),
        (0, 0),
        False,
    ),
    # a linear layer on a spatial dim (H, last after the permute) mixes all of it: H global
    # (hull 0…3, no stride), W untouched
    (
        """
  - {type: permute, dims: [0, 1, 3, 2]}
  - {type: linear, out_features: 5}""",
        (2, 4, 6),
        (2, 6, 5),
        (4, 1),
        (None, 1),
        (0, 0),
        False,
    ),
    # softmax over batched dim 2 of (H, W, C): W (all 7 positions) is global
    (
        """
  - {type: permute, dims: [0, 2, 3, 1]}
  - {type: softmax, dim: 2}""",
        (3, 5, 7),
        (5, 7, 3),
        (1, 7),
        (1, None),
        (0, 0),
        False,
    ),
    # PyTorch's implicit softmax dim for a 4-dim input is 1: here H, not the channels
    (
        """
  - {type: permute, dims: [0, 2, 3, 1]}
  - softmax""",
        (3, 5, 7),
        (5, 7, 3),
        (5, 1),
        (None, 1),
        (0, 0),
        False,
    ),
    # ShuffleNet's channel shuffle written as torchvision does (view, transpose, view): the
    # spatial dims are kept at the end of every shape, so the fields pass through: two padded
    # 3×3 convs give 5, padding 2
    (
        """
  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
  - {type: reshape, shape: [2, 4, 5, 5]}
  - {type: transpose, dim0: 1, dim1: 2}
  - {type: reshape, shape: [8, 5, 5]}
  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}""",
        (8, 5, 5),
        (8, 5, 5),
        (5, 5),
        (1, 1),
        (2, 2),
        False,
    ),
    # the same with the layer
    (
        """
  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
  - {type: channelshuffle, groups: 2}
  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}""",
        (8, 5, 5),
        (8, 5, 5),
        (5, 5),
        (1, 1),
        (2, 2),
        False,
    ),
    # a crop of W in channels-last (batched dim 2 of (H, W, C)), then a 3×3 conv: W unit 0
    # reads 3 … 5 (padding −3); H: 3, padding 0. Shapes: (8, 4, 2) → (2, 8, 4) → (1, 6, 2)
    (
        """
  - {type: permute, dims: [0, 2, 3, 1]}
  - {type: narrow, dim: 2, start: 3, length: 4}
  - {type: permute, dims: [0, 3, 1, 2]}
  - {type: conv2d, out_channels: 1, kernel_size: 3}""",
        (2, 8, 8),
        (1, 6, 2),
        (3, 3),
        (1, 1),
        (0, -3),
        False,
    ),
    # two halves of W concatenated back along W (in channels-last) are W itself
    (
        """
  - {type: permute, name: p, dims: [0, 2, 3, 1]}
  - {type: narrow, name: a, dim: 2, start: 0, length: 3, from: p}
  - {type: narrow, name: b, dim: 2, start: 3, length: 3, from: p}
  - {type: concat, dim: 2, from: [a, b]}""",
        (2, 4, 6),
        (4, 6, 2),
        (1, 1),
        (1, 1),
        (0, 0),
        False,
    ),
    # the same along H, now dim 0 (batched dim 1) of (H, W, C), with a split this time:
    # sections 2 and 4 of H = 6, concatenated back; a 3-wide conv after permuting back
    (
        """
  - {type: permute, name: p, dims: [0, 2, 3, 1]}
  - {type: split, name: a, split_size_or_sections: [2, 4], dim: 1, index: 0, from: p}
  - {type: split, name: b, split_size_or_sections: [2, 4], dim: 1, index: 1, from: p}
  - {type: concat, dim: 1, from: [a, b]}
  - {type: permute, dims: [0, 3, 1, 2]}
  - {type: conv2d, out_channels: 1, kernel_size: 3}""",
        (2, 6, 5),
        (1, 4, 3),
        (3, 3),
        (1, 1),
        (0, 0),
        False,
    ),
    # ViT's patch embedding: H and W flattened into tokens (issue 14); each token keeps its
    # patch through pointwise layers: the 4×4 stride-4 conv's r 4, S 4, P 0 per axis
    (
        """
  - {type: conv2d, out_channels: 4, kernel_size: 4, stride: 4}
  - {type: flatten, start_dim: 2}
  - {type: transpose, dim0: 1, dim1: 2}
  - {type: layernorm, normalized_shape: 4}
  - {type: linear, out_features: 6}""",
        (3, 8, 8),
        (4, 6),
        (4, 4),
        (4, 4),
        (0, 0),
        False,
    ),
    # the channels split into (2, 4) and merged back are derived, not permuted: a conv is fine
    (
        """
  - {type: unflatten, dim: 1, unflattened_size: [2, 4]}
  - {type: flatten, start_dim: 1, end_dim: 2}
  - {type: conv2d, out_channels: 2, kernel_size: 3}""",
        (8, 5, 5),
        (2, 3, 3),
        (3, 3),
        (1, 1),
        (0, 0),
        False,
    ),
    # (C, H, W) → (2C, H/2, W): W stays last with its size, so it keeps its positions; the
    # rows of H are folded with the channels: H global
    (
        """
  - {type: reshape, shape: [4, 3, 5]}""",
        (2, 6, 5),
        (4, 3, 5),
        (6, 1),
        (None, 1),
        (0, 0),
        False,
    ),
]


@pytest.mark.parametrize(("layers", "shape", "out", "size", "stride", "padding", "glob"), MODELS)
def test_layouts(
    layers: str,
    shape: tuple[int, ...],
    out: tuple[int, ...],
    size: tuple[int, ...],
    stride: tuple[object, ...],
    padding: tuple[int, ...],
    glob: bool,
) -> None:
    report = report_of(f"input: {list(shape)}\nlayers:{layers}\n")
    assert report.final.output_shape == out
    assert rf_triple(report.final) == (size, stride, padding)
    assert report.final.rf.is_global is glob


SHUFFLENET_V2_UNIT = """\
input: [8, 6, 6]
layers:
  - {type: chunk, name: left, chunks: 2, index: 0}
  - {type: chunk, name: right, chunks: 2, index: 1, from: input}
  - {type: conv2d, out_channels: 4, kernel_size: 1, bias: false}
  - batchnorm2d
  - relu
  - {type: conv2d, out_channels: 4, kernel_size: 3, padding: 1, groups: 4, bias: false}
  - batchnorm2d
  - {type: conv2d, out_channels: 4, kernel_size: 1, bias: false}
  - batchnorm2d
  - relu
  - {type: concat, from: [left, relu_1]}
  - {type: channelshuffle, groups: 2}
"""


def test_shufflenet_v2_unit() -> None:
    report = report_of(SHUFFLENET_V2_UNIT)
    assert report.final.output_shape == (8, 6, 6)
    # 1×1: 4·4 = 16; dw 3×3: 4·1·9 = 36; 1×1: 16; three batch norms: 2·4 params, 2·4 buffers
    assert (report.totals.params, report.totals.buffers) == (16 + 36 + 16 + 3 * 8, 3 * 8)
    # 4·36 · 4 = 576; 4·36 · 9 = 1,296; 576
    assert report.totals.macs == 576 + 1296 + 576
    # the left half passes through (1, padding 0), the right sees 3×3 (padding 1): union 3, 1
    assert rf_triple(report.final) == ((3, 3), (1, 1), (1, 1))
    # the merges are aligned (rf-smaller-than-input, which these small nets get, is the lint's)
    assert [w for w in report.warnings if w.code == "misaligned-merge"] == []


# (layers, input, line, fragment of the message, the hint (None: not checked))
ERRORS = [
    (
        """
  - {type: permute, dims: [0, 2, 3, 1]}
  - {type: conv2d, out_channels: 4, kernel_size: 3}""",
        (3, 8, 8),
        4,
        "layer 'conv2d_0' (conv2d): needs channels first, but its input is permuted: (H, W, C)",
        "permute back first: {type: permute, dims: [0, 3, 1, 2]}",
    ),
    (
        """
  - {type: transpose, dim0: 1, dim1: 2}
  - {type: maxpool2d, kernel_size: 2}""",
        (3, 8, 8),
        4,
        "needs channels first, but its input is permuted: (H, C, W)",
        "permute back first: {type: permute, dims: [0, 2, 1, 3]}",
    ),
    # W and H crossed as well: the hint restores (C, H, W)
    (
        """
  - {type: permute, dims: [0, 3, 2, 1]}
  - {type: conv2d, out_channels: 4, kernel_size: 3}""",
        (3, 8, 8),
        4,
        "needs channels first, but its input is permuted: (W, H, C)",
        "permute back first: {type: permute, dims: [0, 3, 2, 1]}",
    ),
    (
        """
  - {type: permute, dims: [0, 2, 1]}
  - batchnorm1d""",
        (3, 8),
        4,
        "(batchnorm1d): needs channels first, but its input is permuted: (L, C)",
        "permute back first: {type: permute, dims: [0, 2, 1]}",
    ),
    (
        """
  - {type: permute, dims: [0, 2, 3, 1]}
  - {type: upsample, scale_factor: 2}""",
        (3, 8, 8),
        4,
        "needs channels first",
        None,
    ),
    (
        """
  - {type: permute, dims: [0, 2, 3, 1]}
  - {type: layernorm2d}""",
        (3, 8, 8),
        4,
        "needs channels first",
        None,
    ),
    # a channel split of a channels-last tensor is fine; a shuffle of its rows is not
    (
        """
  - {type: permute, dims: [0, 2, 3, 1]}
  - {type: chunk, chunks: 2, dim: 3, index: 0}
  - {type: channelshuffle, groups: 2}""",
        (4, 8, 8),
        5,
        "needs channels first",
        None,
    ),
    (
        """
  - {type: permute, dims: [0, 2, 3, 1]}
  - {type: prelu, num_parameters: 8}""",
        (8, 8, 8),
        4,
        "needs channels first",
        None,
    ),
    # square, so the shapes agree, but H and W cross: per-axis fields cannot say that
    (
        """
  - {type: transpose, dim0: 2, dim1: 3}
  - {type: add, from: [input, transpose_0]}""",
        (3, 8, 8),
        4,
        "the inputs' dims are in different orders: (C, H, W), (C, W, H)",
        None,
    ),
]


@pytest.mark.parametrize(("layers", "shape", "line", "fragment", "hint"), ERRORS)
def test_layout_errors(
    layers: str, shape: tuple[int, ...], line: int, fragment: str, hint: str | None
) -> None:
    with pytest.raises(RfcalcError) as info:
        report_of(f"input: {list(shape)}\nlayers:{layers}\n")
    assert fragment in info.value.message
    assert info.value.pos is not None
    assert info.value.pos.line == line
    if hint is not None:
        assert info.value.hint == hint


def test_permuted_layers_that_act_on_named_dims_work() -> None:
    # element-wise layers, dropout, layer norm over the channels, PReLU with one slope, a
    # channel chunk: none reads dim 0 as the channels
    report = report_of(
        """input: [4, 6, 6]
layers:
  - {type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}
  - {type: permute, dims: [0, 2, 3, 1]}
  - relu
  - {type: dropout, p: 0.1}
  - {type: droppath, drop_prob: 0.1}
  - {type: layernorm, normalized_shape: 4}
  - prelu
  - {type: chunk, chunks: 2, dim: -1, index: 1}
  - {type: permute, dims: [0, 3, 1, 2]}
  - {type: conv2d, out_channels: 1, kernel_size: 3, padding: 1}
"""
    )
    assert report.final.output_shape == (1, 6, 6)
    assert rf_triple(report.final) == ((5, 5), (1, 1), (2, 2))


def test_an_input_that_reads_nothing_adds_nothing_to_a_merge() -> None:
    # a learned constant (no input: its field is empty on every axis) added to a feature map
    # leaves the feature map's field, and is no global context
    from rfcalc import rf
    from rfcalc.engine import _fields
    from rfcalc.layers.base import PerDim, channels_first

    conv = rf.Affine(1, 1, 3)
    empty = rf.Global(0, -1)
    canon = channels_first(3)
    identity = (rf.IDENTITY_AXIS,) * 3
    fields, notes, mixed = _fields(
        PerDim((identity, identity)),
        [(conv, conv), (empty, empty)],
        ((4, 5, 5), (4, 5, 5)),
        (canon, (None, None, None)),
        (4, 5, 5),
        canon,
        2,
    )
    assert (fields, notes, mixed) == ((conv, conv), [], False)
