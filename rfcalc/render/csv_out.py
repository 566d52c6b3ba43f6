"""CSV: one row per leaf layer, every number exact (for spreadsheets and pandas)."""

from __future__ import annotations

import csv
import io

from rfcalc.engine import Report
from rfcalc.errors import printable
from rfcalc.render import PLAIN, View

HEADER = (
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
)


def render(report: Report, view: View = PLAIN) -> str:
    """The leaf layers; ``view`` changes nothing (CSV is for machines: every layer, every
    column)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
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
    return printable(buf.getvalue())
