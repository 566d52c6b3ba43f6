"""``rfcalc rf``: a unit's field and one map, as text (with a heatmap) or as JSON."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from rfcalc import __version__
from rfcalc.errors import printable
from rfcalc.maps import AxisField, Coverage, Erf, Grid, Holes, Model, UnitField
from rfcalc.render.heatmap import Picture, legend, shrink, terminal

Result = Coverage | Erf | Holes
SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Shown:
    """What the command computed: the model, the unit's field and the chosen map."""

    model: Model
    field: UnitField
    kind: str  # 'coverage', 'erf' or 'holes'
    result: Result


def _dims(shape: Sequence[int]) -> str:
    return "×".join(str(d) for d in shape)


def _axis_line(axis: AxisField) -> str:
    if axis.span is None:
        return f"{axis.axis}: reads no input position"
    lo, hi = axis.span
    where = f"{lo} … {hi}: {axis.size} position{'s' if axis.size != 1 else ''}"
    inside = axis.inside
    if inside is None:
        where += ", all in the padding"
    elif axis.before == 0 and axis.after == 0:
        where += ", all inside the input"
    else:
        pads = []
        if axis.before:
            pads.append(f"{axis.before} before it")
        if axis.after:
            pads.append(f"{axis.after} after it")
        where += (
            f"; {inside[0]} … {inside[1]} inside the input, in the padding {' and '.join(pads)}"
        )
    if axis.is_global:
        where += " (global: every unit sees it)"
    return f"{axis.axis}: {where}"


def picture(shown: Shown) -> Picture:
    """The 2-D picture of the map (a 3-D map: the plane through the middle of the field on
    the first axis)."""
    grid = _grid(shown.result)
    values = grid.values if not isinstance(shown.result, Holes) else [1 - v for v in grid.values]
    shape, origin = grid.shape, grid.origin
    if len(shape) == 1:
        return Picture((tuple(values),), 0, origin[0], isinstance(shown.result, Holes))
    if len(shape) == 3:
        plane = _plane(shown, grid)
        size = shape[1] * shape[2]
        values = values[plane * size : (plane + 1) * size]
        shape, origin = shape[1:], origin[1:]
    w = shape[1]
    rows = tuple(tuple(values[i : i + w]) for i in range(0, len(values), w))
    return Picture(rows, origin[0], origin[1], isinstance(shown.result, Holes))


def _grid(result: Result) -> Grid:
    return result.reached if isinstance(result, Holes) else result.grid


def _plane(shown: Shown, grid: Grid) -> int:
    span = shown.field.axes[0].span
    middle = 0 if span is None else (span[0] + span[1]) // 2
    return min(max(middle - grid.origin[0], 0), grid.shape[0] - 1)


def _wrap(line: str, width: int, indent: str) -> list[str]:
    """``line`` broken at spaces to fit ``width`` columns, its continuations after ``indent``
    (a word longer than the width stays whole: a name or a number is never cut, nor a range
    ``a … b``)."""
    glued = line.replace(" … ", "\u00a0…\u00a0")  # textwrap breaks at ASCII spaces only
    lines = textwrap.wrap(
        glued, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )
    return [wrapped.replace("\u00a0…\u00a0", " … ") for wrapped in lines] or [line]


def _header(shown: Shown) -> list[tuple[str, str]]:
    """The header's lines, each with the indent its continuation takes."""
    model, field = shown.model, shown.field
    graph = model.graph
    # the user's names and paths, inert: the text is written as is to colour a terminal
    path = printable(graph.path, newlines=False)
    name = f"{printable(graph.name, newlines=False)} ({path})" if graph.name else path
    units = _dims(model.units[field.index])
    layer = printable(field.layer, newlines=False)
    label = " " * 8
    lines = [
        (f"model   {name}, input {_dims(graph.input_shape)}", label),
        (f"layer   {layer} ({field.type}, output {_dims(field.output_shape)})", label),
        (f"unit    ({', '.join(map(str, field.unit))}) of {units}", label),
    ]
    for i, axis in enumerate(field.axes):
        # a continuation lines up after the axis's name ("H: ")
        lines.append((f"{'field' if i == 0 else '':8}{_axis_line(axis)}", label + " " * 3))
    return lines


def _map_lines(shown: Shown) -> list[str]:
    result = shown.result
    field = shown.field
    if isinstance(result, Coverage):
        units = _dims(shown.model.units[field.index])
        grid = result.grid
        top = max(grid.values, default=0)
        low = min(grid.values, default=0)
        return [
            f"coverage: in how many of the layer's {units} units' fields each input position "
            f"lies (from {low:,} to {top:,})"
        ]
    if isinstance(result, Erf):
        lines = [
            "ERF: the paths from each input position to the unit with every weight 1 "
            f"(Luo et al. 2016): {result.total:,} in all"
        ]
        parts = []
        for axis, spread in zip(field.axes, result.spread, strict=True):
            if spread is not None:
                a, b = spread
                parts.append(f"{axis.axis} {a} … {b} ({b - a + 1})")
        if parts:
            size = _dims([a.size for a in field.axes])
            lines.append(f"spread: 95 % of the paths within {', '.join(parts)}; field {size}")
        if result.upper_bound:
            lines.append(
                "max pooling on the way: an upper bound (a window passes the gradient to its "
                "maximum only)"
            )
        if result.global_context:
            lines.append("global context: the unit also sees every position through a pool")
        return lines
    hull = _dims([a.size for a in field.axes])
    if result.holes:
        return [
            f"holes: no path reaches {result.holes:,} of the {result.hull:,} positions of the "
            f"field's {hull} hull (gridding)"
        ]
    return [
        f"holes: none; every one of the {result.hull:,} positions of the {hull} hull is reached"
    ]


def _plane_note(shown: Shown, pic: Picture) -> list[str]:
    grid = _grid(shown.result)
    if len(grid.shape) != 3:
        return []
    axis = shown.field.axes[0].axis
    return [f"(the plane {axis} = {grid.origin[0] + _plane(shown, grid)})"]


def _origin_note(shown: Shown, pic: Picture) -> list[str]:
    grid = _grid(shown.result)
    shape, axes = grid.shape[-2:], shown.field.axes[-2:]
    ends = [pic.col0 + shape[-1] - 1]
    if len(shape) == 2:
        ends.insert(0, pic.row0 + shape[0] - 1)
    across = f"{axes[-1].axis} {pic.col0} … {ends[-1]} left to right"
    if len(shape) == 1:
        return [f"({across})"]
    return [f"({axes[0].axis} {pic.row0} … {ends[0]} top to bottom, {across})"]


def text(shown: Shown, width: int, height: int | None, colour_on: bool) -> str:
    """The field, the map's summary, the heatmap fitted to ``width`` × ``height`` character
    cells (height None: any), and its legend."""
    pic = picture(shown)
    rows_room = None if height is None else (2 * height if colour_on else height)
    pic = shrink(pic, width, rows_room)
    lines = [wrapped for line, indent in _header(shown) for wrapped in _wrap(line, width, indent)]
    lines.append("")
    notes = _map_lines(shown) + _plane_note(shown, pic) + _origin_note(shown, pic)
    lines += [wrapped for line in notes for wrapped in _wrap(line, width, "  ")]
    lines += terminal(pic, colour_on)
    lines += legend(pic, colour_on, width)
    return "\n".join(lines) + "\n"


def _axis_json(axis: AxisField) -> dict[str, object]:
    span = axis.span
    return {
        "axis": axis.axis,
        "units": axis.units,
        "unit": axis.unit,
        "start": None if span is None else span[0],
        "end": None if span is None else span[1],
        "size": axis.size,
        "inside": None if axis.inside is None else list(axis.inside),
        "padding_before": axis.before,
        "padding_after": axis.after,
        "global": axis.is_global,
    }


def _grid_json(grid: Grid) -> dict[str, object]:
    return {"origin": list(grid.origin), "shape": list(grid.shape), "values": grid.nested()}


def to_json(shown: Shown) -> str:
    model, field, result = shown.model, shown.field, shown.result
    graph = model.graph
    data: dict[str, object] = {
        "schema_version": SCHEMA_VERSION,
        "rfcalc_version": __version__,
        "model": {"name": graph.name, "source": graph.path},
        "input": {"shape": list(graph.input_shape)},
        "layer": {
            "index": field.index,
            "name": field.layer,
            "type": field.type,
            "output_shape": list(field.output_shape),
            "units": list(model.units[field.index]),
        },
        "unit": list(field.unit),
        "field": [_axis_json(a) for a in field.axes],
    }
    body: dict[str, object] = {"kind": shown.kind}
    if isinstance(result, Coverage):
        body["per_axis"] = [list(c) for c in result.per_axis]
        body |= _grid_json(result.grid)
    elif isinstance(result, Erf):
        body["total"] = result.total
        body["spread"] = [None if s is None else list(s) for s in result.spread]
        body["spread_size"] = [0 if s is None else s[1] - s[0] + 1 for s in result.spread]
        body["size"] = [a.size for a in field.axes]
        body["upper_bound"] = result.upper_bound
        body["global_context"] = result.global_context
        body |= _grid_json(result.grid)
    else:
        body["hull"] = result.hull
        body["holes"] = result.holes
        body["global_context"] = result.global_context
        body |= _grid_json(result.reached)
    data["map"] = body
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
