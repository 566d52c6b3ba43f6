"""rfcalc check and diff (SPEC §4–§6), and the pre-commit hook (the schema: test_schema.py)."""

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
    [("30M", 30_000_000), ("5G", 5_000_000_000), ("1.5K", 1500), ("25557032", 25557032), (7, 7)],
)
def test_parse_count(text: object, value: int) -> None:
    assert parse_count(text, "max_params", None) == value


def test_check_pass(files: dict[str, str]) -> None:
    result = runner.invoke(app, ["check", files["good"]])
    assert result.exit_code == 0
    assert result.stderr == ""
    assert (
        result.stdout
        == f"PASS   {files['good']}  (3 checks)\nchecked 1 file: 1 passed, 0 failed, 0 invalid\n"
    )


def test_check_fail_names_limit_and_actual(files: dict[str, str]) -> None:
    result = runner.invoke(app, ["check", files["bad"]])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"FAIL   {files['bad']}",
        "       max_params: 55,744 exceeds the limit 50,000",
        "       min_rf: 7 is below the minimum 9",
        "checked 1 file: 0 passed, 1 failed, 0 invalid",
    ]
    assert runner.invoke(app, ["check", files["bad"], "--exit-zero"]).exit_code == 0


def test_command_line_wins(files: dict[str, str]) -> None:
    # the file says 50K; the command line allows 60K, so only min_rf fails
    result = runner.invoke(app, ["check", files["bad"], "--max-params", "60K", "-f", "json"])
    assert result.exit_code == 1
    (entry,) = json.loads(result.stdout)["files"]
    assert [v["check"] for v in entry["violations"]] == ["min_rf"]
    assert entry["violations"][0] | {"message": ""} == {
        "check": "min_rf",
        "limit": 9,
        "actual": 7,
        "message": "",
    }


def test_invalid_file_wins_and_others_still_checked(files: dict[str, str]) -> None:
    result = runner.invoke(
        app, ["check", files["good"], files["bad"], files["broken"], "-f", "json"]
    )
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["schema_version"] == 1
    assert [f["status"] for f in data["files"]] == ["pass", "fail", "error"]
    assert data["summary"] == {"passed": 1, "failed": 1, "errors": 1}
    error = data["files"][2]["error"]
    assert (error["line"], error["column"], error["hint"]) == (2, 17, "did you mean 'conv1d'?")
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
    assert "--max-params takes a count such as 25557032, 30M or 5G" in result.stderr


def test_unknown_check_in_file(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(GOOD.replace("min_rf:", "min_fr:"), encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert (
        f"{path}:5:3: error: unknown check 'min_fr'\nhint: did you mean 'min_rf'?" in result.stderr
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
    result = runner.invoke(app, ["diff", path, path])
    assert result.exit_code == 0
    assert "Layers by name: 0 added, 0 removed, 0 changed" in result.stdout


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
    assert "max_params: 55,744 exceeds the limit 50,000" in bad.stdout
