"""The table as fixed-width text: what pipes and golden files see, and, fitted to its width
and with a little colour, what a terminal sees. The tree (render/tree.py) is laid out here too.

At a given width the table never cuts a number. When it does not fit, it narrows in this
order, and a footer line says what it did: RF, stride and padding merge into one
``RF/S/P`` cell; the Type column goes; (the tree's Depth-idx column goes;) the From column
goes; then names are elided from the middle, keeping their last part
(``layer4.2.…conv3``). A column named in ``--columns`` is never dropped. Footer lines wrap.

Colour, when asked for, carries meaning: a receptive field that covers the whole input is
green, the parameters of a frozen layer are dim, a layer with a warning is yellow; the title
and the header are bold and the footer's hint italic.
"""

from __future__ import annotations

import textwrap

from rfcalc.engine import Report
from rfcalc.errors import printable
from rfcalc.render import PLAIN, View
from rfcalc.render.rows import Column, Row, columns, footer, table_rows

BOLD, DIM, ITALIC, GREEN, YELLOW = "\x1b[1m", "\x1b[2m", "\x1b[3m", "\x1b[32m", "\x1b[33m"
RESET = "\x1b[0m"
GAP = "  "
MIN_NAME = 16  # a name is never elided below this
MIN_LABEL = 8  # nor a name in the tree, after its branches
DROPPED = ("type", "depth_idx", "from")  # in this order, when the table does not fit

LAYER = Column("name", "Layer", lambda r, _: r.art + r.name, numeric=False)
MERGED = Column("rf_merged", "RF/S/P", lambda r, _: "")  # its cells are made by _merged
RF_CELLS = ("rf", "rf_merged", "rf_axes")  # green when the field covers the input
PARAM_CELLS = ("params", "params%", "trainable")  # dim when the layer is frozen


def render(report: Report, view: View = PLAIN) -> str:
    """The table of leaf layers, folded at ``view.depth``."""
    return lay_out(report, table_rows(report, view.depth), view)


def lay_out(report: Report, rows: list[Row], view: View, first: tuple[Column, ...] = ()) -> str:
    """The rows under the report's title with the chosen columns (``first`` right after the
    Layer column), fitted to ``view.width``, then the totals, warnings and notes."""
    cols = [LAYER, *first, *columns(report, rows, view.columns)]
    body = [[_inert(c, c.value(r, report)) for c in cols] for r in rows]
    explicit = {c.removeprefix("+") for c in view.columns}
    keep = {c.id for c in cols if c.id in explicit}
    cols, body, done = _fit(cols, body, [len(r.art) for r in rows], view.width, keep)
    widths = _widths(cols, body)
    colour = view.colour
    warned = {w.layer for w in report.warnings}

    justify = [str.rjust if c.numeric else str.ljust for c in cols]

    def line(values: list[str], row: Row | None = None) -> str:
        parts = [j(v, w) for j, v, w in zip(justify, values, widths, strict=True)]
        styles = _styles(cols, row, warned) if colour and row is not None else None
        if styles is not None:
            parts[-1] = parts[-1].rstrip()
            parts = [s + p + RESET if s else p for s, p in zip(styles, parts, strict=True)]
        return GAP.join(parts).rstrip()

    rule = GAP.join("-" * w for w in widths)
    title = printable(report.name or report.source, newlines=False)
    header = line([c.header for c in cols])
    if colour:
        title, header = BOLD + title + RESET, BOLD + header + RESET
    out = [title, "", header, rule, *(line(v, r) for v, r in zip(body, rows, strict=True)), rule]
    labels = footer(report)
    pad = max(len(k) for k, _ in labels)
    for k, v in labels:
        out.append(_wrap(f"{k.ljust(pad)}{GAP}{v}", view.width, " " * (pad + len(GAP))))
    if any(r.rf.size and not r.rf.uniform and not r.rf.is_global for r in report.layers):
        out.append("* receptive field varies per unit; the largest is shown")
    if any(r.rf.global_context and not r.rf.is_global for r in report.layers):
        legend = (
            "+g the size is the spatial paths' field; every unit also depends on the whole "
            "input through a global branch (a pooled gate, attention on the map)"
        )
        out.append(
            textwrap.fill(legend, view.width, subsequent_indent="   ") if view.width else legend
        )
    for w in report.warnings:
        text = _wrap(printable(f"warning: {w.layer}: {w.message}", False), view.width, "  ")
        out.append(YELLOW + "warning" + RESET + text[7:] if colour else text)
    if colour:
        out += _legend(cols, rows, warned)
    if done:
        note = f"(fitted to {view.width} columns: {', '.join(done)}; --wide shows every column, "
        note += "--columns chooses them)"
        note = textwrap.fill(note, view.width) if view.width else note
        out.append(ITALIC + note + RESET if colour else note)
    return "\n".join(out) + "\n"


def _inert(column: Column, value: str) -> str:
    """A name as the terminal may show it (escaped control characters), before widths."""
    return printable(value, newlines=False) if column.id in ("name", "from") else value


def _wrap(text: str, width: int | None, indent: str) -> str:
    if width is None or len(text) <= width:
        return text
    return textwrap.fill(text, width, subsequent_indent=indent, break_on_hyphens=False)


def _styles(cols: list[Column], row: Row, warned: set[str]) -> list[str] | None:
    """Each cell's style in a row, or None when it has none."""
    warn = bool(warned) and any(m.name in warned for m in row.layers)
    frozen = row.params > 0 and not row.trainable_params
    covers = row.last.rf.covers_input
    if not (warn or frozen or covers):
        return None

    def style(column: Column) -> str:
        if warn and column.id == "name":
            return YELLOW
        if frozen and column.id in PARAM_CELLS:
            return DIM
        return GREEN if covers and column.id in RF_CELLS else ""

    return [style(c) for c in cols]


def _legend(cols: list[Column], rows: list[Row], warned: set[str]) -> list[str]:
    """What the colours in the table mean, for those that it shows."""
    ids = {c.id for c in cols}
    keys = []
    if ids & set(RF_CELLS) and any(r.last.rf.covers_input for r in rows):
        keys.append(GREEN + "RF: covers the whole input" + RESET)
    if ids & set(PARAM_CELLS) and any(r.params and not r.trainable_params for r in rows):
        keys.append(DIM + "params: frozen" + RESET)
    if any(m.name in warned for r in rows for m in r.layers):
        keys.append(YELLOW + "name: has a warning" + RESET)
    return [f"colours: {', '.join(keys)}"] if keys else []


def _merged(cols: list[Column], body: list[list[str]]) -> tuple[list[Column], list[list[str]]]:
    """RF, stride and padding as one cell: '7/1/0', a 'global' stride as 'g'."""
    ids = [c.id for c in cols]
    i = ids.index("rf")
    if ids[i : i + 3] != ["rf", "rf_stride", "rf_padding"]:
        return cols, body

    def one(row: list[str]) -> list[str]:
        size, stride, pad = row[i : i + 3]
        return [*row[:i], f"{size}/{'g' if stride == 'global' else stride}/{pad}", *row[i + 3 :]]

    return [*cols[:i], MERGED, *cols[i + 3 :]], [one(r) for r in body]


def _drop(
    name: str, cols: list[Column], body: list[list[str]]
) -> tuple[list[Column], list[list[str]]]:
    i = [c.id for c in cols].index(name)
    return [*cols[:i], *cols[i + 1 :]], [[*r[:i], *r[i + 1 :]] for r in body]


def _elide(name: str, width: int) -> str:
    """'layer4.2.downsample.0' in 16 → 'layer4…sample.0': the end is kept, the middle goes."""
    if len(name) <= width:
        return name
    keep_end = min(len(name.rsplit(".", 1)[-1]) + 1, width - 4)
    keep_end = max(keep_end, (width - 1) // 2)
    return name[: width - 1 - keep_end] + "…" + name[-keep_end:]


def _widths(cols: list[Column], body: list[list[str]]) -> list[int]:
    cells = zip(*body, strict=True) if body else ((),) * len(cols)
    return [max([len(c.header), *map(len, column)]) for c, column in zip(cols, cells, strict=True)]


def _fit(
    cols: list[Column], body: list[list[str]], arts: list[int], width: int | None, keep: set[str]
) -> tuple[list[Column], list[list[str]], list[str]]:
    """The columns that fit in ``width``, and what was done to make them fit. ``arts``: how
    much of each name cell is the tree's branches, which elision keeps."""
    done: list[str] = []
    if width is None:
        return cols, body, done

    def total(c: list[Column], b: list[list[str]]) -> int:
        return sum(_widths(c, b)) + len(GAP) * (len(c) - 1)

    for step in ("rf", *DROPPED):
        ids = [c.id for c in cols]
        if total(cols, body) <= width or step not in ids:
            continue
        if step == "rf":
            cols, body = _merged(cols, body)
            if "rf_merged" in [c.id for c in cols]:
                done.append("RF, stride and padding merged")
        elif step not in keep:
            header = cols[ids.index(step)].header
            cols, body = _drop(step, cols, body)
            done.append(f"{header} dropped")
    excess = total(cols, body) - width
    if excess > 0:
        name_width = max(MIN_NAME, _widths(cols, body)[0] - excess)
        body = [
            [r[0][:art] + _elide(r[0][art:], max(name_width - art, MIN_LABEL)), *r[1:]]
            for r, art in zip(body, arts, strict=True)
        ]
        done.append("names elided in the middle")
        if total(cols, body) > width:
            done.append(f"still {total(cols, body)} wide")
    return cols, body, done
