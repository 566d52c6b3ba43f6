"""The Python API (docs/python.md): rfcalc.describe, load, analyze, check and the Report."""

from __future__ import annotations

import json
import pydoc
import subprocess
import sys
import traceback
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import rfcalc
from rfcalc import checks
from rfcalc.api import is_yaml_text
from rfcalc.cli import app
from tests.helpers import EXAMPLES, ROOT

TEXTBOOK = EXAMPLES / "textbook.yaml"
TEXTBOOK_TEXT = TEXTBOOK.read_text(encoding="utf-8")
# the same model as a dict, written out by hand (not read from the file)
TEXTBOOK_DICT: dict[str, object] = {
    "name": "textbook-convnet",
    "input": [1, 28, 28],
    "layers": [
        {"type": "conv2d", "out_channels": 32, "kernel_size": 3},
        "relu",
        {"type": "conv2d", "out_channels": 64, "kernel_size": 3},
        {"type": "conv2d", "name": "head", "out_channels": 64, "kernel_size": 3},
    ],
}

# The textbook network by hand (input 1×28×28; an unpadded 3×3 conv takes 2 off each side):
#   conv 1→32:  params 32·1·9 + 32 = 320;      out 32×26×26; MACs 32·26·26·(1·9)  = 194,688
#   relu:       0;                              out 32×26×26
#   conv 32→64: params 64·32·9 + 64 = 18,496;  out 64×24×24; MACs 64·24·24·(32·9) = 10,616,832
#   conv 64→64: params 64·64·9 + 64 = 36,928;  out 64×22×22; MACs 64·22·22·(64·9) = 17,842,176
#   totals: params 320 + 18,496 + 36,928 = 55,744; MACs 28,653,696 (= 28.65 M)
#   receptive fields 3, 5, 7: each unpadded 3×3 adds 2
PARAMS = [320, 0, 18_496, 36_928]
MACS = [194_688, 0, 10_616_832, 17_842_176]
TOTAL_PARAMS = 55_744
TOTAL_MACS = 28_653_696


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def without_source(doc: dict[str, object]) -> dict[str, object]:
    model = doc["model"]
    assert isinstance(model, dict)
    return {**doc, "model": {**model, "source": None}}


# ---------------------------------------------------------------- one model, three forms


def test_path_text_and_dict_give_equal_reports() -> None:
    from_path = rfcalc.describe(str(TEXTBOOK))
    from_text = rfcalc.describe(TEXTBOOK_TEXT)
    from_dict = rfcalc.describe(TEXTBOOK_DICT)
    assert from_path.source == str(TEXTBOOK)
    assert from_text.source == "<string>"
    assert from_dict.source == "<dict>"
    # the numbers and the tables are the same; only where the model came from differs
    expected = without_source(from_path.to_dict())
    assert without_source(from_text.to_dict()) == expected
    assert without_source(from_dict.to_dict()) == expected
    for report in (from_path, from_text, from_dict):
        assert [r.params for r in report.layers] == PARAMS
        assert [r.macs for r in report.layers] == MACS
        assert report.totals.params == TOTAL_PARAMS
        assert report.totals.macs == TOTAL_MACS
        assert [r.rf.size for r in report.layers] == [(3, 3), (3, 3), (5, 5), (7, 7)]
        assert report._repr_markdown_() == from_path._repr_markdown_()
        assert report._repr_html_() == from_path._repr_html_()
        assert str(report) == str(from_path)


def test_a_path_object_is_a_path() -> None:
    assert rfcalc.describe(TEXTBOOK) == rfcalc.describe(str(TEXTBOOK))


def test_the_examples_line_from_the_issue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    report = rfcalc.describe("examples/textbook.yaml")
    assert report.source == "examples/textbook.yaml"
    assert report.totals.params == TOTAL_PARAMS


@pytest.mark.parametrize(
    ("text", "is_text"),
    [
        ("examples/textbook.yaml", False),
        ("model", False),
        ("C:\\models\\net.yaml", False),  # a colon, but no space after it
        ("-", False),  # standard input, as on the command line
        ("", False),
        ("input: [3, 8, 8]", True),  # ': ' on one line
        ("{input: [3], layers: [relu]}", True),
        ("  {input: [3], layers: [relu]}", True),
        ("name: x\ninput: [3]\n", True),
        ("relu\n", True),  # a line break: text (then an invalid model)
    ],
)
def test_when_a_str_is_yaml_text(text: str, is_text: bool) -> None:
    assert is_yaml_text(text) is is_text


def test_a_flow_mapping_on_one_line() -> None:
    report = rfcalc.describe(
        "{input: [1, 28, 28], layers: [{type: conv2d, out_channels: 32, kernel_size: 3}]}"
    )
    assert report.totals.params == 320  # 32·1·9 + 32


# ---------------------------------------------------------------- the same builders as the CLI


def test_to_dict_is_the_cli_json_document() -> None:
    report = rfcalc.describe(TEXTBOOK)
    out = cli("describe", str(TEXTBOOK), "--format", "json")
    assert report.to_dict() == json.loads(out)
    assert report.to_json() == out


def test_to_dict_numbers() -> None:
    doc = rfcalc.describe(TEXTBOOK).to_dict()
    totals = doc["totals"]
    assert isinstance(totals, dict)
    assert totals["params"] == TOTAL_PARAMS
    assert totals["macs"] == TOTAL_MACS
    assert totals["flops"] == 2 * TOTAL_MACS
    assert doc["output_shape"] == [64, 22, 22]


def test_markdown_and_str_are_the_cli_tables() -> None:
    report = rfcalc.describe(TEXTBOOK)
    assert report._repr_markdown_() == cli("describe", str(TEXTBOOK), "--format", "markdown")
    assert str(report) == cli("describe", str(TEXTBOOK))  # not a terminal: the plain table


def test_depth_folds_the_tables_like_the_cli() -> None:
    path = str(EXAMPLES / "resnet18.yaml")
    report = rfcalc.describe(path, depth=1)
    assert report.depth == 1
    assert report._repr_markdown_() == cli("describe", path, "--depth", "1", "--format", "markdown")
    assert str(report) == cli("describe", path, "--depth", "1", "--format", "table")
    # folding changes no number: the JSON document stays leaf-level
    assert report.to_dict() == rfcalc.describe(path).to_dict()


def test_repr_is_one_line() -> None:
    # 28.65 M = 28,653,696 MACs to two decimals; the final field is 7×7, shown once
    assert repr(rfcalc.describe(TEXTBOOK)) == (
        "<Report textbook-convnet: 1×28×28 → 64×22×22, 55,744 params, 28.65 M MACs, final RF 7>"
    )


def test_repr_of_a_global_field_and_of_an_unnamed_model() -> None:
    text = "input: [3, 8, 8]\nlayers: [{type: adaptiveavgpool2d, output_size: 1}, flatten]\n"
    # pooling to 1×1 sees all 8×8; flatten keeps it; no params, 0 MACs
    assert (
        repr(rfcalc.describe(text))
        == "<Report <string>: 3×8×8 → 3, 0 params, 0 MACs, final RF 8 (global)>"
    )


# ---------------------------------------------------------------- HTML


class _Table(HTMLParser):
    """Tags opened and closed, and the text of each <tbody> row of the first table."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.rows: list[list[str]] = []
        self.tables = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)
        if tag == "table":
            self.tables += 1
        if tag == "tr" and "tbody" in self.stack and self.tables == 1:
            self.rows.append([])

    def handle_endtag(self, tag: str) -> None:
        assert self.stack.pop() == tag

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "td" and self.tables == 1 and "tbody" in self.stack:
            self.rows[-1].append(data)


def test_html_is_a_plain_table() -> None:
    html = rfcalc.describe(TEXTBOOK)._repr_html_()
    parser = _Table()
    parser.feed(html)
    assert parser.stack == []  # every tag closed
    assert [row[0] for row in parser.rows] == ["conv2d_0", "relu_0", "conv2d_1", "head"]
    assert [row[3] for row in parser.rows] == ["320", "0", "18,496", "36,928"]
    assert "55,744" in html
    for absent in ("<script", "<style", "<link", "<img", "http"):
        assert absent not in html


def test_html_escapes_every_name() -> None:
    text = "name: a<b>&c\ninput: [4]\nlayers:\n  - {type: linear, name: x<i>y, out_features: 2}\n"
    report = rfcalc.describe(text)
    html = report._repr_html_()
    assert "a&lt;b&gt;&amp;c" in html
    assert "x&lt;i&gt;y" in html
    assert "<i>" not in html
    assert report.totals.params == 10  # linear 4→2: 2·4 + 2


# ---------------------------------------------------------------- pandas


def test_to_pandas() -> None:
    pytest.importorskip("pandas")
    df = rfcalc.describe(TEXTBOOK).to_pandas()
    assert list(df.index) == ["conv2d_0", "relu_0", "conv2d_1", "head"]
    assert list(df["params"]) == PARAMS
    assert int(df["macs"].sum()) == TOTAL_MACS
    assert df.loc["head", "output_shape"] == (64, 22, 22)
    assert df.loc["head", "rf_size"] == (7, 7)
    assert {"type", "inputs", "trainable_params", "buffers", "output_bytes", "rf_stride"} <= set(
        df.columns
    )


def test_to_pandas_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    report = rfcalc.describe(TEXTBOOK)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    with pytest.raises(ImportError, match=r"needs pandas.*pip install pandas"):
        report.to_pandas()


# ---------------------------------------------------------------- options


VARS_MODEL = "vars: {c: 8}\ninput: [3, 10, 10]\nlayers:\n  - {type: conv2d, out_channels: $c, kernel_size: 3}\n"


class _Index:
    """An integer that is not an int (as numpy's are)."""

    def __index__(self) -> int:
        return 16


@pytest.mark.parametrize(
    ("variables", "params"),
    [
        (None, 224),  # c = 8: 8·3·9 + 8 = 224
        ({"c": 16}, 448),  # 16·3·9 + 16 = 448
        ({"c": "16"}, 448),  # read as --set c=16 reads it
        ({"c": "${2 * 8}"}, 448),  # an expression, as on the command line
        ({"c": _Index()}, 448),
    ],
)
def test_vars(variables: dict[str, object] | None, params: int) -> None:
    assert rfcalc.describe(VARS_MODEL, vars=variables).totals.params == params


def test_vars_of_a_type_rfcalc_cannot_take() -> None:
    with pytest.raises(TypeError, match=r"vars\['c'\]"):
        rfcalc.describe(VARS_MODEL, vars={"c": object()})


def test_input_shape_as_a_tuple_or_text() -> None:
    # 32 → 30 → 28 → 26; conv1 MACs 32·30·30·9 = 259,200
    for shape in ((1, 32, 32), [1, 32, 32], "1,32,32", "1x32x32"):
        report = rfcalc.describe(TEXTBOOK, input_shape=shape)
        assert report.output_shape == (64, 26, 26)
        assert report.layers[0].macs == 259_200


def test_batch_and_dtype_set_the_memory_figures() -> None:
    report = rfcalc.describe(TEXTBOOK, batch=8, dtype="float16")
    assert report.totals.input_bytes == 1 * 28 * 28 * 8 * 2  # 12,544
    assert report.totals.param_bytes == TOTAL_PARAMS * 2
    assert report.totals.macs == TOTAL_MACS  # per sample, whatever the batch


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"batch": 0}, "batch must be an integer from 1 to 2,147,483,648, got 0"),
        ({"batch": 2.0}, "batch must be an integer from 1 to 2,147,483,648, got 2.0"),
        ({"dtype": "float"}, "unknown dtype 'float'\nhint: did you mean 'float16'?"),
        ({"depth": 0}, "depth must be a positive integer or None, got 0"),
    ],
)
def test_bad_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(rfcalc.RfcalcError) as info:
        rfcalc.describe(TEXTBOOK, **options)  # type: ignore[arg-type]
    assert str(info.value) == f"rfcalc: error: {message}"


def test_load_then_analyze() -> None:
    graph = rfcalc.load(TEXTBOOK)
    assert isinstance(graph, rfcalc.Graph)
    assert repr(graph) == "<Graph textbook-convnet: input 1×28×28, 4 layers>"
    assert [n.name for n in graph.nodes] == ["conv2d_0", "relu_0", "conv2d_1", "head"]
    assert rfcalc.analyze(graph, batch=2) == rfcalc.describe(TEXTBOOK, batch=2)


# ---------------------------------------------------------------- errors


def _raised(model: object) -> rfcalc.RfcalcError:
    with pytest.raises(rfcalc.RfcalcError) as info:
        rfcalc.describe(model)  # type: ignore[arg-type]
    return info.value


def test_a_missing_path_says_how_text_is_told_apart() -> None:
    error = _raised("examples/nope.yaml")
    assert str(error) == (
        "examples/nope.yaml:1:1: error: no such file\n"
        "hint: a str is read as YAML text only when it holds a line break or ': '; a dict works too"
    )
    assert error.message == "no such file"  # the parts stay as they were


def test_an_error_in_text_is_positioned_in_it() -> None:
    text = "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 0}\n"
    error = _raised(text)
    # line 3, column 50: the value of kernel_size
    assert (
        str(error)
        == "<string>:3:50: error: layer 'conv2d_0' (conv2d): kernel_size must be ≥ 1, got 0"
    )
    assert isinstance(error, rfcalc.RfcalcError)


def test_an_error_in_a_dict_is_positioned_in_its_yaml() -> None:
    model = {
        "input": [3, 8, 8],
        "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 0}],
    }
    error = _raised(model)
    dumped = yaml.safe_dump(
        model, sort_keys=False, allow_unicode=True, default_flow_style=None
    ).splitlines()
    assert dumped[2] == "- {type: conv2d, out_channels: 4, kernel_size: 0}"
    col = dumped[2].index("0}") + 1
    assert (
        str(error)
        == f"<dict>:3:{col}: error: layer 'conv2d_0' (conv2d): kernel_size must be ≥ 1, got 0"
    )


def test_the_traceback_stops_at_the_api() -> None:
    error = _raised("examples/nope.yaml")
    frames = traceback.extract_tb(error.__traceback__)
    # the test's own line, then the public function; nothing from deep inside rfcalc
    assert len(frames) == 2
    assert frames[1].filename.endswith(str(Path("rfcalc", "api.py")))


@pytest.mark.parametrize("model", [42, b"input: [3]"])
def test_a_model_of_another_type(model: object) -> None:
    with pytest.raises(TypeError, match="a model is a path, YAML text or a dict"):
        rfcalc.describe(model)  # type: ignore[arg-type]


def test_a_dict_with_a_value_yaml_cannot_hold() -> None:
    with pytest.raises(TypeError, match=r"layers\[0\]\.kernel_size is a complex"):
        rfcalc.describe({"input": [3], "layers": [{"type": "conv1d", "kernel_size": 1j}]})


# ---------------------------------------------------------------- checks


CHECKED = TEXTBOOK_TEXT + "checks: {max_params: 100K, output_shape: [64, 22, 22]}\n"


def test_check_runs_the_files_checks() -> None:
    result = rfcalc.check(CHECKED)
    assert result.passed
    assert dict(result.file_limits) == {"max_params": 100_000, "output_shape": (64, 22, 22)}
    assert repr(result) == "<CheckResult textbook-convnet: PASS (2 checks)>"


def test_check_with_given_limits() -> None:
    assert rfcalc.check(TEXTBOOK, max_params="60K", min_rf=7).passed  # 55,744 ≤ 60,000; RF 7 ≥ 7
    result = rfcalc.check(TEXTBOOK, max_params=50_000, output_shape=[64, 22, 22])
    assert not result.passed
    assert [v.message for v in result.violations] == ["max_params: 55,744 exceeds the limit 50,000"]
    assert repr(result) == (
        "<CheckResult textbook-convnet: FAIL (1 of 2)\n"
        "  max_params: 55,744 exceeds the limit 50,000>"
    )


def test_a_file_limit_and_a_given_one_must_both_hold() -> None:
    # the file allows 100K; 50K given is stricter and fails; 1M given does not loosen 40K
    assert not rfcalc.check(CHECKED, max_params=50_000).passed
    strict_file = TEXTBOOK_TEXT + "checks: {max_params: 40K}\n"
    result = rfcalc.check(strict_file, max_params="1M")
    assert [v.message for v in result.violations] == ["max_params: 55,744 exceeds the limit 40,000"]


def test_check_without_checks() -> None:
    assert repr(rfcalc.check(TEXTBOOK)) == "<CheckResult textbook-convnet: no checks>"


def test_an_unknown_limit() -> None:
    with pytest.raises(
        TypeError, match=r"unexpected limit 'max_param'; did you mean 'max_params'\?"
    ):
        rfcalc.check(TEXTBOOK, max_param=1)


def test_a_bad_limit_is_an_rfcalc_error() -> None:
    with pytest.raises(rfcalc.RfcalcError, match="max_params takes a count such as"):
        rfcalc.check(TEXTBOOK, max_params="lots")


def test_the_check_docstring_names_every_check() -> None:
    doc = rfcalc.check.__doc__ or ""
    for name in checks.CHECKS:
        assert f"``{name}``" in doc


# ---------------------------------------------------------------- the module


def test_help_shows_the_api() -> None:
    text = pydoc.plain(pydoc.render_doc(rfcalc))
    for name in ("describe", "load", "analyze", "check"):
        assert f"{name}(model" in text or f"{name}(graph" in text
    for cls in ("class Report", "class Graph", "class CheckResult", "class RfcalcError"):
        assert cls in text
    for name in rfcalc.__all__:
        if name != "__version__":
            doc = getattr(rfcalc, name).__doc__
            assert doc, name
            assert not doc.startswith(name + "("), name  # written, not dataclass's signature


def test_import_rfcalc_imports_nothing_else() -> None:
    code = "import rfcalc, sys; print(sorted(m for m in sys.modules if m.startswith(('rfcalc.', 'rich', 'typer', 'yaml'))))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout == "[]\n"


def test_an_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="module 'rfcalc' has no attribute 'nope'"):
        rfcalc.nope  # noqa: B018
