"""Rows and columns shared by the table, the tree and markdown, with readable numbers.

Folding (``--depth``) happens here: it changes what is shown, never the totals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from rfcalc import counting
from rfcalc.engine import RF, LayerRow, Report
from rfcalc.errors import InputError, did_you_mean

if TYPE_CHECKING:
    from rfcalc.rf import Ratio


def thousands(n: int) -> str:
    return f"{n:,}"


def si(n: int) -> str:
    """4,089,184,256 → '4.09 G'; small numbers stay exact."""
    if n < 10_000:
        return str(n)
    for div, unit in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K")):
        if n >= div:
            return f"{n / div:.2f} {unit}"
    return str(n)  # pragma: no cover


def binary(n: int) -> str:
    """Bytes as KiB/MiB/GiB with the exact count beside."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    return str(n)  # pragma: no cover


def shape(s: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in s)


def fraction(value: Ratio | None) -> str:
    if value is None:
        return "–"
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def per_axis(values: tuple[str, ...]) -> str:
    """'7' when every axis agrees, '7×5' when they differ."""
    if not values:
        return "–"
    return values[0] if len(set(values)) == 1 else "×".join(values)


class Row(NamedTuple):
    """One line of the table or the tree: a leaf layer, or a block standing for its leaves."""

    name: str  # the Layer cell: the full name (the tree: the name within its parent)
    layers: tuple[LayerRow, ...]  # the leaves it stands for, in order
    block: bool  # a block, shown with its subtotals and '(N layers)'
    inputs: str  # the From cell: the rows it reads, '' when only the row before
    input_shapes: tuple[tuple[int, ...], ...]
    params: int
    trainable_params: int
    macs: int
    output_bytes: int
    art: str = ""  # the tree's branches before the name: '│  ├─ '
    depth_idx: str = ""  # the tree's 'depth-index', as torchinfo's: '2-3'

    @property
    def last(self) -> LayerRow:
        """The leaf whose output is the row's output."""
        return self.layers[-1]


class RowMaker:
    """Rows for a report at a ``--depth``: folded blocks stand for their leaves, and a row's
    From names what it reads by the names the rows show."""

    def __init__(self, report: Report, depth: int | None) -> None:
        self.report = report
        self.where = {r.name: shown(r, depth) for r in report.layers}
        self.shapes = {r.name: r.output_shape for r in report.layers}
        self.shapes["input"] = report.input_shape

    def row(
        self, lo: int, hi: int, name: str, block: bool, art: str = "", depth_idx: str = ""
    ) -> Row:
        """The row standing for the leaves ``report.layers[lo:hi]``."""
        layers = self.report.layers
        members = layers[lo:hi]
        if len(members) == 1:
            one = members[0]
            outside = list(one.inputs)
            params, trainable, macs, size = (
                one.params,
                one.trainable_params,
                one.macs,
                one.output_bytes,
            )
        else:
            inside = {m.name for m in members}
            outside = list(dict.fromkeys(x for m in members for x in m.inputs if x not in inside))
            params = sum(m.params for m in members)
            trainable = sum(m.trainable_params for m in members)
            macs = sum(m.macs for m in members)
            size = sum(m.output_bytes for m in members)
        where = self.where
        sources = list(dict.fromkeys(where.get(x, x) for x in outside))
        previous = where[layers[lo - 1].name] if lo > 0 else "input"
        return Row(
            name=name,
            layers=members,
            block=block,
            inputs="" if sources == [previous] else ", ".join(sources),
            input_shapes=tuple(self.shapes[x] for x in outside),
            params=params,
            trainable_params=trainable,
            macs=macs,
            output_bytes=size,
            art=art,
            depth_idx=depth_idx,
        )


def shown(layer: LayerRow, depth: int | None) -> str:
    """The name a leaf is shown by at ``depth``: its own, or its folded block's."""
    groups = layer.groups
    return groups[depth - 1] if depth is not None and len(groups) >= depth else layer.name


def table_rows(report: Report, depth: int | None = None) -> list[Row]:
    """One row per leaf layer; with ``depth`` N, block instances nested N levels deep or more
    are folded into one row each (depth 1: only the model's own layers and blocks)."""
    maker = RowMaker(report, depth)
    layers = report.layers
    out: list[Row] = []
    i = 0
    while i < len(layers):
        name = maker.where[layers[i].name]
        j = i + 1
        while j < len(layers) and maker.where[layers[j].name] == name:
            j += 1
        out.append(maker.row(i, j, name, block=j - i > 1))
        i = j
    return out


# ---------------------------------------------------------------- columns


class Column(NamedTuple):
    id: str  # what --columns calls it
    header: str
    value: Callable[[Row, Report], str]
    numeric: bool = True  # right-aligned
    doc: str = ""


def _type(row: Row, _: Report) -> str:
    n = len(row.layers)
    return f"({n} layer{'s' if n > 1 else ''})" if row.block else row.last.type


def _percent(part: int, whole: int) -> str:
    if whole == 0:
        return "–"
    if part == 0:
        return "0%"
    share = 100 * part / whole
    return "<0.01%" if share < 0.005 else f"{share:.2f}%"


def _trainable(row: Row, _: Report) -> str:
    if row.params == 0:
        return "–"
    if row.trainable_params == row.params:
        return "yes"
    return "no" if row.trainable_params == 0 else "partly"


def _setting(value: object) -> str:
    """3 → '3'; (3, 3) → '3'; (1, 7) → '1×7'; ((1, 2), (0, 3)) → '(1,2)×(0,3)'."""
    if value is None:
        return "–"
    if isinstance(value, tuple):
        return per_axis(
            tuple(
                "(" + ",".join(map(str, v)) + ")" if isinstance(v, tuple) else str(v) for v in value
            )
        )
    return str(value)


def _argument(key: str) -> Callable[[Row, Report], str]:
    """A leaf's setting as PyTorch takes it; blank for a block or a layer without it."""

    def value(row: Row, _: Report) -> str:
        args = row.last.args
        if row.block or key not in args:
            return ""
        setting = args[key]
        if setting is None and key == "stride":  # pooling: PyTorch's default is the kernel
            setting = args.get("kernel_size")
        return _setting(setting)

    return value


def _rf_size(row: Row, _: Report) -> str:
    rf = row.last.rf
    size = per_axis(tuple(str(v) for v in rf.size))
    if rf.size and not rf.uniform and not rf.is_global:
        size += "*"
    if rf.global_context and not rf.is_global:
        size += " +g"
    return size


def _rf_stride(row: Row, _: Report) -> str:
    rf = row.last.rf
    return "global" if rf.is_global else per_axis(tuple(fraction(v) for v in rf.stride))


def _rf_padding(row: Row, _: Report) -> str:
    return per_axis(tuple(str(v) for v in row.last.rf.padding))


def _rf_axis(axis: int) -> Callable[[Row, Report], str]:
    def value(row: Row, _: Report) -> str:
        rf = row.last.rf
        if axis >= len(rf.size):
            return "–"
        stride = "g" if rf.is_global else fraction(rf.stride[axis])
        return f"{rf.size[axis]}/{stride}/{rf.padding[axis]}"

    return value


COLUMNS: dict[str, Column] = {
    c.id: c
    for c in (
        Column("type", "Type", _type, False, "the layer type; a block: how many layers"),
        Column(
            "from", "From", lambda r, _: r.inputs, False, "what it reads, when not the row above"
        ),
        Column(
            "input",
            "Input",
            lambda r, _: ", ".join(shape(s) for s in r.input_shapes),
            False,
            "input shape(s)",
        ),
        Column("output", "Output", lambda r, _: shape(r.last.output_shape), False, "output shape"),
        Column("params", "Params", lambda r, _: thousands(r.params), doc="parameters"),
        Column(
            "params%",
            "Params %",
            lambda r, rep: _percent(r.params, rep.totals.params),
            doc="share of all parameters",
        ),
        Column("trainable", "Trainable", _trainable, False, "yes, no (frozen), partly, – (none)"),
        Column("macs", "MACs", lambda r, _: si(r.macs), doc="multiply-accumulates"),
        Column(
            "macs%",
            "MACs %",
            lambda r, rep: _percent(r.macs, rep.totals.macs),
            doc="share of all MACs",
        ),
        Column(
            "output_bytes",
            "Out bytes",
            lambda r, _: binary(r.output_bytes),
            doc="bytes of its output (--batch, --dtype)",
        ),
        Column("kernel", "Kernel", _argument("kernel_size"), doc="kernel_size setting"),
        Column("stride", "Stride", _argument("stride"), doc="stride setting"),
        Column("padding", "Padding", _argument("padding"), doc="padding setting"),
        Column("dilation", "Dilation", _argument("dilation"), doc="dilation setting"),
        Column("rf", "RF", _rf_size, doc="receptive field size"),
        Column("rf_stride", "Stride", _rf_stride, doc="receptive field stride (jump)"),
        Column("rf_padding", "Padding", _rf_padding, doc="receptive field padding"),
        Column(
            "rf_axes",
            "RF per axis",
            _rf_axis(0),
            doc="one column per spatial axis: size/stride/padding",
        ),
    )
}
"""The columns of the table, the tree and markdown, in their documented order (docs/cli.md)."""

DEFAULT = ("type", "from", "output", "params", "macs", "rf", "rf_stride", "rf_padding")
AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def parse_columns(text: str) -> tuple[str, ...]:
    """``--columns``: names from :data:`COLUMNS`, comma-separated; or ``+NAME``s, added to the
    default columns. An unknown name is an error that suggests the nearest."""
    tokens = tuple(t.strip() for t in text.split(",") if t.strip())
    if not tokens:
        raise InputError("--columns names no column", hint=f"the columns: {', '.join(COLUMNS)}")
    for token in tokens:
        name = token.removeprefix("+")
        if name not in COLUMNS:
            raise InputError(
                f"--columns: unknown column '{name}'",
                hint=did_you_mean(name, COLUMNS) or f"the columns: {', '.join(COLUMNS)}",
            )
    if len({t.startswith("+") for t in tokens}) > 1:
        added = ",".join("+" + t.removeprefix("+") for t in tokens)
        raise InputError(
            "--columns: either name every column, or add to the default ones with +NAME",
            hint=f"to add them all: --columns {added}",
        )
    return tokens


def columns(report: Report, rows: list[Row], chosen: tuple[str, ...]) -> list[Column]:
    """The columns to show, after the Layer column: the defaults, the chosen ones, or the
    defaults and the added ones (+NAME). From shows only when some row reads other than the
    row before it; a setting shown beside the receptive field's stride or padding renames
    those to 'RF stride' and 'RF padding'."""
    if chosen and not chosen[0].startswith("+"):
        ids = list(dict.fromkeys(chosen))
    else:
        ids = list(dict.fromkeys((*DEFAULT, *(c.removeprefix("+") for c in chosen))))
    if not any(r.inputs for r in rows):
        ids = [i for i in ids if i != "from"]
    out: list[Column] = []
    for i in ids:
        column = COLUMNS[i]
        if i in ("rf_stride", "rf_padding") and i.removeprefix("rf_") in ids:
            column = column._replace(header="RF " + column.header.lower())
        if i == "rf_axes":
            names = AXES.get(len(report.input_shape) - 1, ())
            out += [
                column._replace(header=f"RF {n}", value=_rf_axis(a)) for a, n in enumerate(names)
            ]
        else:
            out.append(column)
    return out


def footer(report: Report) -> list[tuple[str, str]]:
    t = report.totals
    trainable = f"{thousands(t.params)} ({thousands(t.trainable_params)} trainable"
    trainable += f", {thousands(t.non_trainable_params)} frozen)" if t.non_trainable_params else ")"
    lines = [
        ("Params", trainable),
        ("Buffers", f"{thousands(t.buffers)} (batch-norm running statistics)"),
        ("MACs", f"{thousands(t.macs)} = {si(t.macs)} ({counting.describe(report.convention)})"),
        *_every_convention(report),
        ("FLOPs", f"{thousands(t.flops)} = {si(t.flops)} ({_flops(report.convention)})"),
        ("Input", f"{shape(report.input_shape)} → output {shape(report.output_shape)}"),
        (
            "Memory",
            f"input {binary(t.input_bytes)}, params+buffers {binary(t.param_bytes)}, "
            f"activations {binary(t.activation_bytes)} (batch {report.batch}, {report.dtype})",
        ),
    ]
    final = report.final.rf
    if final.size:
        lines.append(("Final RF", _final_rf(report)))
    if any(report.causal) or len(report.causal) == 1:  # sequences, or a causal axis
        lines.append(("Causal", _causal(report)))
    heads = _heads(report)
    if heads:
        lines.append(("Heads", heads))
    return lines


def _every_convention(report: Report) -> list[tuple[str, str]]:
    """--count all: the total in every convention, and what it counts (docs/counting.md)."""
    if report.convention != counting.ALL:
        return []
    return [
        (f"  {name}", f"{si(macs)} ({counting.CONVENTIONS[name].summary})")
        for name, macs in report.macs_by_convention
    ]


def _flops(count: str) -> str:
    factor = counting.convention(count).flops_factor
    return "2 × MACs" if factor == 2 else "= MACs: Ultralytics' MACs are its FLOPs"


def _heads(report: Report) -> str:
    """The field at each input of a block that reads several layers (a detection head's
    levels: "P3/8 RF 395"); '' when no block does (docs/ultralytics.md)."""
    outside: dict[str, list[str]] = {}  # group → the layers outside it that it reads, in order
    members: dict[str, set[str]] = {}
    for row in report.layers:
        for group in row.groups:
            members.setdefault(group, set()).add(row.name)
    for row in report.layers:
        for group in row.groups:
            for name in row.inputs:
                if name not in members[group] and name not in outside.setdefault(group, []):
                    outside[group].append(name)
    rows = {row.name: row for row in report.layers}

    def level(name: str) -> bool:  # a map's field, not a global one (YOLO-World's text)
        rf = rows[name].rf if name in rows else None
        return rf is not None and bool(rf.size) and not rf.is_global

    heads = [g for g, names in outside.items() if sum(map(level, names)) > 1]
    heads = [g for g in heads if not any(g.startswith(h + ".") for h in heads)]
    if not heads:
        return ""
    parts = []
    for group in heads:
        levels = []
        for name in filter(level, outside[group]):
            rf = rows[name].rf
            levels.append(f"{_level(rf.stride)} RF {_head_rf(rf)}")
        prefix = f"{group}: " if len(heads) > 1 else ""
        parts.append(prefix + ", ".join(levels))
    return "; ".join(parts)


def _level(stride: tuple[Ratio | None, ...]) -> str:
    """The level of a stride of 8 on every axis, "P3/8" (2³: the feature pyramid's), else the
    stride."""
    first = stride[0]
    if first is not None and all(s == first for s in stride) and first.denominator == 1:
        n = int(first)
        if n & (n - 1) == 0:
            return f"P{n.bit_length() - 1}/{n}"
    return "stride " + per_axis(tuple(fraction(v) for v in stride))


def _head_rf(rf: RF) -> str:
    size = per_axis(tuple(str(v) for v in rf.size))
    if rf.is_global:
        return f"{size} (global)"
    return f"{size} +g" if rf.global_context else size


def _causal(report: Report) -> str:
    """Per axis: causal, or the first layer whose units read ahead (docs/lint.md)."""
    from rfcalc.layers.base import axis_name

    if all(report.causal):
        return "yes (no unit reads past the input position it stands for)"
    rank = len(report.lookahead)
    axes: dict[str, list[str]] = {}
    for a, found in enumerate(report.lookahead):
        text = "yes" if found is None else f"no ('{found.layer}' reads {found.positions} ahead)"
        axes.setdefault(text, []).append(axis_name(rank, a))
    return ", ".join(f"{' and '.join(names)} {text}" for text, names in axes.items())


def _final_rf(report: Report) -> str:
    rf = report.final.rf
    size = per_axis(tuple(str(v) for v in rf.size))
    padding = per_axis(tuple(str(v) for v in rf.padding))
    if rf.is_global:
        return f"{size} (global: every unit sees the whole input), padding {padding}"
    stride = per_axis(tuple(fraction(v) for v in rf.stride))
    note = "" if rf.uniform else " (varies per unit: largest shown)"
    if rf.global_context:
        note += "; +g: every unit also sees the whole input through a global branch"
    return f"{size}, stride {stride}, padding {padding}{note}"
