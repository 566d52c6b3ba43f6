"""Receptive fields of random single-path stacks against the brute-force oracle."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rfcalc.errors import ShapeError
from tests.helpers import SCALE, report_of
from tests.oracle import (
    AxisLayer,
    Oracle,
    adaptive_reads,
    conv_reads,
    linear_reads,
    nearest_reads,
    transposed_reads,
)


@dataclass
class Axis:
    """One axis's parameters of one random layer."""

    k: int
    s: int
    pl: int
    pr: int
    d: int
    extra: int  # output_padding, upsample factor or adaptive size


KINDS = [
    "conv",
    "same",
    "maxpool",
    "avgpool",
    "transposed",
    "nearest",
    "linear",
    "adaptive",
    "pad",
    "relu",
]


@st.composite
def layer(draw: st.DrawFn, rank: int) -> tuple[str, list[Axis], bool]:
    kind = draw(st.sampled_from(KINDS))
    ceil = draw(st.booleans())
    axes = []
    for _ in range(rank):
        k = draw(st.integers(1, 5))
        s = draw(st.integers(1, 3))
        d = draw(st.integers(1, 3)) if kind in ("conv", "same", "maxpool", "transposed") else 1
        if kind in ("maxpool", "avgpool"):
            pl = draw(st.integers(0, k // 2))
            pr = pl
        elif kind == "pad":
            pl, pr = draw(st.integers(-2, 3)), draw(st.integers(-2, 3))
        else:
            pl, pr = draw(st.integers(0, 3)), draw(st.integers(0, 3))
        extra = (
            draw(st.integers(0, max(s, d) - 1)) if kind == "transposed" else draw(st.integers(2, 7))
        )
        axes.append(Axis(k, s, pl, pr, d, extra))
    return kind, axes, ceil


def per_axis(values: list[int]) -> str:
    return "[" + ", ".join(map(str, values)) + "]"


def to_yaml(kind: str, axes: list[Axis], ceil: bool) -> str:
    rank = len(axes)
    k = per_axis([a.k for a in axes])
    s = per_axis([a.s for a in axes])
    d = per_axis([a.d for a in axes])
    pairs = "[" + ", ".join(f"[{a.pl}, {a.pr}]" for a in axes) + "]"
    if kind == "conv":
        return f"{{type: conv{rank}d, out_channels: 1, kernel_size: {k}, stride: {s}, padding: {pairs}, dilation: {d}}}"
    if kind == "same":
        return f"{{type: conv{rank}d, out_channels: 1, kernel_size: {k}, stride: {s}, padding: same, dilation: {d}}}"
    if kind == "maxpool":
        p = per_axis([a.pl for a in axes])
        return f"{{type: maxpool{rank}d, kernel_size: {k}, stride: {s}, padding: {p}, dilation: {d}, ceil_mode: {str(ceil).lower()}}}"
    if kind == "avgpool":
        p = per_axis([a.pl for a in axes])
        return f"{{type: avgpool{rank}d, kernel_size: {k}, stride: {s}, padding: {p}, ceil_mode: {str(ceil).lower()}}}"
    if kind == "transposed":
        p = per_axis([a.pl for a in axes])
        op = per_axis([a.extra for a in axes])
        return (
            f"{{type: convtranspose{rank}d, out_channels: 1, kernel_size: {k}, stride: {s}, "
            f"padding: {p}, output_padding: {op}, dilation: {d}}}"
        )
    if kind in ("nearest", "linear"):
        f = per_axis([min(a.extra, 3) for a in axes])
        mode = "nearest" if kind == "nearest" or rank != 1 else "linear"
        mode = "bilinear" if kind == "linear" and rank == 2 else mode
        return f"{{type: upsample, scale_factor: {f}, mode: {mode}}}"
    if kind == "adaptive":
        return f"{{type: adaptiveavgpool{rank}d, output_size: {per_axis([a.extra for a in axes])}}}"
    if kind == "pad":
        flat = [v for a in reversed(axes) for v in (a.pl, a.pr)]
        return f"{{type: constantpad{rank}d, padding: {per_axis(flat)}}}"
    return "relu"


def oracle_layer(kind: str, a: Axis, n: int, n_out: int) -> AxisLayer:
    if kind in ("conv", "maxpool", "avgpool"):
        return AxisLayer(conv_reads(a.k, a.s, a.pl, a.d), Fraction(a.s), n_out)
    if kind == "same":
        out = -(-n // a.s)
        total = max((out - 1) * a.s + a.d * (a.k - 1) + 1 - n, 0)
        return AxisLayer(conv_reads(a.k, a.s, total // 2, a.d), Fraction(a.s), n_out)
    if kind == "transposed":
        return AxisLayer(transposed_reads(a.k, a.s, a.pl, a.d), Fraction(1, a.s), n_out)
    if kind == "nearest":
        f = min(a.extra, 3)
        return AxisLayer(nearest_reads(n, n_out, f), Fraction(1, f), n_out)
    if kind == "linear":
        f = min(a.extra, 3)
        return AxisLayer(linear_reads(n, n_out, f), Fraction(1, f), n_out)
    if kind == "adaptive":
        return AxisLayer(adaptive_reads(n, a.extra), Fraction(n, a.extra), n_out)
    if kind == "pad":
        return AxisLayer(conv_reads(1, 1, a.pl, 1), Fraction(1), n_out)
    return AxisLayer(conv_reads(1, 1, 0, 1), Fraction(1), n_out)


def check_stack(rank: int, sizes: list[int], stack: list[tuple[str, list[Axis], bool]]) -> None:
    lines = "\n".join(f"  - {to_yaml(*item)}" for item in stack)
    text = f"input: {[1, *sizes]}\nlayers:\n{lines}\n"
    try:
        report = report_of(text)
    except ShapeError:
        assume(False)
        return
    for axis in range(rank):
        n = sizes[axis]
        oracle_layers = []
        for (kind, axes, _), row in zip(stack, report.layers, strict=True):
            n_out = row.output_shape[axis + 1]
            oracle_layers.append(oracle_layer(kind, axes[axis], n, n_out))
            n = n_out
        oracle = Oracle(oracle_layers)
        for i, row in enumerate(report.layers):
            size, jump, padding, uniform = oracle.summary(i)
            got = (row.rf.size[axis], row.rf.stride[axis], row.rf.padding[axis])
            assert got == (size, jump, padding), (text, i, axis)
            assert row.rf.uniform == uniform or rank > 1, (text, i)


@settings(
    max_examples=400 * SCALE, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)
@given(st.integers(6, 40), st.lists(layer(1), min_size=1, max_size=5))
def test_random_1d_stacks(n: int, stack: list[tuple[str, list[Axis], bool]]) -> None:
    check_stack(1, [n], stack)


@settings(
    max_examples=150 * SCALE, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)
@given(st.integers(6, 24), st.integers(6, 24), st.lists(layer(2), min_size=1, max_size=4))
def test_random_2d_stacks(h: int, w: int, stack: list[tuple[str, list[Axis], bool]]) -> None:
    check_stack(2, [h, w], stack)


def test_three_unpadded_3x3_convolutions_see_7() -> None:
    # the oracle itself: 3 stacked k=3 windows reach x … x+6
    layers = [AxisLayer(conv_reads(3, 1, 0, 1), Fraction(1), 10 - 2 * i) for i in (1, 2, 3)]
    assert Oracle(layers).summary(2) == (7, Fraction(1), 0, True)


def test_far_virtual_units_after_fractional_jumps() -> None:
    # Found by hypothesis: after ×2 (pool s2 undone), ×5 linear and ×3 nearest upsampling the
    # jump is 1/30, so the field repeats only every 30 units; 'same' padding then reads virtual
    # units of the adaptive pool that reach ~170 units before the upsampled axis.
    stack = [
        ("avgpool", [Axis(1, 2, 0, 0, 1, 5)], True),
        ("linear", [Axis(5, 1, 2, 1, 1, 5)], True),
        ("nearest", [Axis(5, 2, 2, 1, 1, 7)], False),
        ("adaptive", [Axis(3, 2, 3, 3, 1, 7)], True),
        ("same", [Axis(5, 3, 0, 3, 3, 2)], True),
    ]
    check_stack(1, [26], stack)


def test_dilated_strided_transposed_is_not_monotone() -> None:
    # x = 2i + 3j (k2 s2 d3): unit 0 reads input 0, unit 1 reads −1, unit 2 reads 1: the field
    # is not monotone, so it must not be gathered from the ends of a window (found by the oracle)
    stack = [
        ("transposed", [Axis(2, 2, 0, 0, 3, 0)], False),
        ("conv", [Axis(2, 1, 0, 0, 1, 2)], False),
    ]
    check_stack(1, [6], stack)
