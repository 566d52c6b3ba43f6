"""The graph's edges axis by axis, and the cheap ``rf-holes`` check of ``describe``.

An *edge* is one input of a layer with, per spatial axis of the model input, the
:class:`~rfcalc.rf.AxisRule` by which the layer's units read that input's units: the rule the
engine composes fields with (identity on an axis that the input no longer carries, which then
has a single unit; :data:`~rfcalc.rf.GLOBAL_AXIS` where the layer flattens the axis away). A
merge's global inputs beside spatial ones ("global context": docs/numbers.md) and inputs
that read no input position are left out, as the engine leaves them out of the field.
``rfcalc rf``'s maps walk these edges; so does the check below.

``rf-holes``. On an axis whose field is uniform, unit ``y`` reaches the positions
``R(0) + y·S``, so one set per layer and axis says where every unit's field has holes. Per
axis that set is carried along the edges as a bit mask over its hull (a window of ``t`` taps
``step`` apart on a field of jump ``J`` ORs ``t`` copies shifted by ``step·J``); while it is an
interval it stays two numbers, so the check costs nothing on networks without gaps. In
several dimensions a unit's field is the union, over the merged branches, of per-branch
products of per-axis sets: when that union is itself a product the count of unreached
positions is exact (``∏ hull − ∏ reached``), otherwise it is a lower bound (``at least``).
Axes whose field is not uniform (after transposed convolution, upsampling, adaptive pooling)
are not checked here; ``rfcalc rf --map holes`` maps any layer exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from rfcalc import rf
from rfcalc.layers.base import ALL_GLOBAL, POINTWISE, Layout, PerDim, PerInput, RfRule

if TYPE_CHECKING:
    from rfcalc.build import Node

INPUT = -1  # node index of the model's input (as rfcalc.build.INPUT)
HOLES = "rf-holes"
MAX_BITS = 1 << 22  # a hull wider than this is not checked (its mask would be megabytes)


class Edge(NamedTuple):
    source: int  # node index, or INPUT
    rules: tuple[rf.AxisRule, ...]  # per spatial axis of the model input


def _positions(layout: Layout, rank: int) -> tuple[int | None, ...]:
    from rfcalc.engine import _positions as positions  # the engine's reading of a layout

    return positions(layout, rank)


def edges(
    rule: RfRule,
    inputs: Sequence[int],
    in_layouts: Sequence[Layout],
    out_layout: Layout,
    in_fields: Sequence[tuple[rf.Field, ...]],
    rank: int,
) -> tuple[tuple[Edge, ...], bool]:
    """A layer's edges, and whether global inputs were set aside as global context."""
    from rfcalc.engine import _dim_rules

    out_pos = _positions(out_layout, rank)
    found = []
    for i, (source, layout) in enumerate(zip(inputs, in_layouts, strict=True)):
        in_pos = _positions(layout, rank)
        axes: list[rf.AxisRule] = []
        for a in range(rank):
            j, k = in_pos[a], out_pos[a]
            if j is None:  # already global here: one unit, which every unit reads
                axes.append(rf.IDENTITY_AXIS)
            elif k is None or rule is ALL_GLOBAL:
                axes.append(rf.GLOBAL_AXIS)
            elif rule is POINTWISE:
                axes.append(rf.IDENTITY_AXIS)
            else:
                assert isinstance(rule, PerInput | PerDim)
                axes.append(_dim_rules(rule, i)[j])
        found.append(Edge(source, tuple(axes)))
    if len(found) < 2 or not isinstance(rule, PerInput | PerDim):
        return tuple(found), False
    kept = list(range(len(found)))
    mixed = False
    for a in range(rank):
        # as the engine: an input reading nothing adds nothing; global inputs beside spatial
        # ones are global context, not part of the field
        real = [i for i in kept if not _empty(in_fields[i][a])] or kept
        spatial = [i for i in real if not _global(in_fields[i][a], found[i].rules[a])]
        if spatial and len(spatial) < len(real):
            real, mixed = spatial, True
        kept = [i for i in kept if i in real]
    return tuple(found[i] for i in kept), mixed


def _empty(field: rf.Field) -> bool:
    return isinstance(field, rf.Global) and field.lo > field.hi


def _global(field: rf.Field, rule: rf.AxisRule) -> bool:
    return isinstance(field, rf.Global) or isinstance(rule, rf.GlobalAxis)


# ---------------------------------------------------------------- per-axis reach of unit 0

# The positions unit 0 reaches on one axis: (lo, size, mask), bit i of mask set when lo + i is
# reached; mask FULL when all of lo … lo + size − 1 are (no mask is built for an interval).
Reach = tuple[int, int, int]
FULL = -1
Known = Reach | None  # None: not checked (the field is not uniform, or too wide)


def _full_mask(size: int) -> int:
    return (1 << size) - 1


def _normal(lo: int, size: int, mask: int) -> Reach:
    return (lo, size, FULL if mask == _full_mask(size) else mask)


def union(parts: Sequence[Reach]) -> Reach:
    """The positions any of ``parts`` reaches."""
    if len(parts) == 1:
        return parts[0]
    lo = min(p[0] for p in parts)
    hi = max(p[0] + p[1] - 1 for p in parts)
    ordered = sorted(parts)
    if all(p[2] == FULL for p in parts):
        end = ordered[0][0] + ordered[0][1]  # one past the interval built so far
        for p_lo, p_size, _ in ordered[1:]:
            if p_lo > end:
                break
            end = max(end, p_lo + p_size)
        else:
            return (lo, hi - lo + 1, FULL)
    mask = 0
    for p_lo, p_size, p_mask in parts:
        mask |= (_full_mask(p_size) if p_mask == FULL else p_mask) << (p_lo - lo)
    return _normal(lo, hi - lo + 1, mask)


def through(reach: Reach, rule: rf.Window, jump: int) -> Reach:
    """What unit 0 of a layer reaches when it reads its input (uniform field, jump ``jump``,
    unit 0 reaching ``reach``) by ``rule``: the union of the units ``t·step − pad``."""
    lo, size, mask = reach
    taps = (rule.span - 1) // rule.step + 1
    gap = rule.step * jump
    first = lo - rule.pad * jump
    if taps == 1 or (mask == FULL and gap <= size):
        return (first, size + (taps - 1) * gap, mask if taps == 1 else FULL)
    return union([(first + t * gap, size, mask) for t in range(taps)])


def reached(reach: Reach) -> int:
    return reach[1] if reach[2] == FULL else reach[2].bit_count()


def _contains(big: Sequence[Reach], small: Sequence[Reach]) -> bool:
    return all(union([b, s]) == b for b, s in zip(big, small, strict=True))


def _product_union(boxes: Sequence[tuple[Reach, ...]]) -> bool:
    """Is the union of these per-axis products itself a product (of the per-axis unions)?"""
    acc = boxes[0]
    for box in boxes[1:]:
        if _contains(acc, box):
            continue
        if _contains(box, acc):
            acc = box
            continue
        differ = [a for a in range(len(acc)) if acc[a] != box[a]]
        if len(differ) > 1:
            return False
        acc = tuple(union([x, y]) for x, y in zip(acc, box, strict=True))
    return True


def hole_warnings(
    nodes: Sequence[Node],
    rules: Sequence[RfRule],
    layouts: Sequence[Layout],
    fields: Sequence[tuple[rf.Field, ...]],
    rank: int,
) -> list[tuple[str, str]]:
    """``(layer, message)`` for each layer whose uniform field gains holes: positions inside a
    unit's field that no path reaches. Cheap: nothing is tracked unless some window's taps
    can be farther apart than what they read (a dilation, or a stride above the window, which
    makes a field's jump larger than its size), and a layer is only looked at when it dilates
    or reads a field with holes or with a jump above its size. ``layouts`` and ``fields``
    are by node index, the input's at INPUT (-1)."""
    distinct = {id(r): r for r in rules}.values()  # layers alike share their rule's object
    if rank == 0 or not any(map(_may_gap, distinct)):
        return []
    # reaches that are not the interval the field's (P, r) gives; absent: that interval
    reaches: dict[int, tuple[Known, ...]] = {}
    not_product: set[int] = set()
    out: list[tuple[str, str]] = []

    def reach(k: int) -> tuple[Known, ...]:
        found = reaches.get(k)
        return found if found is not None else _interval(fields[k])

    for node, rule in zip(nodes, rules, strict=True):
        index, inputs = node.index, node.inputs
        if not _dilated(rule) and all(i not in reaches and _dense(fields[i]) for i in inputs):
            if not not_product.isdisjoint(inputs):
                not_product.add(index)
            continue  # windows of step 1 on intervals at least a jump long: an interval
        found, _ = edges(
            rule,
            inputs,
            [layouts[i] for i in inputs],
            layouts[index],
            [fields[i] for i in inputs],
            rank,
        )
        boxes: list[tuple[Known, ...]] = []
        for edge in found:
            box: list[Known] = []
            for axis_rule, source, field in zip(
                edge.rules, reach(edge.source), fields[edge.source], strict=True
            ):
                if (
                    source is None
                    or not isinstance(axis_rule, rf.Window)
                    or not isinstance(field, rf.Affine)
                ):
                    box.append(None)
                else:
                    box.append(through(source, axis_rule, field.S))
            boxes.append(tuple(box))
        own = fields[index]
        axes: list[Known] = []
        for a in range(rank):
            column = [b[a] for b in boxes]
            known = [c for c in column if c is not None]
            ok = bool(known) and len(known) == len(column) and isinstance(own[a], rf.Affine)
            result = union(known) if ok else None
            axes.append(result if result is None or result[1] <= MAX_BITS else None)
        mine = tuple(axes)
        if mine != _interval(own):
            reaches[index] = mine
        checked = [a for a in range(rank) if axes[a] is not None]
        if not not_product.isdisjoint(e.source for e in found) or (
            len(boxes) > 1
            and not _product_union([tuple(r for a in checked if (r := b[a])) for b in boxes])
        ):
            not_product.add(index)
        holey = [r for r in axes if r is not None and r[2] != FULL]
        if not holey or any(reach(e.source) == mine for e in found):
            continue
        out.append((node.name, _message(axes, index not in not_product)))
    return out


def _interval(field: tuple[rf.Field, ...]) -> tuple[Known, ...]:
    """Unit 0's reach when it is its whole hull: ``−P … r − 1 − P`` of a uniform field."""
    return tuple((-f.P, f.r, FULL) if isinstance(f, rf.Affine) else None for f in field)


def _dense(field: tuple[rf.Field, ...]) -> bool:
    """Is every uniform axis's jump at most its size (so a step-1 window leaves no gap)?"""
    return all(f.r >= f.S for f in field if isinstance(f, rf.Affine))


def _windows(rule: RfRule) -> list[rf.Window]:
    if not isinstance(rule, PerInput | PerDim):
        return []
    groups = rule.axes if isinstance(rule, PerInput) else rule.dims
    return [r for g in groups for r in g if isinstance(r, rf.Window)]


def _dilated(rule: RfRule) -> bool:
    return any(r.step > 1 for r in _windows(rule))


def _may_gap(rule: RfRule) -> bool:
    """Can this layer's windows read positions farther apart than what each reads? Without a
    dilation or a stride above the window, a field's jump never exceeds its size (``S ≤ r``
    holds for the input and is kept: ``S·s ≤ S·span ≤ r + (span − 1)·S``)."""
    return any(r.step > 1 or r.stride > r.span for r in _windows(rule))


def _message(axes: Sequence[Known], exact: bool) -> str:
    from rfcalc.layers.base import axis_name

    rank = len(axes)
    known = [r for r in axes if r is not None]
    hull = 1
    hit = 1
    for r in known:
        hull *= r[1]
        hit *= reached(r)
    parts = [
        f"{'' if rank == 1 else axis_name(rank, a) + ': '}{reached(r)} of {r[1]}"
        for a, r in enumerate(axes)
        if r is not None
    ]
    some = "" if exact and len(known) == rank else "at least "
    detail = "" if rank == 1 else f" (reached per axis: {', '.join(parts)})"
    return (
        f"no path reaches {some}{hull - hit:,} of the {hull:,} positions inside a unit's field"
        f"{detail}: its dilations or strides leave gaps (gridding)"
    )
