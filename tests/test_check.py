"""rfcalc check and diff (docs/check.md, docs/json.md), and the pre-commit hook (the schema:
test_schema.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rfcalc.checks import parse_count
from rfcalc.cli import app
from rfcalc.errors import InputError
from tests.helpers import EXAMPLES, ROOT

runner = CliRunner()

GOOD = """\
input: [1, 28, 28]
checks:
  max_params: 60K        # 55,744 (three convs: 320 + 18,496 + 36,928)
  output_shape: [64, 22, 22]
  min_rf: 7              # 3 unpadded 3×3 convs
layers:
  - {type: conv2d, out_channels: 32, kernel_size: 3}
  - {type: conv2d, out_channels: 64, kernel_size: 3}
  - {type: conv2d, out_channels: 64, kernel_size: 3}
"""
BAD = GOOD.replace("max_params: 60K", "max_params: 50K").replace("min_rf: 7 ", "min_rf: 9 ")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    paths = {}
    for name, text in (
        ("good", GOOD),
        ("bad", BAD),
        ("broken", "input: [1, 2]\nlayers: [{type: conv}]\n"),
    ):
        p = tmp_path / f"{name}.yaml"
        p.write_text(text, encoding="utf-8")
        paths[name] = str(p)
    return paths


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("30M", 30_000_000),
        ("5G", 5_000_000_000),
        ("1.5K", 1500),
        ("25557032", 25557032),
        (7, 7),
        ("20m", 20_000_000),  # the suffixes in either case
        ("5g", 5_000_000_000),
        ("2e7", 20_000_000),  # 2·10⁷
        ("2.5e7", 25_000_000),
        ("20_000_000", 20_000_000),
        (2e7, 20_000_000),  # YAML reads an unquoted 2e7 as a float
        (1e3, 1000),
    ],
)
def test_parse_count(text: object, value: int) -> None:
    assert parse_count(text, "max_params", None) == value


@pytest.mark.parametrize("text", ["lots", "1.5", 1.5, "2e-3", -3, True, "20 M M", 2.0**60])
def test_parse_count_refuses(text: object) -> None:
    with pytest.raises(InputError, match="max_params"):
        parse_count(text, "max_params", None)


@pytest.mark.parametrize("size", ["20m", "2e7", "20_000_000", "2.0e7", "'2e7'", "20M"])
def test_sizes_in_file_and_on_command_line(tmp_path: Path, size: str) -> None:
    # 55,744 params (GOOD's three convs) against 20,000,000 written five ways
    path = tmp_path / "m.yaml"
    path.write_text(GOOD.replace("max_params: 60K", f"max_params: {size}"), encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert (result.exit_code, result.stderr) == (0, "")
    assert "       ok    max_params: 55,744 is within the limit 20,000,000\n" in result.stdout
    flag = runner.invoke(app, ["check", str(path), "--max-params", size.strip("'")])
    assert (flag.exit_code, flag.stderr) == (0, "")


def test_check_pass_shows_measured_values(files: dict[str, str]) -> None:
    result = runner.invoke(app, ["check", files["good"]])
    assert result.exit_code == 0
    assert result.stderr == ""
    # GOOD: 320 + 18,496 + 36,928 = 55,744 params; 28 − 3·2 = 22; r = 1 + 3·2 = 7
    assert result.stdout.splitlines() == [
        f"PASS   {files['good']}",
        "       ok    max_params: 55,744 is within the limit 60,000",
        "       ok    output_shape: 64×22×22 is the expected 64×22×22",
        "       ok    min_rf: 7 meets the minimum 7",
        "checked 1 file: 1 passed, 0 failed, 0 invalid",
    ]


def test_check_fail_names_limit_and_actual(files: dict[str, str]) -> None:
    result = runner.invoke(app, ["check", files["bad"]])
    assert (result.exit_code, result.stderr) == (1, "")
    assert result.stdout.splitlines() == [
        f"FAIL   {files['bad']}",
        "       FAIL  max_params: 55,744 exceeds the limit 50,000",
        "       ok    output_shape: 64×22×22 is the expected 64×22×22",
        "       FAIL  min_rf: 7 is below the minimum 9",
        "checked 1 file: 0 passed, 1 failed, 0 invalid",
    ]
    assert runner.invoke(app, ["check", files["bad"], "--exit-zero"]).exit_code == 0


def test_command_line_never_loosens_the_file(files: dict[str, str]) -> None:
    # the file says 50K, the command line 60K: both must hold, so 55,744 still fails (the
    # file's stricter limit); the looser one passes and is shown, naming its option
    result = runner.invoke(app, ["check", files["bad"], "--max-params", "60K"])
    assert (result.exit_code, result.stderr) == (1, "")
    assert result.stdout.splitlines()[1:] == [
        "       FAIL  max_params: 55,744 exceeds the limit 50,000",
        "       ok    output_shape: 64×22×22 is the expected 64×22×22",
        "       FAIL  min_rf: 7 is below the minimum 9",
        "       ok    max_params: 55,744 is within the limit 60,000 (--max-params)",
        "checked 1 file: 0 passed, 1 failed, 0 invalid",
    ]
    data = json.loads(
        runner.invoke(app, ["check", files["bad"], "--max-params", "60K", "-f", "json"]).stdout
    )
    (entry,) = data["files"]
    assert [(v["check"], v["source"]) for v in entry["violations"]] == [
        ("max_params", "file"),
        ("min_rf", "file"),
    ]
    assert entry["violations"][1] == {
        "check": "min_rf",
        "limit": 9,
        "actual": 7,
        "passed": False,
        "source": "file",
        "message": "min_rf: 7 is below the minimum 9",
    }
    # every check, passed or not, with its measured value beside its limit
    assert [
        (c["check"], c["limit"], c["actual"], c["passed"], c["source"]) for c in entry["checks"]
    ] == [
        ("max_params", 50000, 55744, False, "file"),
        ("output_shape", [64, 22, 22], [64, 22, 22], True, "file"),
        ("min_rf", 9, 7, False, "file"),
        ("max_params", 60000, 55744, True, "--max-params"),
    ]


def test_command_line_stricter_than_the_file(files: dict[str, str]) -> None:
    # the file allows 60K, the command line 50K: the stricter (the option's) fails
    result = runner.invoke(app, ["check", files["good"], "--max-params", "50K", "--min-rf", "5"])
    assert (result.exit_code, result.stderr) == (1, "")
    assert result.stdout.splitlines() == [
        f"FAIL   {files['good']}",
        "       ok    max_params: 55,744 is within the limit 60,000",
        "       ok    output_shape: 64×22×22 is the expected 64×22×22",
        "       ok    min_rf: 7 meets the minimum 7",
        "       FAIL  max_params: 55,744 exceeds the limit 50,000 (--max-params)",
        "       ok    min_rf: 7 meets the minimum 5 (--min-rf)",
        "checked 1 file: 0 passed, 1 failed, 0 invalid",
    ]


def test_same_limit_twice_is_one_check(files: dict[str, str]) -> None:
    result = runner.invoke(app, ["check", files["good"], "--max-params", "60000"])
    assert result.exit_code == 0
    assert result.stdout.count("max_params") == 1


def test_file_with_no_checks_says_so(tmp_path: Path, files: dict[str, str]) -> None:
    """Decided: a file with no checks passes (exit 0) and the text lists it as SKIP (no
    checks); in JSON its status stays 'pass' (docs/json.md's statuses) with an empty 'checks' list,
    and the summary counts it under passed and under no_checks."""
    path = tmp_path / "plain.yaml"
    path.write_text(
        GOOD[GOOD.index("layers:") :].replace("layers:", "input: [1, 28, 28]\nlayers:"),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["check", str(path), files["good"]])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines()[0] == f"SKIP   {path}  (no checks)"
    assert result.stdout.splitlines()[-1] == (
        "checked 2 files: 1 passed, 0 failed, 0 invalid, 1 skipped (no checks)"
    )
    assert "0 checks" not in result.stdout
    data = json.loads(runner.invoke(app, ["check", str(path), "-f", "json"]).stdout)
    assert data["files"][0] | {"path": ""} == {
        "path": "",
        "status": "pass",
        "checks": [],
        "violations": [],
        "error": None,
    }
    assert data["summary"] == {"passed": 1, "failed": 0, "errors": 0, "no_checks": 1}
    # an option is a check: the same file, given a limit, passes it
    flagged = runner.invoke(app, ["check", str(path), "--min-rf", "7"])
    assert flagged.stdout.splitlines()[0] == f"PASS   {path}"


def test_invalid_file_wins_and_others_still_checked(files: dict[str, str]) -> None:
    result = runner.invoke(
        app, ["check", files["good"], files["bad"], files["broken"], "-f", "json"]
    )
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["schema_version"] == 1
    assert [f["status"] for f in data["files"]] == ["pass", "fail", "error"]
    assert data["summary"] == {"passed": 1, "failed": 1, "errors": 1, "no_checks": 0}
    error = data["files"][2]["error"]
    # the input [1, 2] is (C, L): the shorthand 'conv' gets the rank that fits, conv1d
    assert (error["line"], error["column"], error["hint"]) == (
        2,
        17,
        "did you mean 'conv1d'? (for its (C, L) input)",
    )
    assert result.stderr.startswith(f"{files['broken']}:2:17: error: unknown layer type 'conv'")


def test_rf_covers_input_flag() -> None:
    # textbook: r 7 on a 28×28 input — not covered; VGG-16's flatten sees everything
    bad = runner.invoke(app, ["check", str(EXAMPLES / "textbook.yaml"), "--rf-covers-input"])
    assert bad.exit_code == 1
    assert (
        "no unit of the final layer sees the whole input (receptive field 7×7 on a 28×28 input)"
        in bad.stdout
    )
    ok = runner.invoke(
        app, ["check", str(EXAMPLES / "vgg16.yaml"), "--rf-covers-input", "--output-shape", "1000"]
    )
    assert ok.exit_code == 0


def test_glob_pattern_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, ["check", "examples/*.yaml", "--max-params", "200M"])
    assert result.exit_code == 0
    assert f"checked {len(list(EXAMPLES.glob('*.yaml')))} files:" in result.stdout


def test_bad_limit_option() -> None:
    result = runner.invoke(app, ["check", str(EXAMPLES / "vgg16.yaml"), "--max-params", "lots"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "rfcalc: error: --max-params takes a count such as 25557032, 30M or 5G; got 'lots'\n"
    )


def test_unknown_check_in_file(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(GOOD.replace("min_rf:", "min_fr:"), encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert (
        f"{path}:5:3: error: unknown check 'min_fr'\nhint: did you mean 'min_rf'?" in result.stderr
    )


def test_tuple_as_output_shape(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(GOOD.replace("[64, 22, 22]", "(64, 22, 22)"), encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"{path}:4:17: error: output_shape takes a shape such as [1000] or 2048,7,7; got"
        " '(64, 22, 22)'\nhint: write a list: output_shape: [64, 22, 22]\n"
    )


# ------------------------------------------------------------------ diff


def test_diff_resnets() -> None:
    result = runner.invoke(
        app, ["diff", str(EXAMPLES / "resnet18.yaml"), str(EXAMPLES / "resnet50.yaml")]
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    # 25,557,032 − 11,689,512 = 13,867,520; / 11,689,512 = +118.6 %
    assert lines[1].split() == ["Params", "11,689,512", "25,557,032", "+13,867,520", "(+118.6%)"]
    assert "  ~ layer1.0.conv1  params 36,864 → 4,096; macs 115,605,504 → 12,845,056" in lines
    # different names: the columns are the names; the final field is a sentence (both are
    # global after the average pool; resnet50's 619 < resnet18's 627, torchvision's figures)
    assert lines[0].split() == ["resnet18", "resnet50", "change"]
    assert "The final receptive field shrinks from 627 (global) to 619 (global)." in lines
    data = json.loads(
        runner.invoke(
            app,
            [
                "diff",
                str(EXAMPLES / "resnet18.yaml"),
                str(EXAMPLES / "resnet50.yaml"),
                "-f",
                "json",
            ],
        ).stdout
    )
    assert (data["old"]["params"], data["new"]["params"]) == (11689512, 25557032)
    assert "layer1.0.conv3" in data["layers"]["added"]
    assert "layer1.0.downsample.0" in data["layers"]["added"]  # 64 → 256 channels
    # both carry torchvision's names, and every resnet18 name is also a resnet50 name: its
    # blocks (2 per stage) are among resnet50's (3, 4, 6, 3), their layers are a Bottleneck's
    # but conv3/bn3, and its downsamples (layer2–4 .0) are resnet50's too
    assert data["layers"]["removed"] == []


def test_diff_same_file() -> None:
    path = str(EXAMPLES / "vgg16.yaml")
    result = runner.invoke(app, ["diff", path, path, "--exit-code"])
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    # the same name on both sides: the columns say old and new, the paths are above
    assert lines[:3] == [f"old: {path}", f"new: {path}", ""]
    assert lines[3].split() == ["old", "new", "change"]
    # VGG-16's features: r = 212, S = 32 (docs/numbers.md's anchor); its classifier makes the field
    # global, the hull over the 7 units per axis before flatten: 212 + 32·6 = 404
    assert "The final receptive field is the same in both: 404 (global)." in lines
    assert "Layers by name: 0 added, 0 removed, 0 changed" in lines
    data = json.loads(runner.invoke(app, ["diff", path, path, "-f", "json"]).stdout)
    assert data["identical"] is True


@pytest.fixture
def narrower(tmp_path: Path) -> str:
    """textbook.yaml with its last two convs at 48 channels instead of 64 (same name)."""
    text = (EXAMPLES / "textbook.yaml").read_text(encoding="utf-8")
    path = tmp_path / "textbook.yaml"
    path.write_text(text.replace("out_channels: 64", "out_channels: 48"), encoding="utf-8")
    return str(path)


def test_diff_exit_code_when_changed(narrower: str) -> None:
    old = str(EXAMPLES / "textbook.yaml")
    result = runner.invoke(app, ["diff", old, narrower, "--exit-code"])
    assert (result.exit_code, result.stderr) == (1, "")
    # params: conv2 32·9·48 + 48 = 13,872 (was 18,496); conv3 48·9·48 + 48 = 20,784 (was
    # 36,928); total 320 + 13,872 + 20,784 = 34,976 (was 55,744): −20,768, −37.3 %.
    # MACs: 26²·32·9 = 194,688; 24²·64·32·9 = 10,616,832; 22²·64·64·9 = 17,842,176: 28,653,696;
    # at 48: 24²·48·288 = 7,962,624 and 22²·48·48·9 = 10,036,224: 18,193,536, −10,460,160
    # (−36.5 %). Three 3×3 convs: r = 7, stride 1, in both.
    assert result.stdout.splitlines()[:12] == [
        f"old: {old}",
        f"new: {narrower}",
        "",
        "              old       new             change",
        "Params     55,744    34,976   -20,768 (-37.3%)",
        "MACs      28.65 M   18.19 M  -10.46 M (-36.5%)",
        "Buffers         0         0                  =",
        "Layers          4         4                  =",
        "Output   64×22×22  48×22×22            changed",
        "",
        "The final receptive field is the same in both: 7 (stride 1).",
        "Layers by name: 0 added, 0 removed, 2 changed",
    ]
    # without --exit-code a difference is no failure
    assert runner.invoke(app, ["diff", old, narrower]).exit_code == 0
    data = json.loads(runner.invoke(app, ["diff", old, narrower, "-f", "json"]).stdout)
    assert data["identical"] is False


def test_diff_exit_code_when_only_the_field_changes(tmp_path: Path) -> None:
    # dilation 2 with padding 2 keeps every shape, param and MAC of a 3×3 conv, but its
    # span is 2·(3−1)+1 = 5: r 3 → 5 (stride 1), so the models differ
    base = "input: [1, 16, 16]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}\n"
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(base, encoding="utf-8")
    new.write_text(base.replace("padding: 1", "padding: 2, dilation: 2"), encoding="utf-8")
    result = runner.invoke(app, ["diff", str(old), str(new), "--exit-code"])
    assert (result.exit_code, result.stderr) == (1, "")
    assert "The final receptive field grows from 3 (stride 1) to 5 (stride 1)." in result.stdout


def test_diff_invalid_file_exits_2(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.yaml")
    result = runner.invoke(app, ["diff", str(EXAMPLES / "textbook.yaml"), missing, "--exit-code"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"{missing}:1:1: error: no such file\n"


# ------------------------------------------------------------------ pre-commit


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_pre_commit_hook(tmp_path: Path) -> None:
    """The hook through real pre-commit (try-repo installs rfcalc from this checkout)."""
    repo = tmp_path / "project"
    (repo / "models").mkdir(parents=True)
    (repo / "models" / "net.yaml").write_text(GOOD, encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    cmd = [
        sys.executable,
        "-m",
        "pre_commit",
        "try-repo",
        str(ROOT),
        "rfcalc-check",
        "--files",
        "models/net.yaml",
    ]
    ok = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "rfcalc check" in ok.stdout
    assert "Passed" in ok.stdout
    (repo / "models" / "net.yaml").write_text(BAD, encoding="utf-8")
    _git(repo, "add", ".")
    bad = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout
    assert "FAIL  max_params: 55,744 exceeds the limit 50,000" in bad.stdout
