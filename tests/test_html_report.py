"""``describe --format html`` (issue 12, "An HTML report"; docs/rf.md).

Three kinds of test: the page's embedded numbers against values derived by hand (each derivation
in a comment); the page's structure without a golden file (well-formed, nothing fetched, the
model's names escaped); and the page as a browser shows it, driven in headless Chromium through
selenium and Debian's chromedriver: after hovering a unit, the highlighted box is that unit's
field. The browser tests skip only outside CI when Chromium is missing; with ``CI`` set they
fail instead. Each keeps a screenshot in ``tests/artifacts/`` (ignored by git).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from rfcalc import maps
from rfcalc.api import describe, load
from rfcalc.cli import app
from rfcalc.render import View, choose
from rfcalc.render.html_report import graph_of, render
from tests.helpers import ROOT
from tests.test_perf_guards import imported

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

TEXTBOOK = ROOT / "examples" / "textbook.yaml"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

PADDED = """
name: padded
input: [1, 28, 28]
layers:
  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
  - {type: conv2d, name: second, out_channels: 8, kernel_size: 3, padding: 1}
"""

RESIDUAL = """
name: residual
input: [1, 9, 9]
layers:
  - {type: conv2d, name: conv, out_channels: 1, kernel_size: 3, padding: 1}
  - {type: add, name: sum, from: [conv, input]}
"""

EVIL = "x</script><script>alert('pwned')</script>&amp;<!--"
EVIL_MODEL = f"""
name: "<b>bold</b> & </script>"
input: [1, 12, 12]
layers:
  - {{type: conv2d, name: "{EVIL}", out_channels: 4, kernel_size: 3}}
"""


def page(model: str | Path) -> str:
    return render(describe(model), View())


def embedded(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="rfcalc-data">(.*?)</script>', html)
    assert found is not None
    data: dict[str, object] = json.loads(found.group(1))
    return data


def layer(data: dict[str, object], name: str) -> dict[str, object]:
    layers = data["layers"]
    assert isinstance(layers, list)
    (found,) = [entry for entry in layers if entry["name"] == name]
    assert isinstance(found, dict)
    return found


def span(field: dict[str, list[int]], y: int) -> list[int]:
    """A unit's hull from the page's encoding of an axis (docs/rf.md, "The HTML report")."""
    if "affine" in field:
        S, P, r = field["affine"]
        return [y * S - P, y * S - P + r - 1]
    return field["global"] if "global" in field else field["units"][y]  # type: ignore[return-value]


def vector(trimmed: list[int], n: int) -> list[int]:
    """A page ERF vector ``[first, values…]`` spread over ``n`` input positions."""
    first, values = trimmed[0], trimmed[1:]
    out = [0] * n
    out[first : first + len(values)] = values
    return out


# ---------------------------------------------------------------- the embedded numbers


def test_textbook_fields_coverage_and_erf() -> None:
    data = embedded(page(TEXTBOOK))
    assert data["input"] == [28, 28]
    assert data["axes"] == ["H", "W"]
    head = layer(data, "head")
    fields = head["fields"]
    assert isinstance(fields, list)
    # three unpadded 3×3 convs: S = 1, P = 0, r = 1 + 3·(3 − 1) = 7; unit x sees x … x + 6
    assert [span(f, 0) for f in fields] == [[0, 6], [0, 6]]
    assert [span(f, 21) for f in fields] == [[21, 27], [21, 27]]
    assert head["units"] == [22, 22]  # 28 − 6
    # coverage after the first conv (units x see x … x+2, 26 of them): position 0 is in 1
    # field, 1 in 2, 2 … 25 in 3, 26 in 2, 27 in 1; corner 1·1, edge centre 1·3, interior 3·3
    first = layer(data, "conv2d_0")["coverage"]
    assert first == [[1, 2, *[3] * 24, 2, 1]] * 2
    # after head (22 units seeing x … x+6): position p lies in min(p+1, 7, 28−p) fields
    cov = head["coverage"]
    assert isinstance(cov, list)
    assert cov[0] == [min(p + 1, 7, 28 - p) for p in range(28)]
    assert cov[0][0] * cov[1][0] == 1
    assert cov[0][14] * cov[1][14] == 49
    # ERF along one axis: (1 + z + z²)³ = 1 + 3z + 6z² + 7z³ + 6z⁴ + 3z⁵ + z⁶ (issue 12)
    erf = head["erf"]
    assert isinstance(erf, dict)
    assert erf["separable"] is True
    assert erf["every"] is True
    h = vector(erf["axes"][0][5], 28)  # unit 5 sees 5 … 11
    w = vector(erf["axes"][1][5], 28)
    assert h[5:12] == [1, 3, 6, 7, 6, 3, 1]
    assert sum(h) == 27
    assert h[8] * w[8] == 49
    assert h[5] * w[5] == 1


def test_padded_border_counts() -> None:
    data = embedded(page(PADDED))
    # padding 1: 28 units, unit x sees x−1 … x+1; position 0 lies in units 0 and 1's fields, as
    # does 27 (units 26, 27): per axis [2, 3, …, 3, 2]; corner 2·2 = 4, interior 3·3 = 9
    cov = layer(data, "conv2d_0")["coverage"]
    assert cov == [[2, *[3] * 26, 2]] * 2
    # ERF of unit 0 of `second` along H: it reads first-layer units −1, 0, 1; unit −1 is
    # padding (a constant: no path). Unit 0 reads inputs 0, 1 (−1 is padding), unit 1 reads
    # 0, 1, 2: input 0 ← 2 paths, 1 ← 2, 2 ← 1.
    erf = layer(data, "second")["erf"]
    assert isinstance(erf, dict)
    assert erf["axes"][0][0] == [0, 2, 2, 1]


def test_separable_erf_is_the_exact_map() -> None:
    """Every unit's outer product of the page's per-axis vectors is the map that
    ``rfcalc rf --map erf`` computes in 2-D (here near the padded borders, where clipping
    makes the vectors differ from one shifted kernel)."""
    report = describe(PADDED)
    data = embedded(render(report, View()))
    model = maps.prepare(load(PADDED))
    erf = layer(data, "second")["erf"]
    assert isinstance(erf, dict)
    for i in (0, 1, 13, 27):
        for j in (0, 2, 27):
            h = vector(erf["axes"][0][i], 28)
            w = vector(erf["axes"][1][j], 28)
            expected = maps.erf(model, 1, (i, j)).grid.values
            assert [a * b for a in h for b in w] == list(expected)


MIXED_CHAIN = """
name: mixed
input: [1, 13, 11]
layers:
  - {type: conv2d, out_channels: 2, kernel_size: [3, 2], stride: 2, padding: 1}
  - {type: maxpool2d, kernel_size: 2, stride: 1, padding: 1}
  - {type: upsample, scale_factor: 2, mode: nearest}
  - {type: convtranspose2d, name: last, out_channels: 1, kernel_size: 3, stride: 2, padding: 1}
"""


def test_separable_erf_through_strides_pooling_and_upsampling() -> None:
    """The same on a chain with strides, padding, pooling, upsampling and a transposed conv,
    every unit of the last layer: the product of the page's vectors is the 2-D map."""
    data = embedded(page(MIXED_CHAIN))
    model = maps.prepare(load(MIXED_CHAIN))
    last = layer(data, "last")
    erf = last["erf"]
    assert isinstance(erf, dict)
    assert erf["every"] is True
    units = last["units"]
    assert isinstance(units, list)
    for i in range(units[0]):
        for j in range(units[1]):
            h = vector(erf["axes"][0][i], 13)
            w = vector(erf["axes"][1][j], 11)
            expected = maps.erf(model, 3, (i, j)).grid.values
            assert [a * b for a in h for b in w] == list(expected), (i, j)


def test_merged_paths_send_the_centre_units_map() -> None:
    data = embedded(page(RESIDUAL))
    erf = layer(data, "sum")["erf"]
    assert isinstance(erf, dict)
    # an add of the 3×3 conv and the input: not separable; the centre unit (4, 4) gets one
    # path from each of the 3×3 positions 3 … 5 through the conv, and one more from (4, 4)
    # itself through the identity
    assert erf["separable"] is False
    assert erf["centre"] == [4, 4]
    assert erf["origin"] == [3, 3]
    assert erf["shape"] == [3, 3]
    assert erf["values"] == [1, 1, 1, 1, 2, 1, 1, 1, 1]


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.yaml")))
def test_graph_rebuilt_from_the_report(example: str) -> None:
    """The maps read the graph rebuilt from the report's rows: it is the loaded graph."""
    graph = load(ROOT / "examples" / example)
    rebuilt = graph_of(describe(graph_path := ROOT / "examples" / example))
    assert graph_path.exists()
    assert rebuilt.input_shape == graph.input_shape
    assert [(n.name, n.kind, n.args, n.inputs, n.groups) for n in rebuilt.nodes] == [
        (n.name, n.kind, n.args, n.inputs, n.groups) for n in graph.nodes
    ]


# ---------------------------------------------------------------- the page's structure


class Checker(HTMLParser):
    """Fails on a closing tag that does not close the innermost open element."""

    # HTML's void elements, and the SVG elements the page writes self-closing
    VOID = frozenset(
        "area base br col embed hr img input link meta source track wbr".split()  # noqa: SIM905
        + "line circle polyline rect path".split()  # noqa: SIM905
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.urls: list[str] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("src", "href", "action", "data", "poster") and value is not None:
                self.urls.append(value)
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("src", "href") and value is not None:
                self.urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.open[-1:] == [tag], (tag, self.open[-5:])
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


def check(html: str) -> Checker:
    checker = Checker()
    checker.feed(html)
    checker.close()
    assert checker.open == []
    return checker


@pytest.mark.parametrize("model", [TEXTBOOK, ROOT / "examples" / "resnet18.yaml", RESIDUAL])
def test_well_formed_and_self_contained(model: str | Path) -> None:
    html = page(model)
    assert html.startswith("<!DOCTYPE html>\n")
    checker = check(html)
    assert checker.urls == []  # no src, no href at all: nothing is fetched
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"@import|url\(|<link|<iframe|<img", html, re.I)
    assert html.count("<script") == 2  # the data and the inline script, neither with src
    assert "<svg" in html
    assert 'id="rf-chart"' in html


def test_names_are_escaped() -> None:
    html = page(EVIL_MODEL)
    checker = check(html)
    # the raw name never appears as markup: one </script> closes each of the two scripts
    assert html.count("</script>") == 2
    assert "<b>bold" not in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;/script&gt;" in html  # the title and h1
    assert EVIL in "".join(checker.texts)  # the table shows it, as text
    data = embedded(html)
    layers = data["layers"]
    assert isinstance(layers, list)
    assert [entry["name"] for entry in layers] == [EVIL]


# ---------------------------------------------------------------- the command line


def test_cli_format_and_extension(tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["describe", str(TEXTBOOK), "--format", "html"])
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("<!DOCTYPE html>")
    target = tmp_path / "report.html"
    done = runner.invoke(app, ["describe", str(TEXTBOOK), "-o", str(target)])
    assert done.exit_code == 0
    assert done.stdout == ""
    assert target.read_text("utf-8") == page(TEXTBOOK)
    assert choose(None, "r.HTML", None) == "html"
    assert choose(None, "r.htm", None) == "html"


def test_the_page_analyses_the_model_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # the command line analyses with keep_fields for html; the page reuses those fields
    from rfcalc import engine

    calls: list[bool] = []
    real = engine.analyze

    def counted(*args: object, **kwargs: object) -> engine.Report:
        calls.append(bool(kwargs.get("keep_fields")))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "analyze", counted)
    monkeypatch.setattr(maps, "analyze", counted)
    done = CliRunner().invoke(app, ["describe", str(TEXTBOOK), "--format", "html"])
    assert done.exit_code == 0, done.output
    assert calls == [True]
    assert done.stdout == page(TEXTBOOK)  # the same page as from a report without fields


def test_other_formats_do_not_load_the_report() -> None:
    heavy = {"rfcalc.render.html_report", "rfcalc.maps"}
    assert not imported("describe", "examples/textbook.yaml", "--format", "json") & heavy
    assert not imported("describe", "examples/textbook.yaml") & heavy
    assert heavy <= imported("describe", "examples/textbook.yaml", "--format", "html")


# ---------------------------------------------------------------- in a browser


def browser_available() -> bool:
    return bool(shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER))


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    if not browser_available():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {CHROMIUM} or {CHROMEDRIVER} is missing (.ci/run)")
        pytest.skip("Chromium is not installed: apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1400",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield browser
    finally:
        browser.quit()


def open_page(driver: WebDriver, html: str, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(html, "utf-8")
    driver.get(path.as_uri())


def hover(driver: WebDriver, unit: tuple[int, int]) -> None:
    """Move the mouse over the middle of a unit's cell on the units canvas."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    canvas = driver.find_element(By.ID, "units-canvas")
    cell_w = float(canvas.get_attribute("data-cell-w") or "nan")
    cell_h = float(canvas.get_attribute("data-cell-h") or "nan")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    size = canvas.size
    x = 1 + (unit[1] + 0.5) * cell_w - size["width"] / 2  # 1: the canvas' border
    y = 1 + (unit[0] + 0.5) * cell_h - size["height"] / 2
    ActionChains(driver).move_to_element_with_offset(canvas, round(x), round(y)).perform()


def box_cells(driver: WebDriver, canvas_id: str, box_id: str, cell: float) -> tuple[float, ...]:
    """A box's rows and columns on an input canvas, from where the browser drew it."""
    from selenium.webdriver.common.by import By

    canvas = driver.find_element(By.ID, canvas_id).rect
    box = driver.find_element(By.ID, box_id).rect
    top = (box["y"] - canvas["y"] - 1) / cell
    left = (box["x"] - canvas["x"] - 1) / cell
    return (top, top + box["height"] / cell - 1, left, left + box["width"] / cell - 1)


def screenshot(driver: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


def test_hover_highlights_the_units_field(driver: WebDriver, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    html = page(TEXTBOOK)
    open_page(driver, html, tmp_path)
    find = driver.find_element
    Select(find(By.ID, "layer-select")).select_by_visible_text("head (conv2d)")
    # the input is 28×28: cells of floor(300 / 28) = 10 pixels (the page's rule)
    cell = 10.0
    # head: unit x sees x … x + 6 (three unpadded 3×3 convs): (0, 0) → rows 0–6, cols 0–6;
    # (21, 21) → 21–27; (3, 17) → rows 3–9, cols 17–23
    for unit, rows, cols in (((0, 0), (0, 6), (0, 6)), ((21, 21), (21, 27), (21, 27)),
                             ((3, 17), (3, 9), (17, 23))):  # fmt: skip
        hover(driver, unit)
        readout = find(By.ID, "readout")
        assert readout.get_attribute("data-unit") == f"{unit[0]},{unit[1]}"
        assert f"H {rows[0]} … {rows[1]} (7), W {cols[0]} … {cols[1]} (7)" in readout.text, (
            readout.text
        )
        field = find(By.ID, "field-box")
        assert field.get_attribute("data-h") == f"{rows[0]},{rows[1]}"
        assert field.get_attribute("data-w") == f"{cols[0]},{cols[1]}"
        for canvas, box in (("field-canvas", "field-box"), ("coverage-canvas", "coverage-box")):
            assert box_cells(driver, canvas, box, cell) == (*rows, *cols)
    # the ERF of the unit hovered last: 27·27 = 729 paths, 7·7 = 49 at the centre
    assert "729 paths, at most 49" in find(By.ID, "erf-readout").text
    assert box_cells(driver, "erf-canvas", "erf-box", cell) == (3, 9, 17, 23)
    # the same unit's field in the JSON that describe --format json and rfcalc.maps give
    model = maps.prepare(load(TEXTBOOK))
    field_json = maps.unit_field(model, 3, (3, 17))
    assert [a.span for a in field_json.axes] == [(3, 9), (17, 23)]
    screenshot(driver, "html_report_textbook.png")


def test_hostile_names_stay_text_in_the_browser(driver: WebDriver, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_page(driver, page(EVIL_MODEL), tmp_path)
    assert driver.title == "<b>bold</b> & </script> — rfcalc"
    option = Select(driver.find_element(By.ID, "layer-select")).first_selected_option
    assert option.text == f"{EVIL} (conv2d)"
    hover(driver, (0, 0))
    readout = driver.find_element(By.ID, "readout").text
    assert readout.startswith(f"{EVIL} (conv2d) unit (0, 0): field H 0 … 2 (3)")
    screenshot(driver, "html_report_names.png")
