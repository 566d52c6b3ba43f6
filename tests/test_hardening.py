"""Bad input as an attacker writes it: every case ends in a positioned error and exit 2, at
once, with nothing raw echoed to the terminal; the quadratic paths are guarded by counts, not
timings. (The small cases are files in tests/data/invalid/; these are generated, or need the
command line.)"""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from rfcalc import build, yamltree
from rfcalc.cli import app
from rfcalc.errors import InputError, printable
from tests.helpers import EXAMPLES, ROOT, report_of

runner = CliRunner()


def describe(tmp_path: Path, text: str, *args: str) -> tuple[int, str, str, Path]:
    path = tmp_path / "model.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["describe", str(path), *args])
    return result.exit_code, result.stdout, result.stderr, path


# ---------------------------------------------------------------- 1. no segfault, at any depth


def _in_a_process(path: Path) -> subprocess.CompletedProcess[str]:
    """rfcalc describe in a process of its own: a segfault would be an exit code, not a crash
    of the test run."""
    return subprocess.run(
        [sys.executable, "-m", "rfcalc", "describe", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_deep_complex_keys_fail_cleanly_in_a_real_process(tmp_path: Path) -> None:
    """100,000 nested '? ' keys crashed libyaml's composer (exit 139): keys that are not
    plain names are refused on the parser's first event for them."""
    path = tmp_path / "keys.yaml"
    path.write_text("? " * 100_000 + "a\n", encoding="utf-8")
    result = _in_a_process(path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"{path}:1:3: error: mapping keys must be plain names\n"


def test_deep_brackets_behind_a_quote_fail_cleanly_in_a_real_process(tmp_path: Path) -> None:
    """A "'" inside a plain scalar hid 100,000 '[' from the old character pre-scan; the depth
    is now counted on the parser's own events."""
    path = tmp_path / "deep.yaml"
    text = "input: [3]\nlayers: [relu, a'b, " + "[" * 100_000 + "c" + "]" * 100_000 + ", 'd']\n"
    path.write_text(text, encoding="utf-8")
    result = _in_a_process(path)
    assert (result.returncode, result.stdout) == (2, "")
    # the root mapping is level 1 and the 'layers' list level 2, so the k-th '[' after
    # 'layers: [relu, a'b, ' (20 characters) is level k + 2; the limit allows 64 levels
    # below the root (65 in all), so k = 64 is the first too deep, at column 20 + 64 = 84
    assert result.stderr == f"{path}:2:84: error: nesting deeper than 64 levels\n"


def test_brackets_in_a_block_scalar_are_text(tmp_path: Path) -> None:
    """The old pre-scan refused a valid file whose description held 70 '['."""
    text = "input: [3]\ndescription: |\n  " + "[" * 70 + "\nlayers: [relu]\n"
    code, out, err, _ = describe(tmp_path, text, "-f", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["output_shape"] == [3]


# ---------------------------------------------------------------- 2. scalars


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!!int abc", "'abc' is not a valid !!int"),
        ("!!float two", "'two' is not a valid !!float"),
        ("!!bool maybe", "'maybe' is not a valid !!bool"),
        ("!!timestamp bogus", "YAML tag '!!timestamp' is not allowed"),
        ("9" * 5000, "an integer of 5,000 digits is too large"),
    ],
)
def test_set_reads_values_as_the_file_does(tmp_path: Path, value: str, message: str) -> None:
    text = "input: [3]\nvars: {w: 4}\nlayers:\n  - {type: linear, out_features: $w}\n"
    code, out, err, path = describe(tmp_path, text, "--set", f"w={value}")
    assert (code, out) == (2, "")
    assert err.startswith(f"{path}:1:1: error: --set w=")  # the 5,000 digits are elided
    assert err.endswith(f": {message}\n")


def test_base60_integer_is_a_string_at_once(tmp_path: Path) -> None:
    """YAML 1.1 read '1:59:59:…' (400 KB) as a base-60 integer, quadratically (16 s), then
    crashed; under YAML 1.2 it is a string, and the message elides it."""
    big = "1" + ":59" * 130_000
    code, out, err, path = describe(
        tmp_path, f"input: [3]\nlayers:\n  - {{type: linear, out_features: {big}}}\n"
    )
    assert (code, out) == (2, "")
    assert err.startswith(f"{path}:3:34: error: layer 'linear_0' (linear): out_features must ")
    # the run of non-blanks is the value in its quotes, '1:59…:59': 390,003 characters, of
    # which 120 are shown
    assert "…(389,883 characters)…" in err
    assert len(err) < 500


def test_lone_surrogate_is_refused_by_the_pure_python_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """libyaml refuses '\\ud800' itself; the pure-Python parser (used where PyYAML was built
    without libyaml) accepts it, and printing it later crashed."""
    monkeypatch.setattr(yamltree, "_LOADER", yaml.SafeLoader)
    with pytest.raises(InputError) as info:
        yamltree.parse('name: "\\ud800"\n', "m.yaml")
    assert info.value.render() == (
        "m.yaml:1:7: error: a string holds a lone surrogate (\\ud800), which is not text"
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("010", 10),  # YAML 1.2: decimal (PyYAML's 1.1 read 8)
        ("0o10", 8),
        ("0x10", 16),
        ("012_0", 120),  # '_' separates decimal digits, as in Python (1.1 read octal 80)
        ("20_000_000", 20_000_000),
        ("-0o7", -7),
        ("1e3", 1000.0),  # YAML 1.2 float (1.1 read a string)
        ("1:30", "1:30"),  # not base 60
        ("yes", "yes"),  # not a boolean
        ("True", True),
        ("~", None),
        ("", None),
    ],
)
def test_one_rule_for_plain_scalars(text: str, value: object) -> None:
    node = yamltree.parse(f"v: {text}\n", "m.yaml")
    assert isinstance(node, yamltree.YMap)
    got = node.get("v")
    assert isinstance(got, yamltree.YScalar)
    assert got.value == value
    assert type(got.value) is type(value)


@pytest.mark.parametrize(("written", "features"), [("010", 10), ("0o10", 8), ("012_0", 120)])
def test_file_and_set_agree_on_integers(tmp_path: Path, written: str, features: int) -> None:
    """The file, --set and the rest read an integer the same way (they gave 10, 80 and 8)."""
    in_file = f"input: [3]\nlayers:\n  - {{type: linear, out_features: {written}}}\n"
    code, out, _, _ = describe(tmp_path, in_file, "-f", "json")
    assert code == 0
    assert json.loads(out)["output_shape"] == [features]
    via_set = "input: [3]\nvars: {w: 1}\nlayers:\n  - {type: linear, out_features: $w}\n"
    code, out, _, _ = describe(tmp_path, via_set, "-f", "json", "--set", f"w={written}")
    assert code == 0
    assert json.loads(out)["output_shape"] == [features]


def test_utf16_and_utf32_with_a_bom_are_read(tmp_path: Path) -> None:
    text = (EXAMPLES / "textbook.yaml").read_text(encoding="utf-8")
    for encoding in ("utf-16", "utf-32"):  # Python writes these with a byte-order mark
        path = tmp_path / f"{encoding}.yaml"
        path.write_bytes(text.encode(encoding))
        result = runner.invoke(app, ["describe", str(path), "-f", "json"])
        assert (result.exit_code, result.stderr) == (0, "")
        assert json.loads(result.stdout)["output_shape"] == [64, 22, 22]


# ---------------------------------------------------------------- check keeps going


def test_a_failing_expression_does_not_abort_the_other_files(tmp_path: Path) -> None:
    """make_divisible(8, 0) raised ZeroDivisionError, which ended a whole multi-file check."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "input: [3]\nlayers:\n  - {type: linear, out_features: '${make_divisible(8, 0)}'}\n",
        encoding="utf-8",
    )
    good = EXAMPLES / "textbook.yaml"
    result = runner.invoke(app, ["check", str(bad), str(good), "--format", "json"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"{bad}:3:34: error: expression 'make_divisible(8, 0)': "
        "make_divisible(): division by zero\n"
    )
    files = json.loads(result.stdout)["files"]
    assert [f["status"] for f in files] == ["error", "pass"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--max-params", "9" * 5000, "--max-params takes a count such as 25557032, 30M or 5G"),
        ("--output-shape", "²", "--output-shape takes a shape such as [1000] or 2048,7,7"),
    ],
)
def test_check_limits_that_are_not_numbers(option: str, value: str, message: str) -> None:
    result = runner.invoke(app, ["check", str(EXAMPLES / "textbook.yaml"), option, value])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"rfcalc: error: {message}; got ")


def test_check_output_shape_in_the_file_takes_ascii_digits(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text('input: [3]\nlayers: [relu]\nchecks: {output_shape: "²"}\n', encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    # 'checks: {' is 9 characters and 'output_shape: ' 14: the value is at column 24
    assert result.stderr == (
        f"{path}:3:24: error: output_shape takes a shape such as [1000] or 2048,7,7; got '²'\n"
    )


def test_check_sizes_accept_separators_and_exponents() -> None:
    for limit in ("20_000_000", "2e7", "20M", "20000000"):
        result = runner.invoke(
            app, ["check", str(EXAMPLES / "textbook.yaml"), "--max-params", limit]
        )
        assert (result.exit_code, result.stderr) == (0, ""), limit


# ---------------------------------------------------------------- 4. no quadratic paths


def _error_in_repeated_block(n: int) -> str:
    return (
        "input: [3, 8, 8]\nblocks:\n  b:\n    layers:\n"
        "      - {type: conv2d, out_channels: 4, kernel_size: 3, bogus: 1}\n"
        f"layers:\n  - {{type: b, repeat: {n}}}\n"
    )


def test_an_error_in_a_repeated_block_is_reported_once(tmp_path: Path) -> None:
    code, out, err, path = describe(tmp_path, _error_in_repeated_block(100_000))
    assert (code, out) == (2, "")
    # '      - {' is 9 characters; 'type: conv2d, ' 14, 'out_channels: 4, ' 17,
    # 'kernel_size: 3, ' 16: 'bogus' starts at column 10 + 14 + 17 + 16 = 57
    assert err == (
        f"{path}:5:57: error: layer 'b_0.0.conv2d_0' (conv2d): unknown argument 'bogus'\n"
    )


@pytest.fixture
def matchers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the string comparisons "did you mean" makes."""
    count = [0]

    class Counting(difflib.SequenceMatcher[str]):
        def __init__(self, isjunk: None, a: str, b: str) -> None:
            count[0] += 1
            super().__init__(isjunk, a, b)

    monkeypatch.setattr(difflib, "SequenceMatcher", Counting)
    return count


def _misspelt_froms(n: int) -> str:
    layers = "".join(f"  - {{type: relu, name: l{i}, from: nowhere}}\n" for i in range(n))
    return f"input: [3]\nlayers:\n  - {{type: relu, name: start}}\n{layers}"


def test_did_you_mean_work_grows_linearly(tmp_path: Path, matchers: list[int]) -> None:
    """n misspelt 'from's each searched every earlier name: n² comparisons. Only the hints
    shown (20 errors at most) are searched now."""
    counts = []
    for n in (500, 1000):
        matchers[0] = 0
        code, _, err, _ = describe(tmp_path, _misspelt_froms(n))
        assert code == 2
        assert err.endswith(f"… and {n - 20} more errors\n")
        counts.append(matchers[0])
    # 20 hints, each over the names before its layer (start and, for the k-th, no other:
    # failed layers are not names): a bound independent of n
    assert counts[0] == counts[1]
    assert counts[1] <= 20 * 3


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the builder validates a layer's arguments (``[count]``)."""
    calls = [0]
    real = build.validate_args

    def counting(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(build, "validate_args", counting)
    return calls


def test_a_repeated_block_validates_its_layers_once(validations: list[int]) -> None:
    text = (
        "input: [3, 8, 8]\nblocks:\n  b:\n    layers:\n"
        "      - {type: conv2d, out_channels: 3, kernel_size: 3, padding: 1}\n      - relu\n"
        "layers:\n  - {type: b, repeat: 500}\n  - {type: relu, repeat: 500}\n"
    )
    report = report_of(text)
    assert len(report.layers) == 500 * 2 + 500
    assert validations[0] == 3  # the conv and relu of the block, and the repeated relu


def test_a_chain_written_out_validates_alike_layers_once(
    validations: list[int], tmp_path: Path
) -> None:
    """Layers written alike (positions aside) share one validation; a difference in any
    value, its type included (0 and 0.0; 3 and [3, 3]), validates again; and each layer's
    mistakes and rule errors still point at its own line."""
    conv = "  - {type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}\n"
    text = (
        "input: [4, 8, 8]\nlayers:\n"
        + conv * 5
        + "  - {type: conv2d, out_channels: 4, kernel_size: [3, 3], padding: 1}\n"
        + "  - {type: dropout, p: 0}\n  - {type: dropout, p: 0.0}\n  - {type: dropout, p: 0}\n"
        + conv * 2
    )
    report = report_of(text)
    assert len(report.layers) == 11
    # the conv (lines 3-7, 11-12), the conv of kernel [3, 3], dropout p 0 (twice), p 0.0
    assert validations[0] == 4
    assert [r.args["p"] for r in report.layers[6:9]] == [0, 0.0, 0]
    assert [type(r.args["p"]) for r in report.layers[6:9]] == [int, float, int]

    bad = "  - {type: conv2d, out_channels: 1, kernel_size: 5, bogus: 1}\n"
    code, _, err, path = describe(tmp_path, "input: [1, 8, 8]\nlayers:\n" + bad * 2)
    assert code == 2
    assert err == (
        f"{path}:3:53: error: layer 'conv2d_0' (conv2d): unknown argument 'bogus'\n"
        f"{path}:4:53: error: layer 'conv2d_1' (conv2d): unknown argument 'bogus'\n"
    )
    # the second of two alike layers is too small for its kernel: its own kernel_size
    shrink = "  - {type: conv2d, out_channels: 1, kernel_size: 5}\n"
    code, _, err, path = describe(tmp_path, "input: [1, 8, 8]\nlayers:\n" + shrink * 2)
    assert code == 2
    assert err.startswith(f"{path}:4:50: error: layer 'conv2d_1' (conv2d): kernel spans 5")


# ---------------------------------------------------------------- 5. limits before work


def test_the_layer_limit_is_checked_before_expanding(monkeypatch: pytest.MonkeyPatch) -> None:
    """1,000 × 1,001 relus: the count fails before a single node is built."""
    built = [0]
    real = build.Builder._leaf

    def counting(self: build.Builder, *args: object) -> int:
        built[0] += 1
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(build.Builder, "_leaf", counting)
    text = (
        "input: [3]\nblocks:\n  b: {layers: [{type: relu, repeat: 1000}]}\n"
        "layers:\n  - {type: b, repeat: 101}\n"
    )
    with pytest.raises(InputError) as info:
        report_of(text)
    assert info.value.render() == (
        "model.yaml:5:23: error: the model expands to more than 100,000 layers"
    )
    assert built[0] == 0


# ---------------------------------------------------------------- 8. terminal escapes


def test_escapes_are_never_echoed_raw(tmp_path: Path) -> None:
    text = 'input: [3]\nlayers:\n  - {type: "\\e[2J\\e]0;owned\\a", "\\e[31mkey": 1}\n'
    code, out, err, path = describe(tmp_path, text)
    assert (code, out) == (2, "")
    assert "\x1b" not in err
    assert "\x07" not in err
    assert err == f"{path}:3:12: error: unknown layer type '\\x1b[2J\\x1b]0;owned\\x07'\n"


def test_a_megabyte_name_is_elided(tmp_path: Path) -> None:
    name = "x" * (1 << 20)
    code, _, err, path = describe(tmp_path, f"input: [3]\nlayers:\n  - {name}\n")
    assert code == 2
    # the run shown is the name in its quotes: 2**20 + 2 characters, 80 + 40 of them kept
    assert err == (
        f"{path}:3:5: error: unknown layer type '{'x' * 79}…(1,048,458 characters)…{'x' * 39}'\n"
    )


def test_printable_escapes_controls_and_bidi_overrides() -> None:
    assert printable("a\x1bb\tc\nd\x9be\u202ef") == "a\\x1bb\tc\nd\\x9be\\u202ef"
    assert printable("a\nb\rc", newlines=False) == "a\\nb\\rc"


def test_printable_on_ascii_escapes_exactly_the_controls() -> None:
    """Every ASCII character, in ASCII text (the quick test's case): the C0 controls and DEL
    are escaped, tab kept, newline kept unless ``newlines=False``; the rest kept."""
    for code in range(128):
        char = chr(code)
        control = code < 0x20 or code == 0x7F
        for newlines in (True, False):
            kept = not control or char == "\t" or (char == "\n" and newlines)
            assert (printable(f"a{char}b", newlines) == f"a{char}b") == kept, (code, newlines)


def test_json_output_is_inert(tmp_path: Path) -> None:
    """JSON escapes C0 controls itself; DEL, C1 and bidi overrides come out as \\u escapes."""
    path = tmp_path / "m.yaml"
    path.write_text('description: "\\x9b2J \\u202e"\ninput: [3]\nlayers: [relu]\n', "utf-8")
    result = runner.invoke(app, ["diff", str(path), str(path), "--format", "json"])
    assert result.exit_code == 0
    assert "\x9b" not in result.stdout
    assert "\u202e" not in result.stdout


def test_describe_json_of_a_hostile_path_is_inert(tmp_path: Path) -> None:
    """The JSON writer's text goes out unscanned (rfcalc.render.INERT), to stdout and to
    --output: the writer itself escapes every control, bidi override and lone surrogate (a
    byte of the path that is not UTF-8), as escapes JSON reads back to the path."""
    import os

    folder = tmp_path / ("\x1b[2J\x07\x7f\x9b\u202e" + os.fsdecode(b"\xfe"))
    folder.mkdir()
    path = folder / "m.yaml"
    path.write_text("input: [3]\nlayers: [relu]\n", "utf-8")
    out = tmp_path / "out.json"
    result = runner.invoke(app, ["describe", str(path), "--format", "json"])
    written = runner.invoke(app, ["describe", str(path), "--output", str(out)])
    assert (result.exit_code, result.stderr, written.exit_code) == (0, "", 0)
    for text in (result.stdout, out.read_text("utf-8")):
        assert [c for c in text if not c.isprintable() and c != "\n"] == []
        assert json.loads(text)["model"]["source"] == str(path)


# ---------------------------------------------------------------- 9. one validation for inputs


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("3,9999999999", "--input size 9999999999 is too large (limit 2,147,483,648)"),
        ("3,0", "--input sizes must be positive integers, got 0"),
        ("3,1,2,3,4", "--input must be a list of 1 to 4 positive integers (channels first, "),
        ("3,²", "--input takes sizes such as 3,224,224; got '3,²'"),
        ("3," + "9" * 5000, "--input takes sizes such as 3,224,224; got '3,999"),
    ],
)
def test_input_option_is_validated_as_the_file_is(option: str, message: str) -> None:
    result = runner.invoke(app, ["describe", str(EXAMPLES / "textbook.yaml"), "--input", option])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"rfcalc: error: {message}")


def test_the_files_input_is_checked_even_when_overridden(tmp_path: Path) -> None:
    code, out, err, path = describe(
        tmp_path, "input: nonsense\nlayers: [relu]\n", "--input", "3,8,8"
    )
    assert (code, out) == (2, "")
    assert err == (
        f"{path}:1:8: error: input must be a list of 1 to 4 positive integers "
        "(channels first, no batch), got 'nonsense' (a string)\n"
    )


def test_a_merge_over_its_input_limit_says_the_limit(tmp_path: Path) -> None:
    names = [f"r{i}" for i in range(1025)]
    layers = "".join(f"  - {{type: relu, name: {n}, from: input}}\n" for n in names)
    text = f"input: [3]\nlayers:\n{layers}  - {{type: add, from: [{', '.join(names)}]}}\n"
    code, out, err, path = describe(tmp_path, text)
    assert (code, out) == (2, "")
    assert (
        err == f"{path}:1028:5: error: layer 'add_0' (add) takes at most 1,024 inputs, got 1025\n"
    )


# ---------------------------------------------------------------- found by benchmarks/fuzz.py


def test_bytes_that_are_not_utf8_on_the_command_line(tmp_path: Path) -> None:
    """A shell passes any bytes; Python shows those that are not UTF-8 as lone surrogates
    (here 0xff as '\\udcff'), which crashed the YAML parser and the output."""
    code, out, err, path = describe(
        tmp_path, "input: [3]\nvars: {w: 1}\nlayers: [relu]\n", "--set", "w=\udcff"
    )
    assert (code, out) == (2, "")
    assert err == f"{path}:1:1: error: --set w=\\xff: not valid UTF-8 text\n"
    result = runner.invoke(app, ["check", "\udcff=1"])
    assert result.exit_code == 2
    assert result.stderr == "\\xff=1:1:1: error: no such file\n"
    assert "\udcff" not in result.stdout
    assert "ERROR  \\xff=1: no such file" in result.stdout


def test_a_library_name_too_long_for_the_file_system(tmp_path: Path) -> None:
    code, _, err, path = describe(tmp_path, f"include: [{'a' * 256}]\ninput: [1]\nlayers: [relu]\n")
    assert code == 2
    assert err.startswith(f"{path}:1:11: error: no built-in block library 'aaaa")


def test_an_empty_model_path_and_an_output_folder() -> None:
    result = runner.invoke(app, ["describe", ""])
    assert (result.exit_code, result.stderr) == (2, "rfcalc: error: a model's path is empty\n")
    out = runner.invoke(app, ["describe", str(EXAMPLES / "textbook.yaml"), "-o", "out.txt/"])
    assert (out.exit_code, out.stderr) == (
        2,
        "rfcalc: error: --output out.txt/ names a folder, not a file\n",
    )


def test_a_utf8_byte_order_mark_is_dropped_and_a_bad_byte_counted_after_it() -> None:
    """A file saved with a UTF-8 BOM (EF BB BF) reads as without it (one BOM; a second is
    text, U+FEFF); a byte that is not UTF-8 is counted from after the BOM, as for UTF-16's:
    b"ab\\xff" has its bad byte at 2."""
    from rfcalc.yamltree import read_text

    assert read_text("m.yaml", b"\xef\xbb\xbfa: 1\n") == "a: 1\n"
    assert read_text("m.yaml", b"\xef\xbb\xbf\xef\xbb\xbfa: 1\n") == "\ufeffa: 1\n"
    with pytest.raises(InputError, match=r"file is not valid UTF-8 \(byte 2\)"):
        read_text("m.yaml", b"\xef\xbb\xbfab\xff")
