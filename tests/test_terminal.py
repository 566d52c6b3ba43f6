"""The table and the tree in a terminal: fitted to its width (80 columns up), never a number
cut, names complete or elided in the middle keeping their end; colour unless NO_COLOR. Golden
files at 80 columns (``pytest --update-golden`` rewrites them)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from rfcalc.api import describe
from rfcalc.engine import Report
from rfcalc.render import PLAIN, View, renderer
from rfcalc.render.rows import Row, si, table_rows, thousands
from rfcalc.render.tree import tree_rows
from tests.helpers import EXAMPLES, ROOT

GOLDEN = Path(__file__).parent / "golden"
WIDE = ["resnet50", "mobilenet_v2", "efficientnet_b0"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
ROWS = {"table": table_rows, "tree": tree_rows}


def _check_fitted(text: str, report: Report, rows: list[Row], width: int) -> None:
    """No line wider than ``width``; on each row, the name complete or elided in the middle
    (its start and its end kept) and its params and MACs figures whole."""
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    rules = [i for i, line in enumerate(lines) if line.startswith("---")]
    body = lines[rules[0] + 1 : rules[1]]
    assert len(body) == len(rows)
    for row, line in zip(rows, body, strict=True):
        assert line.startswith(row.art)
        first = line[len(row.art) :].split()[0]
        if "…" in first:
            start, end = first.split("…")
            assert row.name.startswith(start)
            assert row.name.endswith(end)
            assert len(end) >= min(len(row.name.rsplit(".", 1)[-1]), 5)
        else:
            assert first == row.name
        assert f" {thousands(row.params)} " in f" {line} "
        assert f" {si(row.macs)} " in f" {line} "
    total = thousands(report.totals.params)
    assert f"Params    {total} ({total} trainable)" in text


@pytest.mark.parametrize("view", ["table", "tree"])
@pytest.mark.parametrize("width", [80, 100, 120])
@pytest.mark.parametrize("example", WIDE)
def test_fitted_cuts_no_number(example: str, width: int, view: str) -> None:
    report = describe(str(EXAMPLES / f"{example}.yaml"))
    text = renderer(view)(report, View(width=width))
    _check_fitted(text, report, ROWS[view](report), width)


@pytest.mark.parametrize("view", ["table", "tree"])
def test_wide_terminals_get_the_plain_text(view: str) -> None:
    report = describe(str(EXAMPLES / "textbook.yaml"))
    assert renderer(view)(report, View(width=200)) == renderer(view)(report, PLAIN)


@pytest.mark.parametrize("view", ["table", "tree"])
@pytest.mark.parametrize("example", WIDE)
def test_golden_at_80_columns(example: str, view: str, update_golden: bool) -> None:
    text = renderer(view)(describe(f"examples/{example}.yaml"), View(width=80))
    path = GOLDEN / (f"{example}.80.txt" if view == "table" else f"{example}.tree.80.txt")
    if update_golden:
        path.write_text(text, encoding="utf-8")
        return
    assert text == path.read_text(encoding="utf-8")


def _in_terminal(columns: int, *args: str, model: str = "resnet50", **env: str) -> str:
    """rfcalc describe in a real pseudo-terminal of the given width."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    environ.update(TERM="xterm-256color", **env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rfcalc", "describe", f"examples/{model}.yaml", *args],
        stdout=slave,
        stderr=slave,
        stdin=slave,
        cwd=ROOT,
        env=environ,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=60) == 0
    os.close(master)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


@pytest.mark.parametrize("view", ["table", "tree"])
@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("example", WIDE)
def test_a_real_terminal(example: str, columns: int, view: str) -> None:
    """The issue's first demonstration: each wide example, as table and tree, in a real
    pseudo-terminal of 80 and 120 columns (and COLUMNS saying the same)."""
    out = _in_terminal(columns, "--format", view, model=example, COLUMNS=str(columns))
    assert "\x1b[1m" in out  # the title and the header are bold
    report = describe(str(EXAMPLES / f"{example}.yaml"))
    _check_fitted(ANSI.sub("", out), report, ROWS[view](report), columns)


def test_the_fitted_note_names_its_remedies() -> None:
    out = _in_terminal(80)
    note = "(fitted to 80 columns: RF, stride and padding merged, Type dropped, From\n"
    note += "dropped; --wide shows every column, --columns chooses them)"
    assert f"\x1b[3m{note}\x1b[0m" in out  # in italics


def test_wide_is_not_fitted() -> None:
    out = ANSI.sub("", _in_terminal(80, "--wide"))
    assert max(len(line) for line in out.splitlines()) > 80
    assert "fitted" not in out
    plain = renderer("table")(describe("examples/resnet50.yaml"), PLAIN).splitlines()
    assert out.splitlines()[: len(plain)] == plain  # then the colours' key


def test_no_color_means_no_escape_at_all() -> None:
    for args in ((), ("--depth", "2")):
        out = _in_terminal(120, *args, NO_COLOR="1")
        assert "\x1b" not in out
        assert max(len(line) for line in out.splitlines()) <= 120


def test_an_empty_no_color_is_no_request() -> None:
    """no-color.org: NO_COLOR counts when it is set and not empty."""
    assert "\x1b[1m" in _in_terminal(120, NO_COLOR="")
