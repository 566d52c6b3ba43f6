"""Resampling: Upsample (nearest, linear family, bicubic), PixelShuffle and PixelUnshuffle."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rfcalc.layers.base import (
    MODULE_ARG_DOC,
    Arg,
    Ctx,
    LayerKind,
    Out,
    T,
    Terms,
    as_written,
    check_size,
    ignored,
    prod,
    spatial_rule,
)
from rfcalc.rf import AxisRule, Func, Window, ratio

if TYPE_CHECKING:
    from fractions import Fraction

_MODE_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear")


def _scale(value: object) -> Fraction:
    from fractions import Fraction  # a scale_factor is the one Fraction a model writes

    return Fraction(str(value))  # the decimal the user wrote, exactly


def _upsample_axis(mode: str, n: int, out: int, factor: Fraction | None, align: bool) -> AxisRule:
    """Which input units output unit x reads, as PyTorch's interpolation kernels compute it.

    The source coordinate is a fraction ``num / den`` with integer ``num`` and ``den > 0``
    (exact, and per unit integer arithmetic only: no Fraction objects in the per-unit loop).
    """
    # PyTorch's scale: 1/scale_factor when given, else in/out; align_corners: (in-1)/(out-1)
    if align and mode not in ("nearest", "nearest-exact"):
        scale = ratio(n - 1, out - 1) if out > 1 else 0
    else:
        scale = 1 / factor if factor is not None else ratio(n, out)
    jump = ratio(n, out) if factor is None else 1 / factor
    p, q = scale.numerator, scale.denominator

    def inside(x: int) -> bool:
        return 0 <= x < out

    if mode in ("nearest", "nearest-exact"):
        exact = mode == "nearest-exact"

        def nearest(x: int) -> tuple[int, int, int]:
            # floor(x·scale), or floor((x + 1/2)·scale) = floor((2x + 1)·p / 2q) for -exact
            i = (2 * x + 1) * p // (2 * q) if exact else x * p // q
            if inside(x):
                i = min(i, n - 1)
            return (i, i, 1)

        return Func(nearest, jump, f"{mode} {n}->{out}")

    cubic = mode == "bicubic"

    def interpolate(x: int) -> tuple[int, int, int]:
        # src = x·scale (align_corners) or (x + 1/2)·scale − 1/2 = ((2x + 1)·p − q) / 2q
        num, den = (x * p, q) if align else ((2 * x + 1) * p - q, 2 * q)
        if inside(x) and not cubic and num < 0:
            num = 0
        i0, rem = divmod(num, den)
        lo, hi = (i0, i0 + 1) if not cubic else (i0 - 1, i0 + 2)
        if rem == 0:  # the other taps have weight exactly 0
            lo = hi = i0
        if inside(x):
            lo, hi = max(min(lo, n - 1), 0), max(min(hi, n - 1), 0)
        return (lo, hi, 1)

    return Func(interpolate, jump, f"{mode} {n}->{out}")


def _upsample(ctx: Ctx) -> Out:
    mode = str(ctx.args["mode"])
    if mode in _MODE_RANK:
        ctx.need_rank(_MODE_RANK[mode] + 1)
    else:
        ctx.need_rank(2, 3, 4)
    rank = len(ctx.shape) - 1
    sizes = ctx.shape[1:]
    size, factor_arg = ctx.args["size"], ctx.args["scale_factor"]
    if (size is None) == (factor_arg is None):
        raise ctx.fail("give exactly one of size and scale_factor")
    align = ctx.args["align_corners"]
    if align is not None and mode not in _MODE_RANK:
        raise ctx.fail("align_corners applies only to linear, bilinear, bicubic and trilinear")
    factors: tuple[Fraction | None, ...]
    if size is not None:
        out = ctx.per_axis("size", rank)
        factors = (None,) * rank
    else:
        raw = factor_arg if isinstance(factor_arg, tuple) else (factor_arg,) * rank
        if len(raw) != rank:
            raise ctx.fail(
                f"scale_factor needs 1 or {rank} entries (one per spatial axis), got {len(raw)}",
                "scale_factor",
            )
        factors = tuple(_scale(f) for f in raw)
        # PyTorch: floor(float(n) * scale_factor), in double precision
        out = tuple(math.floor(float(n) * float(str(f))) for n, f in zip(sizes, raw, strict=True))
    shape = check_size(ctx, (ctx.shape[0], *out))
    rules = tuple(
        _upsample_axis(mode, sizes[i], out[i], factors[i], bool(align)) for i in range(rank)
    )
    terms = as_written(_upsample_terms(mode, rank, prod(shape)), ctx.flag("module"))
    return Out(shape, rf=spatial_rule(rules), terms=terms)


def _upsample_terms(mode: str, rank: int, elements: int) -> Terms:
    """The output elements, under the name of the mode that computes them."""
    every = {"upsample_outputs": elements, "upsample_hooked": elements}
    if mode == "nearest":
        return Terms(upsample_nearest2d=elements if rank == 2 else 0, **every)
    if mode == "bilinear":
        return Terms(upsample_bilinear=elements, upsample_bilinear2d=elements, **every)
    field = f"upsample_{mode}"
    by_mode = {field: elements} if field in Terms._fields else {}
    return Terms(**by_mode, **every)


def _pixel_shuffle(ctx: Ctx) -> Out:
    ctx.need_rank(3)
    r = ctx.get_int("upscale_factor")
    c, h, w = ctx.shape
    if c % (r * r):
        raise ctx.fail(f"{c} channels are not divisible by upscale_factor² = {r * r}")
    shape = check_size(ctx, (c // (r * r), h * r, w * r))

    def reads(x: int) -> tuple[int, int, int]:
        return (x // r, x // r, 1)

    axis = Func(reads, ratio(1, r), f"pixel shuffle {r}")
    return Out(shape, rf=spatial_rule((axis, axis)))


def _pixel_unshuffle(ctx: Ctx) -> Out:
    ctx.need_rank(3)
    r = ctx.get_int("downscale_factor")
    c, h, w = ctx.shape
    if h % r or w % r:
        raise ctx.fail(f"height {h} and width {w} must be divisible by downscale_factor {r}")
    shape = (c * r * r, h // r, w // r)
    return Out(shape, rf=spatial_rule((Window(r, r, 0), Window(r, r, 0))))


KINDS = (
    LayerKind(
        name="upsample",
        torch_name="Upsample",
        family="resampling",
        doc="Resize by size or scale_factor (torch.nn.Upsample).",
        args=(
            Arg("size", T.PER_AXIS, None, "output size", 1, nullable=True),
            Arg("scale_factor", T.SCALE, None, "multiplier of the size", nullable=True),
            Arg("mode", T.CHOICE, "nearest", choices=MODES),
            Arg("align_corners", T.BOOL, None, "linear modes only", nullable=True),
            Arg("module", T.BOOL, True, MODULE_ARG_DOC),
            *ignored("recompute_scale_factor"),
        ),
        rule=_upsample,
    ),
    LayerKind(
        name="pixelshuffle",
        torch_name="PixelShuffle",
        family="resampling",
        doc="(C·r², H, W) → (C, H·r, W·r) (torch.nn.PixelShuffle).",
        args=(Arg("upscale_factor", T.INT, minimum=1),),
        rule=_pixel_shuffle,
    ),
    LayerKind(
        name="pixelunshuffle",
        torch_name="PixelUnshuffle",
        family="resampling",
        doc="(C, H·r, W·r) → (C·r², H, W) (torch.nn.PixelUnshuffle).",
        args=(Arg("downscale_factor", T.INT, minimum=1),),
        rule=_pixel_unshuffle,
    ),
)
