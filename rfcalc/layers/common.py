"""Helpers shared by several layer families: padding resolution and axis names."""

from __future__ import annotations

from rfcalc.layers.base import AXIS_NAMES, Ctx, axis_name

__all__ = ["AXIS_NAMES", "axis_name", "resolve_padding", "window_output"]


def resolve_padding(
    ctx: Ctx,
    sizes: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
) -> tuple[tuple[int, int], ...]:
    """``padding`` as (before, after) per axis: int, per-axis list, pairs, 'valid' or 'same'."""
    rank = len(sizes)
    value = ctx.args["padding"]
    if value == "valid":
        return ((0, 0),) * rank
    if value == "same":
        # TensorFlow's rule, equal to PyTorch's 'same' for stride 1 (docs/format.md#arguments).
        pads = []
        for n, k, s, d in zip(sizes, kernel, stride, dilation, strict=True):
            out = -(-n // s)
            total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    if isinstance(value, int):
        return ((value, value),) * rank
    assert isinstance(value, tuple)
    if len(value) != rank:
        raise ctx.fail(
            f"padding needs 1 or {rank} entries (one per spatial axis), got {len(value)}",
            "padding",
        )
    return tuple((v, v) if isinstance(v, int) else (int(v[0]), int(v[1])) for v in value)


def window_output(
    ctx: Ctx,
    axis: tuple[int, int],  # (rank, index), named only in an error
    n: int,
    k: int,
    s: int,
    d: int,
    pad: tuple[int, int],
    ceil_mode: bool = False,
) -> int:
    """PyTorch's output size for a sliding window (convolution and pooling)."""
    span = d * (k - 1) + 1
    padded = n + pad[0] + pad[1]
    if padded < span:
        what = "kernel" if d == 1 else f"dilated kernel ({k} with dilation {d})"
        raise ctx.fail(
            f"{what} spans {span} positions but the padded input has {padded} on axis "
            f"{axis_name(*axis)}",
            "kernel_size",
        )
    top = padded - span + (s - 1 if ceil_mode else 0)
    out = top // s + 1
    if ceil_mode and (out - 1) * s >= n + pad[0]:
        out -= 1  # a window may not start in the right padding
    return out
