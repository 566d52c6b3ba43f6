"""Reordering: permute and transpose move dims (and their receptive fields) around;
channelshuffle reorders the channels.

Receptive fields are kept per input axis, and the layout (see ``base.Layout``) says which dim
carries each axis, so moving dims changes no field: a spatial axis keeps its field wherever it
moves, and permuting back restores the channels-first layout.
"""

from __future__ import annotations

from rfcalc.layers.base import Arg, Ctx, LayerKind, Out, T, fmt_shape


def _moved(ctx: Ctx, order: tuple[int, ...]) -> Out:
    """The input's dims (no batch) in ``order``; every field stays with its dim."""
    layout = ctx.layout
    return Out(tuple(ctx.shape[i] for i in order), layout=tuple(layout[i] for i in order))


def _permute(ctx: Ctx) -> Out:
    value = ctx.args["dims"]
    dims = (value,) if isinstance(value, int) else value
    assert isinstance(dims, tuple)
    batched = len(ctx.shape) + 1
    if len(dims) != batched:
        raise ctx.fail(
            f"dims has {len(dims)} entries but the input has {batched} dims with the batch "
            f"(shape {fmt_shape(ctx.shape)} and the batch dim 0)",
            "dims",
        )
    order: list[int] = []
    for d in dims:
        if not -batched <= d < batched:
            raise ctx.fail(
                f"dim {d} is out of range for a {batched}-dim batched input "
                f"(expected {-batched} … {batched - 1})",
                "dims",
            )
        order.append(d % batched)  # PyTorch: a negative dim counts from the end
    if len(set(order)) != batched:
        repeated = sorted({d for d in order if order.count(d) > 1})
        raise ctx.fail(
            f"dims must be a permutation of 0 … {batched - 1}, but dim {repeated[0]} repeats",
            "dims",
        )
    if order[0] != 0:
        raise ctx.fail(
            f"dims must keep the batch dim 0 first (rfcalc's shapes have no batch), got "
            f"{list(dims)}",
            "dims",
        )
    return _moved(ctx, tuple(d - 1 for d in order[1:]))


def _transpose(ctx: Ctx) -> Out:
    a, b = ctx.dim("dim0"), ctx.dim("dim1")
    order = list(range(len(ctx.shape)))
    order[a], order[b] = b, a
    return _moved(ctx, tuple(order))


def _channel_shuffle(ctx: Ctx) -> Out:
    ctx.need_min_rank(2)
    c, groups = ctx.shape[0], ctx.get_int("groups")
    if c % groups:
        raise ctx.fail(f"{c} channels are not divisible by groups {groups}", "groups")
    return Out(ctx.shape)


KINDS = (
    LayerKind(
        name="permute",
        torch_name="Permute",
        family="reordering",
        doc="Reorders the dims (torchvision.ops.Permute, Tensor.permute; dim 0 is the batch "
        "and stays first): [0, 2, 3, 1] makes (C, H, W) channels last.",
        args=(Arg("dims", T.INT_LIST, doc="a permutation of 0 … n−1, batch included"),),
        rule=_permute,
        channels_first=False,
    ),
    LayerKind(
        name="transpose",
        torch_name="transpose",
        family="reordering",
        doc="Swaps two dims (torch.transpose; dim 0 is the batch, which cannot move).",
        args=(Arg("dim0", T.INT), Arg("dim1", T.INT)),
        rule=_transpose,
        channels_first=False,
    ),
    LayerKind(
        name="channelshuffle",
        torch_name="ChannelShuffle",
        family="reordering",
        doc="Interleaves the channels of groups (torch.nn.ChannelShuffle, ShuffleNet).",
        args=(Arg("groups", T.INT, doc="the channels must divide into groups", minimum=1),),
        rule=_channel_shuffle,
    ),
)
