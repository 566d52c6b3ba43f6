"""Normalisation layers (pointwise for receptive fields: inference mode, docs/numbers.md)."""

from __future__ import annotations

from rfcalc.layers.base import Arg, Ctx, LayerKind, Out, T, Terms, fmt_shape, ignored, prod


def norm_terms(elements: int, params: int, stats: bool = False, module: str = "affine") -> Terms:
    """A normalisation of ``elements`` (affine when it has params), with running statistics
    (batch norm in inference) or the input's own. ``module``, what ptflops sees: "affine" (a
    module with an ``affine`` flag: batch, instance, group norm), "layernorm" (nn.LayerNorm,
    whose flag is ``elementwise_affine``), "" (no module it knows: LayerNorm2d, a subclass)."""
    return Terms(
        leaf_params=params,
        norm_stats=elements if stats else 0,
        norm_live=0 if stats else elements,
        norm_affine=elements if params else 0,
        norm_module=elements if module else 0,
        norm_affine_flag=elements if module == "affine" and params else 0,
    )


def _batchnorm(rank: int) -> LayerKind:
    def rule(ctx: Ctx) -> Out:
        ctx.need_rank(*((1, 2) if rank == 1 else (rank + 1,)))
        c = ctx.shape[0]
        ctx.check_inferred("num_features", c)
        params = 2 * c if ctx.flag("affine") else 0
        buffers = 2 * c if ctx.flag("track_running_stats") else 0
        terms = norm_terms(prod(ctx.shape), params, stats=bool(buffers))
        return Out(ctx.shape, params=params, buffers=buffers, terms=terms)

    return LayerKind(
        name=f"batchnorm{rank}d",
        torch_name=f"BatchNorm{rank}d",
        family="normalisation",
        doc=f"Batch normalisation (torch.nn.BatchNorm{rank}d); buffers: running mean and var.",
        args=(
            Arg("num_features", T.INT, None, "checked against the input", 1, nullable=True),
            Arg("affine", T.BOOL, True, "learnable weight and bias"),
            Arg("track_running_stats", T.BOOL, True, "running mean and variance buffers"),
            *ignored("eps", "momentum", "device", "dtype"),
        ),
        rule=rule,
    )


def _instancenorm(rank: int) -> LayerKind:
    def rule(ctx: Ctx) -> Out:
        ctx.need_rank(rank + 1)
        c = ctx.shape[0]
        ctx.check_inferred("num_features", c)
        params = 2 * c if ctx.flag("affine") else 0
        buffers = 2 * c if ctx.flag("track_running_stats") else 0
        terms = norm_terms(prod(ctx.shape), params)  # PyTorch: the input's statistics
        return Out(ctx.shape, params=params, buffers=buffers, terms=terms)

    return LayerKind(
        name=f"instancenorm{rank}d",
        torch_name=f"InstanceNorm{rank}d",
        family="normalisation",
        doc=f"Instance normalisation (torch.nn.InstanceNorm{rank}d).",
        args=(
            Arg("num_features", T.INT, None, "checked against the input", 1, nullable=True),
            Arg("affine", T.BOOL, False),
            Arg("track_running_stats", T.BOOL, False),
            *ignored("eps", "momentum", "device", "dtype"),
        ),
        rule=rule,
    )


def _groupnorm(ctx: Ctx) -> Out:
    ctx.need_min_rank(1)
    c, groups = ctx.shape[0], ctx.get_int("num_groups")
    ctx.check_inferred("num_channels", c)
    if c % groups:
        raise ctx.fail(f"{c} channels are not divisible by num_groups {groups}", "num_groups")
    params = 2 * c if ctx.flag("affine") else 0
    return Out(ctx.shape, params=params, terms=norm_terms(prod(ctx.shape), params))


def _layernorm(ctx: Ctx) -> Out:
    value = ctx.args["normalized_shape"]
    normalized = (value,) if isinstance(value, int) else value
    assert isinstance(normalized, tuple)
    tail = (
        ctx.shape[len(ctx.shape) - len(normalized) :] if len(normalized) <= len(ctx.shape) else ()
    )
    if tuple(normalized) != tail:
        raise ctx.fail(
            f"normalized_shape {fmt_shape(tuple(normalized))} does not match the last dims of "
            f"the input {fmt_shape(ctx.shape)}",
            "normalized_shape",
        )
    n = prod(tuple(normalized))
    params = 0
    if ctx.flag("elementwise_affine"):
        params = n * (2 if ctx.flag("bias") else 1)
    terms = norm_terms(prod(ctx.shape), params, module="layernorm")
    return Out(ctx.shape, params=params, terms=terms)


def _layernorm2d(ctx: Ctx) -> Out:
    """torchvision's (and timm's) LayerNorm2d: nn.LayerNorm over the channels of each
    position, applied as permute → layer_norm → permute back."""
    ctx.need_rank(3)
    c = ctx.shape[0]
    value = ctx.args["normalized_shape"]
    if value is not None and value not in (c, (c,)):
        raise ctx.fail(
            f"normalized_shape {value} must be the {c} channels of the input "
            f"{fmt_shape(ctx.shape)}",
            "normalized_shape",
        )
    params = 0
    if ctx.flag("elementwise_affine"):
        params = c * (2 if ctx.flag("bias") else 1)
    return Out(ctx.shape, params=params, terms=norm_terms(prod(ctx.shape), params, module=""))


def _lrn(ctx: Ctx) -> Out:
    ctx.need_min_rank(2)
    # ptflops: F.local_response_norm's x.mul(x), .mul(alpha), .add(k) over the input, and
    # its avg_pool over the square padded by size − 1 channels
    n, c = prod(ctx.shape), ctx.shape[0]
    size = ctx.get_int("size")
    return Out(ctx.shape, terms=Terms(lrn=3 * n + (c + size - 1) * (n // c)))


KINDS = (
    *(_batchnorm(r) for r in (1, 2, 3)),
    *(_instancenorm(r) for r in (1, 2, 3)),
    LayerKind(
        name="groupnorm",
        torch_name="GroupNorm",
        family="normalisation",
        doc="Group normalisation (torch.nn.GroupNorm).",
        args=(
            Arg("num_groups", T.INT, minimum=1),
            Arg("num_channels", T.INT, None, "checked against the input", 1, nullable=True),
            Arg("affine", T.BOOL, True),
            *ignored("eps", "device", "dtype"),
        ),
        rule=_groupnorm,
    ),
    LayerKind(
        name="layernorm",
        torch_name="LayerNorm",
        family="normalisation",
        doc="Layer normalisation over the last dims (torch.nn.LayerNorm).",
        args=(
            Arg("normalized_shape", T.INT_LIST, doc="the trailing dims normalised", minimum=1),
            Arg("elementwise_affine", T.BOOL, True),
            Arg("bias", T.BOOL, True),
            *ignored("eps", "device", "dtype"),
        ),
        rule=_layernorm,
        channels_first=False,
    ),
    LayerKind(
        name="layernorm2d",
        torch_name="LayerNorm2d",
        family="normalisation",
        doc="Layer normalisation over the channels of each position of a (C, H, W) input "
        "(torchvision's and timm's LayerNorm2d, as in ConvNeXt).",
        args=(
            Arg(
                "normalized_shape",
                T.INT_LIST,
                None,
                "the channels (checked against the input)",
                1,
                nullable=True,
            ),
            Arg("elementwise_affine", T.BOOL, True),
            Arg("bias", T.BOOL, True),
            *ignored("eps", "device", "dtype"),
        ),
        rule=_layernorm2d,
    ),
    LayerKind(
        name="localresponsenorm",
        torch_name="LocalResponseNorm",
        family="normalisation",
        doc="Local response normalisation across channels (torch.nn.LocalResponseNorm).",
        args=(Arg("size", T.INT, minimum=1), *ignored("alpha", "beta", "k")),
        rule=_lrn,
    ),
)
