"""Exact receptive-field arithmetic along one spatial axis.

A *field* maps each unit ``y`` of a tensor axis (any integer: units outside ``[0, n)`` are the
virtual units that padding reads, SPEC §2's "extended index line") to the hull ``[lo, hi]`` of the
input positions it depends on, or to nothing.

* :class:`Affine` — uniform fields ``[y·S − P, y·S − P + r − 1]``, composed in O(1).
* :class:`Table` — per-unit hulls for ``y`` in ``[-margin, n + margin)``, for fields whose extent
  varies with ``y`` (after transposed convolution, upsampling, adaptive pooling, misaligned merges).
  Beyond the margin a virtual unit is extrapolated by the field's quasi-periodicity (every local
  rule here satisfies field(y + q) = field(y) + q·jump), verified on the stored margin; only where
  no period is found is it extrapolated linearly from the edge.
* :class:`Global` — every unit depends on the same hull (after flatten, global pooling, ...).

A layer's local rule per axis is an :class:`AxisRule`: :class:`Window` (uniform: unit ``x`` reads
``x·s − p, …, x·s − p + span − 1`` in steps of ``step``), :class:`Func` (any monotone rule given
as a function returning an arithmetic progression ``(first, last, step)`` or ``None``), or
:data:`GLOBAL_AXIS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import floor

MARGIN = 32  # virtual units stored on each side of a table, at least
MAX_MARGIN = 4096
MAX_TABLE = 4_000_000  # units of one per-unit table; a larger non-uniform axis is an error


class TableTooLargeError(ValueError):
    """A per-unit receptive-field table would exceed MAX_TABLE units."""


Span = tuple[int, int] | None  # hull [lo, hi] of a unit's field, or None when it is empty


@dataclass(frozen=True, slots=True)
class Window:
    span: int  # d·(k−1)+1
    stride: int
    pad: int  # units before 0 read by unit 0
    step: int = 1  # distance between the units read (dilation)


@dataclass(frozen=True, slots=True)
class Func:
    fn: Callable[[int], tuple[int, int, int] | None]
    jump: Fraction
    label: str = ""


@dataclass(frozen=True, slots=True)
class GlobalAxis:
    pass


AxisRule = Window | Func | GlobalAxis
IDENTITY_AXIS = Window(1, 1, 0)
GLOBAL_AXIS = GlobalAxis()


@dataclass(frozen=True, slots=True)
class Affine:
    S: int
    P: int
    r: int

    @property
    def jump(self) -> Fraction:
        return Fraction(self.S)

    def span(self, y: int) -> Span:
        lo = y * self.S - self.P
        return (lo, lo + self.r - 1)


@dataclass(frozen=True, slots=True)
class Table:
    n: int
    jump: Fraction
    spans: tuple[Span, ...]  # index y + margin
    margin: int
    periods: tuple[int | None, int | None] = (None, None)  # verified left / right periods
    monotone: bool = False  # no empty field, and both ends never decrease with y

    def span(self, y: int) -> Span:
        i = y + self.margin
        size = len(self.spans)
        if 0 <= i < size:
            return self.spans[i]
        period = self.periods[0] if i < 0 else self.periods[1]
        if period is not None:
            # quasi-periodic: moving q units moves the field by q·jump positions
            m = -(i // period) if i < 0 else (i - size) // period + 1
            j = i + m * period if i < 0 else i - m * period
            return _shifted(self.spans[j], int((i - j) * self.jump))
        edge = 0 if i < 0 else size - 1
        return _shifted(self.spans[edge], floor((i - edge) * self.jump))


def _margin(jump: Fraction) -> int:
    """Room for four periods of a field with this jump, so that its period can be verified."""
    return min(max(MARGIN, 4 * jump.denominator), MAX_MARGIN)


def _period(spans: tuple[Span, ...], jump: Fraction, margin: int, left: bool) -> int | None:
    """Smallest q (a multiple of jump's denominator) under which the far half of a margin
    repeats, shifted by q·jump; far virtual units are then extrapolated exactly."""
    half = margin // 2
    region = range(half) if left else range(len(spans) - half, len(spans))
    q = jump.denominator
    while q <= half // 2:
        shift = int(q * jump)
        pairs = [(j, j + q) for j in region if j + q in region]
        if all(_shifted(spans[a], shift) == spans[b] for a, b in pairs):
            return q
        q += jump.denominator
    return None


def _shifted(span: Span, shift: int) -> Span:
    return None if span is None else (span[0] + shift, span[1] + shift)


@dataclass(frozen=True, slots=True)
class Global:
    lo: int
    hi: int

    def span(self, y: int) -> Span:
        return (self.lo, self.hi)


Field = Affine | Table | Global
INPUT_FIELD = Affine(1, 0, 1)


@dataclass(frozen=True, slots=True)
class Summary:
    """What SPEC §2 reports for one axis of one layer."""

    size: int
    stride: Fraction | None  # None for global axes
    padding: int
    uniform: bool
    is_global: bool


def _reads(rule: Window | Func, x: int) -> tuple[int, int, int] | None:
    if isinstance(rule, Window):
        first = x * rule.stride - rule.pad
        return (first, first + rule.span - 1, rule.step)
    return rule.fn(x)


def _gather(field: Field, reads: tuple[int, int, int] | None) -> Span:
    """Hull of the union of ``field`` over the units ``reads`` names."""
    if reads is None:
        return None
    first, last, step = reads
    if isinstance(field, Affine) or (isinstance(field, Table) and field.monotone):
        # monotone and never empty: the ends suffice (a dilated transposed convolution
        # can make a field non-monotone, hence the check)
        lo_span, hi_span = field.span(first), field.span(last)
        assert lo_span is not None
        assert hi_span is not None
        return (lo_span[0], hi_span[1])
    lo: int | None = None
    hi: int | None = None
    for y in range(first, last + 1, step):
        s = field.span(y)
        if s is None:
            continue
        lo = s[0] if lo is None else min(lo, s[0])
        hi = s[1] if hi is None else max(hi, s[1])
    return None if lo is None else (lo, hi)  # type: ignore[return-value]


def hull(field: Field, n: int) -> Span:
    """Hull of the fields of all units ``0 … n−1``."""
    if isinstance(field, Global):
        return (field.lo, field.hi)
    return _gather(field, (0, n - 1, 1))


def _to_global(spans: Sequence[Span]) -> Global:
    real = [s for s in spans if s is not None]
    if not real:
        return Global(0, -1)
    return Global(min(s[0] for s in real), max(s[1] for s in real))


def _tabulate(n: int, jump: Fraction, span_of: Callable[[int], Span]) -> Field:
    margin = _margin(jump)
    if n + 2 * margin > MAX_TABLE:
        raise TableTooLargeError(
            f"{n:,} units with a per-unit receptive field (limit {MAX_TABLE:,})"
        )
    spans = tuple(span_of(x) for x in range(-margin, n + margin))
    periods = (_period(spans, jump, margin, True), _period(spans, jump, margin, False))
    return _simplify(Table(n, jump, spans, margin, periods, _monotone(spans, periods)))


def _monotone(spans: tuple[Span, ...], periods: tuple[int | None, int | None]) -> bool:
    """Ends non-decreasing over the stored units, and extrapolated by a verified period
    (a linear fallback could break monotonicity, so it does not count)."""
    if None in periods:
        return False
    previous: Span = None
    for s in spans:
        if s is None:
            return False
        if previous is not None and (s[0] < previous[0] or s[1] < previous[1]):
            return False
        previous = s
    return True


def _simplify(table: Table) -> Field:
    """A table that is affine over its whole stored range becomes :class:`Affine`."""
    spans = table.spans
    if any(s is None for s in spans):
        return table
    first, second = spans[0], spans[1]
    assert first is not None
    assert second is not None
    S = second[0] - first[0]
    r = first[1] - first[0] + 1
    if S < 1 or r < 1:
        return table
    for i, s in enumerate(spans):
        assert s is not None
        if s[0] - first[0] != i * S or s[1] - s[0] + 1 != r:
            return table
    P = -(first[0] + table.margin * S)
    return Affine(S, P, r)


def compose(field: Field, rule: AxisRule, n_in: int, n_out: int) -> Field:
    """The field of a layer's output axis, given its input's field and its local rule."""
    if isinstance(field, Global):
        return field
    if isinstance(rule, GlobalAxis):
        h = hull(field, n_in)
        return _to_global([h])
    if isinstance(field, Affine) and isinstance(rule, Window):
        S = field.S
        return Affine(S * rule.stride, field.P + rule.pad * S, field.r + (rule.span - 1) * S)
    jump = field.jump * (rule.stride if isinstance(rule, Window) else rule.jump)
    return _tabulate(n_out, jump, lambda x: _gather(field, _reads(rule, x)))


@dataclass(frozen=True, slots=True)
class MergeInput:
    field: Field
    rule: AxisRule
    n_in: int


def merge(inputs: Sequence[MergeInput], n_out: int) -> tuple[Field, list[str]]:
    """Union of several inputs' fields per unit; returns the field and misalignment notes."""
    composed = [compose(m.field, m.rule, m.n_in, n_out) for m in inputs]
    notes: list[str] = []
    if any(isinstance(f, Global) for f in composed):
        spans = [hull(f, n_out) for f in composed]
        return _to_global(spans), notes
    jumps = [f.jump for f in composed if not isinstance(f, Global)]
    if len(set(jumps)) > 1:
        notes.append("strides " + ", ".join(_fmt(j) for j in jumps))
    affine = [f for f in composed if isinstance(f, Affine)]
    if len(affine) == len(composed):
        centres = {Fraction(f.r - 1, 2) - f.P for f in affine}
        if len(centres) > 1:
            notes.append("centres of unit 0 at " + ", ".join(_fmt(c) for c in sorted(centres)))
        if len({f.S for f in affine}) == 1:
            S = affine[0].S
            P = max(f.P for f in affine)
            top = max(f.r - 1 - f.P for f in affine)
            return Affine(S, P, top + P + 1), notes
    jump = max(jumps)

    def union(x: int) -> Span:
        spans = [s for s in (f.span(x) for f in composed) if s is not None]
        if not spans:
            return None
        return (min(s[0] for s in spans), max(s[1] for s in spans))

    return _tabulate(n_out, jump, union), notes


def _fmt(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(value)


def summarize(field: Field, n: int) -> Summary:
    """Size, stride, padding, uniform and global for the ``n`` units of an axis."""
    if isinstance(field, Global):
        return Summary(max(field.hi - field.lo + 1, 0), None, -field.lo, True, True)
    if isinstance(field, Affine):
        return Summary(field.r, Fraction(field.S), field.P, True, False)
    spans = [field.span(x) for x in range(n)]
    real = [s for s in spans if s is not None]
    size = max((s[1] - s[0] + 1 for s in real), default=0)
    first = spans[0] if spans else None
    padding = -first[0] if first is not None else (-real[0][0] if real else 0)
    uniform = len(real) == len(spans) and all(
        s[1] - s[0] + 1 == size and Fraction(s[0]) == x * field.jump - padding
        for x, s in enumerate(real)
    )
    return Summary(size, field.jump, padding, uniform, False)


def covers(field: Field, n: int, n_input: int) -> bool:
    """Does some unit among ``0 … n−1`` have a field containing all of ``[0, n_input − 1]``?"""
    if isinstance(field, Global):
        return field.lo <= 0 and field.hi >= n_input - 1
    if isinstance(field, Affine):
        # lo(x) = x·S − P ≤ 0 and hi(x) = x·S − P + r − 1 ≥ n_input − 1
        first = max(0, -((field.r - n_input - field.P) // field.S))  # ceil((n_input+P−r)/S)
        last = min(n - 1, field.P // field.S)
        return first <= last
    for x in range(n):
        s = field.span(x)
        if s is not None and s[0] <= 0 and s[1] >= n_input - 1:
            return True
    return False
