"""Markdown (a pipe table and the totals) and CSV (one exact row per leaf layer)."""

from __future__ import annotations

import csv
import io

from rfcalc.engine import Report
from rfcalc.render.rows import NUMERIC, cells, display_rows, footer, headers


def render_markdown(report: Report, depth: int | None = None) -> str:
    rows = display_rows(report, depth)
    branched = any(r.inputs for r in rows)
    head = headers(branched)
    out = [f"## {report.name or report.source}", ""]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join("---:" if h in NUMERIC else "---" for h in head) + "|")
    for row in rows:
        values = [v.replace("|", "\\|") for v in cells(row, branched)]
        out.append("| " + " | ".join(values) + " |")
    out.append("")
    out += [f"- **{k}**: {v}" for k, v in footer(report)]
    out += [f"- **warning** `{w.layer}`: {w.message}" for w in report.warnings]
    return "\n".join(out) + "\n"


def render_csv(report: Report) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "index",
            "name",
            "type",
            "inputs",
            "output_shape",
            "params",
            "trainable_params",
            "buffers",
            "macs",
            "output_bytes",
            "rf_size",
            "rf_stride",
            "rf_padding",
            "rf_uniform",
            "rf_global",
        ]
    )
    for r in report.layers:
        writer.writerow(
            [
                r.index,
                r.name,
                r.type,
                " ".join(r.inputs),
                "x".join(map(str, r.output_shape)),
                r.params,
                r.trainable_params,
                r.buffers,
                r.macs,
                r.output_bytes,
                "x".join(map(str, r.rf.size)),
                "x".join("" if s is None else str(s) for s in r.rf.stride),
                "x".join(map(str, r.rf.padding)),
                str(r.rf.uniform).lower(),
                str(r.rf.is_global).lower(),
            ]
        )
    return buf.getvalue()
