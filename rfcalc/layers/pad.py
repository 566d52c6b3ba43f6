"""Explicit padding layers; ``padding`` in PyTorch's order: last axis first."""

from __future__ import annotations

from rfcalc.layers.base import Arg, Ctx, LayerKind, Out, T, check_size, ignored, spatial_rule
from rfcalc.layers.common import axis_name
from rfcalc.rf import Window


def _pad_kind(prefix: str, torch_prefix: str, rank: int, doc: str) -> LayerKind:
    can_crop = prefix in ("zero", "constant")

    def rule(ctx: Ctx) -> Out:
        ctx.need_rank(rank + 1)
        value = ctx.args["padding"]
        flat = (value,) * (2 * rank) if isinstance(value, int) else value
        assert isinstance(flat, tuple)
        if len(flat) != 2 * rank:
            raise ctx.fail(
                f"padding needs 1 or {2 * rank} entries (before, after per axis, last axis "
                f"first), got {len(flat)}",
                "padding",
            )
        sizes = ctx.shape[1:]
        pads = [
            (int(flat[2 * (rank - 1 - i)]), int(flat[2 * (rank - 1 - i) + 1])) for i in range(rank)
        ]
        for i, (before, after) in enumerate(pads):
            if not can_crop and min(before, after) < 0:
                raise ctx.fail("padding must not be negative", "padding")
            cropped = sizes[i] + min(before, 0) + min(after, 0)
            if cropped < 0:
                # PyTorch crops (narrows) before it pads, so the crop alone must fit
                raise ctx.fail(
                    f"negative padding crops {-min(before, 0) - min(after, 0)} positions but "
                    f"axis {axis_name(rank, i)} has {sizes[i]}",
                    "padding",
                )
            if prefix == "reflection" and max(before, after) >= sizes[i]:
                raise ctx.fail(
                    f"reflection padding {max(before, after)} must be smaller than the input "
                    f"size {sizes[i]} on axis {axis_name(rank, i)}",
                    "padding",
                )
        out = tuple(n + b + a for n, (b, a) in zip(sizes, pads, strict=True))
        shape = check_size(ctx, (ctx.shape[0], *out))
        return Out(shape, rf=spatial_rule(tuple(Window(1, 1, b) for b, _ in pads)))

    extra = ignored("value") if prefix == "constant" else ()
    name = f"{torch_prefix}Pad{rank}d"
    return LayerKind(
        name=f"{prefix}pad{rank}d",
        torch_name=name,
        family="padding",
        doc=f"{doc} (torch.nn.{name}).",
        args=(
            Arg("padding", T.PAD_LIST, doc="int, or (before, after) per axis, last axis first"),
            *extra,
        ),
        rule=rule,
    )


KINDS = tuple(
    _pad_kind(prefix, torch, r, doc)
    for prefix, torch, doc in (
        ("zero", "Zero", "Pads with zeros; negative values crop"),
        ("constant", "Constant", "Pads with a constant; negative values crop"),
        ("reflection", "Reflection", "Pads with the reflection of the input"),
        ("replication", "Replication", "Pads by repeating the edge"),
    )
    for r in (1, 2, 3)
)
