"""Convolutions and transposed convolutions, 1-D to 3-D."""

from __future__ import annotations

from math import gcd

from rfcalc.layers.base import (
    Arg,
    Ctx,
    LayerKind,
    Out,
    T,
    Terms,
    check_size,
    ignored,
    prod,
    spatial_rule,
)
from rfcalc.layers.common import axis_name, resolve_padding, window_output
from rfcalc.rf import AxisRule, Func, Window, ratio


def _channels(ctx: Ctx) -> tuple[int, int, int]:
    cin, cout, groups = ctx.shape[0], ctx.get_int("out_channels"), ctx.get_int("groups")
    ctx.check_inferred("in_channels", cin)
    if cin % groups:
        raise ctx.fail(f"in_channels {cin} is not divisible by groups {groups}", "groups")
    if cout % groups:
        raise ctx.fail(f"out_channels {cout} is not divisible by groups {groups}", "groups")
    return cin, cout, groups


def _terms(ctx: Ctx, shape: tuple[int, ...], params: int) -> Terms:
    """A bias added to every output element; params × output positions (torchinfo's count,
    which for a transposed convolution is not its work)."""
    bias = prod(shape) if ctx.flag("bias") else 0
    return Terms(bias=bias, param_positions=params * prod(shape[1:]))


def _conv_rule(rank: int) -> LayerKind:
    def rule(ctx: Ctx) -> Out:
        ctx.need_rank(rank + 1)
        cin, cout, groups = _channels(ctx)
        sizes = ctx.shape[1:]
        k = ctx.per_axis("kernel_size", rank)
        s = ctx.per_axis("stride", rank)
        d = ctx.per_axis("dilation", rank)
        pads = resolve_padding(ctx, sizes, k, s, d)
        out = tuple(
            window_output(ctx, (rank, i), sizes[i], k[i], s[i], d[i], pads[i]) for i in range(rank)
        )
        shape = check_size(ctx, (cout, *out))
        weights = cout * (cin // groups) * prod(k)
        params = weights + (cout if ctx.flag("bias") else 0)
        macs = prod(shape) * (cin // groups) * prod(k)
        rules = tuple(
            Window(d[i] * (k[i] - 1) + 1, s[i], pads[i][0], d[i], pads[i][1]) for i in range(rank)
        )
        terms = _terms(ctx, shape, params)
        return Out(shape, params=params, macs=macs, rf=spatial_rule(rules), terms=terms)

    name = f"conv{rank}d"
    return LayerKind(
        name=name,
        torch_name=f"Conv{rank}d",
        family="convolution",
        doc=f"{rank}-D convolution (torch.nn.Conv{rank}d).",
        args=(
            Arg("in_channels", T.INT, None, "checked against the input", 1, nullable=True),
            Arg("out_channels", T.INT, doc="number of filters", minimum=1),
            Arg("kernel_size", T.PER_AXIS, doc="window size", minimum=1),
            Arg("stride", T.PER_AXIS, 1, minimum=1),
            Arg("padding", T.PADDING, 0, "zeros added on each side", minimum=0),
            Arg("dilation", T.PER_AXIS, 1, minimum=1),
            Arg("groups", T.INT, 1, minimum=1),
            Arg("bias", T.BOOL, True),
            *ignored("padding_mode", "device", "dtype"),
        ),
        rule=rule,
    )


def _transposed_reads(k: int, s: int, p: int, d: int) -> AxisRule:
    """Output x of a transposed conv reads input i when x = i·s − p + j·d for some j < k."""
    if s == 1:
        return Window(d * (k - 1) + 1, 1, d * (k - 1) - p, d)
    step = d // gcd(s, d)
    # which taps j land on an input unit depends only on r = (x + p) mod s: per residue, the
    # first and last such j (None: x reads nothing); input i = (x + p − j·d) / s
    taps: list[tuple[int, int] | None] = []
    for r in range(s):
        js = [j for j in range(k) if (r - j * d) % s == 0]
        taps.append((js[0], js[-1]) if js else None)

    def reads(x: int) -> tuple[int, int, int] | None:
        t = taps[(x + p) % s]
        if t is None:
            return None
        return ((x + p - t[1] * d) // s, (x + p - t[0] * d) // s, step)

    return Func(reads, ratio(1, s), f"transposed k={k} s={s} p={p} d={d}")


def _transposed_rule(rank: int) -> LayerKind:
    def rule(ctx: Ctx) -> Out:
        ctx.need_rank(rank + 1)
        cin, cout, groups = _channels(ctx)
        sizes = ctx.shape[1:]
        k = ctx.per_axis("kernel_size", rank)
        s = ctx.per_axis("stride", rank)
        d = ctx.per_axis("dilation", rank)
        p = ctx.per_axis("padding", rank)
        op = ctx.per_axis("output_padding", rank)
        out = []
        for i in range(rank):
            if op[i] >= s[i] and op[i] >= d[i]:
                raise ctx.fail(
                    f"output_padding {op[i]} must be smaller than either stride {s[i]} "
                    f"or dilation {d[i]}",
                    "output_padding",
                )
            n = (sizes[i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1
            if n < 1:
                raise ctx.fail(
                    f"output size on axis {axis_name(rank, i)} would be {n}: padding {p[i]} "
                    "is too large",
                    "padding",
                )
            out.append(n)
        shape = check_size(ctx, (cout, *out))
        params = cin * (cout // groups) * prod(k) + (cout if ctx.flag("bias") else 0)
        macs = prod(ctx.shape) * (cout // groups) * prod(k)
        rules = tuple(_transposed_reads(k[i], s[i], p[i], d[i]) for i in range(rank))
        terms = _terms(ctx, shape, params)
        return Out(shape, params=params, macs=macs, rf=spatial_rule(rules), terms=terms)

    return LayerKind(
        name=f"convtranspose{rank}d",
        torch_name=f"ConvTranspose{rank}d",
        family="transposed convolution",
        doc=f"{rank}-D transposed convolution (torch.nn.ConvTranspose{rank}d).",
        args=(
            Arg("in_channels", T.INT, None, "checked against the input", 1, nullable=True),
            Arg("out_channels", T.INT, minimum=1),
            Arg("kernel_size", T.PER_AXIS, minimum=1),
            Arg("stride", T.PER_AXIS, 1, minimum=1),
            Arg("padding", T.PER_AXIS, 0, "removed from each side of the output", 0),
            Arg("output_padding", T.PER_AXIS, 0, "added to one side of the output", 0),
            Arg("groups", T.INT, 1, minimum=1),
            Arg("bias", T.BOOL, True),
            Arg("dilation", T.PER_AXIS, 1, minimum=1),
            *ignored("padding_mode", "device", "dtype"),
        ),
        rule=rule,
    )


KINDS = tuple(_conv_rule(r) for r in (1, 2, 3)) + tuple(_transposed_rule(r) for r in (1, 2, 3))
