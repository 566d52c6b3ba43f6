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

from rfcalc.layers.activation import softmax_terms
from rfcalc.layers.base import (
    Arg,
    Ctx,
    LayerKind,
    Out,
    PerDim,
    Shape,
    T,
    Terms,
    check_size,
    fmt_shape,
    ignored,
)
from rfcalc.rf import GLOBAL_AXIS, IDENTITY_AXIS, AxisRule, Func, Window


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


def _ptflops_hook(
    embed: int, kdim: int, vdim: int, heads: int, queries: int, keys: int, bias: bool
) -> int:
    """ptflops' MultiheadAttention hook (ptflops/pytorch_ops.py,
    multihead_attention_counter_hook), as written: the query scaling, projections of
    (tokens · dim²) each, in_proj_bias, per head the scores, their softmax and the weighted
    sum over the given keys, and out_proj with its bias."""
    return (
        queries * embed
        + queries * embed * embed
        + keys * (kdim * kdim + vdim * vdim)
        + ((queries + 2 * keys) * embed if bias else 0)
        + heads * queries * keys * (embed // heads + 1 + vdim // heads)
        + queries * vdim * (vdim + 1)
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
    heads = ctx.get_int("num_heads")
    # ptflops: its hook, and inside the call with need_weights (PyTorch's default) the two
    # torch.bmm and the softmax it patches, over the keys with the extra ones; without,
    # scaled_dot_product_attention, which it does not patch
    keys = key[0] + extra
    ptflops = _ptflops_hook(embed, kdim, vdim, heads, query[0], key[0], bias)
    products = 2 * query[0] * keys * embed
    if ctx.flag("need_weights"):
        ptflops += products + query[0] * keys * heads
    sdpa = 0 if ctx.flag("need_weights") else products
    scores = _scores(heads, query[0], keys)
    return Out(
        query,
        params=params,
        macs=macs,
        rf=_global_tokens(ctx),
        layout=ctx.in_layouts[0] if ctx.in_layouts else None,
        terms=scores._replace(attention_ptflops=ptflops - macs, sdpa_products=sdpa),
    )


def _scores(heads: int, queries: int, keys: int) -> Terms:
    """The softmax over the keys of each head's scores."""
    return softmax_terms(heads * queries * keys, keys)


def _transformer_terms(
    heads: int, tokens: int, d: int, scores: Terms, leaves: int, norms: int
) -> Terms:
    """Attention's softmaxes, ``norms`` layer norms over (tokens, d), and the params of the
    leaf modules (linear1, linear2, the norms; not the attention, whose out_proj no module
    call runs)."""
    elements = norms * tokens * d
    return Terms(
        softmax=_scores(heads, tokens, tokens).softmax + scores.softmax,
        leaf_params=leaves,
        norm_live=elements,
        norm_affine=elements,
        norm_module=elements,
    )


def _transformer_ptflops(
    terms: Terms, heads: int, d: int, ff: int, bias: bool, tgt: int, sources: tuple[int, ...]
) -> Terms:
    """A transformer layer as PyTorch runs it, for ptflops and fvcore: it calls attention
    with need_weights=False, through scaled_dot_product_attention (which neither counts),
    so ptflops sees each attention's hook alone; linear1's and linear2's bias; its activation
    is the F.relu bound at construction, not the function ptflops patches."""
    hooks = sum(_ptflops_hook(d, d, d, heads, tgt, s, bias) for s in sources)
    weights = sum(_attention_macs(d, d, d, tgt, s, 0) for s in sources)
    return terms._replace(
        bias=tgt * (ff + d) if bias else 0,
        attention_ptflops=hooks - weights,
        sdpa_products=sum(2 * tgt * s * d for s in sources),
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
    heads = ctx.get_int("nhead")
    terms = _transformer_terms(heads, src[0], d, Terms(), params - attn, 2)
    terms = _transformer_ptflops(terms, heads, d, ff, bias, src[0], (src[0],))
    return Out(src, params=params, macs=macs, rf=_global_tokens(ctx), terms=terms)


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
    heads = ctx.get_int("nhead")
    cross = _scores(heads, tgt[0], memory[0])
    terms = _transformer_terms(heads, tgt[0], d, cross, params - 2 * attn, 3)
    terms = _transformer_ptflops(terms, heads, d, ff, bias, tgt[0], (tgt[0], memory[0]))
    return Out(
        tgt,
        params=params,
        macs=macs,
        rf=_global_tokens(ctx),
        layout=ctx.in_layouts[0] if ctx.in_layouts else None,
        terms=terms,
    )


def _embedding(ctx: Ctx) -> Out:
    num, dim = ctx.get_int("num_embeddings"), ctx.get_int("embedding_dim")
    shape = check_size(ctx, (*ctx.shape, dim))
    # a lookup: no multiply-accumulate; each position keeps its field
    params = num * dim
    return Out(shape, params=params, layout=(*ctx.layout, None), terms=Terms(leaf_params=params))


def _windows(n: int, window: int, shift: int) -> Func:
    """Swin's window attention along one axis of ``n`` units: the padded axis (a multiple of
    the window) cut into windows; with a shift s, cyclically shifted, and torchvision's mask
    keeping each window's parts apart, the parts are [0, s), then windows of w from s, and the
    last [P − w + s, P). A unit reads its part, exactly; units beyond the edges (read by a
    later layer's padding) continue in windows of w."""
    padded = -(-n // window) * window
    if window >= padded:
        shift = 0  # torchvision: no shift where the window covers the axis

    def reads(x: int) -> tuple[int, int, int]:
        if shift and 0 <= x < padded:
            if x < shift:
                return (0, shift - 1, 1)
            if x >= padded - window + shift:
                return (padded - window + shift, padded - 1, 1)
            first = shift + (x - shift) // window * window
            return (first, first + window - 1, 1)
        first = x // window * window
        return (first, first + window - 1, 1)

    return Func(reads, 1, f"windows {window} shift {shift}")


def _pair(ctx: Ctx, name: str) -> tuple[int, int]:
    value = ctx.per_axis(name, 2)
    return value[0], value[1]


def _window_attention(ctx: Ctx) -> Out:
    ctx.need_rank(3)
    h, w, c = ctx.shape
    ctx.check_inferred("dim", c)
    heads = ctx.get_int("num_heads")
    _check_heads(ctx, c, "dim", "num_heads")
    window, shift = _pair(ctx, "window_size"), _pair(ctx, "shift_size")
    for size, s, axis in zip(window, shift, "HW", strict=True):
        if size < 1 or not 0 <= s < size:
            raise ctx.fail(
                f"the shift {s} on axis {axis} must be at least 0 and less than the window {size}",
                "shift_size",
            )
    table = (2 * window[0] - 1) * (2 * window[1] - 1) * heads  # relative_position_bias_table
    params = (
        c * 3 * c
        + (3 * c if ctx.flag("qkv_bias") else 0)
        + c * c
        + (c if ctx.flag("proj_bias") else 0)
        + table
    )
    # torchvision pads H and W to multiples of the window; every padded token is computed
    tokens = -(-h // window[0]) * window[0] * (-(-w // window[1]) * window[1])
    area = window[0] * window[1]
    products = 2 * tokens * area * c  # QKᵀ and AV
    macs = tokens * c * 3 * c + products + tokens * c * c  # qkv, proj
    # ptflops on torchvision's shifted_window_attention: qkv and proj run through F.linear
    # (not patched), the products through Tensor.matmul and the softmax through F.softmax
    ptflops = products + heads * tokens * area
    rules: tuple[AxisRule, ...] = (
        _windows(h, window[0], shift[0]),
        _windows(w, window[1], shift[1]),
        GLOBAL_AXIS,
    )
    terms = Terms(attention_ptflops=ptflops - macs)
    return Out(ctx.shape, params=params, macs=macs, rf=PerDim((rules,)), terms=terms)


def _patch_merging_pad(ctx: Ctx) -> Out:
    ctx.need_min_rank(3)
    *rest, h, w, c = ctx.shape
    # padded to even sizes, then x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]
    # concatenated along the channels: each unit reads a 2×2 patch
    shape = (*rest, -(-h // 2), -(-w // 2), 4 * c)
    pair = Window(2, 2, 0)
    rules = (*(IDENTITY_AXIS,) * len(rest), pair, pair, IDENTITY_AXIS)
    return Out(shape, rf=PerDim((rules,)))


def _areas(n: int, width: int, area: int) -> Func:
    """Along the rows of an (H, W) map whose H·W positions are cut, row-major, into ``area``
    equal runs (Ultralytics' AAttn): a row reads the rows of the runs it meets; exact when a run
    is whole rows (H divisible by area), the hull of the runs' rows otherwise."""
    run = n * width // area

    def reads(y: int) -> tuple[int, int, int]:
        if not 0 <= y < n:
            return (y, y, 1)  # beyond the map (a later layer's padding): itself
        first = y * width // run * run // width
        last = ((y + 1) * width - 1) // run * run + run - 1
        return (first, last // width, 1)

    return Func(reads, 1, f"areas of {run} positions")


def _map_attention(ctx: Ctx) -> Out:
    ctx.need_rank(3)
    c, h, w = ctx.shape
    heads = ctx.get_int("num_heads")
    if c % heads:
        raise ctx.fail(f"the input's {c} channels are not divisible by num_heads {heads}")
    group = c // heads  # per head: q (key_dim), k (key_dim), v (the rest)
    key_dim = ctx.opt_int("key_dim")
    if key_dim is None:
        if group % 3:
            raise ctx.fail(
                f"each head's {group} channels do not split into equal q, k and v: give key_dim"
            )
        key_dim = group // 3
    head_dim = group - 2 * key_dim
    if head_dim < 1:
        raise ctx.fail(
            f"each head's {group} channels leave no value channels after q and k of "
            f"key_dim {key_dim}",
            "key_dim",
        )
    area = ctx.get_int("area")
    tokens = h * w
    if tokens % area:
        raise ctx.fail(
            f"the map's {h}×{w} = {tokens} positions do not split into {area} areas", "area"
        )
    shape = (heads * head_dim, h, w)
    if ctx.args["output"] == "v":  # the values, as the model passes them to its positional conv
        return Out(shape, rf=PerDim(((GLOBAL_AXIS, IDENTITY_AXIS, IDENTITY_AXIS),)))
    per_area = tokens // area
    # per area and head: the scores q·kᵀ (N² · key_dim) and the weighted sum of v (N² · head_dim)
    macs = area * heads * per_area * per_area * (key_dim + head_dim)
    rows: AxisRule = GLOBAL_AXIS if area == 1 else _areas(h, w, area)
    # ptflops: Ultralytics writes the products as `@` and the softmax as x.softmax, neither
    # of which it patches
    terms = Terms(attention_ptflops=-macs)
    return Out(shape, macs=macs, rf=PerDim(((GLOBAL_AXIS, rows, GLOBAL_AXIS),)), terms=terms)


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
            Arg(
                "need_weights",
                T.BOOL,
                True,
                "the forward argument: false (torchvision's ViT) runs "
                "scaled_dot_product_attention; changes fvcore's and ptflops' counts only",
            ),
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
        name="shiftedwindowattention",
        torch_name="ShiftedWindowAttention",
        family="attention",
        doc=(
            "Swin's window attention (torchvision.models.swin_transformer."
            "ShiftedWindowAttention) on a channels-last map (H, W, C): attention within "
            "windows of window_size, cyclically shifted by shift_size with torchvision's mask; "
            "each unit's field is its window (its part of one, at the edges of a shifted "
            "one). Parameters: qkv, proj and the relative position bias table "
            "(2·w−1)²·num_heads."
        ),
        args=(
            Arg("dim", T.INT, None, "C, checked against the input", 1, nullable=True),
            Arg("window_size", T.PER_AXIS, doc="[Wh, Ww] (or one int for both)", minimum=1),
            Arg("shift_size", T.PER_AXIS, doc="[Sh, Sw], each less than the window", minimum=0),
            Arg("num_heads", T.INT, minimum=1),
            Arg("qkv_bias", T.BOOL, True),
            Arg("proj_bias", T.BOOL, True),
            *ignored("attention_dropout", "dropout"),
        ),
        rule=_window_attention,
        channels_first=False,
    ),
    LayerKind(
        name="patchmergingpad",
        torch_name="_patch_merging_pad",
        family="attention",
        doc=(
            "Swin's patch merging gather (torchvision.models.swin_transformer."
            "_patch_merging_pad) on a channels-last map (…, H, W, C): pads H and W to even "
            "sizes and stacks each 2×2 patch into the channels, (⌈H/2⌉, ⌈W/2⌉, 4C)."
        ),
        args=(),
        rule=_patch_merging_pad,
        channels_first=False,
    ),
    LayerKind(
        name="mapattention",
        torch_name="Attention",
        family="attention",
        doc=(
            "Attention over the positions of a channels-first map (C, H, W) whose channels "
            "hold, per head, q (key_dim), k (key_dim) and v (the rest), as a 1×1 convolution "
            "computes them in Ultralytics' Attention (PSA, C2PSA) and AAttn (A2C2f). Output: "
            "the heads' values (heads·head_dim, H, W), or with output v the values themselves. "
            "Every position reads every position (a global field), or with area > 1 those of "
            "its area: the H·W positions cut row-major into area equal runs (stripes of rows)."
        ),
        args=(
            Arg("num_heads", T.INT, doc="heads; must divide the channels", minimum=1),
            Arg(
                "key_dim",
                T.INT,
                None,
                "q and k channels per head (default: a third)",
                1,
                nullable=True,
            ),
            Arg("area", T.INT, 1, "areas the positions are cut into (1: all)", 1),
            Arg(
                "output",
                T.CHOICE,
                "attention",
                "attention, or v: the values",
                choices=("attention", "v"),
            ),
        ),
        rule=_map_attention,
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
