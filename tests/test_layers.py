"""Unit tables for every layer family: (layer, input) → shape, params, buffers, MACs, RF.

Every expected number is worked out by hand in the comment beside it, with PyTorch's formulas:
conv out = floor((n + pl + pr − d(k−1) − 1)/s) + 1; transposed conv out =
(n−1)s − 2p + d(k−1) + op + 1; MACs as torchvision/fvcore (docs/numbers.md).
"""

from __future__ import annotations

from fractions import Fraction as F  # noqa: N817 - short in the tables below

import pytest

from rfcalc.errors import RfcalcError
from tests.helpers import one_layer, rf_triple

# (layer, input shape, output shape, params, buffers, macs)
SHAPES = [
    # 28−3+1 = 26; 32·1·9 + 32 = 320; 32·26·26 · 1·9 = 194,688
    ("{type: conv2d, out_channels: 32, kernel_size: 3}", (1, 28, 28), (32, 26, 26), 320, 0, 194688),
    # floor((224+2−3)/2)+1 = 112; 64·3·9 = 1,728 (no bias); 64·112·112 · 27 = 21,676,032
    (
        "{type: conv2d, out_channels: 64, kernel_size: 3, stride: 2, padding: 1, bias: false}",
        (3, 224, 224),
        (64, 112, 112),
        1728,
        0,
        21676032,
    ),
    # span 2·2+1 = 5: 10−5+1 = 6; 1·1·9+1 = 10; 36·9 = 324
    (
        "{type: conv2d, out_channels: 1, kernel_size: 3, dilation: 2}",
        (1, 10, 10),
        (1, 6, 6),
        10,
        0,
        324,
    ),
    # groups 4: 16·(8/4)·9 + 16 = 304; 16·5·5 · 2·9 = 7,200
    (
        "{type: conv2d, out_channels: 16, kernel_size: 3, padding: 1, groups: 4}",
        (8, 5, 5),
        (16, 5, 5),
        304,
        0,
        7200,
    ),
    # 'same', stride 2: ceil(7/2) = 4
    (
        "{type: conv2d, out_channels: 1, kernel_size: 3, stride: 2, padding: same}",
        (1, 7, 7),
        (1, 4, 4),
        10,
        0,
        144,
    ),
    # pairs: H 5+1+2−3+1 = 6, W 5+0+3−3+1 = 6
    (
        "{type: conv2d, out_channels: 1, kernel_size: 3, padding: [[1, 2], [0, 3]], bias: false}",
        (1, 5, 5),
        (1, 6, 6),
        9,
        0,
        324,
    ),
    # 20−5+1 = 16; 4·2·5+4 = 44; 4·16 · 2·5 = 640
    ("{type: conv1d, out_channels: 4, kernel_size: 5}", (2, 20), (4, 16), 44, 0, 640),
    # 8−3+1 = 6 per axis; 2·27+2 = 56; 2·216 · 27 = 11,664
    ("{type: conv3d, out_channels: 2, kernel_size: 3}", (1, 8, 8, 8), (2, 6, 6, 6), 56, 0, 11664),
    # per-axis kernel [3, 5]: 9−3+1 = 7, 9−5+1 = 5; 15+1 = 16; 35·15 = 525
    ("{type: conv2d, out_channels: 1, kernel_size: [3, 5]}", (1, 9, 9), (1, 7, 5), 16, 0, 525),
    # (7−1)·2 − 2 + 3 + 1 = 14; 16·8·16 + 8 = 2,056; in 16·49 · 8 · 16 = 100,352
    (
        "{type: convtranspose2d, out_channels: 8, kernel_size: 4, stride: 2, padding: 1}",
        (16, 7, 7),
        (8, 14, 14),
        2056,
        0,
        100352,
    ),
    # output_padding 1: (5−1)·2 + 2 + 1 + 1 = 12
    (
        "{type: convtranspose1d, out_channels: 1, kernel_size: 3, stride: 2, output_padding: 1}",
        (1, 5),
        (1, 12),
        4,
        0,
        15,
    ),
    # AlexNet's overlapping pool: (55−3)/2+1 = 27
    ("{type: maxpool2d, kernel_size: 3, stride: 2}", (64, 55, 55), (64, 27, 27), 0, 0, 0),
    # ceil_mode: ceil((5−2)/2)+1 = 3 (PyTorch 2.13: 3×3)
    ("{type: maxpool2d, kernel_size: 2, ceil_mode: true}", (1, 5, 5), (1, 3, 3), 0, 0, 0),
    # ceil((5+2−3)/3)+1 = 3, but the last window would start at 6 ≥ 5+1: 2 (PyTorch: 2)
    (
        "{type: maxpool1d, kernel_size: 3, stride: 3, padding: 1, ceil_mode: true}",
        (1, 5),
        (1, 2),
        0,
        0,
        0,
    ),
    ("{type: minpool2d, kernel_size: 2}", (3, 8, 8), (3, 4, 4), 0, 0, 0),
    ("{type: avgpool2d, kernel_size: 2}", (6, 28, 28), (6, 14, 14), 0, 0, 0),
    ("{type: adaptiveavgpool2d, output_size: 6}", (256, 13, 13), (256, 6, 6), 0, 0, 0),
    ("{type: adaptivemaxpool2d, output_size: [null, 2]}", (4, 5, 8), (4, 5, 2), 0, 0, 0),
    ("{type: globalavgpool2d}", (512, 7, 7), (512,), 0, 0, 0),
    ("{type: globalmaxpool1d, keepdims: true}", (8, 7), (8, 1), 0, 0, 0),
    # 84·10 + 10 = 850; 10·84 = 840
    ("{type: linear, out_features: 10}", (84,), (10,), 850, 0, 840),
    # last dim: (3, 5, 8) → (3, 5, 4); 8·4+4 = 36; 60 outputs · 8 = 480
    ("{type: linear, out_features: 4}", (3, 5, 8), (3, 5, 4), 36, 0, 480),
    ("{type: flatten}", (64, 5, 5), (1600,), 0, 0, 0),
    ("{type: flatten, start_dim: 2}", (64, 5, 5), (64, 25), 0, 0, 0),
    ("{type: unflatten, dim: 1, unflattened_size: [4, -1]}", (64,), (4, 16), 0, 0, 0),
    ("{type: reshape, shape: [-1, 2]}", (4, 3), (6, 2), 0, 0, 0),
    # 2C weight+bias, 2C running mean+var
    ("{type: batchnorm2d}", (64, 8, 8), (64, 8, 8), 128, 128, 0),
    ("{type: batchnorm2d, affine: false}", (64, 8, 8), (64, 8, 8), 0, 128, 0),
    ("{type: batchnorm1d}", (10,), (10,), 20, 20, 0),
    ("{type: instancenorm2d, affine: true}", (4, 8, 8), (4, 8, 8), 8, 0, 0),
    ("{type: groupnorm, num_groups: 4}", (32, 8, 8), (32, 8, 8), 64, 0, 0),
    # 8·8 weight + 8·8 bias
    ("{type: layernorm, normalized_shape: [8, 8]}", (3, 8, 8), (3, 8, 8), 128, 0, 0),
    ("{type: layernorm, normalized_shape: 8, bias: false}", (3, 8), (3, 8), 8, 0, 0),
    ("{type: localresponsenorm, size: 5}", (96, 55, 55), (96, 55, 55), 0, 0, 0),
    ("{type: prelu, num_parameters: 16}", (16, 4, 4), (16, 4, 4), 16, 0, 0),
    ("{type: leaky_relu, negative_slope: 0.1}", (3, 4), (3, 4), 0, 0, 0),
    ("{type: softmax, dim: 1}", (10,), (10,), 0, 0, 0),
    ("{type: Dropout2d, p: 0.2}", (3, 4, 4), (3, 4, 4), 0, 0, 0),
    ("{type: upsample, scale_factor: 2}", (3, 4, 4), (3, 8, 8), 0, 0, 0),
    # floor(5 · 1.5) = 7
    ("{type: upsample, scale_factor: 1.5, mode: linear}", (3, 5), (3, 7), 0, 0, 0),
    ("{type: upsample, size: [3, 9], mode: bicubic}", (1, 4, 4), (1, 3, 9), 0, 0, 0),
    ("{type: pixelshuffle, upscale_factor: 2}", (16, 4, 4), (4, 8, 8), 0, 0, 0),
    ("{type: pixelunshuffle, downscale_factor: 2}", (4, 8, 8), (16, 4, 4), 0, 0, 0),
    # PyTorch order, last axis first: W 1+5+2 = 8, H 3+5+4 = 12
    ("{type: zeropad2d, padding: [1, 2, 3, 4]}", (1, 5, 5), (1, 12, 8), 0, 0, 0),
    ("{type: constantpad1d, padding: [-1, 2], value: 3.5}", (1, 5), (1, 6), 0, 0, 0),
    # the crop may take the whole axis: narrow to 0, then pad 3 (PyTorch 2.13: length 3)
    ("{type: zeropad1d, padding: [-2, 3]}", (1, 2), (1, 3), 0, 0, 0),
    ("{type: reflectionpad1d, padding: 2}", (1, 5), (1, 9), 0, 0, 0),
    ("{type: replicationpad3d, padding: 1}", (1, 2, 2, 2), (1, 4, 4, 4), 0, 0, 0),
    # --- dim order, slicing and the layers of today's CNNs (ConvNeXt, ShuffleNetV2, YOLO)
    # permute [0, 2, 3, 1]: unbatched (d1, d2, d0) of (3, 4, 5) = (4, 5, 3)
    ("{type: permute, dims: [0, 2, 3, 1]}", (3, 4, 5), (4, 5, 3), 0, 0, 0),
    # negative dims count from the end of the 4 batched dims: −1 → 3, so [0, 3, 1, 2]: (5, 3, 4)
    ("{type: permute, dims: [0, -1, 1, 2]}", (3, 4, 5), (5, 3, 4), 0, 0, 0),
    # transpose batched dims 1 and −1 (= 3): unbatched 0 ↔ 2: (5, 4, 3)
    ("{type: transpose, dim0: 1, dim1: -1}", (3, 4, 5), (5, 4, 3), 0, 0, 0),
    ("{type: transpose, dim0: 2, dim1: 2}", (3, 4, 5), (3, 4, 5), 0, 0, 0),
    # LayerNorm2d over the 96 channels: weight 96 + bias 96 = 192
    ("{type: layernorm2d, normalized_shape: [96], eps: 1.0e-6}", (96, 7, 7), (96, 7, 7), 192, 0, 0),
    ("{type: layer_norm_2d, bias: false}", (96, 7, 7), (96, 7, 7), 96, 0, 0),
    ("{type: LayerNorm2d, elementwise_affine: false}", (96, 7, 7), (96, 7, 7), 0, 0, 0),
    ("{type: StochasticDepth, p: 0.1, mode: row}", (8, 4, 4), (8, 4, 4), 0, 0, 0),
    ("{type: DropPath, drop_prob: 0.2}", (8, 4, 4), (8, 4, 4), 0, 0, 0),
    # 6 channels in 3 groups of 2: reordered, same shape
    ("{type: channelshuffle, groups: 3}", (6, 4, 4), (6, 4, 4), 0, 0, 0),
    ("{type: ChannelShuffle, groups: 2}", (4, 5), (4, 5), 0, 0, 0),
    # chunk 6 channels in 2: pieces of ceil(6/2) = 3; piece 1 is channels 3…5
    ("{type: chunk, chunks: 2, index: 1}", (6, 4, 4), (3, 4, 4), 0, 0, 0),
    # 6 in 4 chunks: pieces of ceil(6/4) = 2, so only 3 pieces (2, 2, 2); −1 is the third
    ("{type: chunk, chunks: 4, index: -1}", (6, 4), (2, 4), 0, 0, 0),
    # 5 in 4 chunks: pieces of 2: (2, 2, 1); piece 2 has 1 channel
    ("{type: chunk, chunks: 4, index: 2}", (5, 3), (1, 3), 0, 0, 0),
    # along W (batched dim 3) of 7: pieces of ceil(7/3) = 3: (3, 3, 1)
    ("{type: chunk, chunks: 3, dim: 3, index: 2}", (2, 4, 7), (2, 4, 1), 0, 0, 0),
    # split 5 in pieces of 2: (2, 2, 1); the last has 1
    ("{type: split, split_size_or_sections: 2, index: -1}", (5, 4), (1, 4), 0, 0, 0),
    # sections (1, 3, 2) sum to 6; piece 1 has 3
    ("{type: split, split_size_or_sections: [1, 3, 2], index: 1}", (6, 4), (3, 4), 0, 0, 0),
    # an empty section is allowed (PyTorch), as long as it is not the one taken
    ("{type: split, split_size_or_sections: [2, 0, 4], index: 2}", (6, 4), (4, 4), 0, 0, 0),
    # narrow H (batched dim 2) from 1 for 3: (2, 3, 5)
    ("{type: narrow, dim: 2, start: 1, length: 3}", (2, 6, 5), (2, 3, 5), 0, 0, 0),
    # start −2 on 6 channels is 4: channels 4, 5
    ("{type: narrow, dim: 1, start: -2, length: 2}", (6, 3), (2, 3), 0, 0, 0),
]


@pytest.mark.parametrize(("layer", "shape", "out", "params", "buffers", "macs"), SHAPES)
def test_shape_params_macs(
    layer: str, shape: tuple[int, ...], out: tuple[int, ...], params: int, buffers: int, macs: int
) -> None:
    row = one_layer(layer, shape)
    assert (row.output_shape, row.params, row.buffers, row.macs) == (out, params, buffers, macs)


# (layer, input shape, rf size, stride, padding, uniform, global)
RFS = [
    (
        "{type: conv2d, out_channels: 1, kernel_size: 3}",
        (1, 9, 9),
        (3, 3),
        (1, 1),
        (0, 0),
        True,
        False,
    ),
    # dilation 2: span 2·(3−1)+1 = 5
    (
        "{type: conv1d, out_channels: 1, kernel_size: 3, dilation: 2}",
        (1, 9),
        (5,),
        (1,),
        (0,),
        True,
        False,
    ),
    (
        "{type: conv2d, out_channels: 1, kernel_size: 3, stride: 2, padding: 1}",
        (1, 9, 9),
        (3, 3),
        (2, 2),
        (1, 1),
        True,
        False,
    ),
    # 'same' with k=4, s=1, n=6: total 3, before 1
    (
        "{type: conv1d, out_channels: 1, kernel_size: 4, padding: same}",
        (1, 6),
        (4,),
        (1,),
        (1,),
        True,
        False,
    ),
    # pairs: before 1 on H, 0 on W
    (
        "{type: conv2d, out_channels: 1, kernel_size: 3, padding: [[1, 2], [0, 3]]}",
        (1, 5, 5),
        (3, 3),
        (1, 1),
        (1, 0),
        True,
        False,
    ),
    # transposed, stride 1: unit x reads x−2 … x (x = i + j, j < 3)
    (
        "{type: convtranspose1d, out_channels: 1, kernel_size: 3}",
        (1, 5),
        (3,),
        (1,),
        (2,),
        True,
        False,
    ),
    # transposed k4 s2 p1: x = 2i − 1 + j → x=0 reads {−1, 0}, x=1 reads {0, 1}; jump 1/2
    (
        "{type: convtranspose1d, out_channels: 1, kernel_size: 4, stride: 2, padding: 1}",
        (1, 7),
        (2,),
        (F(1, 2),),
        (1,),
        False,
        False,
    ),
    (
        "{type: maxpool2d, kernel_size: 3, stride: 2, padding: 1}",
        (1, 9, 9),
        (3, 3),
        (2, 2),
        (1, 1),
        True,
        False,
    ),
    # nearest ×2: x reads floor(x/2): one unit each, jump 1/2
    ("{type: upsample, scale_factor: 2}", (1, 4), (1,), (F(1, 2),), (0,), False, False),
    # bilinear ×2: x=0 → src clamped to 0 → {0}; x=1 → src 0.25 → {0, 1}
    (
        "{type: upsample, scale_factor: 2, mode: bilinear}",
        (1, 4, 4),
        (2, 2),
        (F(1, 2), F(1, 2)),
        (0, 0),
        False,
        False,
    ),
    # adaptive 13 → 6: windows [floor(13i/6), ceil(13(i+1)/6)) all of 3; jump 13/6
    ("{type: adaptiveavgpool1d, output_size: 6}", (1, 13), (3,), (F(13, 6),), (0,), False, False),
    # 14 → 7 divides: a plain 2-window with stride 2
    ("{type: adaptiveavgpool1d, output_size: 7}", (1, 14), (2,), (2,), (0,), True, False),
    (
        "{type: adaptiveavgpool2d, output_size: 1}",
        (1, 5, 7),
        (5, 7),
        (None, None),
        (0, 0),
        True,
        True,
    ),
    ("{type: globalmaxpool2d}", (1, 5, 7), (5, 7), (None, None), (0, 0), True, True),
    ("{type: flatten}", (2, 4, 4), (4, 4), (None, None), (0, 0), True, True),
    # a linear layer on (C, L): mixes all of L
    ("{type: linear, out_features: 3}", (2, 6), (6,), (None,), (0,), True, True),
    ("{type: pixelunshuffle, downscale_factor: 2}", (1, 4, 4), (2, 2), (2, 2), (0, 0), True, False),
    (
        "{type: pixelshuffle, upscale_factor: 2}",
        (4, 4, 4),
        (1, 1),
        (F(1, 2), F(1, 2)),
        (0, 0),
        False,
        False,
    ),
    # zero padding: unit 0 reads input −3 (H) / −1 (W)
    ("{type: zeropad2d, padding: [1, 2, 3, 4]}", (1, 5, 5), (1, 1), (1, 1), (3, 1), True, False),
    ("{type: relu}", (1, 5, 5), (1, 1), (1, 1), (0, 0), True, False),
    # softmax normalises over its dim: every output reads that whole axis (here W = 7, from
    # 0 to 6: size 7, padding 0, no stride), and one unit of each other axis
    ("{type: softmax, dim: 3}", (2, 5, 7), (1, 7), (1, None), (0, 0), True, False),
    ("{type: logsoftmax, dim: -2}", (2, 5, 7), (5, 1), (None, 1), (0, 0), True, False),
    # over L, the only spatial axis: the layer is global
    ("{type: softmax, dim: 2}", (2, 6), (6,), (None,), (0,), True, True),
    # over the channels (dim 1) or PyTorch's implicit dim: pointwise in space
    ("{type: softmax, dim: 1}", (2, 5, 7), (1, 1), (1, 1), (0, 0), True, False),
    ("{type: softmax}", (2, 5, 7), (1, 1), (1, 1), (0, 0), True, False),
    # permute moves dims, not fields: H and W keep their (identity) fields in dims 0 and 1
    ("{type: permute, dims: [0, 2, 3, 1]}", (3, 5, 7), (1, 1), (1, 1), (0, 0), True, False),
    # narrow H from 2: unit y reads input y + 2 — a window of 1 with padding −2
    (
        "{type: narrow, dim: 2, start: 2, length: 3}",
        (1, 6, 5),
        (1, 1),
        (1, 1),
        (-2, 0),
        True,
        False,
    ),
    # chunk W of 6 in 2: piece 1 starts at 3, padding −3
    ("{type: chunk, chunks: 2, dim: 3, index: 1}", (1, 4, 6), (1, 1), (1, 1), (0, -3), True, False),
    # split L of 7 in [2, 5]: piece 1 starts at 2
    (
        "{type: split, split_size_or_sections: [2, 5], dim: 2, index: 1}",
        (1, 7),
        (1,),
        (1,),
        (-2,),
        True,
        False,
    ),
    # along the channels: pointwise
    ("{type: chunk, chunks: 2, index: 1}", (4, 5, 5), (1, 1), (1, 1), (0, 0), True, False),
    ("{type: channelshuffle, groups: 2}", (4, 5, 5), (1, 1), (1, 1), (0, 0), True, False),
    ("{type: layernorm2d}", (4, 5, 5), (1, 1), (1, 1), (0, 0), True, False),
    ("{type: stochasticdepth, p: 0.5, mode: batch}", (4, 5), (1,), (1,), (0,), True, False),
    # flatten (C=1, L) → (L): only L has more than one position; it keeps its field
    ("{type: flatten}", (1, 6), (1,), (1,), (0,), True, False),
]


@pytest.mark.parametrize(("layer", "shape", "size", "stride", "padding", "uniform", "glob"), RFS)
def test_receptive_field(
    layer: str,
    shape: tuple[int, ...],
    size: tuple[int, ...],
    stride: tuple[object, ...],
    padding: tuple[int, ...],
    uniform: bool,
    glob: bool,
) -> None:
    row = one_layer(layer, shape)
    assert rf_triple(row) == (size, stride, padding)
    assert (row.rf.uniform, row.rf.is_global) == (uniform, glob)


# (layer, input shape, fragment of the message)
ERRORS = [
    (
        "{type: conv2d, out_channels: 3, kernel_size: 7}",
        (1, 4, 4),
        "kernel spans 7 positions but the padded input has 4",
    ),
    (
        "{type: conv2d, out_channels: 3, kernel_size: 3, groups: 2}",
        (3, 8, 8),
        "in_channels 3 is not divisible by groups 2",
    ),
    (
        "{type: conv2d, out_channels: 3, kernel_size: 3, in_channels: 4}",
        (3, 8, 8),
        "in_channels is 4 but the input has 3",
    ),
    ("{type: conv1d, out_channels: 3, kernel_size: 3}", (3, 8, 8), "needs a (C, L) input"),
    (
        "{type: maxpool2d, kernel_size: 2, padding: 2}",
        (3, 8, 8),
        "more than half the kernel size 2",
    ),
    (
        "{type: convtranspose1d, out_channels: 1, kernel_size: 3, stride: 2, output_padding: 2}",
        (1, 5),
        "output_padding 2 must be smaller than either stride 2 or dilation 1",
    ),
    (
        "{type: convtranspose1d, out_channels: 1, kernel_size: 1, padding: 3}",
        (1, 5),
        "padding 3 is too large",
    ),
    (
        "{type: linear, out_features: 3, in_features: 5}",
        (4,),
        "in_features is 5 but the input has 4",
    ),
    ("{type: reshape, shape: [5, -1]}", (4, 3), "cannot hold 12 elements"),
    ("{type: flatten, start_dim: 0}", (4, 3), "batch dim"),
    ("{type: layernorm, normalized_shape: 4}", (3, 5), "does not match the last dims"),
    ("{type: groupnorm, num_groups: 3}", (4, 2, 2), "not divisible by num_groups 3"),
    ("{type: upsample}", (1, 4), "exactly one of size and scale_factor"),
    ("{type: upsample, scale_factor: 2, mode: bilinear}", (1, 4), "needs a (C, H, W) input"),
    ("{type: reflectionpad1d, padding: 5}", (1, 5), "must be smaller than the input size 5"),
    # PyTorch narrows before padding: 1 − 2 < 0 fails even though 1 + 2 − 2 = 1 (found by the
    # torch differential test)
    ("{type: constantpad1d, padding: [2, -2]}", (1, 1), "crops 2 positions but axis L has 1"),
    ("{type: pixelshuffle, upscale_factor: 2}", (3, 4, 4), "not divisible by upscale_factor"),
    ("{type: softmax, dim: 3}", (4, 5), "dim 3 is out of range"),
    ("{type: prelu, num_parameters: 3}", (4, 5), "num_parameters must be 1 or the 4 channels"),
    (
        "{type: conv2d, out_channels: 1, kernel_size: [3, 3, 3]}",
        (1, 5, 5),
        "kernel_size needs 1 or 2 entries",
    ),
    (
        "{type: conv2d, out_channels: 0, kernel_size: 3}",
        (1, 5, 5),
        "out_channels must be ≥ 1, got 0",
    ),
    (
        "{type: adaptiveavgpool2d, output_size: [1, 2, 3]}",
        (1, 5, 5),
        "output_size needs 1 or 2 entries",
    ),
    ("{type: permute, dims: [0, 1]}", (3, 4, 5), "dims has 2 entries but the input has 4 dims"),
    ("{type: permute, dims: [0, 1, 1, 2]}", (3, 4, 5), "permutation of 0 … 3, but dim 1 repeats"),
    # −3 is dim 1 of 4, which repeats the 1 before it
    ("{type: permute, dims: [0, 1, -3, 2]}", (3, 4, 5), "dim 1 repeats"),
    ("{type: permute, dims: [0, 1, 2, 4]}", (3, 4, 5), "dim 4 is out of range for a 4-dim"),
    ("{type: permute, dims: [0, 1, 2, -5]}", (3, 4, 5), "dim -5 is out of range"),
    ("{type: permute, dims: [1, 0, 2, 3]}", (3, 4, 5), "must keep the batch dim 0 first"),
    ("{type: transpose, dim0: 1, dim1: 4}", (3, 4, 5), "dim1 4 is out of range for a 4-dim"),
    ("{type: transpose, dim0: 0, dim1: 1}", (3, 4, 5), "dim0 0 is the batch dim"),
    ("{type: channelshuffle, groups: 4}", (6, 3), "6 channels are not divisible by groups 4"),
    ("{type: channelshuffle, groups: 2}", (6,), "needs an input of at least 2 dims"),
    (
        "{type: chunk, chunks: 4, index: 3}",
        (6, 4),
        "index 3 is out of range: chunk of dim 1 (size 6) into 4 gives 3 pieces",
    ),
    ("{type: chunk, chunks: 2, index: -3}", (6, 4), "index -3 is out of range"),
    ("{type: chunk, chunks: 2, dim: 0, index: 0}", (6, 4), "dim 0 is the batch dim"),
    (
        "{type: split, split_size_or_sections: [2, 3], index: 0}",
        (6, 4),
        "[2, 3] sums to 5, but dim 1 has size 6",
    ),
    ("{type: split, split_size_or_sections: 4, index: 2}", (6, 4), "gives 2 pieces"),
    ("{type: split, split_size_or_sections: 0, index: 0}", (6, 4), "must be ≥ 1 for dim 1"),
    ("{type: split, split_size_or_sections: [2, 0, 4], index: 1}", (6, 4), "must be positive"),
    (
        "{type: narrow, dim: 1, start: 4, length: 3}",
        (6, 4),
        "start 4 + length 3 exceeds the size 6",
    ),
    ("{type: narrow, dim: 1, start: -7, length: 1}", (6, 4), "start -7 is out of range"),
    ("{type: narrow, dim: 3, start: 0, length: 1}", (6, 4), "dim 3 is out of range"),
    ("{type: layernorm2d, normalized_shape: 8}", (4, 3, 3), "must be the 4 channels"),
    ("{type: layernorm2d}", (4, 3), "needs a (C, H, W) input"),
]


@pytest.mark.parametrize(("layer", "shape", "fragment"), ERRORS)
def test_layer_errors(layer: str, shape: tuple[int, ...], fragment: str) -> None:
    with pytest.raises(RfcalcError) as info:
        one_layer(layer, shape)
    assert fragment in info.value.message
    assert info.value.pos is not None
    assert info.value.pos.line == 3


@pytest.mark.parametrize(
    ("layers", "shape", "covers"),
    [
        # three unpadded 3×3 convs on 7×7: output 1×1 sees 0 … 6, the whole input
        ("[{type: conv2d, out_channels: 1, kernel_size: 3, repeat: 3}]", (1, 7, 7), True),
        # the same on 8×8: units see 0…6 and 1…7, neither all of 0…7
        ("[{type: conv2d, out_channels: 1, kernel_size: 3, repeat: 3}]", (1, 8, 8), False),
        # padded k3 on 3: unit 1 reads 0 … 2 — covered
        ("[{type: conv1d, out_channels: 1, kernel_size: 3, padding: 1}]", (1, 3), True),
        # only on one axis: H covered (kernel 5 on 5), W not (kernel 1 on 5)
        ("[{type: conv2d, out_channels: 1, kernel_size: [5, 1]}]", (1, 5, 5), False),
        # global pooling sees everything
        ("[globalavgpool1d]", (1, 9), True),
    ],
)
def test_covers_input(layers: str, shape: tuple[int, ...], covers: bool) -> None:
    from tests.helpers import report_of

    report = report_of(f"input: {list(shape)}\nlayers: {layers}\n")
    assert report.final.rf.covers_input is covers
