"""Graph → :class:`Report`: shapes, parameters, MACs, memory and receptive fields.

Pure computation on frozen dataclasses; no printing, no rich, no typer. Totals are computed
once here so that every renderer shows the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from rfcalc import rf
from rfcalc.build import INPUT, Graph
from rfcalc.errors import ShapeError, SourcePos
from rfcalc.layers.base import ALL_GLOBAL, POINTWISE, Ctx, PerInput, Shape, prod

DTYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}


@dataclass(frozen=True, slots=True)
class RF:
    size: tuple[int, ...]
    stride: tuple[Fraction | None, ...]
    padding: tuple[int, ...]
    uniform: bool
    is_global: bool
    covers_input: bool  # on every axis some unit's field contains the whole input
    # SPEC §2 "global context": a merge took a global input (an SE gate, an image-pooling
    # branch) beside spatial ones, here or upstream; the field is the spatial inputs' field
    global_context: bool = False


@dataclass(frozen=True, slots=True)
class LayerRow:
    index: int
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


@dataclass(frozen=True, slots=True)
class Warning:
    layer: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Totals:
    params: int
    trainable_params: int
    non_trainable_params: int
    buffers: int
    macs: int
    flops: int
    input_bytes: int
    param_bytes: int
    activation_bytes: int


@dataclass(frozen=True, slots=True)
class Report:
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
    names = {INPUT: "input"}
    contexts: dict[int, bool] = {INPUT: False}
    rows: list[LayerRow] = []
    warnings: list[Warning] = []
    for node in graph.nodes:
        names[node.index] = node.name
        in_shapes = tuple(shapes[i] for i in node.inputs)
        ctx = Ctx(node.name, node.kind.name, node.args, node.arg_pos, node.pos, in_shapes)
        out = node.kind.rule(ctx)
        shapes[node.index] = out.shape
        in_fields = [fields[i] for i in node.inputs]
        try:
            new_fields, notes, mixed = _fields(out.rf, in_fields, in_shapes, out.shape, rank)
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
                rf=_summary(new_fields, out.shape, graph.input_shape, context),
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
    )


def _aligned(shape: Shape, rank: int) -> bool:
    """Do this tensor's spatial axes still correspond one-to-one to the input's?"""
    return len(shape) - 1 == rank


def _fields(
    rule: object,
    in_fields: list[tuple[rf.Field, ...]],
    in_shapes: tuple[Shape, ...],
    out_shape: Shape,
    rank: int,
) -> tuple[tuple[rf.Field, ...], list[str], bool]:
    """The output's field per axis, misalignment notes, and whether a merge set global inputs
    aside as global context."""
    if rule is POINTWISE and len(in_fields) == 1:
        return in_fields[0], [], False
    if rule is ALL_GLOBAL or not _aligned(out_shape, rank):
        result: list[rf.Field] = []
        for a in range(rank):
            spans = [
                rf.hull(f[a], s[a + 1] if _aligned(s, rank) else 1)
                for f, s in zip(in_fields, in_shapes, strict=True)
            ]
            real = [x for x in spans if x is not None]
            lo = min((x[0] for x in real), default=0)
            hi = max((x[1] for x in real), default=-1)
            result.append(rf.Global(lo, hi))
        return tuple(result), [], False
    assert isinstance(rule, PerInput)
    if not all(_aligned(s, rank) for s in in_shapes):
        return in_fields[0], [], False
    if len(in_fields) == 1:
        axes = rule.axes[0]
        return (
            tuple(
                rf.compose(in_fields[0][a], axes[a], in_shapes[0][a + 1], out_shape[a + 1])
                for a in range(rank)
            ),
            [],
            False,
        )
    merged_fields: list[rf.Field] = []
    notes: list[str] = []
    mixed = False
    for a in range(rank):
        inputs = [
            rf.MergeInput(f[a], axes[a], s[a + 1])
            for f, axes, s in zip(in_fields, rule.axes, in_shapes, strict=True)
        ]
        spatial = [m for m in inputs if not _global_input(m)]
        if spatial and len(spatial) < len(inputs):
            # SPEC §2 "global context": the field is the spatial inputs' union; the global
            # ones add every position, which the flag says instead of freezing the field
            inputs, mixed = spatial, True
        merged, axis_notes = rf.merge(inputs, out_shape[a + 1])
        merged_fields.append(merged)
        notes.extend(f"{n} on axis {a + 1}" if rank > 1 else n for n in axis_notes)
    return tuple(merged_fields), notes, mixed


def _global_input(m: rf.MergeInput) -> bool:
    return isinstance(m.field, rf.Global) or isinstance(m.rule, rf.GlobalAxis)


def _summary(
    fields: tuple[rf.Field, ...], shape: Shape, input_shape: Shape, global_context: bool
) -> RF:
    rank = len(input_shape) - 1
    aligned = _aligned(shape, rank)
    sizes = [shape[a + 1] if aligned else 1 for a in range(rank)]
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
