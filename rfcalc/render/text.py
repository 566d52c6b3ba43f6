"""The table as fixed-width text: what pipes and golden files see, and, fitted to its width
and with a little colour, what a terminal sees.

At a given width the table never cuts a number. When it does not fit, it narrows in this
order, and a footer line says what it did: RF, stride and padding merge into one
``RF/S/P`` cell; the Type column goes; the From column goes; then names are elided from the
middle, keeping their last part (``layer4.2.…conv3``). Footer lines wrap.
"""

from __future__ import annotations

import textwrap

from rfcalc.engine import Report
from rfcalc.errors import printable
from rfcalc.render.rows import NUMERIC, cells, display_rows, footer, headers

BOLD, YELLOW, RESET = "\x1b[1m", "\x1b[33m", "\x1b[0m"
GAP = "  "
MIN_NAME = 16  # a name is never elided below this


def _merged(head: list[str], body: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """RF, Stride and Padding as one cell: '7/1/0', 'global' strides as 'g'."""
    i = head.index("RF")

    def one(row: list[str]) -> list[str]:
        size, stride, pad = row[i : i + 3]
        return [*row[:i], f"{size}/{'g' if stride == 'global' else stride}/{pad}", *row[i + 3 :]]

    return [*head[:i], "RF/S/P", *head[i + 3 :]], [one(r) for r in body]


def _drop(name: str, head: list[str], body: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    if name not in head:
        return head, body
    i = head.index(name)
    return [*head[:i], *head[i + 1 :]], [[*r[:i], *r[i + 1 :]] for r in body]


def _elide(name: str, width: int) -> str:
    """'layer4.2.downsample.0' in 16 → 'layer4…sample.0': the end is kept, the middle goes."""
    if len(name) <= width:
        return name
    keep_end = min(len(name.rsplit(".", 1)[-1]) + 1, width - 4)
    keep_end = max(keep_end, (width - 1) // 2)
    return name[: width - 1 - keep_end] + "…" + name[-keep_end:]


def _widths(head: list[str], body: list[list[str]]) -> list[int]:
    return [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(head)]


def _fit(
    head: list[str], body: list[list[str]], width: int | None
) -> tuple[list[str], list[list[str]], list[str]]:
    """The columns that fit in ``width``, and what was done to make them fit."""
    done: list[str] = []
    if width is None:
        return head, body, done

    def total(h: list[str], b: list[list[str]]) -> int:
        return sum(_widths(h, b)) + len(GAP) * (len(h) - 1)

    for label in ("RF, stride and padding merged", "Type dropped", "From dropped"):
        if total(head, body) <= width:
            break
        if label.startswith("RF"):
            new_head, new_body = _merged(head, body)
        else:
            new_head, new_body = _drop(label.split()[0], head, body)
        if new_head != head:
            head, body = new_head, new_body
            done.append(label)
    excess = total(head, body) - width
    if excess > 0:
        name_width = max(MIN_NAME, _widths(head, body)[0] - excess)
        body = [[_elide(r[0], name_width), *r[1:]] for r in body]
        done.append("names elided in the middle")
    return head, body, done


def render(
    report: Report, depth: int | None = None, width: int | None = None, colour: bool = False
) -> str:
    """The table; with ``width``, fitted to it; with ``colour``, ANSI bold and yellow."""
    rows = display_rows(report, depth)
    branched = any(r.inputs for r in rows)
    head, body, done = _fit(headers(branched), [cells(r, branched) for r in rows], width)
    widths = _widths(head, body)

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if h in NUMERIC or h == "RF/S/P" else v.ljust(w)
            for v, w, h in zip(values, widths, head, strict=True)
        ]
        return GAP.join(parts).rstrip()

    rule = GAP.join("-" * w for w in widths)
    title = printable(report.name or report.source, newlines=False)
    header = line(head)
    if colour:
        title, header = BOLD + title + RESET, BOLD + header + RESET
    out = [title, "", header, rule, *(line(r) for r in body), rule]
    labels = footer(report)
    pad = max(len(k) for k, _ in labels)
    for k, v in labels:
        text = f"{k.ljust(pad)}{GAP}{v}"
        if width is not None and len(text) > width:
            indent = " " * (pad + len(GAP))
            text = textwrap.fill(text, width, subsequent_indent=indent, break_on_hyphens=False)
        out.append(text)
    if any(r.rf.size and not r.rf.uniform and not r.rf.is_global for r in report.layers):
        out.append("* receptive field varies per unit; the largest is shown")
    warn = f"{YELLOW}warning{RESET}" if colour else "warning"
    for w in report.warnings:
        text = f"warning: {w.layer}: {w.message}"
        if width is not None and len(text) > width:
            text = textwrap.fill(text, width, subsequent_indent="  ", break_on_hyphens=False)
        out.append(warn + text[len("warning") :])
    if done:
        note = f"(fitted to {width} columns: {', '.join(done)}; --format markdown shows it all)"
        out.append(textwrap.fill(note, width) if width else note)
    return "\n".join(out) + "\n"
