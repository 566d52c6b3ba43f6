"""Attention and vision transformers (issue 14): token dims, multi-head attention and PyTorch's
transformer layers, torchvision's ViT-B/16 and a ResNet stem + transformer hybrid.

Every expected number is worked out by hand below (the arithmetic in a comment), taken from
torchvision's published figures, or measured on PyTorch's own modules (``-m torch``)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from rfcalc.api import describe
from rfcalc.errors import RfcalcError
from tests.helpers import EXAMPLES, one_layer, report_of, rf_triple

# ------------------------------------------------------------------ layers by hand

# (layer, its input (or the first input's) shape, more inputs, output shape, params, MACs)
# E = 8, two heads, L = 5 query tokens; MHA params: in_proj 3·E² + out_proj E² = 256 weights,
# in_proj_bias 3E + out_proj.bias E = 32 biases. MACs: the four projections (Q, K, V, out)
# as linear layers, L·E·E each, and the two products Q·Kᵀ and A·V, L·S·E each.
LAYERS: list[tuple[str, tuple[int, ...], list[tuple[int, ...]], tuple[int, ...], int, int]] = [
    # 256 + 32 = 288 params; 4·5·8·8 = 1280 + 2·5·5·8 = 400 → 1680
    ("{type: multiheadattention, embed_dim: 8, num_heads: 2}", (5, 8), [], (5, 8), 288, 1680),
    # no biases, bias_k and bias_v (2·8 = 16): 256 + 16 = 272; one more key token from
    # bias_kv and one from add_zero_attn: S' = 7; 1280 + 2·5·7·8 = 560 → 1840
    (
        "{type: multiheadattention, embed_dim: 8, num_heads: 2, bias: false, add_bias_kv: true, "
        "add_zero_attn: true}",
        (5, 8),
        [],
        (5, 8),
        272,
        1840,
    ),
    # cross-attention, key (7, 3) and value (7, 4): q_proj 8·8 = 64, k_proj 8·3 = 24,
    # v_proj 8·4 = 32, out_proj 64, biases 32 → 216; MACs: Q 5·8·8 = 320, K 7·3·8 = 168,
    # V 7·4·8 = 224, products 2·5·7·8 = 560, out 320 → 1592
    (
        "{type: multiheadattention, embed_dim: 8, num_heads: 2, kdim: 3, vdim: 4}",
        (5, 8),
        [(7, 3), (7, 4)],
        (5, 8),
        216,
        1592,
    ),
    # the key = value (7, 8): 288 params; 320 + 2·7·8·8 = 896 + 2·5·7·8 = 560 + 320 → 2096
    (
        "{type: multiheadattention, embed_dim: 8, num_heads: 4}",
        (5, 8),
        [(7, 8)],
        (5, 8),
        288,
        2096,
    ),
    # self_attn 288 + linear1 8·16 + 16 = 144 + linear2 16·8 + 8 = 136 + norm1, norm2 2·16 = 32
    # → 600; MACs: attention 1680 + linear1 5·8·16 = 640 + linear2 640 → 2960
    (
        "{type: transformerencoderlayer, d_model: 8, nhead: 2, dim_feedforward: 16}",
        (5, 8),
        [],
        (5, 8),
        600,
        2960,
    ),
    # bias false: attention 256, linears 2·8·16 = 256, norms 2·8 (weights only) = 16 → 528
    (
        "{type: transformerencoderlayer, nhead: 4, dim_feedforward: 16, bias: false}",
        (5, 8),
        [],
        (5, 8),
        528,
        2960,
    ),
    # target (5, 8), memory (7, 8): self_attn 288 + multihead_attn 288 + linears 280 +
    # norm1 … norm3 48 → 904; MACs: self-attention 1680, attention to the memory 2096 (as the
    # key = value row above), feed-forward 1280 → 5056
    (
        "{type: transformerdecoderlayer, d_model: 8, nhead: 2, dim_feedforward: 16}",
        (5, 8),
        [(7, 8)],
        (5, 8),
        904,
        5056,
    ),
    # a 100 × 8 table: 800 params, a lookup (no MACs); 6 ids → (6, 8)
    ("{type: embedding, num_embeddings: 100, embedding_dim: 8}", (6,), [], (6, 8), 800, 0),
]


def _layer_model(layer: str, shape: tuple[int, ...], more: list[tuple[int, ...]]) -> str:
    """The layer on the model input and, for more inputs, learned tensors of those shapes."""
    lines = [f"input: {list(shape)}", "layers:", "  - {type: identity, name: x}"]
    names = ["x"]
    for i, s in enumerate(more):
        lines.append(f"  - {{type: parameter, name: m{i}, shape: {list(s)}}}")
        names.append(f"m{i}")
    lines.append(f"  - {layer[:-1]}, name: layer, from: [{', '.join(names)}]}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("layer", "shape", "more", "out", "params", "macs"), LAYERS)
def test_attention_layers_by_hand(
    layer: str,
    shape: tuple[int, ...],
    more: list[tuple[int, ...]],
    out: tuple[int, ...],
    params: int,
    macs: int,
) -> None:
    row = report_of(_layer_model(layer, shape, more)).final
    assert (row.output_shape, row.params, row.macs) == (out, params, macs)


# ------------------------------------------------------------------ mistakes


@pytest.mark.parametrize(
    ("layer", "shape", "message"),
    [
        # an image, not a sequence: the hint says how to make tokens
        ("{type: multiheadattention, embed_dim: 3, num_heads: 1}", (3, 8, 8), "flatten"),
        ("{type: multiheadattention, embed_dim: 16, num_heads: 2}", (5, 8), "embed_dim is 16"),
        ("{type: multiheadattention, embed_dim: 8, num_heads: 3}", (5, 8), "not divisible"),
        ("{type: transformerencoderlayer, d_model: 16, nhead: 2}", (5, 8), "d_model is 16"),
        ("{type: transformerencoderlayer, nhead: 3}", (5, 8), "not divisible by nhead 3"),
    ],
)
def test_attention_mistakes_are_positioned_errors(
    layer: str, shape: tuple[int, ...], message: str
) -> None:
    with pytest.raises(RfcalcError) as info:
        one_layer(layer, shape)
    assert message in str(info.value)
    assert info.value.pos is not None
    assert info.value.pos.line == 3  # the layer's own line


def test_key_and_value_of_different_lengths_are_an_error() -> None:
    text = _layer_model(
        "{type: multiheadattention, embed_dim: 8, num_heads: 2}", (5, 8), [(7, 8), (6, 8)]
    )
    with pytest.raises(RfcalcError, match="the key has 7 tokens but the value has 6"):
        report_of(text)


def test_a_conv_on_tokens_names_the_token_layout() -> None:
    text = """input: [3, 8, 8]
layers:
  - {type: conv2d, out_channels: 4, kernel_size: 2, stride: 2}
  - {type: flatten, start_dim: 2}
  - {type: permute, dims: [0, 2, 1]}
  - {type: conv1d, out_channels: 4, kernel_size: 3}
"""
    with pytest.raises(RfcalcError, match=r"permuted: \(H·W, C\)"):
        report_of(text)


# ------------------------------------------------------------------ token fields

PATCHES = """input: [3, 32, 32]
layers:
  - {type: conv2d, name: patches, out_channels: 8, kernel_size: 4, stride: 4}
  - {type: flatten, start_dim: 2}
  - {type: permute, dims: [0, 2, 1], name: tokens}
  - {type: layernorm, normalized_shape: 8}
  - {type: linear, out_features: 16}
  - {type: parameter, name: cls, shape: [1, 16]}
  - {type: concat, dim: 1, from: [cls, linear_0], name: with_cls}
  - {type: parameter, name: pos, shape: [65, 16]}
  - {type: add, from: [with_cls, pos], name: embedded}
  - {type: narrow, dim: 1, start: 1, length: 64, name: no_cls}
  - {type: permute, dims: [0, 2, 1]}
  - {type: unflatten, dim: 2, unflattened_size: [8, 8], name: map}
  - {type: conv2d, name: conv, out_channels: 8, kernel_size: 3}
"""


def test_tokens_keep_their_patch_and_unflatten_restores_the_map() -> None:
    rows = {r.name: r for r in report_of(PATCHES).layers}
    patch = ((4, 4), (Fraction(4), Fraction(4)), (0, 0))  # the 4×4 stride-4 conv
    for name in ("patches", "tokens", "linear_0", "with_cls", "embedded", "no_cls", "map"):
        assert rf_triple(rows[name]) == patch, name
        assert not rows[name].rf.is_global
    # a 3×3 conv on the 8×8 map of patches: r = 4 + (3 − 1)·4 = 12, S 4, P 0
    assert rf_triple(rows["conv"]) == ((12, 12), (Fraction(4), Fraction(4)), (0, 0))
    assert rows["conv"].output_shape == (8, 6, 6)


def test_attention_over_tokens_makes_the_fields_global() -> None:
    text = PATCHES.replace(
        "  - {type: narrow",
        "  - {type: multiheadattention, embed_dim: 16, num_heads: 2, name: attn}\n"
        "  - {type: add, from: [embedded, attn], name: residual}\n"
        "  - {type: narrow",
    ).replace("from: [with_cls, pos], name: embedded}", "from: [with_cls, pos], name: embedded}")
    rows = {r.name: r for r in report_of(text).layers}
    for name in ("attn", "residual", "no_cls", "map"):
        # every token reads the whole 32×32 input: the hull of the 8 patches per axis
        assert rows[name].rf.is_global, name
        assert rows[name].rf.size == (32, 32)
        assert not rows[name].rf.global_context, name


def test_flattening_the_channels_with_the_map_is_still_global() -> None:
    # (C, H, W) → C·H·W mixes the channels with the positions: no token dim
    row = one_layer("{type: flatten}", (2, 4, 4))
    assert row.rf.is_global


# ------------------------------------------------------------------ ViT-B/16


def test_vit_b_16_matches_torchvisions_published_figures() -> None:
    report = describe(str(EXAMPLES / "vit_b_16.yaml"))
    # torchvision's docs for ViT_B_16_Weights: 86,567,656 params, 17.56 GFLOPS (MACs)
    assert report.totals.params == 86_567_656
    # by hand: conv_proj 196·768·(3·16·16) = 115,605,504; per encoder block the four
    # projections 4·197·768² = 464,781,312 and the MLP 2·197·768·3072 = 929,562,624, the
    # attention products 2·197²·768 = 59,610,624, so 1,453,954,560 × 12 = 17,447,454,720;
    # the head 768·1000 = 768,000 → 17,563,828,224 (17.56 G)
    assert report.totals.macs == 17_563_828_224
    assert report.output_shape == (1000,)
    rows = {r.name: r for r in report.layers}
    patch = ((16, 16), (Fraction(16), Fraction(16)), (0, 0))
    assert rf_triple(rows["conv_proj"]) == patch
    assert rf_triple(rows["encoder.dropout"]) == patch  # tokens + class token + positions
    first = rows["encoder.layers.encoder_layer_0.self_attention"]
    assert first.rf.is_global
    assert first.rf.size == (224, 224)
    block = rows["encoder.layers.encoder_layer_0.add_0"]  # the block's output
    assert block.rf.is_global
    assert not block.rf.global_context


# ------------------------------------------------------------------ PyTorch

torch_only = pytest.mark.torch


@torch_only
@pytest.mark.parametrize(("layer", "shape", "more", "out", "params", "macs"), LAYERS)
def test_attention_layers_match_pytorchs_modules(
    layer: str,
    shape: tuple[int, ...],
    more: list[tuple[int, ...]],
    out: tuple[int, ...],
    params: int,
    macs: int,
) -> None:
    pytest.importorskip("torch")
    from rfcalc.build import build
    from rfcalc.engine import analyze
    from rfcalc.loader import load_text
    from tests.test_torch import assert_numbers_match

    graph = build(load_text(_layer_model(layer, shape, more), "model.yaml"))
    # params from nn.MultiheadAttention / nn.Transformer*Layer / nn.Embedding, MACs measured
    # by torch.utils.flop_counter on their parts (need_weights: the bmm path)
    assert_numbers_match(graph, analyze(graph))


@torch_only
def test_patch_tokens_fields_match_gradients() -> None:
    pytest.importorskip("torch")
    from rfcalc.build import build
    from rfcalc.engine import analyze
    from rfcalc.loader import load_text
    from tests.test_torch import assert_rf_match

    text = PATCHES.replace("input: [3, 32, 32]", "input: [2, 16, 16]").replace(
        "unflattened_size: [8, 8]", "unflattened_size: [4, 4]"
    )
    text = text.replace("shape: [65, 16]", "shape: [17, 16]").replace("length: 64", "length: 16")
    with_attention = text.replace(
        "  - {type: narrow",
        "  - {type: multiheadattention, embed_dim: 16, num_heads: 2, name: attn}\n"
        "  - {type: add, from: [embedded, attn], name: residual}\n"
        "  - {type: narrow",
    )
    for model in (text, with_attention):
        graph = build(load_text(model, "tokens.yaml"))
        report = analyze(graph, keep_fields=True)
        reading = [i for i, n in enumerate(graph.nodes) if n.kind.name != "parameter"]
        assert assert_rf_match(graph, report, 20, layers=reading, crops_exact=True) > 0


def _torchvision() -> Any:
    from tests.test_torchvision import _torchvision as load

    return load()


def _called_leaves(model: Any, shape: tuple[int, ...]) -> dict[str, tuple[tuple[int, ...], int]]:
    """Module name → (output shape of its first call, no batch; params, its children's too)
    for the modules called in a forward none of whose descendants is called:
    nn.MultiheadAttention computes with its out_proj's weight without calling it, so it is
    one layer, as in rfcalc."""
    import torch

    order: list[str] = []
    seen: dict[str, tuple[int, ...]] = {}
    hooks = []
    for name, module in model.named_modules():
        if name:

            def hook(_m: Any, _i: Any, out: Any, name: str = name) -> None:
                first = out[0] if isinstance(out, tuple) else out
                if name not in seen:
                    seen[name] = tuple(first.shape[1:])
                    order.append(name)

            hooks.append(module.register_forward_hook(hook))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    for h in hooks:
        h.remove()
    modules = dict(model.named_modules())
    return {
        name: (out, sum(p.numel() for p in modules[name].parameters()))
        for name, out in seen.items()
        if not any(other.startswith(name + ".") for other in seen)
    }


@torch_only
def test_vit_b_16_is_torchvisions_model_layer_for_layer() -> None:
    pytest.importorskip("torch")
    tv = _torchvision()
    model = tv.models.vit_b_16()
    report = describe(str(EXAMPLES / "vit_b_16.yaml"))
    ours = {r.name: r for r in report.layers}
    theirs = _called_leaves(model, report.input_shape)
    assert "encoder.layers.encoder_layer_0.self_attention" in theirs
    for name, (shape, params) in theirs.items():
        assert name in ours, name
        assert (name, ours[name].output_shape, ours[name].params) == (name, shape, params)
    # the learned tensors that are no module's weight: rfcalc `parameter`s, named as torchvision
    tensors = {name: p.numel() for name, p in model.named_parameters()}
    assert ours["class_token"].params == tensors["class_token"] == 768
    assert ours["encoder.pos_embedding"].params == tensors["encoder.pos_embedding"] == 197 * 768
    extra = [
        r.name for r in report.layers if r.params and r.name not in theirs and r.name not in tensors
    ]
    assert extra == []
    assert report.totals.params == sum(p.numel() for p in model.parameters()) == 86_567_656


@torch_only
def test_vit_b_16_macs_equal_pytorchs_flop_counter() -> None:
    """PyTorch's FlopCounterMode on the real model, each attention run through its bmm path
    (need_weights=True; the default scaled-dot-product kernel is not counted on the CPU)."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    tv = _torchvision()
    model = tv.models.vit_b_16().eval()
    for block in model.encoder.layers:
        attention = block.self_attention
        plain = attention.forward

        def weighted(q: Any, k: Any, v: Any, need_weights: bool = True, plain: Any = plain) -> Any:
            return plain(q, k, v, need_weights=True)

        attention.forward = weighted
    with FlopCounterMode(display=False) as counter, torch.enable_grad():
        model(torch.zeros(1, 3, 224, 224))
    report = describe(str(EXAMPLES / "vit_b_16.yaml"))
    assert counter.get_total_flops() == 2 * report.totals.macs == 2 * 17_563_828_224


# ------------------------------------------------------------------ a hybrid


def test_r50_vit_hybrid_field_grows_then_turns_global() -> None:
    rows = {r.name: r for r in describe(str(EXAMPLES / "r50_vit.yaml")).layers}

    def last(prefix: str) -> str:
        return [n for n in rows if n.startswith(prefix)][-1]

    # by hand, per axis (r, S, P): conv1 7×7 s2 p3 → (7, 2, 3); maxpool 3 s2 p1 → (11, 4, 5);
    # layer1: three 3×3 convs at S 4, +8 each → (35, 4, 17); layer2: the first 3×3 has stride
    # 2 (+2·4) → (43, 8, 21), three more +16 each → (91, 8, 45); layer3: (107, 16, 53), eight
    # more +32 each → (363, 16, 181) — the downsampling shortcuts' fields lie inside
    expected = {
        "conv1": (7, 2, 3),
        "maxpool": (11, 4, 5),
        last("layer1."): (35, 4, 17),
        last("layer2."): (91, 8, 45),
        last("layer3."): (363, 16, 181),
        "conv_proj": (363, 16, 181),
        "concat_0": (363, 16, 181),  # the tokens keep it
    }
    for name, (r, s, p) in expected.items():
        assert rf_triple(rows[name]) == ((r, r), (Fraction(s), Fraction(s)), (p, p)), name
    # then global: the hull of the 14 tokens per axis, −181 … 13·16 − 181 + 362 = 389: 571
    block = rows[last("encoder.layers.encoder_layer_0.")]
    assert block.rf.is_global
    assert (block.rf.size, block.rf.padding) == ((571, 571), (181, 181))
    assert rows["heads.head"].rf.is_global


# ------------------------------------------------------------------ Swin


def _fields_of(text: str, name: str) -> list[list[tuple[int, int] | None]]:
    """Per axis, every unit's field (hull) of the named layer's output."""
    from rfcalc.build import build
    from rfcalc.engine import analyze
    from rfcalc.loader import load_text

    report = analyze(build(load_text(text, "model.yaml")), keep_fields=True)
    assert report.fields is not None
    i = [r.name for r in report.layers].index(name)
    n = report.layers[i].output_shape[0]
    return [[f.span(x) for x in range(n)] for f in report.fields[i]]


WINDOWS = """input: [4, 10, 10]
layers:
  - {type: permute, dims: [0, 2, 3, 1]}
  - {type: shiftedwindowattention, name: attn, window_size: 4, shift_size: SHIFT, num_heads: 2}
"""


def test_window_attention_reads_its_window() -> None:
    # 10 units padded to 12 = 3 windows of 4: [0, 3], [4, 7], [8, 11] (units 8, 9 reach into
    # the padding, as a convolution's field does)
    plain = [(0, 3)] * 4 + [(4, 7)] * 4 + [(8, 11)] * 2
    assert _fields_of(WINDOWS.replace("SHIFT", "0"), "attn") == [plain, plain]
    # shifted by 2: rolled windows [2, 5], [6, 9], and torchvision's mask keeps the two parts
    # of the last one apart: [10, 11] (padding) and [0, 1]
    shifted = [(0, 1)] * 2 + [(2, 5)] * 4 + [(6, 9)] * 4
    assert _fields_of(WINDOWS.replace("SHIFT", "2"), "attn") == [shifted, shifted]
    # shifted on H only: W keeps plain windows
    assert _fields_of(WINDOWS.replace("SHIFT", "[2, 0]"), "attn") == [shifted, plain]


def test_window_attention_counts() -> None:
    row = report_of(WINDOWS.replace("SHIFT", "2")).final
    # C = 4, two heads, window 4×4: qkv 4·12 + 12 = 60, proj 16 + 4 = 20, the bias table
    # (2·4 − 1)² · 2 = 98 → 178; MACs on the 12×12 padded tokens (144): qkv 144·4·12 = 6912,
    # Q·Kᵀ and A·V 2·144·16·4 = 18,432, proj 144·4·4 = 2304 → 27,648
    assert (row.output_shape, row.params, row.macs) == ((10, 10, 4), 178, 27_648)
    # a field of 4 at most, different per unit
    assert row.rf.size == (4, 4)
    assert not row.rf.uniform


def test_window_shift_must_be_less_than_the_window() -> None:
    with pytest.raises(RfcalcError, match="less than the window 4"):
        report_of(WINDOWS.replace("SHIFT", "4"))


def test_swin_t_matches_torchvisions_published_figures() -> None:
    report = describe(str(EXAMPLES / "swin_t.yaml"))
    # torchvision's docs for Swin_T_Weights: 28,288,354 params, 4.49 GFLOPS (MACs); the exact
    # MACs are PyTorch's FlopCounterMode on torchvision's model (see the torch test below)
    assert report.totals.params == 28_288_354
    assert report.totals.macs == 4_490_566_656
    rows = {r.name: r for r in report.layers}
    # stage 1 by hand, in units of the 4×4 patches (56 per axis): block 0's windows
    # [7k, 7k + 6]; block 1's shifted parts [0, 2], [3, 9], …, [52, 55], and unit 3 … 9 reads
    # block 0's units 3 … 9, in two windows: [0, 13], 14 units = 56 pixels, stride 4
    stage = rows[[n for n in rows if n.startswith("features.1.")][-1]]
    assert rf_triple(stage) == ((56, 56), (Fraction(4), Fraction(4)), (0, 0))
    assert not stage.rf.uniform


@torch_only
def test_swin_t_is_torchvisions_model_layer_for_layer() -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    tv = _torchvision()
    model = tv.models.swin_t()
    report = describe(str(EXAMPLES / "swin_t.yaml"))
    ours = {r.name: r for r in report.layers}
    theirs = _called_leaves(model, report.input_shape)
    assert "features.1.0.attn" in theirs
    for name, (shape, params) in theirs.items():
        assert name in ours, name
        assert (name, ours[name].output_shape, ours[name].params) == (name, shape, params)
    extra = [r.name for r in report.layers if r.params and r.name not in theirs]
    assert extra == []
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.zeros(1, 3, 224, 224))
    assert counter.get_total_flops() == 2 * report.totals.macs


@torch_only
@pytest.mark.parametrize(
    ("size", "shift"), [((14, 21), [3, 3]), ((10, 17), [3, 3]), ((7, 9), [0, 3])]
)
def test_the_bridges_window_attention_is_torchvisions(
    size: tuple[int, int], shift: list[int]
) -> None:
    torch = pytest.importorskip("torch")
    from tests.torch_bridge import _window_attention

    tv = _torchvision()
    theirs = tv.models.swin_transformer.ShiftedWindowAttention(8, [7, 7], shift, 2).eval()
    args = {
        "window_size": 7,
        "shift_size": tuple(shift),
        "num_heads": 2,
        "qkv_bias": True,
        "proj_bias": True,
    }
    ours = _window_attention(args, (*size, 8), "exact")
    with torch.no_grad():
        ours.get_submodule("children_.0").load_state_dict(theirs.qkv.state_dict())
        ours.get_submodule("children_.1").load_state_dict(theirs.proj.state_dict())
        table = ours.get_parameter("children_.2.0")
        table.copy_(torch.randn_like(table))
        theirs.relative_position_bias_table.copy_(table)
        x = torch.randn(2, *size, 8)
        assert torch.allclose(ours(x), theirs(x), atol=1e-5)


@torch_only
def test_swin_fields_after_each_stage_match_gradients() -> None:
    """Swin-T's structure (patches of 4, depths 2, 2, 6, 2, windows of 7 shifted by 3, patch
    merging) narrowed to 8 channels, at 448×448 so that windows do not reach the edges: the
    fields of each stage's units equal the box of non-zero input gradient, window attention
    with its mask and a uniform average in place of the softmax."""
    pytest.importorskip("torch")
    from rfcalc.build import build
    from rfcalc.engine import analyze
    from rfcalc.loader import load_path
    from tests.test_torch import assert_rf_match

    spec = load_path(str(EXAMPLES / "swin_t.yaml"))
    graph = build(spec, {"embed_dim": "8", "heads": "1"}, (3, 448, 448))
    report = analyze(graph, keep_fields=True)
    names = [n.name for n in graph.nodes]
    stages = [
        max(i for i, n in enumerate(names) if n.startswith(f"features.{k}.")) for k in range(1, 8)
    ]
    assert assert_rf_match(graph, report, units_per_layer=10, layers=stages) > 0


def test_rt_detr_aifi_is_tokens_through_an_encoder_layer_and_back() -> None:
    # RT-DETR's AIFI on its 20×20 map of 256 channels: tokens, one encoder layer (8 heads,
    # feed-forward 1024), the map again
    text = """input: [256, 20, 20]
layers:
  - {type: flatten, start_dim: 2}
  - {type: permute, dims: [0, 2, 1]}
  - {type: transformerencoderlayer, name: aifi, nhead: 8, dim_feedforward: 1024}
  - {type: permute, dims: [0, 2, 1]}
  - {type: unflatten, dim: 2, unflattened_size: [20, 20], name: map}
  - {type: conv2d, out_channels: 256, kernel_size: 1, name: conv}
"""
    rows = {r.name: r for r in report_of(text).layers}
    # attention 4·256² + 4·256 = 263,168; linear1 256·1024 + 1024 = 263,168, linear2
    # 1024·256 + 256 = 262,400; two norms 2·512 = 1024 → 789,760
    assert rows["aifi"].params == 789_760
    # 400 tokens: projections 4·400·256² = 104,857,600, products 2·400²·256 = 81,920,000,
    # feed-forward 2·400·256·1024 = 209,715,200 → 396,492,800
    assert rows["aifi"].macs == 396_492_800
    assert rows["map"].output_shape == (256, 20, 20)
    assert rows["conv"].rf.is_global
    assert rows["conv"].rf.size == (20, 20)
