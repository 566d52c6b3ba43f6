"""Slicing: one piece of a tensor along a dim — chunk, split (as ShuffleNetV2, GhostNet and
YOLO's C2f/CSP blocks use them) and narrow.

PyTorch's chunk and split return every piece; a layer here selects one by ``index`` (Python's
rule: −1 is the last), and a second layer with ``from`` takes another. Along the channels (or
any dim that carries no spatial axis) a piece is pointwise; along a spatial axis it is a crop:
unit x reads input x + start, a uniform field (a window of 1 with padding −start), exactly as
negative zero padding.
"""

from __future__ import annotations

from rfcalc.layers.base import (
    POINTWISE,
    Arg,
    Ctx,
    LayerKind,
    Out,
    T,
    Tokens,
    check_size,
    on_dim,
)
from rfcalc.rf import Window


def _piece(ctx: Ctx, d: int, start: int, length: int) -> Out:
    """Positions start … start + length − 1 of dim ``d`` (no batch)."""
    shape = check_size(ctx, (*ctx.shape[:d], length, *ctx.shape[d + 1 :]))
    tag = ctx.layout[d]
    if isinstance(tag, Tokens) and start <= tag.lead and tag.length - tag.trail <= start + length:
        # the image's tokens all kept (a class token cut off): each keeps its field
        kept = tag._replace(lead=tag.lead - start, trail=start + length - tag.length + tag.trail)
        return Out(shape, layout=tuple(kept if j == d else t for j, t in enumerate(ctx.layout)))
    rf = on_dim(ctx, d, Window(1, 1, -start)) if start else POINTWISE
    return Out(shape, rf=rf)


def _select(ctx: Ctx, d: int, sizes: list[int], what: str) -> Out:
    """Piece ``index`` of dim ``d`` cut into ``sizes`` (Python's negative indices)."""
    index = ctx.get_int("index")
    count = len(sizes)
    if not -count <= index < count:
        pieces = "1 piece" if count == 1 else f"{count} pieces"
        raise ctx.fail(
            f"index {index} is out of range: {what} gives {pieces} (index {-count} … {count - 1})",
            "index",
        )
    i = index % count
    return _piece(ctx, d, sum(sizes[:i]), sizes[i])


def _chunk(ctx: Ctx) -> Out:
    d = ctx.dim("dim")
    size, chunks = ctx.shape[d], ctx.get_int("chunks")
    # torch.chunk: pieces of ceil(size / chunks), the last one smaller, and only as many as
    # that takes (6 in 4 chunks gives 3 pieces of 2)
    step = -(-size // chunks)
    sizes = [min(step, size - s) for s in range(0, size, step)]
    return _select(ctx, d, sizes, f"chunk of dim {d + 1} (size {size}) into {chunks}")


def _split(ctx: Ctx) -> Out:
    d = ctx.dim("dim")
    size = ctx.shape[d]
    value = ctx.args["split_size_or_sections"]
    if isinstance(value, int):
        if value < 1:
            raise ctx.fail(
                f"split_size_or_sections must be ≥ 1 for dim {d + 1} of size {size}, got {value}",
                "split_size_or_sections",
            )
        sizes = [min(value, size - s) for s in range(0, size, value)]
        what = f"split of dim {d + 1} (size {size}) in pieces of {value}"
    else:
        assert isinstance(value, tuple)
        sizes = [int(v) for v in value]
        if sum(sizes) != size:
            raise ctx.fail(
                f"split_size_or_sections {sizes} sums to {sum(sizes)}, but dim {d + 1} has "
                f"size {size} (torch.split needs them to sum exactly to it)",
                "split_size_or_sections",
            )
        what = f"split of dim {d + 1} into {sizes}"
    return _select(ctx, d, sizes, what)


def _narrow(ctx: Ctx) -> Out:
    d = ctx.dim("dim")
    size, start, length = ctx.shape[d], ctx.get_int("start"), ctx.get_int("length")
    if not -size <= start <= size:
        raise ctx.fail(
            f"start {start} is out of range for dim {d + 1} of size {size} "
            f"(expected {-size} … {size})",
            "start",
        )
    begin = start + size if start < 0 else start
    if begin + length > size:
        raise ctx.fail(
            f"start {begin} + length {length} exceeds the size {size} of dim {d + 1}", "length"
        )
    return _piece(ctx, d, begin, length)


_DIM = Arg("dim", T.INT, 1, "dim 0 is the batch; 1, the channels, by default (as concat)")
_INDEX = Arg("index", T.INT, doc="which piece this layer gives (−1: the last)")

KINDS = (
    LayerKind(
        name="chunk",
        torch_name="chunk",
        family="slicing",
        doc="Piece index of torch.chunk(input, chunks, dim): pieces of ceil(size / chunks), "
        "the last one smaller.",
        args=(Arg("chunks", T.INT, doc="how many pieces (at most)", minimum=1), _DIM, _INDEX),
        rule=_chunk,
        channels_first=False,
    ),
    LayerKind(
        name="split",
        torch_name="split",
        family="slicing",
        doc="Piece index of torch.split(input, split_size_or_sections, dim).",
        args=(
            Arg(
                "split_size_or_sections",
                T.INT_LIST,
                doc="size of each piece (the last one smaller), or every piece's size",
                minimum=0,
            ),
            _DIM,
            _INDEX,
        ),
        rule=_split,
        channels_first=False,
    ),
    LayerKind(
        name="narrow",
        torch_name="narrow",
        family="slicing",
        doc="Positions start … start + length − 1 of dim (torch.narrow; on a spatial dim, a crop).",
        args=(
            Arg("dim", T.INT, doc="dim 0 is the batch"),
            Arg("start", T.INT, doc="negative: from the end"),
            Arg("length", T.INT, minimum=1),
        ),
        rule=_narrow,
        channels_first=False,
    ),
)
