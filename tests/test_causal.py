"""Causal models (issue 12): per-axis causality, causally aligned merges, check --causal."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from rfcalc.api import describe
from rfcalc.cli import app
from tests.helpers import EXAMPLES, report_of

if TYPE_CHECKING:
    from rfcalc.engine import Report

runner = CliRunner()
WAVENET = str(EXAMPLES / "wavenet.yaml")
TCN = str(EXAMPLES / "tcn.yaml")


def final_size(report: Report) -> int:
    (size,) = report.final.rf.size
    return size


def test_wavenet_field_causal_no_warning() -> None:
    # 1×1 input conv (1), then kernel 2 at dilations 1 … 512: 1 + (2 − 1)·(1 + 2 + … + 512)
    # = 1 + 1023 = 1024; every layer pads d on the left only: unit x reads x − 1023 … x
    report = describe(WAVENET)
    assert final_size(report) == 1024
    assert report.final.rf.padding == (1023,)  # starts 1023 before unit 0: ends at 0
    assert report.causal == (True,)
    assert report.warnings == ()  # no misaligned-merge on the residual and skip adds


def test_tcn_field_causal_no_warning() -> None:
    # 8 levels × 2 convs of kernel 7 at dilation 2^i: 1 + 2·6·(1 + 2 + … + 128) = 1 + 12·255
    # = 3061; pad 6d both sides then chomp 6d on the right: unit x reads x − 6d … x
    report = describe(TCN)
    assert final_size(report) == 3061
    assert report.final.rf.padding == (3060,)
    assert report.causal == (True,)
    assert report.warnings == ()


def test_centred_tcn_same_field_but_looks_ahead() -> None:
    # 3d each side, no chomp: unit x reads x − 3d … x + 3d per conv, so the same 3061 wide,
    # centred: 3·2·255 = 1530 before and after; the first conv already reads 3 ahead
    report = describe(TCN, {"centred": "1"})
    assert final_size(report) == 3061
    assert report.final.rf.padding == (1530,)
    assert report.causal == (False,)
    found = report.lookahead[0]
    assert found is not None
    assert (found.layer, found.positions) == ("network.0.conv1", Fraction(3))
    assert report.warnings == ()  # identity and centred branch share their centre


def test_check_causal_cli() -> None:
    passed = runner.invoke(app, ["check", TCN, WAVENET, "--causal", "--strict"])
    assert passed.exit_code == 0, passed.stdout
    assert passed.stderr == ""
    failed = runner.invoke(app, ["check", TCN, "--causal", "--set", "centred=1"])
    assert failed.exit_code == 1
    assert failed.stdout == (
        f"FAIL   {TCN}\n"
        "       FAIL  causal: layer 'network.0.conv1' reads up to 3 positions ahead on axis L\n"
        "checked 1 file: 0 passed, 1 failed, 0 invalid\n"
    )


def test_check_causal_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "input: [1, 32]\nlayers:\n"
        "  - {type: conv1d, out_channels: 1, kernel_size: 3, padding: 1}\n"
        "checks: {causal: true}\n"
    )
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    # k3 p1: unit x reads x − 1 … x + 1: one ahead
    assert "causal: layer 'conv1d_0' reads up to 1 position ahead on axis L" in result.stdout


def test_causal_in_json_and_footer() -> None:
    shown = runner.invoke(app, ["describe", WAVENET, "--format", "json"])
    assert json.loads(shown.stdout)["causal"] == [True]
    table = runner.invoke(app, ["describe", WAVENET])
    assert "Causal    yes (no unit reads past the input position it stands for)" in table.stdout
    centred = runner.invoke(app, ["describe", TCN, "--set", "centred=1"])
    assert "Causal    L no ('network.0.conv1' reads 3 ahead)" in centred.stdout


def test_causal_per_axis() -> None:
    # a (C, F, T) spectrogram: centred k3 p1 on frequency, causal k3 left-padded 2 on time
    report = report_of(
        "input: [1, 16, 32]\nlayers:\n"
        "  - {type: conv2d, out_channels: 1, kernel_size: 3, padding: [1, [2, 0]]}\n"
    )
    assert report.causal == (False, True)


def test_causal_merge_is_aligned_but_a_shifted_one_is_not() -> None:
    # identity (reads x … x) + causal k3 padded [2, 0] (x − 2 … x): both end at x, so no
    # misaligned-merge though the centres differ (x and x − 1). A k2 padded [1, 0] (x − 1 … x,
    # centre x − ½) beside a centred k3 p1 (x − 1 … x + 1, centre x): misaligned, not causal,
    # and the union's 3 positions are fewer than the 16 of the input
    base = "input: [1, 16]\nlayers:\n  - {{type: conv1d, name: a, out_channels: 1, {a}}}\n"
    base += "  - {{type: conv1d, name: b, from: input, out_channels: 1, {b}}}\n"
    base += "  - {{type: add, from: [a, b]}}\n"
    causal = report_of(base.format(a="kernel_size: 1", b="kernel_size: 3, padding: [[2, 0]]"))
    assert causal.warnings == ()
    assert causal.causal == (True,)
    mixed = report_of(
        base.format(a="kernel_size: 2, padding: [[1, 0]]", b="kernel_size: 3, padding: 1")
    )
    assert [w.code for w in mixed.warnings] == ["misaligned-merge", "rf-smaller-than-input"]
    assert mixed.causal == (False,)


def test_upsampled_unit_stands_at_a_fraction() -> None:
    # nearest ×2 after a causal conv: unit x reads input ⌊x/2⌋ − 2 … ⌊x/2⌋ and stands for x/2
    # (stride ½): ⌊x/2⌋ ≤ x/2, so causal; a following k2 conv padded [[0, 1]] reads unit x + 1,
    # whose input ⌊(x+1)/2⌋ exceeds x/2 for even x by ½
    report = report_of(
        "input: [1, 16]\nlayers:\n"
        "  - {type: conv1d, out_channels: 1, kernel_size: 3, padding: [[2, 0]]}\n"
        "  - {type: upsample, scale_factor: 2}\n"
        "  - {type: conv1d, name: late, out_channels: 1, kernel_size: 2, padding: [[0, 1]]}\n"
    )
    found = report.lookahead[0]
    assert found is not None
    assert found.layer == "late"
    assert str(found.positions) == "1/2"


@pytest.mark.torch
@pytest.mark.parametrize(("centred", "ahead"), [("0", 0), ("1", 1530)])
def test_tcn_causality_against_autograd(centred: str, ahead: int) -> None:
    # the real network: with positive weights every read position gets a non-zero gradient,
    # so the last input position output unit x depends on is x (causal) or x + 1530 (centred)
    torch = pytest.importorskip("torch")
    from rfcalc.api import analyze_graph, load
    from tests.torch_bridge import GraphModule, prepare_for_rf

    graph = load(TCN, {"centred": centred})
    report = analyze_graph(graph)
    module = GraphModule(graph, [r.output_shape for r in report.layers], "rf")
    prepare_for_rf(module)
    x = torch.ones(1, *graph.input_shape, dtype=torch.float64, requires_grad=True)
    out = module(x)[-1]
    for unit in (0, 100, 400, 783):
        (grad,) = torch.autograd.grad(out[0, :, unit].sum(), x, retain_graph=True)
        read = grad[0].abs().sum(dim=0).nonzero().flatten()
        assert int(read.max()) == min(unit + ahead, 783)
