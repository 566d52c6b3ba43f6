"""Graph → :class:`Report`: shapes, parameters, MACs, memory and receptive fields.

Pure computation on immutable values (NamedTuples); no printing, no rich, no typer. Totals are
computed once here so that every renderer shows the same numbers.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

from rfcalc import rf
from rfcalc.build import INPUT, Graph
from rfcalc.errors import ShapeError, SourcePos
from rfcalc.layers.base import (
    ALL_GLOBAL,
    POINTWISE,
    Ctx,
    DimTag,
    Layout,
    Out,
    PerDim,
    PerInput,
    Shape,
    channels_first,
    fmt_layout,
    need_channels_first,
    prod,
)

DTYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}


class RF(NamedTuple):
    size: tuple[int, ...]
    stride: tuple[Fraction | None, ...]
    padding: tuple[int, ...]
    uniform: bool
    is_global: bool
    covers_input: bool  # on every axis some unit's field contains the whole input
    # SPEC §2 "global context": a merge took a global input (an SE gate, an image-pooling
    # branch) beside spatial ones, here or upstream; the field is the spatial inputs' field
    global_context: bool = False


class LayerRow(NamedTuple):
    index: int  # type: ignore[assignment]  # a field, in place of tuple.index()
    name: str
    type: str
    inputs: tuple[str, ...]
    output_shape: Shape
    params: int
    trainable_params: int
    buffers: int
    macs: int
    output_bytes: int
    rf: RF
    groups: tuple[str, ...]
    pos: SourcePos


class Warning(NamedTuple):
    layer: str
    code: str
    message: str


class Totals(NamedTuple):
    params: int
    trainable_params: int
    non_trainable_params: int
    buffers: int
    macs: int
    flops: int
    input_bytes: int
    param_bytes: int
    activation_bytes: int


class Report(NamedTuple):
    name: str | None
    source: str
    input_shape: Shape
    batch: int
    dtype: str
    layers: tuple[LayerRow, ...]
    output_shape: Shape
    totals: Totals
    warnings: tuple[Warning, ...]
    # per layer, per input axis: each unit's field (only with analyze(keep_fields=True))
    fields: tuple[tuple[rf.Field, ...], ...] | None = None
    # per layer: what each output dim is (only with keep_fields=True; see layers.base.Layout)
    layouts: tuple[Layout, ...] | None = None

    @property
    def final(self) -> LayerRow:
        return self.layers[-1]


def analyze(
    graph: Graph, batch: int = 1, dtype: str = "float32", keep_fields: bool = False
) -> Report:
    size = DTYPES[dtype]
    rank = len(graph.input_shape) - 1
    shapes: dict[int, Shape] = {INPUT: graph.input_shape}
    fields: dict[int, tuple[rf.Field, ...]] = {INPUT: (rf.INPUT_FIELD,) * rank}
    canon = channels_first(rank + 1)
    layouts: dict[int, Layout] = {INPUT: canon}
    names = {INPUT: "input"}
    contexts: dict[int, bool] = {INPUT: False}
    rows: list[LayerRow] = []
    warnings: list[Warning] = []
    # a rule is a function of its arguments and inputs: layers alike (a repeat, a chain
    # written out) compute it once; the builder shares one arguments mapping between them
    results: dict[tuple[int, tuple[Shape, ...], tuple[Layout, ...]], Out] = {}
    for node in graph.nodes:
        names[node.index] = node.name
        in_shapes = tuple(shapes[i] for i in node.inputs)
        in_layouts = tuple(layouts[i] for i in node.inputs)
        ctx = Ctx(
            node.name,
            node.kind.name,
            node.args,
            node.arg_pos,
            node.pos,
            in_shapes,
            in_layouts,
            rank,
        )
        if node.kind.channels_first and in_layouts and in_layouts[0] is not canon:
            need_channels_first(ctx)
        key = (id(node.args), in_shapes, in_layouts)
        out = results.get(key)
        if out is None:
            out = results[key] = node.kind.rule(ctx)
        shapes[node.index] = out.shape
        layout = _out_layout(ctx, out, rank)
        if layout is not canon and layout == canon:
            layout = canon  # permuted back: the common case stays an identity test
        layouts[node.index] = layout
        in_fields = [fields[i] for i in node.inputs]
        try:
            new_fields, notes, mixed = _fields(
                out.rf, in_fields, in_shapes, in_layouts, out.shape, layout, rank
            )
        except rf.TableTooLargeError as exc:
            raise ShapeError(f"layer '{node.name}' ({node.kind.name}): {exc}", node.pos) from None
        fields[node.index] = new_fields
        context = mixed or any(contexts[i] for i in node.inputs)
        contexts[node.index] = context
        for note in notes:
            sources = ", ".join(f"'{names[i]}'" for i in node.inputs)
            warnings.append(
                Warning(node.name, "misaligned-merge", f"the merged inputs {sources} have {note}")
            )
        params = out.params
        rows.append(
            LayerRow(
                index=node.index,
                name=node.name,
                type=node.kind.name,
                inputs=tuple(names[i] for i in node.inputs),
                output_shape=out.shape,
                params=params,
                trainable_params=params if node.trainable else 0,
                buffers=out.buffers,
                macs=out.macs,
                output_bytes=prod(out.shape) * batch * size,
                rf=_summary(new_fields, out.shape, layout, graph.input_shape, context),
                groups=node.groups,
                pos=node.pos,
            )
        )
    params = sum(r.params for r in rows)
    trainable = sum(r.trainable_params for r in rows)
    buffers = sum(r.buffers for r in rows)
    macs = sum(r.macs for r in rows)
    totals = Totals(
        params=params,
        trainable_params=trainable,
        non_trainable_params=params - trainable,
        buffers=buffers,
        macs=macs,
        flops=2 * macs,
        input_bytes=prod(graph.input_shape) * batch * size,
        param_bytes=(params + buffers) * size,
        activation_bytes=sum(r.output_bytes for r in rows),
    )
    return Report(
        name=graph.name,
        source=graph.path,
        input_shape=graph.input_shape,
        batch=batch,
        dtype=dtype,
        layers=tuple(rows),
        output_shape=rows[-1].output_shape,
        totals=totals,
        warnings=tuple(warnings),
        fields=tuple(fields[n.index] for n in graph.nodes) if keep_fields else None,
        layouts=tuple(layouts[n.index] for n in graph.nodes) if keep_fields else None,
    )


def _out_layout(ctx: Ctx, out: Out, rank: int) -> Layout:
    """What each dim of the layer's output is (see layers.base.Layout)."""
    if out.layout is not None:
        assert len(out.layout) == len(out.shape), (ctx.kind, out.layout, out.shape)
        return out.layout
    layouts = ctx.in_layouts
    n = len(out.shape)
    if not layouts or any(len(lay) != n for lay in layouts):
        return (None,) * n
    first = layouts[0]
    if all(lay is first for lay in layouts):
        return first
    merged: list[DimTag] = []
    for tags in zip(*layouts, strict=True):
        known = {t for t in tags if t is not None}
        if len(known) > 1:
            break
        merged.append(known.pop() if known else None)
    else:
        tracked = [t for t in merged if t is not None]
        if len(tracked) == len(set(tracked)):
            return tuple(merged)
    shown = ", ".join(fmt_layout(lay, rank) for lay in layouts)
    raise ctx.fail(
        f"the inputs' dims are in different orders: {shown}; per-axis receptive fields "
        "cannot merge them (permute them alike first)"
    )


@lru_cache(maxsize=256)
def _positions(layout: Layout, rank: int) -> tuple[int | None, ...]:
    """Per spatial axis of the input: the dim that carries it, or None."""
    return tuple(layout.index(a) if a in layout else None for a in range(rank))


def _dim_rules(rule: PerInput | PerDim, i: int) -> tuple[rf.AxisRule, ...]:
    if isinstance(rule, PerDim):
        return rule.dims[i]
    return (rf.IDENTITY_AXIS, *rule.axes[i])  # PerInput: dims 1…; dim 0 is the channels


def _fields(
    rule: object,
    in_fields: list[tuple[rf.Field, ...]],
    in_shapes: tuple[Shape, ...],
    in_layouts: tuple[Layout, ...],
    out_shape: Shape,
    out_layout: Layout,
    rank: int,
) -> tuple[tuple[rf.Field, ...], list[str], bool]:
    """The output's field per axis, misalignment notes, and whether a merge set global inputs
    aside as global context.

    Fields are kept per input axis; the layouts say which dim carries each axis. An axis that
    no output dim carries any more (flattened, reshaped away) becomes global."""
    if not in_fields:
        return (rf.Global(0, -1),) * rank, [], False
    in_pos = [_positions(lay, rank) for lay in in_layouts]
    if rule is POINTWISE and len(in_fields) == 1:
        if out_layout is in_layouts[0]:
            return in_fields[0], [], False
        out_pos = _positions(out_layout, rank)
        return (
            tuple(
                _globalised(f, in_shapes[0], j) if j is not None and k is None else f
                for f, j, k in zip(in_fields[0], in_pos[0], out_pos, strict=True)
            ),
            [],
            False,
        )
    if rule is ALL_GLOBAL:
        result: list[rf.Field] = []
        for a in range(rank):
            spans = []
            for f, s, p in zip(in_fields, in_shapes, in_pos, strict=True):
                j = p[a]
                spans.append(rf.hull(f[a], s[j] if j is not None else 1))
            real = [x for x in spans if x is not None]
            lo = min((x[0] for x in real), default=0)
            hi = max((x[1] for x in real), default=-1)
            result.append(rf.Global(lo, hi))
        return tuple(result), [], False
    assert isinstance(rule, PerInput | PerDim)
    out_pos = _positions(out_layout, rank)
    if len(in_fields) == 1:
        rules, shape, field = _dim_rules(rule, 0), in_shapes[0], in_fields[0]
        single: list[rf.Field] = []
        for a in range(rank):
            j, k = in_pos[0][a], out_pos[a]
            if j is None:
                single.append(field[a])  # carried by no dim: already global
            elif k is None:
                single.append(_globalised(field[a], shape, j))
            else:
                assert k == j, (out_layout, in_layouts)
                single.append(rf.compose(field[a], rules[j], shape[j], out_shape[j]))
        return tuple(single), [], False
    all_rules = [_dim_rules(rule, i) for i in range(len(in_fields))]
    merged_fields: list[rf.Field] = []
    notes: list[str] = []
    mixed = False
    for a in range(rank):
        k = out_pos[a]
        inputs = []
        for f, rules, s, p in zip(in_fields, all_rules, in_shapes, in_pos, strict=True):
            j = p[a]
            if j is None:  # a global field, which no rule changes
                inputs.append(rf.MergeInput(f[a], rf.IDENTITY_AXIS, 1))
            else:
                assert j == k, (out_layout, in_layouts)
                inputs.append(rf.MergeInput(f[a], rules[j], s[j]))
        # an input that reads no input position (a learned constant) adds nothing
        inputs = [m for m in inputs if not _empty(m.field)] or inputs
        spatial = [m for m in inputs if not _global_input(m)]
        if spatial and len(spatial) < len(inputs):
            # SPEC §2 "global context": the field is the spatial inputs' union; the global
            # ones add every position, which the flag says instead of freezing the field
            inputs, mixed = spatial, True
        merged, axis_notes = rf.merge(inputs, out_shape[k] if k is not None else 1)
        merged_fields.append(merged)
        notes.extend(f"{n} on axis {a + 1}" if rank > 1 else n for n in axis_notes)
    return tuple(merged_fields), notes, mixed


def _globalised(field: rf.Field, shape: Shape, dim: int) -> rf.Field:
    """The field of an axis that is flattened away: every unit reads the whole axis."""
    return rf.compose(field, rf.GLOBAL_AXIS, shape[dim], 1)


def _empty(field: rf.Field) -> bool:
    return isinstance(field, rf.Global) and field.lo > field.hi


def _global_input(m: rf.MergeInput) -> bool:
    return isinstance(m.field, rf.Global) or isinstance(m.rule, rf.GlobalAxis)


def _summary(
    fields: tuple[rf.Field, ...],
    shape: Shape,
    layout: Layout,
    input_shape: Shape,
    global_context: bool,
) -> RF:
    rank = len(input_shape) - 1
    sizes = [shape[j] if j is not None else 1 for j in _positions(layout, rank)]
    sums = [rf.summarize(f, n) for f, n in zip(fields, sizes, strict=True)]
    return RF(
        size=tuple(s.size for s in sums),
        stride=tuple(s.stride for s in sums),
        padding=tuple(s.padding for s in sums),
        uniform=all(s.uniform for s in sums),
        is_global=bool(sums) and all(s.is_global for s in sums),
        covers_input=all(
            rf.covers(f, n, n_in) for f, n, n_in in zip(fields, sizes, input_shape[1:], strict=True)
        ),
        global_context=global_context,
    )
