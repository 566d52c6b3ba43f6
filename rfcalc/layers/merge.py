"""Merges of several inputs: element-wise add and mul (broadcasting) and concat."""

from __future__ import annotations

from rfcalc.layers.base import Arg, Ctx, LayerKind, Out, PerDim, Shape, T, Tokens, fmt_shape
from rfcalc.rf import IDENTITY_AXIS, AxisRule, Func

MAX_MERGE_INPUTS = 1024


def _need_same_rank(ctx: Ctx) -> int:
    ranks = {len(s) for s in ctx.in_shapes}
    if len(ranks) != 1:
        shapes = ", ".join(fmt_shape(s) for s in ctx.in_shapes)
        raise ctx.fail(f"inputs have different ranks: {shapes}")
    return ranks.pop()


def _first_unit(x: int) -> tuple[int, int, int]:
    return (0, 0, 1)


_BROADCAST = Func(_first_unit, 0, "broadcast")


def _elementwise(ctx: Ctx) -> Out:
    rank = _need_same_rank(ctx)
    out: list[int] = []
    for axis in range(rank):
        sizes = {s[axis] for s in ctx.in_shapes}
        big = max(sizes)
        if sizes - {1, big}:
            shapes = ", ".join(fmt_shape(s) for s in ctx.in_shapes)
            raise ctx.fail(f"shapes {shapes} do not broadcast (dim {axis + 1})")
        out.append(big)
    rules = tuple(
        tuple(
            _BROADCAST if s[axis] == 1 and out[axis] > 1 else IDENTITY_AXIS for axis in range(rank)
        )
        for s in ctx.in_shapes
    )
    return Out(tuple(out), rf=PerDim(rules))


def _concat(ctx: Ctx) -> Out:
    rank = _need_same_rank(ctx)
    d = ctx.dim("dim")
    first = ctx.in_shapes[0]
    for s in ctx.in_shapes[1:]:
        if any(a != b for i, (a, b) in enumerate(zip(first, s, strict=True)) if i != d):
            shapes = ", ".join(fmt_shape(x) for x in ctx.in_shapes)
            raise ctx.fail(f"shapes {shapes} differ outside the concat dim {d + 1}")
    total = sum(s[d] for s in ctx.in_shapes)
    shape: Shape = (*first[:d], total, *first[d + 1 :])
    identity = PerDim(tuple((IDENTITY_AXIS,) * rank for _ in ctx.in_shapes))
    if all(isinstance(lay[d], str) or lay[d] is None for lay in ctx.in_layouts):
        # along the channels (or a derived dim): every unit reads the same unit of each input
        return Out(shape, rf=identity)
    tags = [lay[d] for lay in ctx.in_layouts]
    tokens = [i for i, t in enumerate(tags) if isinstance(t, Tokens)]
    if len(tokens) == 1 and sum(t is None for t in tags) == len(tags) - 1:
        # extra tokens (a class token) before or after the image's tokens: each image token
        # keeps its field; the others add theirs to every unit, as any merge
        i = tokens[0]
        tag = tags[i]
        assert isinstance(tag, Tokens)
        before = sum(s[d] for s in ctx.in_shapes[:i])
        after = sum(s[d] for s in ctx.in_shapes[i + 1 :])
        extra = tag._replace(lead=tag.lead + before, trail=tag.trail + after)
        layout = tuple(extra if j == d else t for j, t in enumerate(ctx.in_layouts[i]))
        return Out(shape, rf=identity, layout=layout)
    rules: list[tuple[AxisRule, ...]] = []
    offset = 0
    count = len(ctx.in_shapes)
    for j, s in enumerate(ctx.in_shapes):
        lo, hi = offset, offset + s[d]
        first_input, last_input = j == 0, j == count - 1

        def reads(
            x: int, lo: int = lo, hi: int = hi, a: bool = first_input, b: bool = last_input
        ) -> tuple[int, int, int] | None:
            # units before 0 extend the first input, units past the end the last one
            if (lo <= x < hi) or (a and x < lo) or (b and x >= hi):
                return (x - lo, x - lo, 1)
            return None

        axes: list[AxisRule] = [IDENTITY_AXIS] * rank
        axes[d] = Func(reads, 1, f"concat part {j}")
        rules.append(tuple(axes))
        offset = hi
    if len({t for t in tags if isinstance(t, Tokens)}) > 1:
        # tokens of different maps side by side (a detection head's levels, each flattened):
        # the dim no longer says which token is which; it is derived, and its axes global
        layout = tuple(None if j == d else t for j, t in enumerate(ctx.in_layouts[0]))
        return Out(shape, rf=PerDim(tuple(rules)), layout=layout)
    return Out(shape, rf=PerDim(tuple(rules)))


KINDS = (
    LayerKind(
        name="add",
        torch_name="add",
        family="merge",
        doc="Element-wise sum of the inputs, broadcasting as torch.add.",
        args=(),
        rule=_elementwise,
        min_inputs=2,
        max_inputs=MAX_MERGE_INPUTS,
        channels_first=False,
    ),
    LayerKind(
        name="mul",
        torch_name="mul",
        family="merge",
        doc="Element-wise product of the inputs, broadcasting as torch.mul.",
        args=(),
        rule=_elementwise,
        min_inputs=2,
        max_inputs=MAX_MERGE_INPUTS,
        channels_first=False,
    ),
    LayerKind(
        name="concat",
        torch_name="cat",
        family="merge",
        doc="Concatenation along dim (torch.cat; dim 1 is the channels).",
        args=(Arg("dim", T.INT, 1, "dim 0 is the batch"),),
        rule=_concat,
        min_inputs=2,
        max_inputs=MAX_MERGE_INPUTS,
        channels_first=False,
        aliases=("cat",),
    ),
)
