"""Ultralytics model configs read as they are (rfcalc.ultralytics, the library `ultralytics`).

The configs under tests/data/ultralytics/ are copies of those shipped with ultralytics 8.4.190
(ultralytics/cfg/models/, AGPL-3.0, their license line kept). Expected numbers are the
summaries the configs state in their `scales` comments (Ultralytics' own printout of the
model: "summary: 129 layers, 3157200 parameters, 3157184 gradients"), and, in the torch tests,
the models that ultralytics.nn.tasks builds from the same files.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rfcalc.api import describe_file
from rfcalc.cli import app

DATA = Path(__file__).parent / "data" / "ultralytics"
# the configs whose every module rfcalc covers
CONFIGS = ["yolov8.yaml", "yolo11.yaml"]
_SUMMARY = re.compile(r"^\s+(\w+): \[[^\]]*\] #.*?(\d+) parameters, (\d+) gradients", re.M)


def _stated(config: str) -> list[tuple[str, int, int]]:
    """(scale, parameters, gradients) as the config's `scales` comments state them."""
    return [(s, int(p), int(g)) for s, p, g in _SUMMARY.findall((DATA / config).read_text())]


STATED = [(config, *row) for config in CONFIGS for row in _stated(config)]


def test_every_config_states_its_scales() -> None:
    # yolov8.yaml and yolo11.yaml state n, s, m, l, x
    assert [(c, s) for c, s, *_ in STATED] == [(c, s) for c in CONFIGS for s in "nsmlx"]


@pytest.mark.parametrize(("config", "scale", "parameters", "gradients"), STATED)
def test_params_equal_the_stated_summary(
    config: str, scale: str, parameters: int, gradients: int
) -> None:
    totals = describe_file(str(DATA / config), scale=scale).totals
    assert totals.params == parameters
    # the gradients leave out DFL's fixed 1×1 convolution (16 weights, requires_grad False)
    assert totals.trainable_params == gradients


def test_scale_from_the_file_name(tmp_path: Path) -> None:
    # yolov8n.yaml does not exist: Ultralytics reads yolov8.yaml at scale n
    shutil.copy(DATA / "yolov8.yaml", tmp_path / "yolov8.yaml")
    report = describe_file(str(tmp_path / "yolov8n.yaml"))
    assert report.totals.params == 3157200  # "YOLOv8n summary: … 3157200 parameters"
    assert report.name == "yolov8n"
    assert report.source == str(tmp_path / "yolov8.yaml")
    # a file literally named yolo11s.yaml is read at scale s
    shutil.copy(DATA / "yolo11.yaml", tmp_path / "yolo11s.yaml")
    assert describe_file(str(tmp_path / "yolo11s.yaml")).totals.params == 9458752


def test_layer_names_are_ultralytics(tmp_path: Path) -> None:
    names = {row.name for row in describe_file(str(DATA / "yolov8.yaml"), scale="n").layers}
    assert {"model.0.conv", "model.2.m.0.cv1.conv", "model.22.dfl.conv"} <= names


def test_shapes_at_the_heads() -> None:
    rows = {r.name: r for r in describe_file(str(DATA / "yolo11.yaml"), scale="n").layers}
    # 640 / 8, / 16, / 32; yolo11n's head inputs are C3k2 of 256, 512, 1024 × width 0.25 → 64,
    # 128, 256 (1024 capped at max_channels 1024)
    assert rows["model.16.cv2.act"].output_shape == (64, 80, 80)
    assert rows["model.19.cv2.act"].output_shape == (128, 40, 40)
    assert rows["model.22.cv2.act"].output_shape == (256, 20, 20)
    # the inference output: 4 box coordinates + 80 classes for 80² + 40² + 20² = 8400 anchors
    assert describe_file(str(DATA / "yolo11.yaml"), scale="n").output_shape == (84, 8400)


def test_nc_is_a_variable() -> None:
    result = CliRunner().invoke(
        app, ["describe", str(DATA / "yolov8.yaml"), "--scale", "n", "--set", "nc=1", "-f", "json"]
    )
    assert result.exit_code == 0, result.stderr
    # 4 box coordinates + 1 class, for 8400 anchors
    assert json.loads(result.stdout)["output_shape"] == [5, 8400]


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            "nc: 80\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\n  - [-1, 1, Foo, [64]]\n"
            "head:\n  - [-1, 1, Conv, [64]]\n",
            "4:13",
            "row 1: module 'Foo' is not covered by rfcalc",
        ),
        (
            "nc: 80\nbackbone:\n  - [-1, 1, Conv]\nhead:\n  - [-1, 1, Conv, [64]]\n",
            "3:5",
            "row 0 must be [from, repeats, module, args], got a list of 3 items",
        ),
        (
            "nc: 80\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n  - [5, 1, Conv, [64]]\n",
            "5:6",
            "row 1: 'from' 5 is not an earlier row (rows 0 … 0)",
        ),
        (
            "nc: 80\nscales:\n  n: [0.33, 0.25]\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\n"
            "head:\n  - [-1, 1, Conv, [64]]\n",
            "3:6",
            "scale 'n' must be [depth, width, max_channels]",
        ),
        (
            "nc: 80\nbackbone:\n  - [-1, 0, Conv, [64, 3, 2]]\nhead:\n  - [-1, 1, Conv, [64]]\n",
            "3:10",
            "row 0: repeats must be an integer ≥ 1, got 0",
        ),
    ],
)
def test_bad_configs_are_positioned_errors(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = _run("describe", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"{path}:{where}: error: {message}"), result.stderr


def test_unknown_scale() -> None:
    result = _run("describe", str(DATA / "yolov8.yaml"), "--scale", "q")
    assert result.exit_code == 2
    assert "error: no scale 'q' in 'scales'\nhint: the scales are: n, s, m, l, x" in result.stderr


def test_scale_on_a_model_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("input: [3, 8, 8]\nlayers: [relu]\n")
    result = _run("describe", str(path), "--scale", "n")
    assert result.exit_code == 2
    assert "--scale n: the model is not an Ultralytics model config" in result.stderr


# ---------------------------------------------------------------- against ultralytics itself


def _ultralytics_leaves(config: str, scale: str) -> tuple[Any, dict[str, Any]]:
    torch = pytest.importorskip("torch")
    tasks = pytest.importorskip("ultralytics.nn.tasks")
    cfg = tasks.yaml_model_load(DATA / config)
    cfg["scale"] = scale
    model = tasks.DetectionModel(cfg, verbose=False).eval()
    leaves = {
        name: module
        for name, module in model.named_modules()
        if not list(module.children()) and any(True for _ in module.parameters(recurse=False))
    }
    shapes: dict[str, tuple[int, ...]] = {}

    def hook(name: str) -> Any:
        def record(_m: Any, _i: Any, out: Any) -> None:  # None: the output stays as it is
            shapes.setdefault(name, tuple(out.shape[1:]))

        return record

    hooks = [module.register_forward_hook(hook(name)) for name, module in leaves.items()]
    with torch.no_grad():
        model(torch.zeros(1, 3, 640, 640))
    for hook in hooks:
        hook.remove()
    found = {
        name: (shapes[name], sum(p.numel() for p in module.parameters()))
        for name, module in leaves.items()
    }
    return model, found


@pytest.mark.torch
@pytest.mark.parametrize(("config", "scale"), [(c, s) for c in CONFIGS for s in "nsm"])
def test_layer_for_layer_as_ultralytics_builds_it(config: str, scale: str) -> None:
    """Every module of the real model with parameters is a layer of the same name, with the
    same output shape and parameters, and rfcalc has no parametrised layer it lacks. (Scales n,
    s, m: l and x differ from m only in the multiples, and their totals are checked above.)"""
    model, leaves = _ultralytics_leaves(config, scale)
    report = describe_file(str(DATA / config), scale=scale)
    ours = {row.name: (row.output_shape, row.params) for row in report.layers if row.params}
    assert ours == leaves
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert report.totals.trainable_params == trainable
