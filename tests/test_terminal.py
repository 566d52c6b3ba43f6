"""The table in a terminal: fitted to its width (80 columns up), never a number cut, names
complete or elided in the middle keeping their end; colour unless NO_COLOR. Golden files at 80
columns (``pytest --update-golden`` rewrites them)."""

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
from rfcalc.render import View
from rfcalc.render.rows import thousands
from rfcalc.render.text import render
from tests.helpers import EXAMPLES, ROOT

GOLDEN = Path(__file__).parent / "golden"
WIDE = ["resnet50", "mobilenet_v2", "efficientnet_b0"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("width", [80, 100, 120])
@pytest.mark.parametrize("example", WIDE)
def test_fitted_table_cuts_no_number(example: str, width: int) -> None:
    report = describe(str(EXAMPLES / f"{example}.yaml"))
    text = render(report, View(width=width))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    rows = lines[lines.index(next(x for x in lines if x.startswith("---"))) + 1 :]
    for layer, line in zip(report.layers, rows, strict=False):
        first = line.split()[0]
        if "…" in first:  # elided from the middle: the start and the end are the name's
            start, end = first.split("…")
            assert layer.name.startswith(start)
            assert layer.name.endswith(end)
        else:
            assert first == layer.name
        assert f" {thousands(layer.params)} " in f" {line} "
    total = thousands(report.totals.params)
    assert f"Params    {total} ({total} trainable)" in text


def test_wide_terminals_get_the_plain_table() -> None:
    report = describe(str(EXAMPLES / "textbook.yaml"))
    assert render(report, View(width=200)) == render(report)


@pytest.mark.parametrize("example", WIDE)
def test_golden_at_80_columns(example: str, update_golden: bool) -> None:
    text = render(describe(f"examples/{example}.yaml"), View(width=80))
    path = GOLDEN / f"{example}.80.txt"
    if update_golden:
        path.write_text(text, encoding="utf-8")
        return
    assert text == path.read_text(encoding="utf-8")


def _in_terminal(columns: int, **env: str) -> str:
    """rfcalc describe in a real pseudo-terminal of the given width."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    environ.update(TERM="xterm-256color", **env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rfcalc", "describe", "examples/resnet50.yaml"],
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


def test_a_real_80_column_terminal() -> None:
    out = _in_terminal(80)
    assert "\x1b[1m" in out  # the title and the header are bold
    plain = ANSI.sub("", out)
    assert max(len(line) for line in plain.splitlines()) <= 80
    assert "25,557,032 (25,557,032 trainable)" in plain
    assert "(fitted to 80 columns:" in plain


def test_no_color_means_no_escape_at_all() -> None:
    out = _in_terminal(120, NO_COLOR="1")
    assert "\x1b" not in out
    assert max(len(line) for line in out.splitlines()) <= 120
