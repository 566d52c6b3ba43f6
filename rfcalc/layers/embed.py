"""Fixed embeddings and a map's scores against them: the class (text) embeddings of
open-vocabulary detectors (YOLO-World, YOLOE), which a text model computes outside the network,
and the per-position dot products of their contrastive heads."""

from __future__ import annotations

from rfcalc.layers.base import (
    ALL_GLOBAL,
    Arg,
    Ctx,
    LayerKind,
    Out,
    PerDim,
    T,
    check_size,
    fmt_shape,
    identity_axes,
    ignored,
    prod,
)


def _constant(ctx: Ctx) -> Out:
    value = ctx.args["shape"]
    assert isinstance(value, (int, tuple))
    shape = (value,) if isinstance(value, int) else tuple(int(v) for v in value)
    # computed outside the network: no parameters, and (as a parameter) no receptive field
    return Out(check_size(ctx, shape))


def _embedding_scores(ctx: Ctx) -> Out:
    """out[g·N + n, …] = Σ_c e[n, g·C/G + c] · x[g·C/G + c, …] for each group g of the
    channels: a 1×1 convolution whose weights are the N embeddings; with reduce max, the
    maximum over the N embeddings of each group, (G, …)."""
    (x, e) = ctx.in_shapes
    if len(x) < 2:
        raise ctx.fail(f"needs a channels-first map (C, …), got shape {fmt_shape(x)}")
    groups = ctx.get_int("groups")
    channels = x[0]
    if channels % groups:
        raise ctx.fail(f"the map's {channels} channels are not divisible by groups {groups}")
    if len(e) != 2 or e[1] != channels:
        raise ctx.fail(
            f"the embeddings must be (N, {channels}), one {channels}-vector per class (the "
            f"map's channels), got {fmt_shape(e)}"
        )
    n = e[0]
    spatial = x[1:]
    out = groups if ctx.args["reduce"] == "max" else groups * n
    shape = check_size(ctx, (out, *spatial))
    rf = PerDim((identity_axes(len(x)), identity_axes(len(e))))
    return Out(shape, macs=n * channels * prod(spatial), rf=rf, layout=ctx.layout)


def _cross_attention(ctx: Ctx) -> Out:
    """softmax(q_h k_hᵀ / √d) v_h per head h, concatenated: (N, E) of queries (N, E) over keys
    and values (M, E)."""
    q, k, v = ctx.in_shapes
    heads = ctx.get_int("num_heads")
    if len(q) != 2 or len(k) != 2 or k != v or q[1] != k[1]:
        raise ctx.fail(
            "needs queries (N, E), keys and values (M, E) of the same E, got "
            + ", ".join(fmt_shape(s) for s in ctx.in_shapes)
        )
    if q[1] % heads:
        raise ctx.fail(f"the {q[1]} channels are not divisible by num_heads {heads}")
    n, m, e = q[0], k[0], q[1]
    # the scores (N·M·E) and the weighted sum of the values (N·M·E); every query reads every key
    return Out(q, macs=2 * n * m * e, rf=ALL_GLOBAL, layout=(None, None))


KINDS = (
    LayerKind(
        name="constant",
        torch_name="Tensor",
        family="class embeddings",
        doc=(
            "A fixed tensor of the given shape, without the batch dim, computed outside the "
            "network (the class text embeddings of YOLO-World and YOLOE): no parameters; it "
            "reads no input."
        ),
        args=(
            Arg(
                "shape",
                T.INT_LIST,
                doc="sizes without the batch dim, e.g. [80, 512]",
                minimum=1,
            ),
            *ignored("data"),
        ),
        rule=_constant,
        min_inputs=0,
        max_inputs=0,
        channels_first=False,
    ),
    LayerKind(
        name="embeddingscores",
        torch_name="matmul",
        family="class embeddings",
        doc=(
            "Scores of each position of a map (C, …) against N embeddings (N, C), its second "
            "input: (N, …), the dot product of each embedding with each position's channels "
            "(w @ x.flatten(2) of YOLO-World's and YOLOE's contrastive heads; a 1×1 "
            "convolution whose weights are the embeddings). With groups G, each group of C/G "
            "channels against the same slice of the embeddings, (G·N, …); with reduce max, "
            "the largest score of each group, (G, …) (YOLO-World's max-sigmoid attention). "
            "No parameters; MACs N·C per position; position by position, so the map's field "
            "is kept."
        ),
        args=(
            Arg("groups", T.INT, 1, "heads: groups of the channels", minimum=1),
            Arg(
                "reduce",
                T.CHOICE,
                "none",
                "max: the largest score of each group",
                choices=("none", "max"),
            ),
        ),
        rule=_embedding_scores,
        min_inputs=2,
        max_inputs=2,
    ),
    LayerKind(
        name="crossattention",
        torch_name="scaled_dot_product_attention",
        family="class embeddings",
        doc=(
            "Attention of N queries (N, E) over M keys (M, E) and their values (M, E), its "
            "three inputs, per head, without projections (those are layers of their own, as "
            "in YOLO-World's ImagePoolingAttn, where the class text embeddings attend over "
            "pooled image patches): (N, E). No parameters; MACs 2·N·M·E (the scores and the "
            "weighted sum). Every query reads every key: the field becomes global."
        ),
        args=(Arg("num_heads", T.INT, 1, "heads: groups of E", minimum=1),),
        rule=_cross_attention,
        min_inputs=3,
        max_inputs=3,
        channels_first=False,
    ),
)
