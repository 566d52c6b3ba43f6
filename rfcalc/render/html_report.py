"""``describe --format html``: one self-contained page (docs/rf.md, "The HTML report").

The page holds the table, the totals and the warnings (:mod:`rfcalc.render.html_table`'s
fragment), a hand-written SVG chart of each layer's receptive-field size against the input's
size, and an explorer: choose a layer, hover one of its units, and the unit's field, its ERF and
the layer's coverage are drawn on the input grid. Nothing is fetched: the style and the script
are inline (``html_report.css`` and ``.js`` beside this module, package data), and the numbers
the explorer draws are one JSON document in a ``<script type="application/json">`` element,
computed here by :mod:`rfcalc.maps`, never in the browser:

* ``fields``: per layer and axis, each unit's field hull on the extended index line, as the
  engine keeps it: ``[S, P, r]`` for a uniform axis (unit ``x``: ``x·S − P … x·S − P + r − 1``),
  ``[lo, hi]`` for a global one, else one ``[lo, hi]`` (or null) per unit. A unit's field box is
  the product of its axes' hulls (docs/rf.md), so this is every unit's exact box.
* ``coverage``: per layer and axis, the count at each input position (:func:`maps.coverage`);
  the map is their outer product, exactly.
* ``erf``: when the layer's paths back to the input never merge (one edge per layer), every
  path count is a product of per-axis counts, so the ERF of every unit is the outer product of
  one vector per axis and unit (each computed by :func:`maps.erf` on that axis alone): exact,
  and sent for every unit while it fits :data:`UNIT_VECTORS`. Otherwise (a residual add, a
  concat) the map is a sum of outer products: the exact map of the layer's centre unit is sent
  whole, while the page's budget :data:`ERF_CELLS` lasts (deepest layers first), and the page
  says that only the centre unit has one.

The page is built from the report alone: the graph it was computed from is rebuilt from its
rows (each keeps its layer's type, arguments and inputs), so that ``render`` has every
renderer's signature and ``describe`` needs no other path for it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape

from rfcalc import maps, rf
from rfcalc.build import INPUT, Graph, Node
from rfcalc.engine import Report
from rfcalc.errors import SourcePos, printable
from rfcalc.gridding import Edge
from rfcalc.layers import lookup
from rfcalc.layers.base import axis_name
from rfcalc.render import PLAIN, View, html_table

UNIT_VECTORS = 100_000  # per layer: numbers of per-unit ERF vectors, beyond: the centre unit only
ERF_CELLS = 300_000  # per page: numbers of all ERF data (the deepest layers come first)
MAX_DRAWN = 1024  # an input axis longer than this is not drawn (the table and chart still are)
MAX_LAYERS = 5_000  # a model with more layers gets no explorer (the table and chart still are)
ERF_WORK = 400_000  # per page: the ERF computations' work, counted as layers walked times the
# input's longest axis for each call of maps.erf (which walks back from the layer to the input:
# a deep chain's units cost their depth each; about 3 s of CPU here)
MAX_POINTS = 2_000  # the chart marks each layer with a point up to this many layers


def render(report: Report, view: View = PLAIN) -> str:
    model = maps.prepare(graph_of(report), report) if len(report.input_shape) > 1 else None
    data = page_data(report, model)
    title = _text(report.name or report.source)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title} — rfcalc</title>",
            f"<style>\n{_asset('css')}</style>",
            "</head>",
            "<body>",
            f"<h1>{title}</h1>",
            f'<p class="source">{_text(report.source)} · input {_shape(report.input_shape)}'
            f" · rfcalc {escape(str(data['version']))}</p>",
            "<h2>Layers</h2>",
            html_table.render(report, view),
            "<h2>Receptive field per layer</h2>",
            chart(report),
            '<h2 id="explorer-title">Explorer</h2>',
            _explorer(data),
            f'<script type="application/json" id="rfcalc-data">{script_json(data)}</script>',
            f"<script>\n{_asset('js')}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _asset(suffix: str) -> str:
    from importlib.resources import files

    return files("rfcalc.render").joinpath(f"html_report.{suffix}").read_text("utf-8")


def _text(value: str) -> str:
    return escape(printable(value, newlines=False))


def _shape(shape: Sequence[int]) -> str:
    return "×".join(map(str, shape))


def script_json(data: object) -> str:
    """JSON that cannot end its ``<script>`` element or open a comment in it: ``<``, ``>`` and
    ``&`` as ``\\u`` escapes (and every non-ASCII character, U+2028 and U+2029 included)."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# ---------------------------------------------------------------- the graph, from the report


def graph_of(report: Report) -> Graph:
    """The graph ``report`` was computed from: each row keeps its layer's type, arguments,
    inputs (by name), position and blocks, which is all that the maps read."""
    index = {"input": INPUT} | {row.name: row.index for row in report.layers}
    nodes = []
    for row in report.layers:
        kind = lookup(row.type)
        assert kind is not None, row.type
        inputs = tuple(index[name] for name in row.inputs)
        node = Node(row.index, row.name, kind, row.args, {}, inputs, True, row.pos, row.groups)
        nodes.append(node)
    where = SourcePos(report.source)
    shape = report.input_shape
    return Graph(report.source, report.name, None, shape, where, tuple(nodes), None, {})


# ---------------------------------------------------------------- the explorer's numbers


def page_data(report: Report, model: maps.Model | None) -> dict[str, object]:
    from rfcalc import __version__

    rank = len(report.input_shape) - 1
    data: dict[str, object] = {
        "version": __version__,
        "input": list(report.input_shape[1:]),
        "axes": [axis_name(rank, a) for a in range(rank)],
        "layers": [],
        "default": None,
        "note": None,
    }
    if model is None:
        data["note"] = "the input has no spatial axis: there is no field to draw"
        return data
    if rank > 2:
        data["note"] = "the explorer draws 1-D and 2-D inputs; this model's input is 3-D"
        return data
    if max(report.input_shape[1:]) > MAX_DRAWN:
        data["note"] = f"an input axis longer than {MAX_DRAWN} is not drawn"
        return data
    if len(report.layers) > MAX_LAYERS:
        data["note"] = f"the explorer is drawn for models of up to {MAX_LAYERS:,} layers"
        return data
    layers = [_layer(model, i) for i in range(len(report.layers))]
    chains = separable(model)
    lines = [along(model, a) for a in range(rank)]
    budget, work = ERF_CELLS, ERF_WORK
    # the separable layers first (their data is small), then the others, the deepest first
    for i in sorted(range(len(layers)), key=lambda i: (not chains[i], -i)):
        per_call = (i + 1) * max(report.input_shape[1:])
        least = len(model.units[i]) + 1 if chains[i] else 1  # calls of maps.erf, at least
        if least * per_call > work:
            layers[i]["erf"] = None
            continue
        erf, cost, calls = _erf(model, lines if chains[i] else None, i, budget, work // per_call)
        layers[i]["erf"] = erf
        budget -= cost
        work -= calls * per_call
    data["layers"] = layers
    data["default"] = maps.find_layer(model, None)
    return data


def _layer(model: maps.Model, index: int) -> dict[str, object]:
    row = model.report.layers[index]
    assert model.report.fields is not None
    units = model.units[index]
    return {
        "name": printable(row.name, newlines=False),
        "type": row.type,
        "units": list(units),
        "fields": [_axis(f, n) for f, n in zip(model.report.fields[index], units, strict=True)],
        "coverage": [list(c) for c in maps.coverage(model, index).per_axis],
    }


def _axis(field: rf.Field, units: int) -> dict[str, object]:
    if isinstance(field, rf.Affine):
        return {"affine": [field.S, field.P, field.r]}
    if isinstance(field, rf.Global):
        return {"global": [field.lo, field.hi]}
    spans = [field.span(y) for y in range(units)]
    return {"units": [None if s is None else list(s) for s in spans]}


def separable(model: maps.Model) -> list[bool]:
    """Per layer: do its paths back to the input never merge (every layer on them has at most
    one edge)? Then a path is a choice per axis, and every count is a product of per-axis
    counts."""
    chain: dict[int, bool] = {INPUT: True}
    for k, edges in enumerate(model.edges):
        chain[k] = len(edges) <= 1 and all(chain[e.source] for e in edges)
    return [chain[k] for k in range(len(model.edges))]


def along(model: maps.Model, axis: int) -> maps.Model:
    """The model seen along one spatial axis: a path count of a separable layer is the product
    of these models' counts."""
    n = model.graph.input_shape[1 + axis]
    graph = model.graph._replace(input_shape=(model.graph.input_shape[0], n))
    edges = tuple(tuple(Edge(e.source, (e.rules[axis],)) for e in es) for es in model.edges)
    units = tuple((u[axis],) for u in model.units)
    return maps.Model(graph, model.report, edges, model.context, units, 1)


def _trim(values: Sequence[int]) -> list[int]:
    """``[first, v_first, …, v_last]``: the nonzero stretch of a vector and where it starts
    (``[0]`` when all are zero)."""
    nonzero = [i for i, v in enumerate(values) if v]
    if not nonzero:
        return [0]
    return [nonzero[0], *values[nonzero[0] : nonzero[-1] + 1]]


def _erf(
    model: maps.Model, lines: list[maps.Model] | None, index: int, budget: int, calls: int
) -> tuple[dict[str, object] | None, int, int]:
    """The layer's ERF data (see the module doc), the numbers it holds and how many times it
    called :func:`maps.erf` (``calls``: at most how many; a chain's every unit needs one per
    unit and axis). ``lines``: the model along each axis when the layer's paths are a chain."""
    units = model.units[index]
    inputs = model.graph.input_shape[1:]
    centre = maps.centre(model, index)
    if lines is not None:
        size = sum(u * n for u, n in zip(units, inputs, strict=True))
        every = size <= min(UNIT_VECTORS, budget) and sum(units) + 1 <= calls
        axes, cost = [], 0
        for line, u, c in zip(lines, units, centre, strict=True):
            chosen = range(u) if every else range(c, c + 1)
            vectors = [_trim(maps.erf(line, index, (x,)).grid.values) for x in chosen]
            cost += sum(map(len, vectors))
            axes.append(vectors)
        calls = sum(map(len, axes)) + 1
        if cost > budget:
            return None, 0, calls
        upper = maps.erf(lines[0], index, (centre[0],)).upper_bound
        return (
            {
                "separable": True,
                "every": every,
                "centre": list(centre),
                "axes": axes,
                "upper_bound": upper,
            },
            cost,
            calls,
        )
    if _cells(inputs) > budget:
        return None, 0, 0
    found = maps.erf(model, index, centre)
    origin, shape, values = _box(found.grid)
    if len(values) > budget:
        return None, 0, 1
    return (
        {
            "separable": False,
            "every": False,
            "centre": list(centre),
            "origin": origin,
            "shape": shape,
            "values": values,
            "upper_bound": found.upper_bound,
        },
        len(values),
        1,
    )


def _cells(shape: Sequence[int]) -> int:
    cells = 1
    for n in shape:
        cells *= n
    return cells


def _box(grid: maps.Grid) -> tuple[list[int], list[int], list[int]]:
    """The smallest box holding every nonzero value of a map over the input (1 or 2 axes):
    its origin, its shape and its values, row-major."""
    rank = len(grid.shape)
    cols = grid.shape[-1]
    rows = grid.shape[0] if rank == 2 else 1
    hit = [(i // cols, i % cols) for i, v in enumerate(grid.values) if v]
    if not hit:
        return [0] * rank, [0] * rank, []
    r0, r1 = min(p for p, _ in hit), max(p for p, _ in hit)
    c0, c1 = min(q for _, q in hit), max(q for _, q in hit)
    assert r1 < rows
    values = [grid.values[p * cols + q] for p in range(r0, r1 + 1) for q in range(c0, c1 + 1)]
    if rank == 1:
        return [c0], [c1 - c0 + 1], values
    return [r0, c0], [r1 - r0 + 1, c1 - c0 + 1], values


# ---------------------------------------------------------------- the chart


def chart(report: Report) -> str:
    """An SVG line chart: per spatial axis, each layer's receptive-field size (x: the layer's
    index), with the input's size on that axis as a dashed line."""
    rank = len(report.input_shape) - 1
    rows = report.layers
    if rank == 0 or not rows:
        return '<p class="note">The input has no spatial axis: no receptive field to chart.</p>'
    width, height, left, bottom, top, right = 760, 300, 56, 40, 16, 120
    inner_w, inner_h = width - left - right, height - top - bottom
    sizes = [[row.rf.size[a] if a < len(row.rf.size) else 0 for row in rows] for a in range(rank)]
    inputs = report.input_shape[1:]
    peak = max(max(max(s) for s in sizes), max(inputs), 1)

    def x(i: int) -> float:
        return left + (inner_w * i / (len(rows) - 1) if len(rows) > 1 else inner_w / 2)

    def y(v: int) -> float:
        return top + inner_h * (1 - v / peak)

    colours = ("#3b6fb6", "#d9822b", "#3a9d5d")
    out = [
        f'<svg class="chart" id="rf-chart" xmlns="http://www.w3.org/2000/svg" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" role="img"'
        ' aria-label="receptive-field size per layer against the input size">',
        f'<line x1="{left}" y1="{top + inner_h}" x2="{left + inner_w}" y2="{top + inner_h}"'
        ' class="axis"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + inner_h}" class="axis"/>',
    ]
    for tick in _ticks(peak):
        out.append(
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick}</text>'
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + inner_w}" y2="{y(tick):.1f}"'
            ' class="grid"/>'
        )
    out.append(
        f'<text x="{left + inner_w / 2}" y="{height - 8}" text-anchor="middle">layer (in order,'
        f" 0 … {len(rows) - 1})</text>"
    )
    # axes with the same sizes and input are one line ("H, W")
    groups: list[list[int]] = []
    for a in range(rank):
        same = [g for g in groups if sizes[g[0]] == sizes[a] and inputs[g[0]] == inputs[a]]
        if same:
            same[0].append(a)
        else:
            groups.append([a])
    for g, group in enumerate(groups):
        a = group[0]
        colour = colours[g % len(colours)]
        name = ", ".join(axis_name(rank, b) for b in group)
        out.append(
            f'<line x1="{left}" y1="{y(inputs[a]):.1f}" x2="{left + inner_w}"'
            f' y2="{y(inputs[a]):.1f}" stroke="{colour}" class="input-line"/>'
            f'<text x="{left + inner_w + 6}" y="{y(inputs[a]) + 4 + 12 * g:.1f}"'
            f' fill="{colour}">input {name}: {inputs[a]}</text>'
        )
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(sizes[a]))
        out.append(f'<polyline points="{points}" stroke="{colour}" class="rf-line"/>')
        for i, v in enumerate(sizes[a] if len(rows) <= MAX_POINTS else ()):
            out.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}">'
                f"<title>{_text(rows[i].name)} ({_text(rows[i].type)}): RF {name} {v}"
                f"{' (global)' if rows[i].rf.is_global else ''}</title></circle>"
            )
        out.append(
            f'<text x="{left + inner_w + 6}" y="{y(sizes[a][-1]) + 4 - 12 * g:.1f}"'
            f' fill="{colour}">RF {name}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _ticks(peak: int) -> list[int]:
    step = 1
    while peak / step > 6:
        for factor in (2, 5, 10):
            if peak / (step * factor) <= 6:
                step *= factor
                break
        else:
            step *= 10
    return list(range(0, peak + 1, step))


# ---------------------------------------------------------------- the explorer's frame


def _explorer(data: dict[str, object]) -> str:
    if data["note"] is not None:
        return f'<p class="note" id="explorer-note">{_text(str(data["note"]))}</p>'
    return """<div id="explorer">
<p><label for="layer-select">Layer</label> <select id="layer-select"></select>
<span id="layer-info"></span></p>
<div class="panels">
<figure><figcaption>Units of the layer (hover one)</figcaption>
<div class="stage"><canvas id="units-canvas"></canvas></div></figure>
<figure><figcaption>Field on the input</figcaption>
<div class="stage"><canvas id="field-canvas"></canvas><div class="box" id="field-box"></div></div>
</figure>
<figure><figcaption>ERF (paths, every weight 1)</figcaption>
<div class="stage"><canvas id="erf-canvas"></canvas><div class="box" id="erf-box"></div></div>
</figure>
<figure><figcaption>Coverage (fields per input position)</figcaption>
<div class="stage"><canvas id="coverage-canvas"></canvas><div class="box" id="coverage-box">
</div></div></figure>
</div>
<p id="readout" aria-live="polite"></p>
<p id="erf-readout"></p>
<p id="coverage-readout"></p>
</div>"""
