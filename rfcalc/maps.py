"""Maps of receptive fields on the input grid, for one layer of a built graph.

Pure computation on immutable values (no rich, no typer); ``rfcalc rf`` renders them.

* :func:`unit_field` — a unit's field per spatial axis: its hull on the extended index line
  (docs/numbers.md, from the engine's exact per-unit fields, non-uniform layers included), the part
  inside the input and how many positions fall in the padding.
* :func:`coverage` — for every input position, in how many of the layer's units' fields (the
  boxes that :func:`unit_field` reports) it lies. A box is a product of per-axis intervals, so
  the map is the outer product of per-axis counts, exactly, whatever the graph.
* :func:`erf` — the theoretical effective receptive field (Luo et al., NeurIPS 2016): for every
  input position the number of paths from it to the unit when every weight is 1, counted
  spatially (as if every layer had one channel: channel fan-in multiplies every path of a layer
  alike, and would weight a merge's branches by their widths). It is what PyTorch's input
  gradient gives with every weight 1 and average pooling as a sum; through max pooling it is an
  upper bound (a window passes the gradient to its maximum only). Padding is a constant, so no
  path runs through a padded value: near the border the map is the gradient, not the
  extended-line field.
* :func:`holes` — the positions of the unit's field hull that no path reaches, on the extended
  index line as the field itself (a virtual unit that padding reads counts as the layer's
  value there, docs/numbers.md), so that gridding shows wherever it falls.

How the maps are computed. Per axis each layer reads its input by one rule (a window, or a
per-unit progression), so for a single path the map is an outer product of per-axis vectors,
each the product of ``Σ_m z^(m·d·J)`` over the layers. A merge sums its branches, and a sum of
outer products of differently shaped vectors is no outer product any more; so the maps are
carried as dense arrays over the positions they can reach, one layer at a time from the unit
back to the input, each layer applied axis by axis (separably). Each node's array is bounded by
its own extent (the input for the ERF, the field hull for holes); identity edges (activations,
norms, the identity branch of a residual block) cost nothing.

Global layers (flatten and what follows, global pooling, attention over an axis) read every
unit of their input along the axes they remove: such an axis has one unit (index 0), whose field
is the hull of all the input's units, and the maps count the paths through all of them. Axes
that no output dim carries are reported as global. A merge's global inputs beside spatial ones
(an SE gate's pooled branch) are global context, as in the engine: the maps follow the spatial
paths and say ``global_context``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import add, or_

from rfcalc import gridding, rf
from rfcalc.build import INPUT, Graph
from rfcalc.engine import Report, analyze
from rfcalc.errors import InputError, SourcePos, did_you_mean
from rfcalc.layers.base import axis_name, channels_first

MAPS = ("coverage", "erf", "holes")
SPREAD = (1, 40)  # ERF spread: the central extent without at most 1/40 = 2.5 % on each side
MAX_CELLS = 50_000_000  # a map's array larger than this is refused (memory)


@dataclass(frozen=True, slots=True)
class Grid:
    """Integers over the box ``origin … origin + shape − 1`` of positions, row-major."""

    origin: tuple[int, ...]
    shape: tuple[int, ...]
    values: tuple[int, ...]

    def at(self, position: Sequence[int]) -> int:
        """The value at a position (0 outside the box)."""
        flat = 0
        for p, o, n in zip(position, self.origin, self.shape, strict=True):
            if not o <= p < o + n:
                return 0
            flat = flat * n + (p - o)
        return self.values[flat]

    def nested(self) -> object:
        """The values as nested lists, one level per axis (a list for one axis)."""
        values: list[object] = list(self.values)
        for n in reversed(self.shape[1:]):
            values = [values[i : i + n] for i in range(0, len(values), n)]
        return values

    def marginal(self, axis: int) -> tuple[int, ...]:
        """The sums over every other axis, along ``axis``."""
        n = self.shape[axis]
        inner = _prod(self.shape[axis + 1 :])
        sums = [0] * n
        for flat, v in enumerate(self.values):
            if v:
                sums[(flat // inner) % n] += v
        return tuple(sums)


@dataclass(frozen=True, slots=True)
class AxisField:
    """A unit's field on one spatial axis of the input (positions on the extended line)."""

    axis: str  # 'L', 'H', 'W', 'D'
    units: int  # the layer's units along this axis (1 when no dim carries it: global)
    unit: int
    n: int  # the input's size on this axis
    span: tuple[int, int] | None  # hull [lo, hi]; None when the unit reads no position
    is_global: bool

    @property
    def size(self) -> int:
        return 0 if self.span is None else self.span[1] - self.span[0] + 1

    @property
    def inside(self) -> tuple[int, int] | None:
        """The part of the hull inside the input ``[0, n − 1]``."""
        if self.span is None or self.span[1] < 0 or self.span[0] >= self.n:
            return None
        return (max(self.span[0], 0), min(self.span[1], self.n - 1))

    @property
    def before(self) -> int:
        """Positions of the hull before the input (in the padding)."""
        return 0 if self.span is None else max(0, min(0, self.span[1] + 1) - self.span[0])

    @property
    def after(self) -> int:
        """Positions of the hull after the input (in the padding)."""
        return 0 if self.span is None else max(0, self.span[1] - max(self.n - 1, self.span[0] - 1))


@dataclass(frozen=True, slots=True)
class UnitField:
    layer: str
    type: str
    index: int
    output_shape: tuple[int, ...]
    unit: tuple[int, ...]
    axes: tuple[AxisField, ...]


@dataclass(frozen=True, slots=True)
class Coverage:
    per_axis: tuple[tuple[int, ...], ...]  # per axis: the count at each input position
    grid: Grid  # their outer product over the input


@dataclass(frozen=True, slots=True)
class Erf:
    grid: Grid  # paths from each input position to the unit
    total: int
    spread: tuple[tuple[int, int] | None, ...]  # per axis: the central extent of 95 % of paths
    upper_bound: bool  # a max (or min) pooling lies on some path
    global_context: bool


@dataclass(frozen=True, slots=True)
class Holes:
    reached: Grid  # over the field's hull: 1 where some path reaches, 0 in a hole
    hull: int  # positions in the hull
    holes: int  # positions of the hull that no path reaches
    global_context: bool


@dataclass(frozen=True, slots=True)
class Model:
    """A graph analysed with its fields kept, and each node's edges (see rfcalc.gridding)."""

    graph: Graph
    report: Report
    edges: tuple[tuple[gridding.Edge, ...], ...]
    context: tuple[bool, ...]  # the node set a merge's global inputs aside
    units: tuple[tuple[int, ...], ...]  # per node, per axis: its units (1 where not carried)
    rank: int

    def sizes(self, node: int) -> tuple[int, ...]:
        return self.graph.input_shape[1:] if node == INPUT else self.units[node]


def prepare(graph: Graph, report: Report | None = None) -> Model:
    """Analyse ``graph`` keeping every field, and derive its edges; ``report``: the graph's
    analysis made with ``keep_fields`` already (then it is not made again)."""
    if report is None or report.fields is None:
        report = analyze(graph, keep_fields=True)
    rank = len(graph.input_shape) - 1
    assert report.fields is not None
    assert report.layouts is not None
    assert report.rules is not None
    layouts = {INPUT: channels_first(rank + 1), **dict(enumerate(report.layouts))}
    fields = {INPUT: (rf.INPUT_FIELD,) * rank, **dict(enumerate(report.fields))}
    shapes = {INPUT: graph.input_shape} | {r.index: r.output_shape for r in report.layers}
    all_edges = []
    context = []
    units = []
    for node in graph.nodes:
        in_layouts = tuple(layouts[i] for i in node.inputs)
        found, mixed = gridding.edges(
            report.rules[node.index],  # the engine's, not the rule run again
            node.inputs,
            in_layouts,
            layouts[node.index],
            [fields[i] for i in node.inputs],
            rank,
        )
        all_edges.append(found)
        context.append(mixed)
        layout = layouts[node.index]
        shape = shapes[node.index]
        units.append(tuple(shape[layout.index(a)] if a in layout else 1 for a in range(rank)))
    return Model(graph, report, tuple(all_edges), tuple(context), tuple(units), rank)


# ---------------------------------------------------------------- choosing a layer and unit


def spatial(model: Model, index: int) -> bool:
    """Does the layer's output carry every spatial axis (it is not global)?"""
    assert model.report.layouts is not None
    layout = model.report.layouts[index]
    return model.rank > 0 and all(a in layout for a in range(model.rank))


def find_layer(model: Model, name: str | None) -> int:
    """The index of the layer named ``name`` (default: the last spatial layer)."""
    where = SourcePos(model.graph.path)
    if model.rank == 0:
        raise InputError(
            "the model's input has no spatial axis: there is no receptive field to map",
            model.graph.input_pos,
        )
    names = [r.name for r in model.report.layers]
    if name is None:
        for index in range(len(names) - 1, -1, -1):
            if spatial(model, index):
                return index
        return len(names) - 1
    for index, candidate in enumerate(names):
        if candidate == name:
            return index
    # a block instance or a repeat means its output: its last layer's (docs/format.md)
    for node in reversed(model.graph.nodes):
        if name in node.groups:
            return node.index
    groups = {g for node in model.graph.nodes for g in node.groups}
    raise InputError(
        f"the model has no layer '{name}'",
        where,
        lambda: did_you_mean(name, [*names, *groups]) or f"list them: rfcalc describe {where.path}",
    )


def centre(model: Model, index: int) -> tuple[int, ...]:
    """The default unit: the middle one on every axis (the right of the two middles)."""
    return tuple(n // 2 for n in model.units[index])


def check_unit(model: Model, index: int, unit: Sequence[int]) -> tuple[int, ...]:
    units = model.units[index]
    where = SourcePos(model.graph.path)
    layer = model.report.layers[index].name
    names = "".join(axis_name(model.rank, a) for a in range(model.rank))
    if len(unit) != model.rank:
        raise InputError(
            f"--unit needs {model.rank} {'index' if model.rank == 1 else 'indices'} (one per "
            f"spatial axis, {names}), got {len(unit)}",
            where,
        )
    for a, (u, n) in enumerate(zip(unit, units, strict=True)):
        if not 0 <= u < n:
            what = f"{n} units" if n > 1 else "1 unit (the axis is global there)"
            raise InputError(
                f"--unit: layer '{layer}' has {what} on axis {axis_name(model.rank, a)}, "
                f"so its index must be 0 … {n - 1}; got {u}",
                where,
            )
    return tuple(unit)


# ---------------------------------------------------------------- the unit's field


def unit_field(model: Model, index: int, unit: Sequence[int]) -> UnitField:
    row = model.report.layers[index]
    assert model.report.fields is not None
    fields = model.report.fields[index]
    n_in = model.graph.input_shape[1:]
    axes = tuple(
        AxisField(
            axis_name(model.rank, a),
            model.units[index][a],
            unit[a],
            n_in[a],
            fields[a].span(unit[a]),
            isinstance(fields[a], rf.Global),
        )
        for a in range(model.rank)
    )
    return UnitField(row.name, row.type, index, row.output_shape, tuple(unit), axes)


# ---------------------------------------------------------------- coverage


def coverage(model: Model, index: int) -> Coverage:
    """In how many of the layer's units' field boxes each input position lies."""
    assert model.report.fields is not None
    fields = model.report.fields[index]
    per_axis = []
    for a, n in enumerate(model.graph.input_shape[1:]):
        starts = [0] * (n + 1)  # a difference array over the input positions
        field = fields[a]
        for y in range(model.units[index][a]):
            span = field.span(y)
            if span is None or span[1] < 0 or span[0] >= n:
                continue
            starts[max(span[0], 0)] += 1
            starts[min(span[1], n - 1) + 1] -= 1
        per_axis.append(tuple(accumulate(starts[:n])))
    values: list[int] = [1]
    for counts in per_axis:
        values = [v * c for v in values for c in counts]
    shape = tuple(len(c) for c in per_axis)
    return Coverage(tuple(per_axis), Grid((0,) * model.rank, shape, tuple(values)))


# ---------------------------------------------------------------- ERF and holes


def erf(model: Model, index: int, unit: Sequence[int]) -> Erf:
    """Paths from every input position to the unit, every weight 1 (see the module doc)."""
    box = tuple((0, n - 1) for n in model.graph.input_shape[1:])
    grid, upper, context = _paths(model, index, tuple(unit), box, clip=True, combine=add)
    total = sum(grid.values)
    spread = tuple(_spread(grid.marginal(a), total) for a in range(model.rank))
    return Erf(grid, total, spread, upper, context)


def holes(model: Model, index: int, unit: Sequence[int]) -> Holes:
    """The positions of the unit's field hull (extended line) that no path reaches."""
    field = unit_field(model, index, unit)
    spans = [a.span for a in field.axes]
    if any(s is None for s in spans):
        empty = Grid((0,) * model.rank, (0,) * model.rank, ())
        return Holes(empty, 0, 0, False)
    box = tuple(s for s in spans if s is not None)
    grid, _, context = _paths(model, index, tuple(unit), box, clip=False, combine=or_)
    hit = sum(grid.values)
    return Holes(grid, len(grid.values), len(grid.values) - hit, context)


def _spread(marginal: Sequence[int], total: int) -> tuple[int, int] | None:
    """Indices ``[a, b]`` of the central extent: at most ``SPREAD`` of ``total`` left out on
    each side (so it holds at least 95 %)."""
    if total == 0:
        return None
    num, den = SPREAD
    left = 0
    a = 0
    while den * (left + marginal[a]) <= num * total:
        left += marginal[a]
        a += 1
    right = 0
    b = len(marginal) - 1
    while den * (right + marginal[b]) <= num * total:
        right += marginal[b]
        b -= 1
    return (a, b)


Span = tuple[int, int]


def _paths(
    model: Model,
    index: int,
    unit: tuple[int, ...],
    box: tuple[Span, ...],
    clip: bool,
    combine: Callable[[int, int], int],
) -> tuple[Grid, bool, bool]:
    """The unit's paths back to the input positions in ``box``: counted (``add``) or only
    marked (``or_``). ``clip``: a unit reading outside its input's real units reads padding, a
    constant (the gradient's view); otherwise virtual units count as the layer's value there
    (the extended line of docs/numbers.md). Returns the map, whether a max/min pooling lies on
    a path, and whether a merge on a path set global inputs aside."""
    domains: dict[int, list[Span]] = {index: [(u, u) for u in unit], INPUT: list(box)}
    live: dict[int, list[gridding.Edge]] = {}
    upper = context = False
    for k in range(index, -1, -1):
        dom = domains.get(k)
        if dom is None:
            continue
        kind = model.graph.nodes[k].kind.name
        upper = upper or "maxpool" in kind or "minpool" in kind
        context = context or model.context[k]
        live[k] = []
        for edge in model.edges[k]:
            sizes = model.sizes(edge.source)
            reads = [_reads(r, d, n, clip) for r, d, n in zip(edge.rules, dom, sizes, strict=True)]
            if any(r is None for r in reads):
                continue
            live[k].append(edge)
            known = domains.get(edge.source)
            spans = [r for r in reads if r is not None]
            if known is None:
                domains[edge.source] = spans
            elif edge.source != INPUT:  # the input's box is given (what lies outside: 0)
                domains[edge.source] = [
                    (min(x[0], y[0]), max(x[1], y[1])) for x, y in zip(known, spans, strict=True)
                ]
    arrays: dict[int, list[int]] = {index: [1]}
    for k in range(index, -1, -1):
        data = arrays.pop(k, None)
        if data is None:
            continue
        for edge in live[k]:
            current, dom = data, list(domains[k])
            target = domains[edge.source]
            sizes = model.sizes(edge.source)
            for a, rule in enumerate(edge.rules):
                if rule == rf.IDENTITY_AXIS and dom[a] == target[a]:
                    continue
                pairs = _pairs(rule, dom[a], target[a], sizes[a], clip)
                current = _apply(current, _shape(dom), a, pairs, _len(target[a]), combine)
                dom[a] = target[a]
            before = arrays.get(edge.source)
            arrays[edge.source] = current if before is None else list(map(combine, before, current))
    shape = tuple(_len(s) for s in box)
    values = arrays.get(INPUT) or [0] * _prod(shape)
    return Grid(tuple(s[0] for s in box), shape, tuple(values)), upper, context


def _len(span: Span) -> int:
    return span[1] - span[0] + 1


def _shape(dom: Sequence[Span]) -> tuple[int, ...]:
    return tuple(_len(s) for s in dom)


def _prod(values: Sequence[int]) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def _progression(rule: rf.AxisRule, x: int, n: int) -> range:
    """The units of its input that unit ``x`` reads by ``rule`` (``n``: the input's units)."""
    if isinstance(rule, rf.Window):
        first = x * rule.stride - rule.pad
        return range(first, first + rule.span, rule.step)
    if isinstance(rule, rf.Func):
        found = rule.fn(x)
        return range(0) if found is None else range(found[0], found[1] + 1, found[2])
    return range(n)


def _reads(rule: rf.AxisRule, dom: Span, n: int, clip: bool) -> Span | None:
    """The hull of what the units ``dom`` read (within ``[0, n − 1]`` when ``clip``)."""
    if isinstance(rule, rf.GlobalAxis):
        return (0, n - 1)
    if isinstance(rule, rf.Window):
        lo = dom[0] * rule.stride - rule.pad
        hi = dom[1] * rule.stride - rule.pad + rule.span - 1
        if clip:
            lo, hi = max(lo, 0), min(hi, n - 1)
        return (lo, hi) if lo <= hi else None
    first: int | None = None
    last: int | None = None
    for x in range(dom[0], dom[1] + 1):
        units = _progression(rule, x, n)
        if clip:
            units = _inside(units, n)
        if units:
            first = units[0] if first is None else min(first, units[0])
            last = units[-1] if last is None else max(last, units[-1])
    return None if first is None or last is None else (first, last)


def _inside(units: range, n: int) -> range:
    """The part of a progression inside ``[0, n − 1]``."""
    step = units.step
    first = units.start if units.start >= 0 else units.start + -(units.start // step) * step
    return range(first, min(units.stop, n), step)


def _pairs(
    rule: rf.AxisRule, dom: Span, target: Span, n: int, clip: bool
) -> Iterator[tuple[int, int]]:
    """(unit, read) index pairs within the two domains, one per path step. A domain is a
    hull, so it may hold units that the unit of the map does not read (holding 0): what they
    read may lie outside the target's domain, and is left out."""
    lo, hi = (max(target[0], 0), min(target[1], n - 1)) if clip else target
    for x in range(dom[0], dom[1] + 1):
        for i in _progression(rule, x, n):
            if lo <= i <= hi:
                yield (x - dom[0], i - target[0])


def _apply(
    data: list[int],
    shape: tuple[int, ...],
    axis: int,
    pairs: Iterator[tuple[int, int]],
    size: int,
    combine: Callable[[int, int], int],
) -> list[int]:
    """Carry ``data`` (row-major over ``shape``) along ``axis`` to a new axis of ``size``
    entries: entry ``j`` combines every entry ``i`` with ``(i, j)`` in ``pairs``. Each pair
    is one slice operation (strided on the last axis, one block per outer index otherwise)."""
    n = shape[axis]
    outer = _prod(shape[:axis])
    inner = _prod(shape[axis + 1 :])
    cells = outer * size * inner
    if cells > MAX_CELLS:
        raise InputError(f"the map would need {cells:,} cells (limit {MAX_CELLS:,})")
    out = [0] * cells
    if inner == 1:
        for i, j in pairs:
            out[j::size] = map(combine, out[j::size], data[i::n])
        return out
    stride_in, stride_out = n * inner, size * inner
    for i, j in pairs:
        for o in range(outer):
            src = o * stride_in + i * inner
            dst = o * stride_out + j * inner
            out[dst : dst + inner] = map(combine, out[dst : dst + inner], data[src : src + inner])
    return out
