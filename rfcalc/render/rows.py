"""Display rows shared by the table and markdown renderers, with readable numbers.

Folding (``--depth``) happens here: it changes what is shown, never the totals.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from rfcalc.engine import LayerRow, Report

MACS_CONVENTION = "multiply-accumulates, torchvision/fvcore convention, bias excluded"


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


def fraction(value: Fraction | None) -> str:
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


@dataclass(frozen=True, slots=True)
class DisplayRow:
    name: str
    type: str
    inputs: str
    output: str
    params: str
    macs: str
    rf: str
    stride: str
    padding: str


def _cells(row: LayerRow, name: str, type_: str, params: int, macs: int) -> DisplayRow:
    rf = row.rf
    size = per_axis(tuple(str(v) for v in rf.size))
    stride = "global" if rf.is_global else per_axis(tuple(fraction(v) for v in rf.stride))
    if rf.size and not rf.uniform and not rf.is_global:
        size += "*"
    if rf.global_context and not rf.is_global:
        size += " +g"
    return DisplayRow(
        name=name,
        type=type_,
        inputs=", ".join(row.inputs),
        output=shape(row.output_shape),
        params=thousands(params),
        macs=si(macs),
        rf=size,
        stride=stride,
        padding=per_axis(tuple(str(v) for v in rf.padding)),
    )


def display_rows(report: Report, depth: int | None = None) -> list[DisplayRow]:
    """One row per leaf layer; with ``depth`` N, block instances nested N levels deep or more
    are folded into one row each (depth 1: only the model's own layers and blocks)."""

    def shown(name: str, groups: tuple[str, ...]) -> str:
        return groups[depth - 1] if depth is not None and len(groups) >= depth else name

    where = {r.name: shown(r.name, r.groups) for r in report.layers}
    out: list[DisplayRow] = []
    layers = report.layers
    previous = "input"
    i = 0
    while i < len(layers):
        row = layers[i]
        name = shown(row.name, row.groups)
        j = i + 1
        while j < len(layers) and shown(layers[j].name, layers[j].groups) == name:
            j += 1
        members = layers[i:j]
        last = members[-1]
        # inputs from outside the folded group, by their displayed names
        inside = {m.name for m in members}
        sources = [where.get(x, x) for m in members for x in m.inputs if x not in inside]
        sources = list(dict.fromkeys(sources))
        if len(members) == 1:
            cells = _cells(row, name, row.type, row.params, row.macs)
        else:
            params, macs = sum(m.params for m in members), sum(m.macs for m in members)
            cells = _cells(last, name, f"({len(members)} layers)", params, macs)
        inputs = "" if sources == [previous] else ", ".join(sources)
        out.append(replace(cells, inputs=inputs))
        previous = name
        i = j
    return out


def footer(report: Report) -> list[tuple[str, str]]:
    t = report.totals
    trainable = f"{thousands(t.params)} ({thousands(t.trainable_params)} trainable"
    trainable += f", {thousands(t.non_trainable_params)} frozen)" if t.non_trainable_params else ")"
    lines = [
        ("Params", trainable),
        ("Buffers", f"{thousands(t.buffers)} (batch-norm running statistics)"),
        ("MACs", f"{thousands(t.macs)} = {si(t.macs)} ({MACS_CONVENTION})"),
        ("FLOPs", f"{thousands(t.flops)} = {si(t.flops)} (2 × MACs)"),
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
    if report.lookahead:
        lines.append(("Causal", _causal(report)))
    return lines


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
        note += "; +g: every unit also sees the whole input through a pooled branch"
    return f"{size}, stride {stride}, padding {padding}{note}"


def headers(branched: bool) -> list[str]:
    cols = ["Layer", "Type"]
    if branched:
        cols.append("From")
    return [*cols, "Output", "Params", "MACs", "RF", "Stride", "Padding"]


def cells(row: DisplayRow, branched: bool) -> list[str]:
    first = [row.name, row.type] + ([row.inputs] if branched else [])
    return [*first, row.output, row.params, row.macs, row.rf, row.stride, row.padding]


NUMERIC = {"Params", "MACs", "RF", "Stride", "Padding"}
