"""Markdown: a pipe table (folded at ``--depth``, with the chosen columns) and the totals."""

from __future__ import annotations

from rfcalc.engine import Report
from rfcalc.errors import printable
from rfcalc.render import PLAIN, View
from rfcalc.render.rows import columns, footer, table_rows


def render(report: Report, view: View = PLAIN) -> str:
    rows = table_rows(report, view.depth)
    cols = columns(report, rows, view.columns)
    out = [f"## {report.name or report.source}", ""]
    out.append("| Layer | " + " | ".join(c.header for c in cols) + " |")
    out.append("|---|" + "|".join("---:" if c.numeric else "---" for c in cols) + "|")
    for row in rows:
        values = [row.name] + [c.value(row, report) for c in cols]
        out.append("| " + " | ".join(v.replace("|", "\\|") for v in values) + " |")
    out.append("")
    out += [f"- **{k}**: {v}" for k, v in footer(report)]
    out += [f"- **warning** `{w.layer}`: {w.message}" for w in report.warnings]
    return printable("\n".join(out) + "\n")
