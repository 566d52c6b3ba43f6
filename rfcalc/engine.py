"""Graph → :class:`Report`: shapes, parameters, MACs, memory and receptive fields.

Pure computation on immutable values (NamedTuples); no printing, no rich, no typer. Totals are
computed once here so that every renderer shows the same numbers.
"""

# no `from __future__ import annotations`: typing.NamedTuple compiles each string annotation
# of its fields into a ForwardRef (about 13 µs a field, at every start); the few fields that
# name what is not defined yet are quoted
from collections.abc import Mapping
from functools import lru_cache
from operator import attrgetter
from typing import NamedTuple

from rfcalc import counting, gridding, lint, rf
from rfcalc.build import (
    INPUT,
    Graph,
    Node,
    apply_rule,
    looks_channels_last,
    rule_context,
    written_shape,
)
from rfcalc.errors import ShapeError, SourcePos
from rfcalc.layers.base import (
    ALL_GLOBAL,
    NO_TERMS,
    POINTWISE,
    Ctx,
    DimTag,
    Layout,
    Out,
    PerDim,
    PerInput,
    RfRule,
    Shape,
    Tokens,
    axis_sizes,
    carried,
    channels_first,
    fmt_layout,
    need_channels_first,
    prod,
)
from rfcalc.lint import Lookahead, Warning

DTYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}


class RF(NamedTuple):
    size: tuple[int, ...]
    stride: "tuple[rf.Ratio | None, ...]"
    padding: tuple[int, ...]
    uniform: bool
    is_global: bool
    covers_input: bool  # on every axis some unit's field contains the whole input
    # "global context" (docs/numbers.md): a merge took a global input (an SE gate, an image-pooling
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
    args: Mapping[str, object]  # the layer's arguments, defaults filled in (kernel_size, …)


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
    # per layer: its rule's receptive-field part (only with keep_fields=True; rfcalc.maps)
    rules: tuple[RfRule, ...] | None = None
    # per spatial axis: the first layer whose units read past their own position (issue 12)
    lookahead: tuple[Lookahead | None, ...] = ()
    # the counting convention of ``macs`` (rfcalc/counting.py), and the total in every one
    convention: str = counting.DEFAULT
    macs_by_convention: tuple[tuple[str, int], ...] = ()

    @property
    def final(self) -> LayerRow:
        return self.layers[-1]

    @property
    def causal(self) -> tuple[bool, ...]:
        """Per spatial axis: does no unit of any layer read past the input position it stands
        for (``x·S``)?"""
        return tuple(found is None for found in self.lookahead)


class _Step(NamedTuple):
    """A single-input layer on one spatial axis: the output's field is the input's
    composed with ``rule`` (rf.compose)."""

    rule: rf.AxisRule
    n_in: int
    n_out: int


_Steps = tuple[_Step | None, ...]  # per spatial axis; None: the field stays as it is


class _Result(NamedTuple):
    """What a layer's rule gives for its arguments and inputs, and what follows from that
    alone: computed once for all the layers alike (a repeat, a chain written out)."""

    out: Out
    layout: Layout  # the output's (see layers.base.Layout)
    findings: tuple[tuple[str, str], ...]  # the warnings its windows raise: (code, message)
    macs: int  # in the report's convention
    output_bytes: int  # at the report's batch and dtype
    steps: _Steps | None  # a single input's fields, axis by axis (None: see _fields)
    sizes: tuple[int, ...]  # the output's size per spatial axis of the input (axis_sizes)
    square: bool  # those sizes alike, and the input's (a square input's): see _summary


assert INPUT == -1  # the input's slot is the last of analyze's lists by node index

# a layer's row and RF are made as tuples directly (a NamedTuple's __new__ is a Python
# function: about 0.3 µs a row): by the order of their fields (a Node's is asserted in
# rfcalc.build)
_new = tuple.__new__
assert RF._fields == (
    "size", "stride", "padding", "uniform", "is_global", "covers_input", "global_context",
)  # fmt: skip
assert LayerRow._fields == (
    "index", "name", "type", "inputs", "output_shape", "params", "trainable_params", "buffers",
    "macs", "output_bytes", "rf", "groups", "pos", "args",
)  # fmt: skip


def analyze(
    graph: Graph,
    batch: int = 1,
    dtype: str = "float32",
    keep_fields: bool = False,
    ignore: frozenset[str] = frozenset(),
    count: str = counting.DEFAULT,
) -> Report:
    """``count``: the counting convention of the MACs (rfcalc/counting.py)."""
    size = DTYPES[dtype]
    rank = len(graph.input_shape) - 1
    canon = channels_first(rank + 1)
    # per node, by its index, and the input's at INPUT (-1), the last slot: a list costs a
    # layer 8 bytes where a dict costs about 50. Every slot starts as the input's, and is
    # set by its node before any later node reads it
    slots = len(graph.nodes) + 1
    shapes: list[Shape] = [graph.input_shape] * slots
    fields: list[tuple[rf.Field, ...]] = [(rf.INPUT_FIELD,) * rank] * slots
    layouts: list[Layout] = [canon] * slots
    names = ["input"] * slots
    contexts = [False] * slots
    rows: list[LayerRow] = []
    warnings: list[Warning] = _channels_last(graph)
    causality = lint.Causality(rank)
    spatial = graph.input_shape[1:]
    watching = causality.open  # until every axis has read ahead
    outs: list[Out] = []
    extents: list[tuple[int, ...]] = []  # per layer, its output's size per input axis
    # a rule is a function of its arguments and inputs: layers alike (a repeat, a chain
    # written out) compute it once; the builder shares one arguments mapping between them
    results: dict[tuple[int, tuple[Shape, ...], tuple[Layout, ...], bool], _Result] = {}
    for node in graph.nodes:
        # every field of the Node, at once (a layer reads them a dozen times)
        index, name, kind, args, _, inputs, is_trainable, pos, groups, _, runs = node
        # as the builder numbers them: in order, each reading only earlier nodes (a slot
        # not yet set would read the input's)
        assert index == len(rows), (index, len(rows))
        assert max(inputs, default=INPUT) < index, (index, inputs)
        names[index] = name
        in_shapes = tuple(map(shapes.__getitem__, inputs))
        in_layouts = tuple(map(layouts.__getitem__, inputs))
        key = (id(args), in_shapes, in_layouts, runs)
        result = results.get(key)
        if result is None:
            element = batch * size  # bytes of one element, over the batch
            result = _rule_result(graph, node, in_shapes, in_layouts, count, element)
            results[key] = result
        out, layout, findings, macs, output_bytes, steps, sizes, square = result
        outs.append(out)
        extents.append(sizes)
        shapes[index] = out.shape
        layouts[index] = layout
        notes: list[str] | tuple[()] = ()
        try:
            if steps is not None:
                new_fields, mixed = _carry(fields[inputs[0]], steps), False
            else:
                new_fields, notes, mixed = _fields(
                    out.rf,
                    [fields[i] for i in inputs],
                    in_shapes,
                    in_layouts,
                    out.shape,
                    layout,
                    rank,
                )
        except rf.TableTooLargeError as exc:
            raise ShapeError(f"layer '{name}' ({kind.name}): {exc}", pos) from None
        fields[index] = new_fields
        if findings:
            warnings.extend(Warning(name, code, message) for code, message in findings)
        if watching:
            lengths = [out.shape[j] if j is not None else 1 for j in _positions(layout, rank)]
            watching = causality.see(name, new_fields, lengths)
        context = mixed or any(map(contexts.__getitem__, inputs))
        contexts[index] = context
        for note in notes:
            sources = ", ".join(f"'{names[i]}'" for i in inputs)
            warnings.append(
                Warning(name, "misaligned-merge", f"the merged inputs {sources} have {note}")
            )
        params = out.params
        rows.append(
            _new(  # every field, in order
                LayerRow,
                (
                    index,
                    name,
                    kind.name,
                    tuple(map(names.__getitem__, inputs)),
                    out.shape,
                    params,
                    params if is_trainable else 0,
                    out.buffers,
                    macs,
                    output_bytes,
                    _summary(new_fields, sizes, spatial, context, square),
                    groups,
                    pos,
                    args,
                ),
            )
        )
    rules = [out.rf for out in outs]
    for layer, message in gridding.hole_warnings(graph.nodes, rules, layouts, fields, rank):
        warnings.append(Warning(layer, gridding.HOLES, message))
    warnings += lint.rf_smaller_than_input(rows, extents, graph.input_shape, causality.result())
    warnings += lint.unused_outputs(graph.nodes)
    per_layer = {n.name: n.lint_ignore for n in graph.nodes if n.lint_ignore}
    params = sum(map(attrgetter("params"), rows))
    trainable = sum(map(attrgetter("trainable_params"), rows))
    buffers = sum(map(attrgetter("buffers"), rows))
    macs = sum(map(attrgetter("macs"), rows))
    totals = Totals(
        params=params,
        trainable_params=trainable,
        non_trainable_params=params - trainable,
        buffers=buffers,
        macs=macs,
        flops=counting.flops(count, macs),
        input_bytes=prod(graph.input_shape) * batch * size,
        param_bytes=(params + buffers) * size,
        activation_bytes=sum(map(attrgetter("output_bytes"), rows)),
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
        warnings=lint.apply_ignores(warnings, per_layer, ignore),
        fields=tuple(fields[n.index] for n in graph.nodes) if keep_fields else None,
        layouts=tuple(layouts[n.index] for n in graph.nodes) if keep_fields else None,
        rules=tuple(rules) if keep_fields else None,
        lookahead=causality.result(),
        convention=count,
        macs_by_convention=tuple(counting.totals(outs).items()),
    )


def _rule_result(
    graph: Graph,
    node: Node,
    in_shapes: tuple[Shape, ...],
    in_layouts: tuple[Layout, ...],
    count: str,
    element_bytes: int,
) -> _Result:
    """``node``'s rule on its inputs, and what follows from that alone."""
    rank = len(graph.input_shape) - 1
    canon = channels_first(rank + 1)
    ctx = rule_context(node, in_shapes, in_layouts, rank)
    if node.kind.channels_first and in_layouts and in_layouts[0] is not canon:
        need_channels_first(ctx)
    out = apply_rule(node, ctx, graph.input_option, graph.input_where)
    if not node.runs:  # not run at inference: its parameters count, it computes nothing
        out = out._replace(macs=0, terms=NO_TERMS)
    layout = _out_layout(ctx, out, rank)
    if layout is not canon and layout == canon:
        layout = canon  # permuted back: the common case stays an identity test
    elif layout is not canon:
        layout = _tokens_kept(layout, out.shape)
    findings = lint.window_findings(
        node.kind,
        node.args,
        out.rf,
        in_shapes[0] if in_shapes else None,
        out.shape,
        in_layouts[0] if in_layouts else None,
        graph.input_shape,
    )
    steps = None
    if len(in_shapes) == 1:
        steps = _steps(out.rf, in_shapes[0], in_layouts[0], out.shape, layout, rank)
    macs = counting.macs(count, out.macs, out.terms)
    sizes = axis_sizes(layout, out.shape, rank)
    spatial = graph.input_shape[1:]
    square = len(set(sizes)) <= 1 and len(set(spatial)) <= 1
    output_bytes = prod(out.shape) * element_bytes
    return _Result(out, layout, findings, macs, output_bytes, steps, sizes, square)


def _channels_last(graph: Graph) -> list[Warning]:
    """A 2-D or 3-D input whose last size looks like channels (``[128, 128, 3]``) read as
    channels first by a layer that leaves its ``in_channels`` to rfcalc: a warning, with the
    channels-first shape to write (TensorFlow and Keras are channels last, PyTorch first)."""
    shape = graph.input_shape
    if not looks_channels_last(shape):
        return []
    first = written_shape((shape[-1], *shape[:-1]), graph.input_option)
    return [
        Warning(
            node.name,
            "channels-last-input",
            f"the input {list(shape)} looks channels-last; rfcalc reads it channels first, so "
            f"this layer sees {shape[0]} channels: if it has {shape[-1]}, write {first}",
        )
        for node in graph.nodes
        if INPUT in node.inputs
        and node.kind.takes("in_channels")
        and node.args.get("in_channels") is None
    ]


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


def _tokens_kept(layout: Layout, shape: Shape) -> Layout:
    """A token dim whose length a layer changed (a slice, a concat it does not describe) no
    longer says which token is which: it becomes derived, and its axes global."""
    if not any(isinstance(t, Tokens) and t.length != n for t, n in zip(layout, shape, strict=True)):
        return layout
    return tuple(
        None if isinstance(t, Tokens) and t.length != n else t
        for t, n in zip(layout, shape, strict=True)
    )


@lru_cache(maxsize=256)
def _positions(layout: Layout, rank: int) -> tuple[int | None, ...]:
    """Per spatial axis of the input: the dim that carries it, or None."""
    where = {a: j for j, tag in enumerate(layout) for a in carried(tag)}
    return tuple(where.get(a) for a in range(rank))


def _token_rule(tag: object, rule: rf.AxisRule) -> rf.AxisRule:
    """A rule along a token dim, per axis it carries: the identity stays the identity, and any
    other rule (attention over the tokens, a window along the flattened sequence) reads
    across rows, so it is taken as global: exact for attention, a bound otherwise."""
    if not isinstance(tag, Tokens) or rule == rf.IDENTITY_AXIS:
        return rule
    return rf.GLOBAL_AXIS


def _dim_rules(rule: PerInput | PerDim, i: int) -> tuple[rf.AxisRule, ...]:
    if isinstance(rule, PerDim):
        return rule.dims[i]
    return (rf.IDENTITY_AXIS, *rule.axes[i])  # PerInput: dims 1…; dim 0 is the channels


def _steps(
    rule: object,
    in_shape: Shape,
    in_layout: Layout,
    out_shape: Shape,
    out_layout: Layout,
    rank: int,
) -> _Steps | None:
    """How a single-input layer carries each spatial axis's field, or None for a rule that
    does not go axis by axis (ALL_GLOBAL: see _fields).

    Fields are kept per input axis; the layouts say which dim carries each axis. An axis that
    no output dim carries any more (flattened, reshaped away) becomes global."""
    in_pos = _positions(in_layout, rank)
    in_sizes = axis_sizes(in_layout, in_shape, rank)
    out_pos = _positions(out_layout, rank)
    if rule is POINTWISE:
        if out_layout is in_layout:
            return (None,) * rank
        return tuple(
            _Step(rf.GLOBAL_AXIS, n, 1) if j is not None and k is None else None
            for j, k, n in zip(in_pos, out_pos, in_sizes, strict=True)
        )
    if rule is ALL_GLOBAL:
        return None
    assert isinstance(rule, PerInput | PerDim)
    rules = _dim_rules(rule, 0)
    out_sizes = axis_sizes(out_layout, out_shape, rank)
    steps: list[_Step | None] = []
    alike: dict[_Step, _Step] = {}  # axes alike (a square input's) share one step
    for a in range(rank):
        j, k = in_pos[a], out_pos[a]
        if j is None:
            steps.append(None)  # carried by no dim: already global
            continue
        if k is None:  # flattened away: every unit reads the whole axis (see _globalised)
            step = _Step(rf.GLOBAL_AXIS, in_sizes[a], 1)
        else:
            assert k == j, (out_layout, in_layout)
            step = _Step(_token_rule(in_layout[j], rules[j]), in_sizes[a], out_sizes[a])
        steps.append(alike.setdefault(step, step))
    return tuple(steps)


def _carry(field: tuple[rf.Field, ...], steps: _Steps) -> tuple[rf.Field, ...]:
    """A single input's field through a layer, axis by axis (see _steps). Axes alike (the
    same field and the same step: a square input's) share one composed field."""
    if not any(steps):
        return field
    first, step = field[0], steps[0]
    if step is not None and field.count(first) == len(field) and steps.count(step) == len(steps):
        return (rf.compose(first, step.rule, step.n_in, step.n_out),) * len(field)  # all alike
    out: list[rf.Field] = []
    last: tuple[rf.Field, _Step | None, rf.Field] | None = None  # input, step, output
    for f, step in zip(field, steps, strict=True):
        if step is None:
            out.append(f)
        elif last is not None and last[0] is f and last[1] is step:
            out.append(last[2])
        else:
            out.append(rf.compose(f, step.rule, step.n_in, step.n_out))
            last = (f, step, out[-1])
    return tuple(out)


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
    aside as global context: for what _steps leaves, a layer of no input, a global rule, a
    merge. (Axes as in _steps.)"""
    if not in_fields:
        return (rf.Global(0, -1),) * rank, [], False
    in_pos = [_positions(lay, rank) for lay in in_layouts]
    in_sizes = [axis_sizes(lay, s, rank) for lay, s in zip(in_layouts, in_shapes, strict=True)]
    if rule is ALL_GLOBAL:
        result: list[rf.Field] = []
        for a in range(rank):
            spans = [rf.hull(f[a], sizes[a]) for f, sizes in zip(in_fields, in_sizes, strict=True)]
            real = [x for x in spans if x is not None]
            lo = min((x[0] for x in real), default=0)
            hi = max((x[1] for x in real), default=-1)
            result.append(rf.Global(lo, hi))
        return tuple(result), [], False
    assert isinstance(rule, PerInput | PerDim)
    out_pos = _positions(out_layout, rank)
    out_sizes = axis_sizes(out_layout, out_shape, rank)
    all_rules = [_dim_rules(rule, i) for i in range(len(in_fields))]
    merged_fields: list[rf.Field] = []
    notes: list[str] = []
    mixed = False
    for a in range(rank):
        k = out_pos[a]
        inputs = []
        per_token = False  # a token sequence whose every token reads the whole axis
        for f, rules, sizes, p, lay in zip(
            in_fields, all_rules, in_sizes, in_pos, in_layouts, strict=True
        ):
            j = p[a]
            if j is None:  # a global field, which no rule changes
                inputs.append(rf.MergeInput(f[a], rf.IDENTITY_AXIS, 1))
            elif k is None:  # an input's axis that the output does not carry (attention)
                inputs.append(rf.MergeInput(_globalised(f[a], sizes[a]), rf.IDENTITY_AXIS, 1))
            else:
                assert j == k, (out_layout, in_layouts)
                inputs.append(rf.MergeInput(f[a], _token_rule(lay[j], rules[j]), sizes[a]))
                per_token = per_token or (isinstance(lay[j], Tokens) and _global_input(inputs[-1]))
        # an input that reads no input position (a learned constant) adds nothing
        inputs = [m for m in inputs if not _empty(m.field)] or inputs
        spatial = [m for m in inputs if not _global_input(m)]
        if spatial and len(spatial) < len(inputs) and not per_token:
            # "global context" (docs/numbers.md): the field is the spatial inputs' union; the global
            # ones add every position, which the flag says instead of freezing the field.
            # Not on tokens: attention's output (issue 14) is global token by token, no
            # pooled gate, and a residual add of it is global.
            inputs, mixed = spatial, True
        merged, axis_notes = rf.merge(inputs, out_sizes[a])
        merged_fields.append(merged)
        notes.extend(f"{n} on axis {a + 1}" if rank > 1 else n for n in axis_notes)
    return tuple(merged_fields), notes, mixed


def _globalised(field: rf.Field, size: int) -> rf.Field:
    """The field of an axis of ``size`` units that is flattened away: every unit reads the
    whole axis."""
    return rf.compose(field, rf.GLOBAL_AXIS, size, 1)


def _empty(field: rf.Field) -> bool:
    return isinstance(field, rf.Global) and field.lo > field.hi


def _global_input(m: rf.MergeInput) -> bool:
    return isinstance(m.field, rf.Global) or isinstance(m.rule, rf.GlobalAxis)


def _summary(
    fields: tuple[rf.Field, ...],
    sizes: tuple[int, ...],
    spatial: Shape,
    global_context: bool,
    square: bool,
) -> RF:
    """A layer's RF from its fields per axis, its output's ``sizes`` per axis and the input's
    (``spatial``); ``square``: the sizes alike on every axis, and the input's."""
    rank = len(spatial)
    assert len(fields) == len(sizes) == rank, (fields, sizes)
    if not rank:
        return RF((), (), (), True, False, True, global_context)
    first = fields[0]
    if square and fields.count(first) == rank:
        # every axis alike (a square input's): one summary serves them all
        n = sizes[0]
        one = rf.summarize(first, n)
        return _new(
            RF,
            (
                (one.size,) * rank,
                (one.stride,) * rank,
                (one.padding,) * rank,
                one.uniform,
                one.is_global,
                rf.covers(first, n, spatial[0]),
                global_context,
            ),
        )
    # per axis rf.Summary(size, stride, padding, uniform, is_global), turned into per field
    size, stride, padding, uniform, is_global = zip(*map(rf.summarize, fields, sizes), strict=True)
    return RF(
        size=size,
        stride=stride,
        padding=padding,
        uniform=all(uniform),
        is_global=all(is_global),
        covers_input=all(map(rf.covers, fields, sizes, spatial)),
        global_context=global_context,
    )
