"""Exact receptive fields where padding reads far beyond a non-uniform layer's edge.

Random 1-D chains put LARGE paddings (40–200 units) after transposed convolutions, upsampling
(nearest, linear with and without align_corners, fractional and integer factors, explicit
sizes) and adaptive pooling, so that later layers read virtual units far outside the stored
part of a per-unit table. Every reported summary and the final layer's per-unit spans (real and
virtual units) must equal the brute-force dependency enumeration of tests/oracle.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from unittest import mock

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rfcalc import rf
from rfcalc.build import build
from rfcalc.engine import RF, Report, analyze
from rfcalc.errors import ShapeError
from rfcalc.loader import load_text
from tests import test_dag_oracle
from tests.helpers import EXAMPLES, SCALE, report_of
from tests.oracle import (
    AxisLayer,
    Oracle,
    adaptive_reads,
    conv_reads,
    resize_reads,
    transposed_reads,
)
from tests.test_rf_oracle import Axis, check_stack, layer, oracle_layer, to_yaml


@dataclass(frozen=True)
class Step:
    """One layer of a 1-D chain: its YAML and its oracle rule for (input size, output size)."""

    yaml: str
    rule: Callable[[int, int], AxisLayer]


def _from_oracle_test(item: tuple[str, list[Axis], bool]) -> Step:
    """A layer drawn by tests/test_rf_oracle.py's strategy, as a :class:`Step`."""
    kind, axes, ceil = item
    return Step(to_yaml(kind, axes, ceil), lambda n, n_out: oracle_layer(kind, axes[0], n, n_out))


def transposed(k: int, s: int, p: int, d: int, op: int) -> Step:
    yaml = (
        f"{{type: convtranspose1d, out_channels: 1, kernel_size: {k}, stride: {s}, "
        f"padding: {p}, output_padding: {op}, dilation: {d}}}"
    )
    return Step(
        yaml, lambda n, n_out: AxisLayer(transposed_reads(k, s, p, d), Fraction(1, s), n_out)
    )


def upsample(mode: str, factor: str | None, size: int | None, align: bool) -> Step:
    """``factor`` is the decimal the YAML gives (exact, as rfcalc reads it)."""
    how = f"scale_factor: {factor}" if factor is not None else f"size: {size}"
    corners = ", align_corners: true" if align else ""
    yaml = f"{{type: upsample, {how}, mode: {mode}{corners}}}"

    def rule(n: int, n_out: int) -> AxisLayer:
        # jump (the stride of docs/numbers.md): 1/scale_factor, or n/n_out for an explicit size
        jump = 1 / Fraction(factor) if factor is not None else Fraction(n, n_out)
        return AxisLayer(resize_reads(n, n_out, mode, jump, align), jump, n_out)

    return Step(yaml, rule)


def adaptive(o: int) -> Step:
    yaml = f"{{type: adaptiveavgpool1d, output_size: {o}}}"
    return Step(yaml, lambda n, n_out: AxisLayer(adaptive_reads(n, o), Fraction(n, o), n_out))


def conv(k: int, s: int, pl: int, pr: int, d: int) -> Step:
    yaml = (
        f"{{type: conv1d, out_channels: 1, kernel_size: {k}, stride: {s}, "
        f"padding: [[{pl}, {pr}]], dilation: {d}}}"
    )
    return Step(yaml, lambda n, n_out: AxisLayer(conv_reads(k, s, pl, d), Fraction(s), n_out))


def zeropad(pl: int, pr: int) -> Step:
    yaml = f"{{type: constantpad1d, padding: [{pl}, {pr}]}}"
    return Step(yaml, lambda n, n_out: AxisLayer(conv_reads(1, 1, pl, 1), Fraction(1), n_out))


FACTORS = ["0.5", "0.75", "1.25", "1.5", "2", "2.5", "3", "4", "1.6", "3.5", "0.3"]


@st.composite
def nonuniform(draw: st.DrawFn) -> Step:
    """A layer whose field varies per unit."""
    kind = draw(st.sampled_from(["transposed", "upsample", "adaptive"]))
    if kind == "transposed":
        k, s, d = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 4))
        p = draw(st.integers(0, 4))
        return transposed(k, s, p, d, draw(st.integers(0, max(s, d) - 1)))
    if kind == "adaptive":
        return adaptive(draw(st.integers(2, 60)))
    mode = draw(st.sampled_from(["nearest", "linear"]))
    align = mode == "linear" and draw(st.booleans())
    if draw(st.booleans()):
        return upsample(mode, draw(st.sampled_from(FACTORS)), None, align)
    return upsample(mode, None, draw(st.integers(2, 90)), align)


@st.composite
def wide(draw: st.DrawFn) -> Step:
    """A layer with a large padding, reading far beyond its input's edges."""
    big = st.integers(40, 200)
    if draw(st.booleans()):
        return zeropad(draw(big), draw(st.integers(0, 200)))
    k, s, d = draw(st.integers(1, 5)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return conv(k, s, draw(big), draw(st.integers(0, 200)), d)


@st.composite
def chain(draw: st.DrawFn) -> list[Step]:
    """[anything] non-uniform [anything, non-uniform or wide]… wide [anything]."""
    ordinary = layer(1).map(_from_oracle_test)
    steps = draw(st.lists(ordinary, max_size=2))
    steps.append(draw(nonuniform()))
    steps += draw(st.lists(st.one_of(ordinary, nonuniform(), wide()), max_size=3))
    steps.append(draw(wide()))
    steps += draw(st.lists(ordinary, max_size=1))
    return steps


def analyze_chain(n: int, steps: list[Step]) -> tuple[str, Report]:
    lines = "\n".join(f"  - {s.yaml}" for s in steps)
    text = f"input: [1, {n}]\nlayers:\n{lines}\n"
    return text, analyze(build(load_text(text, "model.yaml")), keep_fields=True)


def check_chain(n: int, steps: list[Step], virtual: int = 12) -> None:
    """Every layer's summary, and the last layer's spans for its units and ``virtual`` units
    beyond each edge, against the oracle."""
    try:
        text, report = analyze_chain(n, steps)
    except ShapeError:
        assume(False)
        return
    layers = []
    for step, row in zip(steps, report.layers, strict=True):
        layers.append(step.rule(n, row.output_shape[1]))
        n = row.output_shape[1]
    oracle = Oracle(layers)
    for i, row in enumerate(report.layers):
        size, jump, padding, uniform = oracle.summary(i)
        got = (row.rf.size[0], row.rf.stride[0], row.rf.padding[0], row.rf.uniform)
        assert got == (size, jump, padding, uniform), (text, i)
    assert report.fields is not None
    last = len(steps) - 1
    field = report.fields[last][0]
    for x in range(-virtual, n + virtual):
        expected = oracle.field(last, x)
        want = (min(expected), max(expected)) if expected else None
        assert field.span(x) == want, (text, x)


@settings(
    max_examples=100 * SCALE, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)
@given(st.integers(4, 40), chain())
def test_large_paddings_after_non_uniform_layers(n: int, steps: list[Step]) -> None:
    check_chain(n, steps)


@contextmanager
def tiny_tables() -> Iterator[None]:
    """rf's sizes shrunk so that small models take every path: growth in steps of 40 units,
    range queries from 2 units on, blocks of 2 (every padding read grows a table: a table
    starts with its real units only)."""
    with mock.patch.multiple(rf, CHUNK=40, SMALL=1, BLOCK=2):
        yield


@settings(
    max_examples=60 * SCALE, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)
@given(st.integers(4, 40), chain())
def test_large_paddings_with_tiny_tables(n: int, steps: list[Step]) -> None:
    with tiny_tables():
        check_chain(n, steps)


@settings(
    max_examples=200 * SCALE, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)
@given(st.integers(6, 40), st.lists(layer(1), min_size=1, max_size=5))
def test_random_stacks_with_tiny_tables(n: int, stack: list[tuple[str, list[Axis], bool]]) -> None:
    with tiny_tables():
        check_stack(1, [n], stack)


@settings(
    max_examples=150 * SCALE, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)
@given(st.integers(6, 30), test_dag_oracle.dag())
def test_random_dags_with_tiny_tables(n: int, ops: list[tuple[str, list[int], object]]) -> None:
    with tiny_tables():
        test_dag_oracle.test_random_dags.hypothesis.inner_test(n, ops)  # type: ignore[attr-defined]


# ------------------------------------------------------------------ regressions


def test_align_corners_far_left() -> None:
    # 35 → 105 with align_corners: source index x·34/104 (PyTorch's (in−1)/(out−1)), while the
    # layer's stride is 35/105 = 1/3. Unit 0 of the padded conv reads upsample units −1000 …
    # −998; unit −1000 interpolates −1000·34/104 = −326.9…, taps −327 and −326, so the padding
    # is 327 (a slope of 1/3 from the table's edge gave 334). Brute force agrees (check_chain).
    steps = [upsample("linear", None, 105, True), conv(3, 1, 1000, 1000, 1)]
    _, report = analyze_chain(35, steps)
    last = report.layers[-1]
    assert (last.rf.size, last.rf.stride, last.rf.padding) == ((3,), (Fraction(1, 3),), (327,))
    assert report.fields is not None
    assert report.fields[-1][0].span(0) == (-327, -326)
    check_chain(35, steps)


def test_period_longer_than_the_search() -> None:
    # 4 → ×1.5 nearest → 6 (unit u reads floor(2u/3)) → transposed k1 s4 p1 → 19 (unit x reads
    # u = (x+1)/4 when 4 divides x+1, else nothing): stride 2/3 · 1/4 = 1/6, but the field
    # repeats only every 12 units (field(x+12) = field(x) + 2), beyond the periods 6 a search
    # over a 32-unit margin could verify; its edge unit −32 reads nothing. Unit 0 of the k5 s8
    # p65 conv reads transposed units −65 … −61; −65 and −61 read u = −16 and −15, which read
    # floor(−32/3) = −11 and floor(−30/3) = −10: field (−11, −10), padding 11 (5 was
    # reported, from an empty edge extrapolated, and units 0–3 and 15–18 read nothing). The
    # oracle enumerates the same by brute force (check_chain).
    steps = [upsample("nearest", "1.5", None, False), transposed(1, 4, 1, 1, 0)]
    steps.append(conv(5, 8, 65, 65, 1))
    _, report = analyze_chain(4, steps)
    last = report.layers[-1]
    assert (last.rf.size, last.rf.stride, last.rf.padding) == ((2,), (Fraction(4, 3),), (11,))
    assert report.fields is not None
    field = report.fields[-1][0]
    assert all(field.span(x) is not None for x in range(19))
    assert (field.span(0), field.span(18)) == ((-11, -10), (13, 14))
    check_chain(4, steps)


def test_budget_beyond_the_edges_is_an_error() -> None:
    # unit 0 of the conv reads unit −1000 of the ×1.5 upsampling, whose table holds 32 units
    # beyond its edge: the 968 units between are computed exactly, over a budget of 500.
    steps = [upsample("nearest", "1.5", None, False), conv(1, 1, 1000, 0, 1)]
    with mock.patch.object(rf, "MAX_EXTRA", 500), pytest.raises(ShapeError) as caught:
        analyze_chain(20, steps)
    assert "layer 'conv1d_0' (conv1d): the virtual units that padding reads" in str(caught.value)


# ------------------------------------------------------------------ cost guards (no timing)


def _stats(text: str) -> tuple[rf.TableStats, int]:
    report = analyze(build(load_text(text, "model.yaml")), keep_fields=True)
    assert report.fields is not None
    stats = rf.table_stats(report.fields[-1][0])
    assert stats is not None
    return stats, report.layers[-1].output_shape[1]


def test_wide_window_over_holes_visits_each_value_a_bounded_number_of_times() -> None:
    # k=1 s=2 transposed: every other unit reads nothing, so the table is not monotone and a
    # hull needs every unit read. A kernel of 200,000 then reads 200,000 units per output:
    # 3,000 outputs one unit at a time would be 6·10^8 lookups. One range index per store;
    # a query scans at most two partial blocks and reads two sparse-table entries, for its
    # minimum and again for its maximum.
    text = (
        "input: [1, 101500]\nlayers:\n"
        "  - {type: convtranspose1d, out_channels: 1, kernel_size: 1, stride: 2}\n"
        "  - {type: conv1d, out_channels: 1, kernel_size: 200000}\n"
    )
    stats, outputs = _stats(text)
    assert outputs == 3000
    assert stats.computed == stats.units == 202_999  # (101,500 − 1)·2 + 1 units, each once
    assert stats.index_builds <= 1
    per_query = 2 * (2 * rf.BLOCK + 2)  # min and max: partial blocks, two table rows
    assert stats.scanned <= stats.units + outputs * per_query


def test_wide_window_over_far_virtual_units() -> None:
    # the same window, now mostly over virtual units: 2,000 inputs → 3,999 units, padding
    # 100,000. Each of the 200,000 or so units read is computed exactly, once.
    text = (
        "input: [1, 2000]\nlayers:\n"
        "  - {type: convtranspose1d, out_channels: 1, kernel_size: 1, stride: 2}\n"
        "  - {type: conv1d, out_channels: 1, kernel_size: 200000, padding: 100000}\n"
    )
    stats, outputs = _stats(text)
    assert outputs == 3999 + 2 * 100_000 - 200_000 + 1
    assert stats.computed == stats.units == 3999 + 2 * 100_000  # each unit read, once
    assert stats.index_builds <= 2
    per_query = 2 * (2 * rf.BLOCK + 2)
    assert stats.scanned <= stats.units + outputs * per_query


def test_merge_notes_its_inputs_centres_and_strides() -> None:
    """Unit 0's field is [−P, r − 1 − P], centred at (r − 1)/2 − P: r=2, P=0 → 1/2; r=3, P=1
    → 0; r=4, P=3 → 3/2 − 3 = −3/2. None ends at its own position (r − 1 − P = 1, 1, 0), so
    the merge is not causal and the centres are noted, in order, halves written as fractions."""
    axis = rf.IDENTITY_AXIS
    fields = (rf.Affine(1, 0, 2), rf.Affine(1, 1, 3), rf.Affine(1, 3, 4))
    _, notes = rf.merge([rf.MergeInput(f, axis, 8) for f in fields], 8)
    assert notes == ["centres of unit 0 at -3/2, 0, 1/2"]
    # strides 2 and 1 (jumps, whole: ints), centres 1/2 − 0 and 0 − 0
    strided = (rf.Affine(2, 0, 2), rf.Affine(1, 0, 1))
    _, notes = rf.merge([rf.MergeInput(f, axis, 8) for f in strided], 8)
    assert notes == ["strides 2, 1", "centres of unit 0 at 0, 1/2"]


def test_axes_alike_but_for_the_input_they_cover() -> None:
    """Both axes end with the same field and size (an 8 × 8 window on an 8 × 8 crop), but the
    input is 8 high and 16 wide (its channels, 8, as many as its height): the last unit's
    field [0, 7] covers the height and not the width, so not the input."""
    text = (
        "input: [8, 8, 16]\nlayers:\n"
        "  - {type: narrow, dim: 3, start: 0, length: 8}\n"
        "  - {type: conv2d, out_channels: 1, kernel_size: 8}\n"
    )
    last = report_of(text).layers[-1]
    assert last.output_shape == (1, 1, 1)
    assert (last.rf.size, last.rf.stride, last.rf.padding) == ((8, 8), (1, 1), (0, 0))
    assert last.rf.covers_input is False


# The engine shares work between axes alike (a square input's): one composed field, one
# summary. Against it, the plain statement: every axis composed and summarised on its own.
def _carry_per_axis(field: tuple[rf.Field, ...], steps: tuple[object, ...]) -> object:
    return tuple(
        f if s is None else rf.compose(f, s.rule, s.n_in, s.n_out)  # type: ignore[attr-defined]
        for f, s in zip(field, steps, strict=True)
    )


def _summary_per_axis(
    fields: tuple[rf.Field, ...],
    sizes: tuple[int, ...],
    spatial: tuple[int, ...],
    context: bool,
    square: bool,
) -> RF:
    per = [rf.summarize(f, n) for f, n in zip(fields, sizes, strict=True)]
    return RF(
        tuple(s.size for s in per),
        tuple(s.stride for s in per),
        tuple(s.padding for s in per),
        all(s.uniform for s in per),
        all(s.is_global for s in per) if per else False,
        all(rf.covers(f, n, m) for f, n, m in zip(fields, sizes, spatial, strict=True)),
        context,
    )


SQUARE_EDGES = [
    # dilation and a stride above the window: holes, and a field that is a table
    "input: [2, 24, 24]\nlayers:\n  - {type: conv2d, out_channels: 2, kernel_size: 3, dilation: 3}\n"
    "  - {type: conv2d, out_channels: 2, kernel_size: 2, stride: 3}\n"
    "  - {type: upsample, scale_factor: 2}\n  - {type: conv2d, out_channels: 2, kernel_size: 3}\n",
    # a transposed convolution (a fractional stride), then a crop of one axis only
    "input: [2, 16, 16]\nlayers:\n"
    "  - {type: convtranspose2d, out_channels: 2, kernel_size: 3, stride: 2}\n"
    "  - {type: narrow, dim: 3, start: 0, length: 20}\n"
    "  - {type: conv2d, out_channels: 2, kernel_size: 5}\n",
    # a square input whose channels equal its sides, and a 1-D and a 3-D one
    "input: [8, 8, 8]\nlayers:\n  - {type: maxpool2d, kernel_size: 3, stride: 2}\n"
    "  - {type: adaptiveavgpool2d, output_size: 1}\n",
    "input: [3, 40]\nlayers:\n  - {type: conv1d, out_channels: 3, kernel_size: 5, dilation: 2}\n",
    "input: [1, 6, 6, 6]\nlayers:\n  - {type: conv3d, out_channels: 1, kernel_size: 3, padding: 1}\n",
    # alike fields, unlike steps (a 3 × 5 kernel); alike outputs of an unlike input (8 × 16)
    "input: [2, 12, 12]\nlayers:\n  - {type: conv2d, out_channels: 2, kernel_size: [3, 5]}\n",
    "input: [8, 8, 16]\nlayers:\n  - {type: narrow, dim: 3, start: 0, length: 8}\n"
    "  - {type: conv2d, out_channels: 1, kernel_size: 8}\n",
]


@pytest.mark.parametrize(
    "source",
    [*sorted(p.name for p in EXAMPLES.glob("*.yaml")), *range(len(SQUARE_EDGES))],
    ids=str,
)
def test_axes_alike_share_work_as_each_axis_alone_would_give(
    source: str | int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every row of every example, and of square models with tables, holes and fractional
    strides, is what composing and summarising each axis alone gives."""
    from rfcalc import engine

    if isinstance(source, str):
        text, path = (EXAMPLES / source).read_text(encoding="utf-8"), str(EXAMPLES / source)
    else:
        text, path = SQUARE_EDGES[source], "model.yaml"
    shared = report_of(text, path)
    monkeypatch.setattr(engine, "_carry", _carry_per_axis)
    monkeypatch.setattr(engine, "_summary", _summary_per_axis)
    alone = report_of(text, path)
    assert [r.rf for r in alone.layers] == [r.rf for r in shared.layers]
    assert alone.totals == shared.totals
