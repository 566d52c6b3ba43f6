"""``rfcalc rf`` through typer's runner: exit code, stdout and stderr; the SVG golden file and
the PNG's pixels."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rfcalc.cli import app
from rfcalc.render import heatmap, image, rf_out
from tests.helpers import EXAMPLES, ROOT

runner = CliRunner()
TEXTBOOK = str(EXAMPLES / "textbook.yaml")
GOLDEN = Path(__file__).parent / "golden"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> str:
    code, out, err = run(*args)
    assert (code, err) == (0, ""), err
    return out


def test_default_layer_and_unit() -> None:
    out = ok("rf", TEXTBOOK)
    lines = out.splitlines()
    # the last spatial layer is head, 22×22 units (28 − 3·2); the centre is 22 // 2 = 11,
    # whose field is 11 … 11 + 6
    start = next(i for i, line in enumerate(lines) if line.startswith("layer   "))
    assert lines[start : start + 4] == [
        "layer   head (conv2d, output 64×22×22)",
        "unit    (11, 11) of 22×22",
        "field   H: 11 … 17: 7 positions, all inside the input",
        "        W: 11 … 17: 7 positions, all inside the input",
    ]
    # 27 paths per axis (3 per layer): 729
    assert "(Luo et al. 2016): 729 in all" in " ".join(out.split())  # wrapped at 80 columns
    assert "\x1b[" not in out  # not a terminal: plain characters


def test_plain_heatmap_of_a_corner_unit() -> None:
    out = ok("rf", TEXTBOOK, "head", "--unit", "0,0")
    rows = out.splitlines()
    start = next(i for i, line in enumerate(rows) if line.startswith("(H 0 … 27"))
    # rows 0 … 6 of the map: the counts 1,3,6,7,6,3,1 times themselves, on the ramp
    # " .:-=+*#%@" (level (v − 1)·9 // 48 for v ≥ 1): the centre 49 is '@', the corner 1 '.'
    assert rows[start + 4].startswith(":=#@#=:")
    assert rows[start + 1] == "...:..."
    assert rows[start + 8] == ""  # row 7 is reached by no path: blank
    # the legend, wrapped at 80 − 1 columns: levels 1, 7, … 43 on its first line, 49 after
    assert rows[-2:] == [
        "' ' 0  '.' ≥1  ':' ≥7  '-' ≥13  '=' ≥19  '+' ≥25  '*' ≥31  '#' ≥37  '%' ≥43",
        "'@' ≥49",
    ]


def test_json_erf_numbers() -> None:
    data = json.loads(ok("rf", TEXTBOOK, "head", "--unit", "0,0", "--format", "json"))
    assert data["layer"]["name"] == "head"
    assert data["unit"] == [0, 0]
    assert [(f["start"], f["end"], f["size"]) for f in data["field"]] == [(0, 6, 7)] * 2
    body = data["map"]
    assert body["kind"] == "erf"
    assert body["total"] == 729
    assert body["values"][3][3] == 49  # 7 · 7
    assert body["values"][0][3] == 7  # 1 · 7
    assert body["values"][7][7] == 0
    assert body["shape"] == [28, 28]
    assert body["upper_bound"] is False


def test_json_coverage_of_the_first_conv() -> None:
    data = json.loads(ok("rf", TEXTBOOK, "conv2d_0", "--map", "coverage", "-f", "json"))
    values = data["map"]["values"]
    # corner 1·1, edge centre 1·3, interior 3·3 (see test_maps.test_textbook_coverage)
    assert (values[0][0], values[0][14], values[14][14]) == (1, 3, 9)
    assert data["map"]["per_axis"][0][:4] == [1, 2, 3, 3]


def test_json_holes(tmp_path: Path) -> None:
    model = tmp_path / "dilated.yaml"
    model.write_text(
        "input: [1, 40, 40]\nlayers:\n"
        "  - {type: conv2d, out_channels: 1, kernel_size: 3, dilation: 2}\n"
        "  - {type: conv2d, out_channels: 1, kernel_size: 3, dilation: 4, name: top}\n",
        encoding="utf-8",
    )
    data = json.loads(ok("rf", str(model), "--map", "holes", "-f", "json"))
    # offsets {0, 2, 4} + {0, 4, 8}: 7 of 13 per axis; 169 − 49 = 120 holes
    assert (data["map"]["hull"], data["map"]["holes"]) == (169, 120)
    assert data["map"]["values"][0][:4] == [1, 0, 1, 0]
    text = ok("rf", str(model), "--map", "holes")
    assert "holes: no path reaches 120 of the 169 positions of the field's 13×13 hull" in text
    assert "#.#.#.#.#.#.#" in text


def test_unknown_layer() -> None:
    code, out, err = run("rf", TEXTBOOK, "haed")
    assert (code, out) == (2, "")
    assert (
        err == f"{TEXTBOOK}:1:1: error: the model has no layer 'haed'\nhint: did you mean 'head'?\n"
    )


@pytest.mark.parametrize(
    ("unit", "message"),
    [
        ("1,x", "error: --unit takes one index per spatial axis, such as 3,4; got '1,x'"),
        ("3", "error: --unit needs 2 indices (one per spatial axis, HW), got 1"),
        ("0,22", "layer 'head' has 22 units on axis W, so its index must be 0 … 21; got 22"),
    ],
)
def test_bad_unit(unit: str, message: str) -> None:
    code, out, err = run("rf", TEXTBOOK, "--unit", unit)
    assert (code, out) == (2, "")
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_output_needs_a_known_suffix(tmp_path: Path) -> None:
    code, out, err = run("rf", TEXTBOOK, "-o", str(tmp_path / "map.gif"))
    assert (code, out) == (2, "")
    assert "the image format comes from the name: .svg or .png" in err


def test_svg_golden(tmp_path: Path, update_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    target = tmp_path / "map.svg"
    ok("rf", "examples/textbook.yaml", "head", "--unit", "0,0", "-o", str(target))
    text = target.read_text(encoding="utf-8")
    golden = GOLDEN / "rf_textbook_head_erf.svg"
    if update_golden:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
    # 480 // 28 = 17 pixels a position; position (3, 3) holds 49, the largest: viridis' end
    assert '<rect x="51" y="51" width="17" height="17" fill="#fde725"/>' in text


def test_png_pixels(tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    target = tmp_path / "map.png"
    ok("rf", TEXTBOOK, "head", "--unit", "0,0", "-o", str(target))
    with pil.open(target) as img:
        png = img.convert("RGB")
        cell = 480 // 28  # 17 pixels a position
        assert png.size == (28 * cell, 28 * cell + image.LEGEND)

        def at(row: int, col: int) -> tuple[int, int, int]:
            value: tuple[int, int, int] = png.getpixel(
                (col * cell + cell // 2, row * cell + cell // 2)
            )
            return value

        assert at(3, 3) == heatmap.VIRIDIS[-1]  # 49, the largest count
        assert at(0, 0) == heatmap.VIRIDIS[0]  # 1, the smallest
        assert at(10, 10) == heatmap.ZERO  # no path
        # 7 = 1·7 at (0, 3): level (7 − 1)·8 // 48 = 1
        assert at(0, 3) == heatmap.VIRIDIS[1]


def test_png_without_pillow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL now raises ImportError
    code, out, err = run("rf", TEXTBOOK, "-o", str(tmp_path / "map.png"))
    assert (code, out) == (2, "")
    assert err == (
        "rfcalc: error: writing a PNG needs Pillow, which is not installed\n"
        "hint: pip install 'rfcalc[plot]' (or pip install pillow), or write an .svg\n"
    )
    assert not (tmp_path / "map.png").exists()


def test_colour_heatmap_uses_half_blocks() -> None:
    from rfcalc import maps
    from rfcalc.api import load

    model = maps.prepare(load(TEXTBOOK))
    unit = (0, 0)
    field = maps.unit_field(model, 3, unit)
    shown = rf_out.Shown(model, field, "erf", maps.erf(model, 3, unit))
    lines = rf_out.text(shown, 80, 20, True).splitlines()
    first = next(line for line in lines if "▀" in line)
    # the top-left cell: position (0, 0) above (count 1) and (1, 0) below (count 3), both at
    # level 0 of 9, viridis' (68, 1, 84), nearest cube colour 16 + 36·1 + 6·0 + 1 = 53
    assert first.startswith("\x1b[38;5;53;48;5;53m▀")
    assert first.endswith("\x1b[0m")
    assert len([line for line in lines if "▀" in line]) == 14  # 28 rows, two per line


def test_shrinks_to_the_width() -> None:
    out = ok("rf", str(EXAMPLES / "resnet18.yaml"), "layer1", "--map", "coverage")
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("(H 0 … 223"))
    end = next(i for i, line in enumerate(lines) if line.startswith("' ' 0"))
    map_lines = lines[start + 1 : end]
    # 224 positions in 80 − 1 columns: factor ceil(224 / 79) = 3, 75 columns
    assert max(len(line) for line in map_lines) <= 75
    assert out.splitlines()[-1].endswith("each cell: the largest value of 3×3 positions")


def test_every_line_fits_80_columns() -> None:
    # an 80-column terminal (the runner's fallback size): header, notes and legend wrapped at
    # 79 columns, continuations indented, and nothing lost: the same words as unwrapped
    from rfcalc import maps
    from rfcalc.api import load

    out = ok("rf", str(EXAMPLES / "resnet50.yaml"), "layer4", "--map", "erf")
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 79
    assert "        W: -117 … 309: 427 positions; 0 … 223 inside the input, in the padding" in lines
    assert "           117 before it and 86 after it" in lines  # after "W: "
    assert not any(line.endswith(" …") or line.lstrip().startswith("… ") for line in lines)
    model = maps.prepare(load(str(EXAMPLES / "resnet50.yaml")))
    index = maps.find_layer(model, "layer4")
    unit = maps.centre(model, index)
    field = maps.unit_field(model, index, unit)
    shown = rf_out.Shown(model, field, "erf", maps.erf(model, index, unit))
    wide = rf_out.text(shown, 10_000, None, False)

    def words(text: str) -> list[str]:  # the header and the notes, up to the heatmap
        return text[: text.index("(H 0 … 223")].split()

    assert words(out) == words(wide)
    coloured = rf_out.text(shown, 79, 20, True)  # a terminal: half blocks, a colour legend
    assert max(len(re.sub(r"\x1b\[[0-9;]*m", "", line)) for line in coloured.splitlines()) <= 79
    # unwrapped: model, layer, unit, H, W, a blank, ERF, spread, max pooling: 9 lines
    assert len(wide[: wide.index("(H 0")].splitlines()) == 9
    assert len(out[: out.index("(H 0")].splitlines()) > 9


def test_global_context_is_said() -> None:
    out = ok("rf", str(EXAMPLES / "efficientnet_b0.yaml"), "features.1")
    assert "global context: the unit also sees every position through a pool" in out


def test_describe_imports_no_map_code() -> None:
    code = (
        "import sys\n"
        "from rfcalc.cli import app\n"
        "try:\n"
        f"    app(['describe', {TEXTBOOK!r}, '-f', 'json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "names = ('rfcalc.maps', 'rfcalc.render.heatmap', 'rfcalc.render.image',"
        " 'rfcalc.render.rf_out', 'PIL')\n"
        "print([m for m in sys.modules if m.startswith(names)], file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stderr.strip() == "[]"
