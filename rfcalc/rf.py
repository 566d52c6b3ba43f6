"""Exact receptive-field arithmetic along one spatial axis.

A *field* maps each unit ``y`` of a tensor axis (any integer: units outside ``[0, n)`` are the
virtual units that padding reads, docs/numbers.md's index line "extended into the padding") to
the hull ``[lo, hi]`` of the input positions it depends on, or to nothing.

* :class:`Affine` — uniform fields ``[y·S − P, y·S − P + r − 1]``, composed in O(1).
* :class:`Table` — fields whose extent varies with ``y`` (after transposed convolution,
  upsampling, adaptive pooling, merges). Its per-unit hulls live in a private store that knows
  how to compute *any* unit exactly (the union, over its sources, of the parent field gathered
  over the units the layer's local rule reads). The store holds a contiguous range of units and
  grows it on demand, so a virtual unit that a later layer's padding reads, however far from the
  edge, is computed from its definition, never extrapolated. Windows (convolution, pooling,
  padding) on a table compose into a view of the same store (unit ``y`` reads store units
  ``y·S − P + i·step``, ``i < taps``) as long as those units form one arithmetic progression, so
  a long chain of padded layers after one non-uniform layer grows one store, not one per layer.
* :class:`Global` — every unit depends on the same hull (after flatten, global pooling, ...).

A layer's local rule per axis is an :class:`AxisRule`: :class:`Window` (uniform: unit ``x`` reads
``x·s − p, …, x·s − p + span − 1`` in steps of ``step``), :class:`Func` (any rule given as a
function returning an arithmetic progression ``(first, last, step)`` or ``None``), or
:data:`GLOBAL_AXIS`.

Costs. A stored unit is computed once, by one evaluation of each source's rule. A hull over
many units of a table with empty or non-monotone units (a window of 200,000 after a stride-2,
kernel-1 transposed convolution) is not a walk over every unit read: per store and step there
is one range index (block extremes and a sparse table over them; a query scans two partial
blocks), and a layer's units are summarised in one pass of sliding extremes where their windows
overlap densely. Bounds, never guesses: a table of more than :data:`MAX_TABLE` units, or more
than :data:`MAX_EXTRA` units computed beyond the initial ranges of one chain of tables (only
thousands of padded non-uniform layers in a row need that many), is a
:class:`TableTooLargeError`.
"""

# no `from __future__ import annotations`: typing.NamedTuple compiles each string annotation
# of its fields into a ForwardRef (about 13 µs a field, at every start); the few fields that
# name what is not defined yet are quoted
from collections.abc import Callable, Iterable, Sequence
from itertools import compress, repeat
from operator import eq, le, sub
from typing import TYPE_CHECKING, NamedTuple, TypeAlias

if TYPE_CHECKING:
    from fractions import Fraction

MAX_TABLE = 4_000_000  # units of one per-unit table; a larger non-uniform axis is an error
MAX_EXTRA = 4_000_000  # units computed beyond one chain of tables' initial ranges (+16 a step)
BLOCK = 64  # range summaries: block size per level
SMALL = 32  # reads of at most this many units are scanned directly
CHUNK = 1 << 16  # units computed per step when a store grows

_INF = float("inf")


class TableTooLargeError(ValueError):
    """A per-unit receptive-field table would exceed MAX_TABLE units (or MAX_EXTRA beyond its
    edges)."""


Span = tuple[int, int] | None  # hull [lo, hi] of a unit's field, or None when it is empty


# an exact rational number (a stride): an int, or a Fraction after a layer that makes strides
# fractional (an upsampling, a transposed convolution), whole or not from there on
Ratio: TypeAlias = "int | Fraction"


def ratio(n: int, d: int) -> Ratio:
    """``n / d`` exactly (``d > 0``): an int when ``d`` divides ``n``, else a Fraction. The
    fractions module (and decimal, which it imports) is loaded only when a stride is not whole."""
    if n % d == 0:
        return n // d
    from fractions import Fraction

    return Fraction(n, d)


class Window(NamedTuple):
    span: int  # d·(k−1)+1
    stride: int
    pad: int  # units before 0 read by unit 0
    step: int = 1  # distance between the units read (dilation)
    # units after the input's last one that the window may slide over (a convolution's or
    # pooling's right padding); changes no field, read by the architecture lint
    after: int = 0


class Func(NamedTuple):
    fn: Callable[[int], tuple[int, int, int] | None]
    jump: Ratio
    label: str = ""


class GlobalAxis:
    """The rule of an axis whose every unit reads all of its input (one instance:
    :data:`GLOBAL_AXIS`)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GlobalAxis)

    def __hash__(self) -> int:
        return hash(GlobalAxis)

    def __repr__(self) -> str:
        return "GlobalAxis()"


AxisRule = Window | Func | GlobalAxis
IDENTITY_AXIS = Window(1, 1, 0)
GLOBAL_AXIS = GlobalAxis()


class Affine(NamedTuple):
    S: int
    P: int
    r: int

    @property
    def jump(self) -> Ratio:
        return self.S

    def span(self, y: int) -> Span:
        lo = y * self.S - self.P
        return (lo, lo + self.r - 1)


class Global(NamedTuple):
    lo: int
    hi: int

    def span(self, y: int) -> Span:
        return (self.lo, self.hi)


class Table(NamedTuple):
    """A non-uniform field: unit ``y`` is the hull of the store's units
    ``y·S − P + i·step`` for ``i < taps``. A value: the store only ever adds units, each
    computed exactly from its definition, so :meth:`span` always gives the same answer for a
    unit (it raises :class:`TableTooLargeError` for a unit absurdly far beyond the edges)."""

    store: "_Store"
    S: int = 1
    P: int = 0
    taps: int = 1  # not `count`, which a tuple has as a method
    step: int = 1

    @property
    def jump(self) -> Ratio:
        return self.store.jump * self.S

    def span(self, y: int) -> Span:
        first = y * self.S - self.P
        last = first + (self.taps - 1) * self.step
        _ensure(self.store, first, last + 1, slack=True)
        return _query(self.store, first, self.taps, self.step)


Field = Affine | Table | Global
INPUT_FIELD = Affine(1, 0, 1)
Source = tuple[Affine | Table, Window | Func]  # a parent field and the rule that reads it
Reads = list[tuple[int, int, int] | None]  # a Func's reads, unit by unit


class TableStats(NamedTuple):
    """Work done by a table's store so far (for tests and benchmarks)."""

    units: int  # units stored
    computed: int  # units computed (once each)
    index_builds: int  # range-summary structures built
    scanned: int  # stored values visited by range queries


class _Budget:
    """Units that one chain of tables may still compute beyond their initial ranges."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_EXTRA

    def take(self, units: int) -> None:
        if units > self.left:
            raise TableTooLargeError(
                "the virtual units that padding reads need too many per-unit receptive fields "
                f"beyond the tables' edges (over {MAX_EXTRA:,})"
            )
        self.left -= units


class _Index:
    """Range minima of ``lo`` and maxima of ``hi`` over one residue class of a store: the
    extremes of each block of BLOCK values, and a sparse table over those (row ``k`` holds the
    extremes of ``2^k`` consecutive blocks), so a query scans two partial blocks and looks up
    two rows."""

    __slots__ = ("hi", "lo", "maxs", "mins", "origin")

    def __init__(self, lo: list[float], hi: list[float], origin: int) -> None:
        self.origin = origin  # the unit of lo[0] and hi[0]; units never change, so an index
        self.lo = lo  # stays valid for the range it covers while the store grows
        self.hi = hi
        self.mins = _sparse([min(lo[b : b + BLOCK]) for b in range(0, len(lo), BLOCK)], min)
        self.maxs = _sparse([max(hi[b : b + BLOCK]) for b in range(0, len(hi), BLOCK)], max)


def _sparse(row: list[float], pick: Callable[[float, float], float]) -> list[list[float]]:
    rows = [row]
    width = 1
    while 2 * width <= len(row):
        prev = rows[-1]
        rows.append(list(map(pick, prev[: len(prev) - width], prev[width:])))
        width *= 2
    return rows


class _Store:
    """The exact hulls of one materialised field over a contiguous range of units
    ``[start, stop)`` that only grows. ``lo[y − origin]`` / ``hi[y − origin]`` are unit ``y``'s
    ends, ``+inf`` / ``−inf`` when its field is empty; the lists begin with ``gap`` unused slots
    (``±inf``) that growth to the left fills in place, so it does not copy the store each time.
    Private to this module."""

    __slots__ = (
        "base",
        "budget",
        "builds",
        "computed",
        "gap",
        "hi",
        "indexes",
        "jump",
        "last",
        "lo",
        "monotone",
        "n",
        "scanned",
        "sources",
        "start",
        "stop",
    )

    def __init__(self, n: int, jump: Ratio, sources: tuple[Source, ...]) -> None:
        self.n = n
        self.jump = jump
        self.sources = sources
        self.start = self.stop = 0  # nothing stored yet
        self.base = (0, n)  # the initial range (the real units), outside the budget
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.gap = 0
        self.monotone = True  # no empty unit, both ends non-decreasing (vacuous when empty)
        self.indexes: dict[tuple[int, int], _Index] = {}
        # the last _bulk answer: summarize and covers ask for the same units in turn
        self.last: tuple[tuple[int, ...], list[float], list[float]] | None = None
        self.computed = 0
        self.builds = 0
        self.scanned = 0
        parents = [f.store for f, _ in sources if isinstance(f, Table)]
        self.budget: _Budget = parents[0].budget if parents else _Budget()

    @property
    def origin(self) -> int:
        """The unit of ``lo[0]`` (an unused slot while ``gap`` > 0)."""
        return self.start - self.gap

    def holds(self, a: int, b: int) -> bool:
        return self.start <= a and b <= self.stop and self.start < self.stop

    def index(self, step: int, first: int, last: int) -> _Index:
        """An index of the units ``≡ first (mod step)``, covering ``first … last``."""
        key = (step, first % step)
        found = self.indexes.get(key)
        if (
            found is None
            or not found.origin <= first
            or last >= found.origin + len(found.lo) * step
        ):
            offset = self.gap + (first - self.start) % step
            found = _Index(self.lo[offset::step], self.hi[offset::step], self.origin + offset)
            self.indexes[key] = found
            self.builds += 1
        return found

    def add(self, units: range, lo: list[float], hi: list[float]) -> None:
        """Store the hulls of ``units``, adjacent to the stored range."""
        self.computed += len(units)
        outside = max(0, self.base[0] - units.start) + max(0, units.stop - self.base[1])
        if outside:  # each step also counts as 16 units: thousands of tiny steps cost too
            self.budget.take(min(outside, len(units)) + 16)
        empty = self.start == self.stop
        left = not empty and units.stop == self.start
        if self.monotone:
            seq_lo = lo + self.lo[self.gap : self.gap + 1] if left else self.lo[-1:] + lo
            seq_hi = hi + self.hi[self.gap : self.gap + 1] if left else self.hi[-1:] + hi
            if empty:
                seq_lo, seq_hi = lo, hi
            self.monotone = (
                _INF not in lo
                and all(map(le, seq_lo, seq_lo[1:]))
                and all(map(le, seq_hi, seq_hi[1:]))
            )
        if not left:
            if empty:
                self.start = units.start
            self.stop = units.stop
            self.lo.extend(lo)
            self.hi.extend(hi)
            return
        if len(lo) > self.gap:  # make room: as many slots as are stored (or needed)
            room = max(len(lo), len(self.lo) - self.gap) - self.gap
            self.lo[:0] = [_INF] * room
            self.hi[:0] = [-_INF] * room
            self.gap += room
        at = self.gap - len(lo)
        self.lo[at : self.gap] = lo
        self.hi[at : self.gap] = hi
        self.gap = at
        self.start = units.start


def table_stats(field: Field) -> TableStats | None:
    """The store's work counters of a :class:`Table` (``None`` for other fields)."""
    if not isinstance(field, Table):
        return None
    s = field.store
    return TableStats(s.stop - s.start, s.computed, s.builds, s.scanned)


# ------------------------------------------------------------------ queries on a store


def _query(store: _Store, first: int, count: int, step: int) -> Span:
    """Hull of the stored units ``first + i·step``, ``i < count`` (all stored)."""
    assert store.holds(first, first + (count - 1) * step + 1), (first, count, step)
    i = first - store.origin
    j = i + (count - 1) * step
    if store.monotone:
        return (int(store.lo[i]), int(store.hi[j]))
    if count <= SMALL:
        store.scanned += count
        lo = min(store.lo[i : j + 1 : step])
        hi = max(store.hi[i : j + 1 : step])
    else:
        index = store.index(step, first, first + (count - 1) * step)
        at = (first - index.origin) // step
        lo = _range(index.lo, index.mins, at, at + count - 1, min, store)
        hi = _range(index.hi, index.maxs, at, at + count - 1, max, store)
    return None if lo == _INF else (int(lo), int(hi))


def _range(
    values: list[float],
    rows: list[list[float]],
    i: int,
    j: int,
    pick: Callable[[Iterable[float]], float],
    store: _Store,
) -> float:
    """min (or max) of ``values[i : j + 1]``: the partial blocks at both ends scanned, the
    whole blocks between them from two rows of the sparse table."""
    if j - i < 2 * BLOCK:
        store.scanned += j - i + 1
        return pick(values[i : j + 1])
    head = -(-i // BLOCK)  # first whole block
    tail = (j + 1) // BLOCK  # one past the last whole block
    k = (tail - head).bit_length() - 1
    row = rows[k]
    store.scanned += head * BLOCK - i + j + 1 - tail * BLOCK + 2
    parts = [row[head], row[tail - (1 << k)]]
    if i < head * BLOCK:
        parts.append(pick(values[i : head * BLOCK]))
    if tail * BLOCK <= j:
        parts.append(pick(values[tail * BLOCK : j + 1]))
    return pick(parts)


def _sumset(c1: int, t1: int, c2: int, t2: int) -> tuple[int, int] | None:
    """``{i·t1 : i < c1} + {j·t2 : j < c2}`` as ``(count, step)`` when it is one progression."""
    if c1 == 1 or c2 == 1:
        count, step = (c2, t2) if c1 == 1 else (c1, t1)
        return (count, step if count > 1 else 1)
    if t2 % t1 == 0 and t2 // t1 <= c1:
        return (c1 + (c2 - 1) * (t2 // t1), t1)
    if t1 % t2 == 0 and t1 // t2 <= c2:
        return (c2 + (c1 - 1) * (t1 // t2), t2)
    return None


def _gather_table(table: Table, first: int, last: int, step: int) -> Span:
    """Hull of the union of ``table``'s units ``first, first + step, …, last`` (stored)."""
    store = table.store
    units = (last - first) // step + 1
    base = first * table.S - table.P
    progression = _sumset(units, step * table.S, table.taps, table.step)
    if progression is not None:
        return _query(store, base, *progression)
    if store.monotone:  # the ends suffice, whatever the gaps
        end = last * table.S - table.P + (table.taps - 1) * table.step
        return (int(store.lo[base - store.origin]), int(store.hi[end - store.origin]))
    spans = (
        [_query(store, base + m * step * table.S, table.taps, table.step) for m in range(units)]
        if units <= table.taps
        else [
            _query(store, base + i * table.step, units, step * table.S) for i in range(table.taps)
        ]
    )
    return _union(spans)


def _union(spans: Sequence[Span]) -> Span:
    real = [s for s in spans if s is not None]
    if not real:
        return None
    return (min(s[0] for s in real), max(s[1] for s in real))


def _bulk(
    table: Table, y0: int, count: int, ensure: bool = True
) -> tuple[list[float], list[float]]:
    """Ends of units ``y0 … y0 + count − 1`` (``±inf`` for empty fields), mostly at C speed.
    The caller must not change the lists (the last answer is kept for the next caller)."""
    store, S, t = table.store, table.S, table.step
    key = (S, table.P, table.taps, t, y0, count)
    if store.last is not None and store.last[0] == key:
        return store.last[1], store.last[2]
    first = y0 * S - table.P
    reach = (table.taps - 1) * t
    if ensure:
        _ensure(store, first, first + (count - 1) * S + reach + 1, slack=True)
    i = first - store.origin
    stop = i + (count - 1) * S + 1
    if store.monotone:
        lo, hi = store.lo[i:stop:S], store.hi[i + reach : stop + reach : S]
    elif table.taps == 1:
        store.scanned += count
        lo, hi = store.lo[i:stop:S], store.hi[i:stop:S]
    elif table.taps <= SMALL:
        # column by column: the extremes over one slice per unit read, a block of units at a
        # time (the slices of a whole 4,000,000-unit axis would take gigabytes)
        offsets = range(0, reach + 1, t)
        store.scanned += count * len(offsets)
        lo, hi = [], []
        for a in range(i, stop, CHUNK * S):
            b = min(stop, a + CHUNK * S)
            lo.extend(map(min, *(store.lo[a + o : b + o : S] for o in offsets)))
            hi.extend(map(max, *(store.hi[a + o : b + o : S] for o in offsets)))
    elif S % t == 0 and (stop + reach - i) // t < 16 * count:
        # dense overlapping windows in one residue class: sliding extremes, O(values read)
        # (about 0.3 µs a value, where a range query costs about 7 µs a unit)
        end = stop + reach
        store.scanned += 4 * ((end - i - 1) // t + 1)
        lo = _sliding(store.lo[i:end:t], S // t, count, table.taps, True)
        hi = _sliding(store.hi[i:end:t], S // t, count, table.taps, False)
    else:
        lo, hi = [], []
        for k in range(count):
            s = _query(store, first + k * S, table.taps, t)
            lo.append(_INF if s is None else s[0])
            hi.append(-_INF if s is None else s[1])
    store.last = (key, lo, hi)
    return lo, hi


def _sliding(values: list[float], every: int, count: int, width: int, low: bool) -> list[float]:
    """min (``low``) or max over ``values[k·every : k·every + width]`` for ``k < count`` (van
    Herk / Gil-Werman): running extremes forward and backward within blocks of ``width``
    values, so that each window is a block's tail joined to the next block's head."""
    forward: list[float] = []
    backward: list[float] = []
    for b in range(0, len(values), width):
        block = values[b : b + width]
        _running(block, low, forward)
        block.reverse()
        tail: list[float] = []
        _running(block, low, tail)
        tail.reverse()
        backward.extend(tail)
    last = (count - 1) * every + 1
    heads = backward[0:last:every]
    tails = forward[width - 1 : width - 1 + last : every]
    if low:
        return [a if a < b else b for a, b in zip(heads, tails, strict=True)]
    return [a if a > b else b for a, b in zip(heads, tails, strict=True)]


def _running(block: list[float], low: bool, out: list[float]) -> None:
    """Append the running min (``low``) or max of ``block`` to ``out``."""
    best = block[0]
    append = out.append
    if low:
        for v in block:
            if v < best:
                best = v
            append(best)
    else:
        for v in block:
            if v > best:
                best = v
            append(best)


# ------------------------------------------------------------------ growing a store


def _needs(table: Table, first: int, last: int) -> tuple[int, int]:
    """Store units ``[a, b)`` that ``table``'s units ``first … last`` read."""
    a = first * table.S - table.P
    return (a, last * table.S - table.P + (table.taps - 1) * table.step + 1)


class _Job:
    """Grow ``store`` to hold ``[a, b)``; ``parts`` (one or two ranges of units, on the left
    and on the right) and their ``reads``: the step under way, once its parents hold what it
    reads."""

    __slots__ = ("a", "b", "parts", "reads", "store")

    def __init__(self, store: _Store, a: int, b: int) -> None:
        self.store = store
        self.a = a
        self.b = b
        self.parts: list[range] | None = None
        self.reads: list[list[Reads | None]] | None = None


def _ensure(store: _Store, a: int, b: int, slack: bool = False) -> None:
    """Make the store hold units ``[a, b)``, computing the missing ones exactly. Parents' stores
    grow first, as far as these units read: iteratively (a long chain of tables must not
    recurse), parents exactly as far as needed, the requested store with slack (its virtual
    units on that side at least doubled), so that a chain of layers each reading a little
    farther grows it geometrically rather than unit by unit, while a coarse table (whose one
    virtual unit may read 100,000 units of its parent) grows by no more than twice what is
    read."""
    if store.holds(a, b):
        return
    if slack and store.stop > store.start:
        room = store.budget.left // 2
        if a < store.start:
            a -= min(max(0, a - 2 * store.start), room)  # store.start <= 0
        if b > store.stop:
            b += min(max(0, 2 * store.stop - store.n - b), room)  # store.stop >= store.n
    stack = [_Job(store, a, b)]
    while stack:
        job = stack[-1]
        s = job.store
        if job.parts is None:
            parts = _next_units(s, job.a, job.b)
            if not parts:
                stack.pop()
                continue
            job.parts = parts
            job.reads = [
                [
                    list(map(rule.fn, units))
                    if isinstance(rule, Func) and isinstance(field, Table)
                    else None
                    for field, rule in s.sources
                ]
                for units in parts
            ]
            demands = _demands(s.sources, parts, job.reads)
            if demands:  # back here once they are done: the stack holds them above this job
                stack.extend(demands)
                continue
        assert job.reads is not None
        for units, reads in zip(job.parts, job.reads, strict=True):
            lo, hi = _compute(s.sources, units, reads)
            s.add(units, lo, hi)
        job.parts = job.reads = None


def _next_units(store: _Store, a: int, b: int) -> list[range]:
    """The next units to compute toward ``[a, b)``, adjacent to what is stored, on the left
    and on the right. Steps grow with the store (from CHUNK to 4·CHUNK units): a step that
    reads past a parent's end grows the parent and renews its range index."""
    if store.stop == store.start:
        return [range(a, min(b, a + CHUNK))]
    grow = min(max(CHUNK, store.stop - store.start), 4 * CHUNK)
    parts = []
    if a < store.start:
        parts.append(range(max(a, store.start - grow), store.start))
    if b > store.stop:
        parts.append(range(store.stop, min(b, store.stop + grow)))
    return parts


def _demands(
    sources: tuple[Source, ...], parts: list[range], reads: list[list[Reads | None]]
) -> list[_Job]:
    """Jobs for the parents' stores that do not yet hold what ``parts`` read."""
    jobs: list[_Job] = []
    for k, (field, rule) in enumerate(sources):
        if not isinstance(field, Table):
            continue
        if isinstance(rule, Window):
            first = parts[0].start * rule.stride - rule.pad
            last = (parts[-1].stop - 1) * rule.stride - rule.pad + rule.span - 1
        else:
            real = [r for part in reads if (rs := part[k]) is not None for r in rs if r is not None]
            if not real:
                continue
            first, last = min(r[0] for r in real), max(r[1] for r in real)
        a, b = _needs(field, first, last)
        if not field.store.holds(a, b):
            jobs.append(_Job(field.store, a, b))
    return jobs


def _compute(
    sources: tuple[Source, ...], units: range, reads: list[Reads | None]
) -> tuple[list[float], list[float]]:
    """Hulls of ``units``: per source, the parent gathered over what the rule reads; then the
    union over the sources. Every parent unit needed is stored."""
    result: tuple[list[float], list[float]] | None = None
    for (field, rule), rule_reads in zip(sources, reads, strict=True):
        if isinstance(rule, Window):
            lo, hi = _window_ends(field, rule, units)
        else:
            lo, hi = _func_ends(field, rule, units, rule_reads)
        if result is None:
            result = (lo, hi)
        else:
            result = (list(map(min, result[0], lo)), list(map(max, result[1], hi)))
    assert result is not None
    return result


def _window_ends(
    field: Affine | Table, rule: Window, units: range
) -> tuple[list[float], list[float]]:
    if isinstance(field, Affine):
        a = _compose_affine(field, rule)
        first = units.start * a.S - a.P
        stop = first + len(units) * a.S
        return list(range(first, stop, a.S)), list(range(first + a.r - 1, stop + a.r - 1, a.S))
    view = _view(field, rule)
    if view is not None:
        return _bulk(view, units.start, len(units), ensure=False)
    los: list[float] = []
    his: list[float] = []
    for y in units:
        first = y * rule.stride - rule.pad
        s = _gather_table(field, first, first + rule.span - 1, rule.step)
        los.append(_INF if s is None else s[0])
        his.append(-_INF if s is None else s[1])
    return los, his


def _func_ends(
    field: Affine | Table, rule: Func, units: range, reads: Reads | None
) -> tuple[list[float], list[float]]:
    if isinstance(field, Affine):  # monotone: the ends of what is read suffice
        S, P, top = field.S, field.P, field.r - 1 - field.P
        direct = list(map(rule.fn, units))
        return (
            [_INF if r is None else r[0] * S - P for r in direct],
            [-_INF if r is None else r[1] * S + top for r in direct],
        )
    assert reads is not None
    store = field.store
    if store.monotone:  # the ends again, straight from the stored lists
        lo_of, hi_of, S = store.lo, store.hi, field.S
        first = -field.P - store.origin
        last = first + (field.taps - 1) * field.step
        return (
            [_INF if r is None else lo_of[r[0] * S + first] for r in reads],
            [-_INF if r is None else hi_of[r[1] * S + last] for r in reads],
        )
    spans = [None if r is None else _gather_table(field, *r) for r in reads]
    return (
        [_INF if s is None else s[0] for s in spans],
        [-_INF if s is None else s[1] for s in spans],
    )


# ------------------------------------------------------------------ composition


def _compose_affine(field: Affine, rule: Window) -> Affine:
    S = field.S
    return _new(Affine, (S * rule.stride, field.P + rule.pad * S, field.r + (rule.span - 1) * S))


def _view(table: Table, rule: Window) -> Table | None:
    """``rule`` applied to ``table`` as a view of the same store, when its reads stay one
    progression of store units."""
    taps = (rule.span - 1) // rule.step + 1
    progression = _sumset(table.taps, table.step, taps, rule.step * table.S)
    if progression is None:
        return None
    count, step = progression
    return Table(table.store, table.S * rule.stride, table.P + rule.pad * table.S, count, step)


def _materialize(n: int, jump: Ratio, sources: tuple[Source, ...]) -> Table:
    if n > MAX_TABLE:
        raise TableTooLargeError(
            f"{n:,} units with a per-unit receptive field (limit {MAX_TABLE:,})"
        )
    store = _Store(n, jump, sources)
    _ensure(store, 0, n)  # virtual units (what padding reads) are computed when read
    return Table(store)


def _rule_jump(rule: Window | Func) -> Ratio:
    return rule.stride if isinstance(rule, Window) else rule.jump


def hull(field: Field, n: int) -> Span:
    """Hull of the fields of all units ``0 … n−1``."""
    if isinstance(field, Global):
        return (field.lo, field.hi)
    if isinstance(field, Affine):
        return (-field.P, (n - 1) * field.S - field.P + field.r - 1)
    lo, hi = _bulk(field, 0, n)
    low = min(lo)
    return None if low == _INF else (int(low), int(max(hi)))


def _to_global(spans: Sequence[Span]) -> Global:
    real = [s for s in spans if s is not None]
    if not real:
        return Global(0, -1)
    return Global(min(s[0] for s in real), max(s[1] for s in real))


def compose(field: Field, rule: AxisRule, n_in: int, n_out: int) -> Field:
    """The field of a layer's output axis, given its input's field and its local rule."""
    if type(field) is Affine and type(rule) is Window:  # the most common case, first
        return _compose_affine(field, rule)
    if isinstance(field, Global):
        return field
    if isinstance(rule, GlobalAxis):
        return _to_global([hull(field, n_in)])
    if isinstance(rule, Window):
        if isinstance(field, Affine):
            return _compose_affine(field, rule)
        view = _view(field, rule)
        if view is not None:
            # the units of this layer's axis, now, so that later summaries only read
            _ensure(view.store, *_needs(view, 0, n_out - 1), slack=True)
            return view
    return _materialize(n_out, field.jump * _rule_jump(rule), ((field, rule),))


class MergeInput(NamedTuple):
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
    parts = [f for f in composed if not isinstance(f, Global)]
    jumps = [f.jump for f in parts]
    if len(set(jumps)) > 1:
        notes.append("strides " + ", ".join(_fmt(j) for j in jumps))
    # docs/numbers.md#merges: uniform inputs whose fields are centred differently for the same unit;
    # inputs whose fields all end at the unit's own position (x·S) are causally aligned
    uniform = [u for u in (_uniform(f, n_out) for f in parts) if u is not None]
    if len(uniform) == len(parts):
        doubled = {r - 1 - 2 * P for P, r in uniform}  # twice each centre, (r − 1)/2 − P
        causal = all(r - 1 - P == 0 for P, r in uniform)
        if len(doubled) > 1 and not causal:
            notes.append(
                "centres of unit 0 at " + ", ".join(_fmt(ratio(c, 2)) for c in sorted(doubled))
            )
    affine = [f for f in parts if isinstance(f, Affine)]
    if len(affine) == len(parts) and len({f.S for f in affine}) == 1:
        S = affine[0].S
        P = max(f.P for f in affine)
        top = max(f.r - 1 - f.P for f in affine)
        return Affine(S, P, top + P + 1), notes
    return _materialize(n_out, max(jumps), tuple((f, IDENTITY_AXIS) for f in parts)), notes


def _uniform(field: Affine | Table, n: int) -> tuple[int, int] | None:
    """``(P, r)`` when every unit ``x < n`` has the field ``[x·S − P, x·S − P + r − 1]``."""
    if isinstance(field, Affine):
        return (field.P, field.r)
    summary = summarize(field, n)
    return (summary.padding, summary.size) if summary.uniform else None


def _fmt(value: Ratio) -> str:
    return str(value.numerator) if value.denominator == 1 else str(value)


# ------------------------------------------------------------------ summaries


class Summary(NamedTuple):
    """What docs/numbers.md reports for one axis of one layer."""

    size: int
    stride: "Ratio | None"  # None for global axes
    padding: int
    uniform: bool
    is_global: bool


# a layer makes an Affine and a Summary per axis: made as tuples directly, without the
# NamedTuple's __new__, a Python function (about 0.4 µs each); _new(Cls, values) gives
# every field, in order
_new = tuple.__new__
assert Affine._fields == ("S", "P", "r")
assert Summary._fields == ("size", "stride", "padding", "uniform", "is_global")


def summarize(field: Field, n: int) -> Summary:
    """Size, stride, padding, uniform and global for the ``n`` units of an axis."""
    if isinstance(field, Affine):
        return _new(Summary, (field.r, field.S, field.P, True, False))
    if isinstance(field, Global):
        return Summary(max(field.hi - field.lo + 1, 0), None, -field.lo, True, True)
    lo, hi = _bulk(field, 0, n)
    widest = max(map(sub, hi, lo))  # an empty field's hi − lo is −inf
    size = int(widest) + 1 if widest != -_INF else 0
    first = next((v for v in lo if v != _INF), None)
    padding = -int(first) if first is not None else 0
    jump = field.jump
    uniform = _INF not in lo and all(map(eq, map(sub, hi, lo), repeat(widest)))
    if uniform and n > 1:
        if jump.denominator != 1:
            uniform = False  # x·jump − padding is not an integer for x = 1
        else:
            step = int(jump)
            uniform = lo == (
                list(range(-padding, -padding + n * step, step)) if step else [-padding] * n
            )
    return Summary(size, jump, padding, uniform, False)


def highest_ends(table: Table, n: int) -> list[float]:
    """The highest input position each unit ``0 … n−1`` reads (``−inf`` when it reads
    nothing): for the architecture lint's look-ahead, in one pass at C speed."""
    return list(_bulk(table, 0, n)[1])


def covers(field: Field, n: int, n_input: int) -> bool:
    """Does some unit among ``0 … n−1`` have a field containing all of ``[0, n_input − 1]``?"""
    if isinstance(field, Affine):
        # lo(x) = x·S − P ≤ 0 and hi(x) = x·S − P + r − 1 ≥ n_input − 1
        S, P, r = field
        first = max(0, -((r - n_input - P) // S))  # ceil((n_input+P−r)/S)
        last = min(n - 1, P // S)
        return first <= last
    if isinstance(field, Global):
        return field.lo <= 0 and field.hi >= n_input - 1
    lo, hi = _bulk(field, 0, n)
    # the highest end among the units whose field starts at or before 0
    reach = max(compress(hi, map(le, lo, repeat(0))), default=-_INF)
    return reach >= n_input - 1
