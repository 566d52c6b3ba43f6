"""Linear layers and reshaping (flatten, unflatten, reshape)."""

from __future__ import annotations

from rfcalc.layers.base import (
    ALL_GLOBAL,
    POINTWISE,
    Arg,
    Ctx,
    LayerKind,
    Out,
    Shape,
    T,
    check_size,
    fmt_shape,
    identity_axes,
    ignored,
    prod,
    spatial_rule,
)
from rfcalc.rf import GLOBAL_AXIS


def _linear(ctx: Ctx) -> Out:
    ctx.need_min_rank(1)
    fin, fout = ctx.shape[-1], ctx.get_int("out_features")
    ctx.check_inferred("in_features", fin)
    shape = check_size(ctx, (*ctx.shape[:-1], fout))
    params = fin * fout + (fout if ctx.flag("bias") else 0)
    macs = prod(shape) * fin
    # Acting on the last dim, a linear layer mixes every position along it.
    spatial = len(shape) - 1
    rf = spatial_rule((*identity_axes(spatial - 1), GLOBAL_AXIS)) if spatial else POINTWISE
    return Out(shape, params=params, macs=macs, rf=rf)


def _batched_dim(ctx: Ctx, name: str, value: int, rank: int) -> int:
    """A PyTorch dim (batch = 0, negatives from the end) as an index into the unbatched shape."""
    batched = rank + 1
    d = value + batched if value < 0 else value
    if not 0 <= d < batched:
        raise ctx.fail(f"{name} {value} is out of range for a {batched}-dim batched input", name)
    if d == 0:
        raise ctx.fail(f"{name} 0 is the batch dim, which rfcalc's shapes do not include", name)
    return d - 1


def _reshaped(ctx: Ctx, shape: Shape) -> Out:
    shape = check_size(ctx, shape)
    rf = POINTWISE if shape == ctx.shape else ALL_GLOBAL
    return Out(shape, rf=rf)


def _flatten(ctx: Ctx) -> Out:
    rank = len(ctx.shape)
    start = _batched_dim(ctx, "start_dim", ctx.get_int("start_dim"), rank)
    end = _batched_dim(ctx, "end_dim", ctx.get_int("end_dim"), rank)
    if start > end:
        raise ctx.fail(f"start_dim comes after end_dim in a {rank + 1}-dim batched input")
    s = ctx.shape
    return _reshaped(ctx, (*s[:start], prod(s[start : end + 1]), *s[end + 1 :]))


def _fill(ctx: Ctx, name: str, sizes: tuple[int, ...], total: int) -> Shape:
    """Resolve one -1 in a target size so that the element count is ``total``."""
    if any(v == 0 or v < -1 for v in sizes) or sizes.count(-1) > 1:
        raise ctx.fail(f"{name} entries must be positive, with at most one -1", name)
    known = prod(tuple(v for v in sizes if v != -1))
    if -1 in sizes:
        if total % known:
            raise ctx.fail(f"{name} {fmt_shape(sizes)} cannot hold {total} elements", name)
        sizes = tuple(total // known if v == -1 else v for v in sizes)
    if prod(sizes) != total:
        raise ctx.fail(
            f"{name} {fmt_shape(sizes)} has {prod(sizes)} elements but the input has {total}", name
        )
    return sizes


def _unflatten(ctx: Ctx) -> Out:
    d = _batched_dim(ctx, "dim", ctx.get_int("dim"), len(ctx.shape))
    value = ctx.args["unflattened_size"]
    sizes = (value,) if isinstance(value, int) else value
    assert isinstance(sizes, tuple)
    new = _fill(ctx, "unflattened_size", sizes, ctx.shape[d])
    return _reshaped(ctx, (*ctx.shape[:d], *new, *ctx.shape[d + 1 :]))


def _reshape(ctx: Ctx) -> Out:
    value = ctx.args["shape"]
    sizes = (value,) if isinstance(value, int) else value
    assert isinstance(sizes, tuple)
    return _reshaped(ctx, _fill(ctx, "shape", sizes, prod(ctx.shape)))


KINDS = (
    LayerKind(
        name="linear",
        torch_name="Linear",
        family="dense",
        doc="Fully connected layer acting on the last dim (torch.nn.Linear).",
        args=(
            Arg("in_features", T.INT, None, "checked against the input", 1, nullable=True),
            Arg("out_features", T.INT, minimum=1),
            Arg("bias", T.BOOL, True),
            *ignored("device", "dtype"),
        ),
        rule=_linear,
    ),
    LayerKind(
        name="flatten",
        torch_name="Flatten",
        family="reshaping",
        doc="Flattens dims start_dim…end_dim into one (torch.nn.Flatten; dim 0 is the batch).",
        args=(Arg("start_dim", T.INT, 1), Arg("end_dim", T.INT, -1)),
        rule=_flatten,
    ),
    LayerKind(
        name="unflatten",
        torch_name="Unflatten",
        family="reshaping",
        doc="Splits dim into unflattened_size (torch.nn.Unflatten; dim 0 is the batch).",
        args=(Arg("dim", T.INT), Arg("unflattened_size", T.INT_LIST, doc="may hold one -1")),
        rule=_unflatten,
    ),
    LayerKind(
        name="reshape",
        torch_name="Reshape",
        family="reshaping",
        doc="Reshapes to shape, without the batch dim (Tensor.reshape; one entry may be -1).",
        args=(Arg("shape", T.INT_LIST, doc="target shape without the batch dim"),),
        rule=_reshape,
    ),
)
