"""Attention: multi-head attention, PyTorch's transformer layers, and embeddings.

Shapes are PyTorch's without the batch: a sequence of L tokens of E features is (L, E), whatever
``batch_first`` says (it only moves the batch, which rfcalc's shapes leave out).

MACs follow the torchvision convention (docs/numbers.md, "Attention"): the projections as the
linear layers they are (bias not counted), plus the two matrix products of attention, the
scores ``Q·Kᵀ`` and the weighted sum ``A·V``, ``L·S·E`` each for L queries, S keys and E
features summed over the heads. Softmax, scaling and masks are not counted.

Receptive fields: every output token reads every key and value token, so the token dims' fields
become global (exact: attention's weights are all non-zero); the features are mixed by the
projections, which changes no spatial field.
"""

from __future__ import annotations

from rfcalc.layers.base import (
    Arg,
    Ctx,
    LayerKind,
    Out,
    PerDim,
    Shape,
    T,
    check_size,
    fmt_shape,
    ignored,
)
from rfcalc.rf import GLOBAL_AXIS


def _sequence(ctx: Ctx, i: int, what: str, features: int | None, arg: str) -> Shape:
    """Input ``i``: a sequence (L, E) of ``features`` features (any, if None)."""
    shape = ctx.in_shapes[i]
    if len(shape) != 2:
        raise ctx.fail(
            f"needs its {what} as a sequence (L, E) of tokens (no batch), got shape "
            f"{fmt_shape(shape)}: flatten the spatial axes into tokens first "
            "({type: flatten, start_dim: 2} and {type: permute, dims: [0, 2, 1]})"
        )
    if features is not None and shape[1] != features:
        raise ctx.fail(
            f"{arg} is {features} but the {what} has {shape[1]} features "
            f"(shape {fmt_shape(shape)})",
            arg,
        )
    return shape


def _attention_params(embed: int, bias: bool, kdim: int, vdim: int) -> int:
    """Parameters of one ``nn.MultiheadAttention`` (without add_bias_kv)."""
    # in_proj_weight (3E, E), or q/k/v_proj_weight (E, E), (E, kdim), (E, vdim); in_proj_bias
    # (3E); out_proj (E, E) + (E)
    return embed * (embed + kdim + vdim) + embed * embed + (4 * embed if bias else 0)


def _check_heads(ctx: Ctx, embed: int, arg: str, heads_arg: str) -> None:
    heads = ctx.get_int(heads_arg)
    if embed % heads:
        raise ctx.fail(f"{arg} {embed} is not divisible by {heads_arg} {heads}", heads_arg)


def _attention_macs(embed: int, kdim: int, vdim: int, queries: int, keys: int, extra: int) -> int:
    """Q, K, V and output projections, and the two products over ``keys + extra`` keys."""
    return (
        queries * embed * embed  # Q = x·W_qᵀ
        + keys * (kdim + vdim) * embed  # K, V
        + 2 * queries * (keys + extra) * embed  # Q·Kᵀ and A·V, E = heads · E/heads
        + queries * embed * embed  # out_proj
    )


def _multihead_attention(ctx: Ctx) -> Out:
    embed = ctx.get_int("embed_dim")
    bias = ctx.flag("bias")
    kdim = ctx.opt_int("kdim") or embed
    vdim = ctx.opt_int("vdim") or embed
    query = _sequence(ctx, 0, "query", embed, "embed_dim")
    count = len(ctx.in_shapes)
    key = _sequence(ctx, min(1, count - 1), "key", kdim, "kdim")
    value = _sequence(ctx, min(2, count - 1), "value", vdim, "vdim")
    if key[0] != value[0]:
        raise ctx.fail(
            f"the key has {key[0]} tokens but the value has {value[0]} "
            f"(shapes {fmt_shape(key)} and {fmt_shape(value)})"
        )
    _check_heads(ctx, embed, "embed_dim", "num_heads")
    params = _attention_params(embed, bias, kdim, vdim)
    extra = 0
    if ctx.flag("add_bias_kv"):
        params += 2 * embed  # bias_k, bias_v (1, 1, E): one more key and value token
        extra += 1
    if ctx.flag("add_zero_attn"):
        extra += 1  # a zero key and value token
    macs = _attention_macs(embed, kdim, vdim, query[0], key[0], extra)
    return Out(
        query,
        params=params,
        macs=macs,
        rf=_global_tokens(ctx),
        layout=ctx.in_layouts[0] if ctx.in_layouts else None,
    )


def _global_tokens(ctx: Ctx) -> PerDim:
    """Every output unit reads every unit of every input (tokens and features)."""
    return PerDim(tuple((GLOBAL_AXIS,) * len(s) for s in ctx.in_shapes))


def _transformer_parts(ctx: Ctx, d: int) -> tuple[int, bool, int]:
    """(dim_feedforward, bias, the attention's params), checked."""
    _check_heads(ctx, d, "d_model", "nhead")
    bias = ctx.flag("bias")
    return ctx.get_int("dim_feedforward"), bias, _attention_params(d, bias, d, d)


def _feedforward(d: int, ff: int, bias: bool, tokens: int) -> tuple[int, int]:
    """linear1 (d → ff) and linear2 (ff → d): params and MACs."""
    params = 2 * d * ff + ((ff + d) if bias else 0)
    return params, 2 * tokens * d * ff


def _norms(d: int, bias: bool, count: int) -> int:
    return count * (2 * d if bias else d)  # LayerNorm(d_model, bias=bias): weight (+ bias)


def _encoder_layer(ctx: Ctx) -> Out:
    src = _sequence(ctx, 0, "input", ctx.opt_int("d_model"), "d_model")
    d = src[1]
    ff, bias, attn = _transformer_parts(ctx, d)
    ffn, ffn_macs = _feedforward(d, ff, bias, src[0])
    params = attn + ffn + _norms(d, bias, 2)  # self_attn, linear1, linear2, norm1, norm2
    macs = _attention_macs(d, d, d, src[0], src[0], 0) + ffn_macs
    return Out(src, params=params, macs=macs, rf=_global_tokens(ctx))


def _decoder_layer(ctx: Ctx) -> Out:
    tgt = _sequence(ctx, 0, "target", ctx.opt_int("d_model"), "d_model")
    d = tgt[1]
    ff, bias, attn = _transformer_parts(ctx, d)
    memory = _sequence(ctx, 1, "memory", d, "d_model")
    ffn, ffn_macs = _feedforward(d, ff, bias, tgt[0])
    # self_attn, multihead_attn (over the memory), linear1, linear2, norm1 … norm3
    params = 2 * attn + ffn + _norms(d, bias, 3)
    macs = (
        _attention_macs(d, d, d, tgt[0], tgt[0], 0)
        + _attention_macs(d, d, d, tgt[0], memory[0], 0)
        + ffn_macs
    )
    return Out(
        tgt,
        params=params,
        macs=macs,
        rf=_global_tokens(ctx),
        layout=ctx.in_layouts[0] if ctx.in_layouts else None,
    )


def _embedding(ctx: Ctx) -> Out:
    num, dim = ctx.get_int("num_embeddings"), ctx.get_int("embedding_dim")
    shape = check_size(ctx, (*ctx.shape, dim))
    # a lookup: no multiply-accumulate; each position keeps its field
    return Out(shape, params=num * dim, layout=(*ctx.layout, None))


_ATTENTION_IGNORED = ignored("dropout", "batch_first", "device", "dtype")
_TRANSFORMER_ARGS = (
    Arg("d_model", T.INT, None, "checked against the input's features", 1, nullable=True),
    Arg("nhead", T.INT, doc="heads; must divide d_model", minimum=1),
    Arg("dim_feedforward", T.INT, 2048, "the feed-forward network's hidden size", 1),
    Arg("bias", T.BOOL, True, "biases in the linear layers and the layer norms"),
    *ignored(
        "dropout", "activation", "layer_norm_eps", "batch_first", "norm_first", "device", "dtype"
    ),
)

KINDS = (
    LayerKind(
        name="multiheadattention",
        torch_name="MultiheadAttention",
        family="attention",
        doc=(
            "Multi-head attention (torch.nn.MultiheadAttention) on sequences (L, E): one input "
            "is self-attention (query = key = value), two are the query and the key = value, "
            "three the query, key and value. Every output token reads every key token: the "
            "fields of the tokens become global."
        ),
        args=(
            Arg("embed_dim", T.INT, doc="E: the query's features", minimum=1),
            Arg("num_heads", T.INT, doc="heads; must divide embed_dim", minimum=1),
            Arg("bias", T.BOOL, True, "biases of the input and output projections"),
            Arg("add_bias_kv", T.BOOL, False, "learned bias_k, bias_v: one more key token"),
            Arg("add_zero_attn", T.BOOL, False, "a zero key token appended"),
            Arg("kdim", T.INT, None, "the key's features (default embed_dim)", 1, nullable=True),
            Arg("vdim", T.INT, None, "the value's features (default embed_dim)", 1, nullable=True),
            *_ATTENTION_IGNORED,
        ),
        rule=_multihead_attention,
        max_inputs=3,
        channels_first=False,
    ),
    LayerKind(
        name="transformerencoderlayer",
        torch_name="TransformerEncoderLayer",
        family="attention",
        doc=(
            "A transformer encoder layer (torch.nn.TransformerEncoderLayer): self-attention "
            "and a feed-forward network, each with a residual and a layer norm, on a sequence "
            "(L, d_model). A stack of them (nn.TransformerEncoder) is `repeat: N`."
        ),
        args=_TRANSFORMER_ARGS,
        rule=_encoder_layer,
        channels_first=False,
    ),
    LayerKind(
        name="transformerdecoderlayer",
        torch_name="TransformerDecoderLayer",
        family="attention",
        doc=(
            "A transformer decoder layer (torch.nn.TransformerDecoderLayer): its inputs are "
            "the target (T, d_model) and the memory (S, d_model), `from: [tgt, memory]`; "
            "self-attention over the target, attention to the memory, a feed-forward network."
        ),
        args=_TRANSFORMER_ARGS,
        rule=_decoder_layer,
        min_inputs=2,
        max_inputs=2,
        channels_first=False,
    ),
    LayerKind(
        name="embedding",
        torch_name="Embedding",
        family="attention",
        doc=(
            "A lookup table (torch.nn.Embedding): each input element (a token id) becomes a "
            "vector of embedding_dim; the output has one more dim, last. The model's input "
            "shape is then the ids' shape, e.g. [128] for 128 tokens."
        ),
        args=(
            Arg("num_embeddings", T.INT, doc="the vocabulary's size", minimum=1),
            Arg("embedding_dim", T.INT, minimum=1),
            *ignored(
                "padding_idx",
                "max_norm",
                "norm_type",
                "scale_grad_by_freq",
                "sparse",
                "_weight",
                "_freeze",
                "device",
                "dtype",
            ),
        ),
        rule=_embedding,
        channels_first=False,
    ),
)
