"""The table as plain fixed-width text (no colour): what pipes and golden files see."""

from __future__ import annotations

from rfcalc.engine import Report
from rfcalc.render.rows import NUMERIC, cells, display_rows, footer, headers


def render(report: Report, depth: int | None = None) -> str:
    rows = display_rows(report, depth)
    branched = any(r.inputs for r in rows)
    head = headers(branched)
    body = [cells(r, branched) for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(head)]

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if h in NUMERIC else v.ljust(w)
            for v, w, h in zip(values, widths, head, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    title = report.name or report.source
    out = [title, "", line(head), rule, *(line(r) for r in body), rule]
    labels = footer(report)
    pad = max(len(k) for k, _ in labels)
    out += [f"{k.ljust(pad)}  {v}" for k, v in labels]
    if any(r.rf.size and not r.rf.uniform and not r.rf.is_global for r in report.layers):
        out.append("* receptive field varies per unit; the largest is shown")
    out += [f"warning: {w.layer}: {w.message}" for w in report.warnings]
    return "\n".join(out) + "\n"
