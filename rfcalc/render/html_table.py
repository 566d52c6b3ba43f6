"""HTML: the table and the totals as one self-contained fragment, for notebooks.

The rows, columns and footer are the markdown table's (:mod:`rfcalc.render.rows`); every
text is escaped, and the only styling is each numeric column's right alignment, inline. Its
``render`` has every renderer's signature (:mod:`rfcalc.render`); it is not a ``--format``:
that name is kept for the full HTML report.
"""

from __future__ import annotations

from html import escape

from rfcalc.engine import Report
from rfcalc.errors import printable
from rfcalc.render import PLAIN, View
from rfcalc.render.rows import columns, footer, table_rows


def _text(value: str) -> str:
    return escape(printable(value, newlines=False))


def _cell(tag: str, value: str, numeric: bool) -> str:
    style = ' style="text-align: right"' if numeric else ' style="text-align: left"'
    return f"<{tag}{style}>{_text(value)}</{tag}>"


def render(report: Report, view: View = PLAIN) -> str:
    rows = table_rows(report, view.depth)
    cols = columns(report, rows, view.columns)
    head = ["Layer", *(c.header for c in cols)]
    numeric = [False, *(c.numeric for c in cols)]
    out = ['<div class="rfcalc-report">', f"<strong>{_text(report.name or report.source)}</strong>"]
    out.append('<table class="rfcalc-layers">')
    out.append(
        "<thead><tr>" + "".join(map(_cell, ["th"] * len(head), head, numeric)) + "</tr></thead>"
    )
    out.append("<tbody>")
    for row in rows:
        values = [row.name, *(c.value(row, report) for c in cols)]
        out.append("<tr>" + "".join(map(_cell, ["td"] * len(values), values, numeric)) + "</tr>")
    out.append("</tbody>")
    out.append("</table>")
    out.append('<table class="rfcalc-totals"><tbody>')
    for key, value in footer(report):
        out.append(f"<tr>{_cell('th', key, False)}{_cell('td', value, False)}</tr>")
    for w in report.warnings:
        out.append(
            f"<tr>{_cell('th', 'warning', False)}"
            f"{_cell('td', f'{w.layer}: {w.message}', False)}</tr>"
        )
    out.append("</tbody></table>")
    out.append("</div>")
    return "\n".join(out) + "\n"
