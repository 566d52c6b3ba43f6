"""Linear layers and reshaping (flatten, unflatten, reshape)."""

from __future__ import annotations

from rfcalc.layers.base import (
    Arg,
    Ctx,
    DimTag,
    LayerKind,
    Layout,
    Out,
    Shape,
    T,
    Terms,
    Tokens,
    carried,
    check_size,
    fmt_shape,
    ignored,
    on_dim,
    prod,
)
from rfcalc.rf import GLOBAL_AXIS


def _linear(ctx: Ctx) -> Out:
    ctx.need_min_rank(1)
    fin, fout = ctx.shape[-1], ctx.get_int("out_features")
    ctx.check_inferred("in_features", fin)
    shape = check_size(ctx, (*ctx.shape[:-1], fout))
    params = fin * fout + (fout if ctx.flag("bias") else 0)
    macs = prod(shape) * fin
    terms = Terms(bias=prod(shape) if ctx.flag("bias") else 0, leaf_params=params)
    # Acting on the last dim: pointwise when that is the channels (channels last, as in
    # ConvNeXt's MLP); along a spatial axis it mixes every position, and the new dim is derived.
    last = len(shape) - 1
    if not carried(ctx.layout[last]):
        return Out(shape, params=params, macs=macs, terms=terms)
    layout = (*ctx.layout[:-1], None)
    rf = on_dim(ctx, last, GLOBAL_AXIS)
    return Out(shape, params=params, macs=macs, rf=rf, layout=layout, terms=terms)


def reshape_layout(ctx: Ctx, shape: Shape) -> Layout:
    """What each dim of ``shape`` is when the input is reshaped to it (row-major, PyTorch).

    Leading dims that keep their sizes keep their meaning, and so do trailing ones; in
    between, a single dim larger than 1 on both sides keeps its meaning (size-1 dims come and
    go freely). Spatial axes flattened together make a token dim (:class:`Tokens`), and a token
    dim split back into its axes' sizes gives the axes back; any other dim is derived — an
    axis merged with the channels or split apart becomes global."""
    old, layout = ctx.shape, ctx.layout
    n = min(len(old), len(shape))
    p = 0
    while p < n and old[p] == shape[p]:
        p += 1
    q = 0
    while q < n - p and old[-1 - q] == shape[-1 - q]:
        q += 1
    mid_old = [i for i in range(p, len(old) - q) if old[i] != 1]
    mid_new = [i for i in range(p, len(shape) - q) if shape[i] != 1]
    middle: list[DimTag] = [None] * (len(shape) - q - p)
    groups = _regroup(
        [layout[i] for i in mid_old], [old[i] for i in mid_old], [shape[i] for i in mid_new]
    )
    if groups is not None:
        for i, group in zip(mid_new, groups, strict=True):
            axes, sizes = zip(*group, strict=True)
            middle[i - p] = axes[0] if len(group) == 1 else Tokens(axes, sizes)
    elif len(mid_old) == 1 and len(mid_new) == 1:
        middle[mid_new[0] - p] = layout[mid_old[0]]
    return (*layout[:p], *middle, *layout[len(old) - q :])


def _regroup(
    tags: list[DimTag], old: list[int], new: list[int]
) -> list[list[tuple[int, int]]] | None:
    """The spatial axes (axis, size) of dims ``tags`` (of sizes ``old``), in row-major order,
    grouped into consecutive runs whose sizes multiply to each of ``new``; None when a dim is
    not all spatial axes (the channels, a derived dim, extra tokens) or the sizes cut an axis."""
    atoms: list[tuple[int, int]] = []
    for tag, n in zip(tags, old, strict=True):
        if isinstance(tag, int):
            atoms.append((tag, n))
        elif isinstance(tag, Tokens) and tag.lead == tag.trail == 0:
            atoms.extend((a, m) for a, m in zip(tag.axes, tag.sizes, strict=True) if m != 1)
        else:
            return None
    groups: list[list[tuple[int, int]]] = []
    rest = iter(atoms)
    for n in new:
        group: list[tuple[int, int]] = []
        size = 1
        while size < n:
            atom = next(rest, None)
            if atom is None:
                return None
            group.append(atom)
            size *= atom[1]
        if size != n:
            return None
        groups.append(group)
    return groups if next(rest, None) is None else None


def _reshaped(ctx: Ctx, shape: Shape) -> Out:
    shape = check_size(ctx, shape)
    if shape == ctx.shape:
        return Out(shape)
    return Out(shape, layout=reshape_layout(ctx, shape))


def _flatten(ctx: Ctx) -> Out:
    rank = len(ctx.shape)
    start = ctx.dim("start_dim")
    end = ctx.dim("end_dim")
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
    d = ctx.dim("dim")
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
        channels_first=False,
    ),
    LayerKind(
        name="flatten",
        torch_name="Flatten",
        family="reshaping",
        doc="Flattens dims start_dim…end_dim into one (torch.nn.Flatten; dim 0 is the batch).",
        args=(Arg("start_dim", T.INT, 1), Arg("end_dim", T.INT, -1)),
        rule=_flatten,
        channels_first=False,
    ),
    LayerKind(
        name="unflatten",
        torch_name="Unflatten",
        family="reshaping",
        doc="Splits dim into unflattened_size (torch.nn.Unflatten; dim 0 is the batch).",
        args=(Arg("dim", T.INT), Arg("unflattened_size", T.INT_LIST, doc="may hold one -1")),
        rule=_unflatten,
        channels_first=False,
    ),
    LayerKind(
        name="reshape",
        torch_name="Reshape",
        family="reshaping",
        doc="Reshapes to shape, without the batch dim (Tensor.reshape; one entry may be -1).",
        args=(Arg("shape", T.INT_LIST, doc="target shape without the batch dim"),),
        rule=_reshape,
        channels_first=False,
    ),
)
