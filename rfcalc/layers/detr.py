"""RT-DETR's layers (Ultralytics' ultralytics/nn/modules/transformer.py and head.py) that no
PyTorch module is: the 2-D sine-cosine position embedding of AIFI, multi-scale deformable
attention, Ultralytics' MLP and the decoder's query selection.

Shapes are sequences (L, E) without the batch, as in rfcalc/layers/attention.py. MACs follow
the torchvision convention: the linear layers' weights (bias not counted) and the matrix
products torch.utils.flop_counter counts (``mm``); the deformable attention's bilinear sampling
(``grid_sample``, which fvcore alone counts: ``Terms.grid_sample``) and weighted sum are not.
"""

from __future__ import annotations

from itertools import pairwise

from rfcalc.layers.base import (
    ALL_GLOBAL,
    Arg,
    Ctx,
    LayerKind,
    Out,
    Shape,
    T,
    Terms,
    Tokens,
    carried,
    check_size,
    fmt_shape,
    ignored,
    prod,
)


def _tokens(ctx: Ctx, i: int, what: str) -> Shape:
    shape = ctx.in_shapes[i]
    if len(shape) != 2:
        raise ctx.fail(
            f"needs its {what} as a sequence (L, E) of tokens (no batch), got shape "
            f"{fmt_shape(shape)}"
        )
    return shape


def _sincos(ctx: Ctx) -> Out:
    tokens, dim = _tokens(ctx, 0, "input")
    if dim % 4:
        raise ctx.fail(f"the embedding's {dim} features are not divisible by 4 (sin, cos of H, W)")
    # grid_h.flatten()[..., None] @ omega[None] and the same for grid_w: two outer products
    # (L, 1) @ (1, E/4), L · E/4 multiply-accumulates each
    return Out(ctx.shape, macs=2 * tokens * (dim // 4))


def _token_map(ctx: Ctx) -> Out:
    _, dim = _tokens(ctx, 0, "input")
    tag = ctx.layout[0]
    if not isinstance(tag, Tokens) or tag.lead or tag.trail:
        raise ctx.fail(
            "needs tokens that are a map's positions, flattened "
            "({type: flatten, start_dim: 2} and {type: permute, dims: [0, 2, 1]})"
        )
    return Out((dim, *tag.sizes), layout=(None, *tag.axes))


def _linear_stack(dims: list[int], tokens: int) -> tuple[int, int, int]:
    """(params, weight MACs, bias additions) of linear layers dims[0] → dims[1] → …"""
    pairs = list(pairwise(dims))
    params = sum(a * b + b for a, b in pairs)
    return params, tokens * sum(a * b for a, b in pairs), tokens * sum(b for _, b in pairs)


def _mlp(ctx: Ctx) -> Out:
    ctx.need_min_rank(1)
    fin = ctx.shape[-1]
    layers = ctx.get_int("num_layers")
    dims = [fin, *[ctx.get_int("hidden_dim")] * (layers - 1), ctx.get_int("output_dim")]
    shape = check_size(ctx, (*ctx.shape[:-1], dims[-1]))
    tokens = prod(ctx.shape[:-1])
    params, macs, bias = _linear_stack(dims, tokens)
    terms = Terms(bias=bias, leaf_params=params)
    if ctx.flag("shared"):
        params = 0  # a further call of a module whose weights its first call counts
    if carried(ctx.layout[-1]):
        return Out(shape, params=params, macs=macs, rf=ALL_GLOBAL, terms=terms)
    return Out(shape, params=params, macs=macs, terms=terms)


def _deformable(ctx: Ctx) -> Out:
    queries, d = _tokens(ctx, 0, "query")
    values, dv = _tokens(ctx, 1, "value")
    ctx.check_inferred("d_model", d)
    if dv != d:
        raise ctx.fail(f"the query has {d} features but the value has {dv}")
    heads = ctx.get_int("n_heads")
    if d % heads:
        raise ctx.fail(f"d_model {d} is not divisible by n_heads {heads}", "n_heads")
    levels, per_level = ctx.get_int("n_levels"), ctx.get_int("n_points")
    points = heads * levels * per_level
    # sampling_offsets (d → 2·points), attention_weights (d → points) and output_proj (d → d)
    # on the queries; value_proj (d → d) on the values
    on_queries = _linear_stack([d, 2 * points], queries)
    weights = _linear_stack([d, points], queries)
    output = _linear_stack([d, d], queries)
    value = _linear_stack([d, d], values)
    parts = (on_queries, weights, output, value)
    params = sum(p[0] for p in parts)
    return Out(
        (queries, d),
        params=params,
        macs=sum(p[1] for p in parts),
        rf=ALL_GLOBAL,
        # grid_sample interpolates, per query, level and point, each head's d / heads values
        terms=Terms(
            bias=sum(p[2] for p in parts),
            leaf_params=params,
            grid_sample=queries * d * levels * per_level,
        ),
    )


def _select(ctx: Ctx) -> Out:
    scores = _tokens(ctx, 0, "scores")
    features = _tokens(ctx, 1, "features")
    if scores[0] != features[0]:
        raise ctx.fail(
            f"the scores have {scores[0]} tokens but the features {features[0]} "
            f"(shapes {fmt_shape(scores)} and {fmt_shape(features)})"
        )
    k = min(ctx.get_int("k"), scores[0])
    return Out((k, features[1]), rf=ALL_GLOBAL, layout=(None, None))


KINDS = (
    LayerKind(
        name="sincosembedding2d",
        torch_name="AIFI.build_2d_sincos_position_embedding",
        family="attention",
        doc=(
            "The 2-D sine-cosine position embedding that Ultralytics' AIFI adds to its queries "
            "and keys: for tokens (H·W, E) of a map, sin and cos of each row and column index "
            "at E/4 frequencies, (H·W, E). No parameters; it depends on the positions only "
            "(its field is the token's own). MACs: the two outer products, H·W·E/4 each."
        ),
        args=ignored("temperature"),
        rule=_sincos,
        channels_first=False,
    ),
    LayerKind(
        name="tokenmap",
        torch_name="permute + view",
        family="reshaping",
        doc=(
            "Tokens (H·W, E) of a map's positions back to the map (E, H, W), as AIFI ends "
            "(x.permute(0, 2, 1).view(-1, c, h, w)): the positions are the token dim's, "
            "flattened before."
        ),
        args=(),
        rule=_token_map,
        channels_first=False,
    ),
    LayerKind(
        name="mlp",
        torch_name="MLP",
        family="dense",
        doc=(
            "Ultralytics' MLP (ultralytics.nn.modules.transformer.MLP): num_layers linear "
            "layers on the last dim, input → hidden_dim → … → output_dim, a ReLU between "
            "them. shared: a further call of the same module (RT-DETR's query_pos_head, run "
            "once per decoder layer): its parameters are counted at its first call, here 0."
        ),
        args=(
            Arg("hidden_dim", T.INT, minimum=1),
            Arg("output_dim", T.INT, minimum=1),
            Arg("num_layers", T.INT, minimum=1),
            Arg("shared", T.BOOL, False, "a further call of the same module: no parameters"),
            *ignored("act", "sigmoid", "residual", "out_norm"),
        ),
        rule=_mlp,
        channels_first=False,
    ),
    LayerKind(
        name="msdeformattn",
        torch_name="MSDeformAttn",
        family="attention",
        doc=(
            "Multi-scale deformable attention (Ultralytics' MSDeformAttn, Deformable-DETR): "
            "from: [query (Q, d_model), value (A, d_model), reference boxes]; each query "
            "samples n_points points per head and level at learned offsets from its "
            "reference box, data-dependent places anywhere in the maps: a global field. "
            "Parameters and MACs: sampling_offsets, attention_weights and output_proj on the "
            "queries, value_proj on the values; the sampling is not counted (fvcore's "
            "convention: 4 per value grid_sample interpolates)."
        ),
        args=(
            Arg("d_model", T.INT, None, "checked against the query's features", 1, nullable=True),
            Arg("n_levels", T.INT, 4, "feature levels", 1),
            Arg("n_heads", T.INT, 8, "heads; must divide d_model", 1),
            Arg("n_points", T.INT, 4, "sampling points per head and level", 1),
        ),
        rule=_deformable,
        min_inputs=2,
        max_inputs=3,
        channels_first=False,
    ),
    LayerKind(
        name="topkselect",
        torch_name="topk + gather",
        family="attention",
        doc=(
            "RT-DETR's query selection: from: [scores (A, C), features (A, E)], the k "
            "feature tokens whose best score is highest, (min(k, A), E). Which tokens are "
            "chosen depends on every score: a global field."
        ),
        args=(Arg("k", T.INT, doc="tokens kept", minimum=1),),
        rule=_select,
        min_inputs=2,
        max_inputs=2,
        channels_first=False,
    ),
)
