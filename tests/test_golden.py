"""Golden files for the plain table and the JSON. Rewrite with ``pytest --update-golden``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rfcalc.cli import app
from tests.helpers import ROOT

GOLDEN = Path(__file__).parent / "golden"
CASES = ["textbook", "lenet5", "alexnet", "vgg16", "resnet18", "mobilenet_v2", "unet"]


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def _compare(name: str, text: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"missing golden file {path}; run pytest --update-golden"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES)
def test_table_golden(case: str, update_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    _compare(f"{case}.txt", _run("describe", f"examples/{case}.yaml"), update_golden)


@pytest.mark.parametrize("case", CASES)
def test_json_golden(case: str, update_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    _compare(
        f"{case}.json", _run("describe", f"examples/{case}.yaml", "--format", "json"), update_golden
    )


@pytest.mark.parametrize("case", CASES)
def test_golden_table_rows_add_up(case: str) -> None:
    """torchinfo's best idea: the per-row params in the golden table sum to its total."""
    lines = (GOLDEN / f"{case}.txt").read_text(encoding="utf-8").splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("---")]
    header = lines[rules[0] - 1]
    end = header.index("Params") + len("Params")  # right-aligned: every cell ends here
    cells = [
        int(line[:end].split()[-1].replace(",", "")) for line in lines[rules[0] + 1 : rules[1]]
    ]
    total = re.search(r"^Params\s+([\d,]+)", "\n".join(lines), re.MULTILINE)
    assert total is not None
    assert sum(cells) == int(total.group(1).replace(",", ""))
    assert len(cells) == len(json.loads((GOLDEN / f"{case}.json").read_text("utf-8"))["layers"])


@pytest.mark.parametrize("case", CASES)
def test_golden_json_rows_add_up(case: str) -> None:
    data = json.loads((GOLDEN / f"{case}.json").read_text(encoding="utf-8"))
    totals = data["totals"]
    for key in ("params", "trainable_params", "buffers", "macs"):
        assert sum(layer[key] for layer in data["layers"]) == totals[key]
    assert totals["flops"] == 2 * totals["macs"]
    assert totals["activation_bytes"] == sum(layer["output_bytes"] for layer in data["layers"])
