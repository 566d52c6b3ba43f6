"""The table for terminals, with rich (imported only when stdout is a terminal)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rfcalc.engine import Report
from rfcalc.errors import printable
from rfcalc.render.rows import NUMERIC, cells, display_rows, footer, headers


def print_table(report: Report, depth: int | None = None) -> None:
    console = Console()
    # names and paths are never markup: Text, with control characters escaped
    table = Table(title=_text(report.name or report.source), header_style="bold")
    rows = display_rows(report, depth)
    branched = any(r.inputs for r in rows)
    for h in headers(branched):
        table.add_column(h, justify="right" if h in NUMERIC else "left")
    for row in rows:
        table.add_row(*(_text(c) for c in cells(row, branched)))
    console.print(table)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for k, v in footer(report):
        grid.add_row(_text(k), _text(v))
    console.print(grid)
    if any(r.rf.size and not r.rf.uniform and not r.rf.is_global for r in report.layers):
        console.print("* receptive field varies per unit; the largest is shown")
    for w in report.warnings:
        line = Text("warning", style="yellow").append(_text(f": {w.layer}: {w.message}"))
        console.print(line, highlight=False)


def _text(value: str) -> Text:
    return Text(printable(value))
