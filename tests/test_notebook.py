"""examples/notebook.ipynb, executed in a real Jupyter kernel (nbclient), and its outputs.

The kernel is this interpreter (``sys.executable``) with this checkout's rfcalc first on its
path, declared in a kernel spec written for the test: whatever ``python3`` names on the
machine (a user's kernel, another venv's), the notebook runs against the code under test.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import EXAMPLES, ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = EXAMPLES / "notebook.ipynb"
KERNEL = "rfcalc-test"


def _python_path() -> list[str]:
    """This process's PYTHONPATH entries (an empty one would put the working folder first)."""
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The notebook after a run, its code cells by id."""
    jupyter = tmp_path_factory.mktemp("jupyter")
    spec = jupyter / "kernels" / KERNEL
    spec.mkdir(parents=True)
    kernel = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "rfcalc tests",
        "language": "python",
        "env": {"PYTHONPATH": os.pathsep.join([str(ROOT), *_python_path()])},
    }
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(jupyter))  # searched before the user's and the venv's
        mp.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core's future default, no warning
        mp.setenv("JUPYTER_CONFIG_DIR", str(jupyter / "config"))  # no user configuration
        mp.setenv("JUPYTER_RUNTIME_DIR", str(jupyter / "runtime"))
        nb = nbformat.read(NOTEBOOK, as_version=4)
        client = nbclient.NotebookClient(
            nb,
            kernel_name=KERNEL,
            timeout=60,
            resources={"metadata": {"path": str(EXAMPLES)}},  # as Jupyter runs it: its folder
        )
        client.execute()
    return {cell.id: cell for cell in nb.cells if cell.cell_type == "code"}


def _data(cell: Any, mime: str) -> str:
    """The ``mime`` text of a cell's result."""
    results = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert len(results) == 1, cell.outputs
    return str(results[0].data[mime])


def _stdout(cell: Any) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream")


def test_the_notebook_is_saved_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
            assert cell.execution_count is None


def test_describe_shows_the_html_table(executed: dict[str, Any]) -> None:
    cell = executed["describe"]
    html = _data(cell, "text/html")
    assert html.startswith('<div class="rfcalc-report">')
    # params by hand: 32·1·9 + 32 = 320; 64·32·9 + 64 = 18,496; 64·64·9 + 64 = 36,928
    for figure in ("320", "18,496", "36,928", "55,744"):
        assert f">{figure}<" in html or f"{figure} (" in html
    assert "text/markdown" in cell.outputs[0].data  # the markdown table is offered too
    assert _data(cell, "text/plain") == (
        "<Report textbook-convnet: 1×28×28 → 64×22×22, 55,744 params, 28.65 M MACs, final RF 7>"
    )


def test_numbers_are_values(executed: dict[str, Any]) -> None:
    # 55,744 params; MACs 32·26·26·9 + 64·24·24·288 + 64·22·22·576 = 28,653,696; RF 3 → 5 → 7
    assert _data(executed["numbers"], "text/plain") == "(55744, 28653696, (7, 7))"


def test_to_dict(executed: dict[str, Any]) -> None:
    cell = executed["to-dict"]
    assert _stdout(cell).startswith("<Report textbook-convnet:")
    totals = _data(cell, "text/plain")
    assert "'params': 55744" in totals
    assert "'flops': 57307392" in totals  # 2 × 28,653,696


def test_a_model_written_as_a_dict(executed: dict[str, Any]) -> None:
    # 3×32×32: conv 3→16 k3 p1: 16·3·9 + 16 = 448; maxpool 2 → 16×16×16;
    # conv 16→32 k3 p1: 32·16·9 + 32 = 4,640; pool, flatten; linear 32→10: 320 + 10 = 330.
    # Params 448 + 4,640 + 330 = 5,418; MACs 16·32·32·27 + 32·16·16·144 + 320 = 1,622,336.
    # RF: 3, then 4 at stride 2 (pool 2), then 4 + 2·2 = 8; the global pool over the 16×16
    # map sees 8 + 2·15 = 38 positions.
    cell = executed["dict-model"]
    assert _data(cell, "text/plain") == (
        "<Report tiny: 3×32×32 → 10, 5,418 params, 1.62 M MACs, final RF 38 (global)>"
    )
    assert ">4,640<" in _data(cell, "text/html")


def test_compare_two_models(executed: dict[str, Any]) -> None:
    table = _data(executed["compare"], "text/plain")
    # torchvision's documented parameter counts of resnet18 and resnet50
    assert "11689512" in table
    assert "25557032" in table
    assert "<table" in _data(executed["compare"], "text/html")


def test_a_width_change_folded(executed: dict[str, Any]) -> None:
    html = _data(executed["narrow"], "text/html")
    assert ">layer4<" in html  # one row per stage at depth 1
    assert re.search(r">layer4\.0[.\w]*<", html) is None  # no row below a stage
    assert "%" in _data(executed["ratio"], "text/plain")


def test_the_largest_layers(executed: dict[str, Any]) -> None:
    # resnet50 by hand: each layer4 3×3 conv 512→512 (no bias) 512·512·9 = 2,359,296 (three);
    # layer4's downsampling 1×1 conv 1024→2048: 2,097,152; fc 2048→1000: 2,048,000 + 1,000
    # = 2,049,000; the next largest, 1×1 convs 512↔2048, have 1,048,576
    text = _data(executed["largest"], "text/plain")
    lines = text.splitlines()[2:]  # below the column header and the index name
    assert [line.split()[0] for line in lines] == [
        "layer4.0.conv2",
        "layer4.1.conv2",
        "layer4.2.conv2",
        "layer4.0.downsample.0",
        "fc",
    ]
    assert [line.split()[-2] for line in lines] == ["2359296"] * 3 + ["2097152", "2049000"]


def test_check(executed: dict[str, Any]) -> None:
    # resnet50.yaml's checks: params, max_macs, output_shape, min_rf, rf_covers_input
    assert _data(executed["check-file"], "text/plain") == "<CheckResult resnet50: PASS (5 checks)>"
    assert _data(executed["check-limit"], "text/plain") == (
        "<CheckResult resnet50: FAIL (1 of 6)\n  max_params: 25,557,032 exceeds the limit 20,000,000>"
    )
    assert _data(executed["violations"], "text/plain") == (
        "(False, ['max_params: 25,557,032 exceeds the limit 20,000,000'])"
    )


def test_a_mistake_shows_the_positioned_message(executed: dict[str, Any]) -> None:
    (error,) = [o for o in executed["mistake"].outputs if o.output_type == "error"]
    assert error.ename == "ShapeError"
    # line 4 of the text (the first line is empty), column 50: the 9
    assert error.evalue == (
        "<string>:4:50: error: layer 'conv2d_0' (conv2d): "
        "kernel spans 9 positions but the padded input has 8 on axis H"
    )
    shown = "\n".join(error.traceback)
    assert "build.py" not in shown  # the traceback stops at rfcalc's public function
    assert "engine.py" not in shown


def test_the_notebook_is_where_the_docs_say() -> None:
    assert "examples/notebook.ipynb" in (ROOT / "docs" / "python.md").read_text(encoding="utf-8")
    assert Path(NOTEBOOK).is_file()
