"""More Ultralytics configs: the ghost ones (yolov8-ghost*.yaml), YOLOv9 (yolov9*.yaml), YOLOv6
(yolov6.yaml) and the ResNet classifiers (yolov8-cls-resnet*.yaml, yolo11-cls-resnet18.yaml).

As in tests/test_ultralytics.py, the configs are read where the installed ultralytics package
(8.4.190, AGPL-3.0) keeps them, and the expected numbers are the summaries the configs state
(in their `scales` comments, or for YOLOv9 in the header: "# 358 layers, 25590912 parameters,
104.0 GFLOPs"), and, in the torch tests, the models that ultralytics.nn.tasks builds.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from rfcalc.api import describe_file
from tests.test_ultralytics import (
    DATA,
    MODELS,
    _run,
    _stated,
    _ultralytics_leaves,
    assert_converts_to_the_same_model,
    assert_layers_as_built,
    every_shape,
)

pytestmark = pytest.mark.skipif(MODELS is None, reason="needs the ultralytics package's configs")

GHOST = ["yolov8-ghost.yaml", "yolov8-ghost-p2.yaml", "yolov8-ghost-p6.yaml"]
V9 = [
    "yolov9t.yaml",
    "yolov9s.yaml",
    "yolov9m.yaml",
    "yolov9c.yaml",
    "yolov9e.yaml",
    "yolov9c-seg.yaml",
    "yolov9e-seg.yaml",
]
_GFLOPS = re.compile(r"^\s+(\w+): \[[^\]]*\] #.*?([\d,]+) parameters.*?([\d.]+) GFLOPs", re.M)
_HEADER = re.compile(r"^# [\d,]+ layers, ([\d,]+) parameters, ([\d.]+) GFLOPs", re.M)


def _stated_gflops(config: str) -> list[tuple[str, str]]:
    """(scale, GFLOPs as printed) from the `scales` comments, or ('', …) from a YOLOv9 header."""
    text = (DATA / config).read_text()
    found = [(s, g) for s, _, g in _GFLOPS.findall(text)]
    return found or [("", g) for _, g in _HEADER.findall(text)]


def _header_params(config: str) -> int:
    (found,) = _HEADER.findall((DATA / config).read_text())
    return int(found[0].replace(",", ""))


STATED = [(c, *row) for c in GHOST for row in _stated(c)]


def test_the_ghost_configs_state_every_scale() -> None:
    assert [(c, s) for c, s, *_ in STATED] == [(c, s) for c in GHOST for s in "nsmlx"]
    assert all(_header_params(c) for c in V9)


@pytest.mark.parametrize(("config", "scale", "parameters", "gradients"), STATED)
def test_ghost_params_equal_the_stated_summary(
    config: str, scale: str, parameters: int, gradients: int
) -> None:
    totals = describe_file(str(DATA / config), scale=scale).totals
    assert totals.params == parameters
    assert totals.trainable_params == gradients  # less DFL's 16 frozen weights


@pytest.mark.parametrize("config", V9)
def test_v9_params_equal_the_stated_header(config: str) -> None:
    # no scales: depth and width 1; the header states the parameters (not the gradients)
    totals = describe_file(str(DATA / config)).totals
    assert totals.params == _header_params(config)
    assert totals.trainable_params == totals.params - 16  # DFL's fixed 1×1 convolution


# Where the stated GFLOPs are not what Ultralytics 8.4.190 prints: the -seg headers are stale,
# the real Ultralytics' get_flops (thop) of the same model gives 149.3 and 238.3, not 159.4 and
# 248.4 (to 4 decimals below). rfcalc equals get_flops: ADown's and AConv's F.avg_pool2d and
# DFL's x.softmax are calls, which thop (counting modules) does not see, and rfcalc's blocks
# say so (`module: false`).
GFLOPS_DIFFER = {
    "yolov9c-seg.yaml": ("159.4", "149.3396"),
    "yolov9e-seg.yaml": ("248.4", "238.3326"),
}
# Scales whose stated GFLOPs Ultralytics 8.4.190 no longer prints: what its get_flops gives at
# 640 (thop, which does not see DFL's x.softmax call), to 4 decimals, and the comment's value
PRINTS_DIFFER = {
    ("yolov8-ghost-p2.yaml", "s"): ("25.1", "25.0454"),
    ("yolov8-ghost-p2.yaml", "l"): ("69.1", "69.0397"),
    ("yolov8-ghost-p2.yaml", "x"): ("103.3", "103.2431"),
}
GFLOPS = [(c, *row) for c in [*GHOST, *V9] for row in _stated_gflops(c)]


@pytest.mark.parametrize(("config", "scale", "gflops"), GFLOPS)
def test_count_ultralytics_equals_the_stated_gflops(config: str, scale: str, gflops: str) -> None:
    report = describe_file(str(DATA / config), scale=scale or None, count="ultralytics")
    printed = f"{report.totals.macs / 1e9:.1f}"
    if config in GFLOPS_DIFFER:
        stated, thop = GFLOPS_DIFFER[config]
        assert (gflops, printed) == (stated, f"{float(thop):.1f}")
    elif (config, scale) in PRINTS_DIFFER:
        stated, thop = PRINTS_DIFFER[config, scale]
        assert (gflops, printed) == (stated, f"{float(thop):.1f}")
    else:
        assert printed == gflops


# ---------------------------------------------------------------- against ultralytics itself

TORCH_CASES = [
    *((c, s) for c in GHOST for s in "nsm"),
    *((c, "") for c in V9),
    ("yolov6.yaml", "n"),
    ("yolov6.yaml", "s"),
    ("yolov8-cls-resnet50.yaml", "n"),
    ("yolov8-cls-resnet101.yaml", "n"),
]


@pytest.mark.torch
@pytest.mark.parametrize(("config", "scale"), TORCH_CASES)
def test_layer_for_layer_as_ultralytics_builds_it(config: str, scale: str) -> None:
    """Every module of the real model with parameters is a layer of the same name, with the
    same output shape and parameters, and rfcalc has no parametrised layer it lacks."""
    model, leaves = _ultralytics_leaves(config, scale)
    report = describe_file(str(DATA / config), scale=scale or None)
    assert_layers_as_built(report, model, leaves, every_shape)


def _thop_leaves(model: Any, size: int) -> dict[str, int]:
    torch = pytest.importorskip("torch")
    thop = pytest.importorskip("thop")
    _, _, info = thop.profile(
        model, inputs=[torch.zeros(1, 3, size, size)], verbose=False, ret_layer_info=True
    )
    found: dict[str, int] = {}

    def walk(prefix: str, tree: dict[str, Any]) -> None:
        for key, (ops, _params, inner) in tree.items():
            if inner:
                walk(f"{prefix}{key}.", inner)
            else:
                found[f"{prefix}{key}"] = int(ops)

    walk("", info)
    return found


@pytest.mark.torch
@pytest.mark.parametrize(("config", "scale"), [("yolov8-ghost.yaml", "n"), ("yolov9t.yaml", "")])
def test_thop_counts_every_module_as_rfcalc(config: str, scale: str) -> None:
    """thop's count of each module of the real model is rfcalc's thop count of the layer of
    that name, and rfcalc counts nothing else: the functions thop does not see (ADown's and
    AConv's F.avg_pool2d, ADown's F.max_pool2d, DFL's x.softmax) are calls (`module: false`)
    and count 0."""
    model, _ = _ultralytics_leaves(config, scale)
    theirs = {k: v for k, v in _thop_leaves(model, 640).items() if v}
    report = describe_file(str(DATA / config), scale=scale or None, count="thop")
    ours = {row.name: row.macs for row in report.layers if row.macs}
    assert ours == theirs


# ---------------------------------------------------------------- errors


def _write(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(f"nc: 80\nbackbone:\n{rows}head:\n  - [-1, 1, Conv, [64]]\n")
    return path


@pytest.mark.parametrize(
    ("rows", "where", "message"),
    [
        (
            "  - [-1, 1, ResNetLayer, [4, 64, 1, True, 1]]\n",
            "3:27",
            "row 0: ResNetLayer's first argument is its input channels, 4, but it reads 3",
        ),
        (  # the 0, after "  - [-1, 1, Conv, [" (19 characters)
            "  - [-1, 1, Conv, [0, 3, 2]]\n",
            "3:20",
            "row 0: Conv's argument 1 is its output channels, a positive integer, got 0",
        ),
        (  # the 0, after "  - [-1, 1, ResNetLayer, [3, " (29 characters)
            "  - [-1, 1, ResNetLayer, [3, 0, 1, True, 1]]\n",
            "3:30",
            "row 0: ResNetLayer's argument 2 is its output channels, a positive integer, got 0",
        ),
        (
            "  - [-1, 1, Conv, [64, 3, 2]]\n  - [-1, 1, CBLinear, [64]]\n",
            "4:24",
            "row 1: CBLinear's first argument lists its pieces' channels, got 64",
        ),
        (
            "  - [-1, 1, Conv, [64, 3, 2]]\n  - [-1, 1, CBLinear, [[32, 64]]]\n"
            "  - [0, 1, Conv, [64, 3, 1]]\n  - [[1, -1], 1, CBFuse, [[0]]]\n",
            "6:27",
            "row 3: CBFuse adds piece 0 of row 1 (32 channels) to row 2's 64 channels",
        ),
        (
            "  - [-1, 1, Conv, [64, 3, 2]]\n  - [[0, -1], 1, CBFuse, [[0]]]\n",
            "4:6",
            "row 1: CBFuse's input 0 is not a CBLinear with a piece 0",
        ),
    ],
)
def test_bad_rows_are_positioned_errors(
    tmp_path: Path, rows: str, where: str, message: str
) -> None:
    path = _write(tmp_path, rows)
    result = _run("describe", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"{path}:{where}: error: {message}"), result.stderr


# ---------------------------------------------------------------- YOLOv6's activation


def test_yolov6_convs_take_the_config_activation() -> None:
    rows = describe_file(str(DATA / "yolov6.yaml"), scale="n").layers
    acts = {r.type for r in rows if r.name.endswith(".act")}
    # activation: torch.nn.ReLU(): every Conv's, SPPF's and Detect's included
    assert acts == {"relu"}
    assert {r.name for r in rows if r.type == "relu"} >= {
        "model.0.act",
        "model.9.cv1.act",
        "model.28.cv2.0.0.act",
    }
    # the transposed convolutions: 2×2 of stride 2, with a bias, to 256 · 0.25 = 64 channels
    up = {r.name: r for r in rows}["model.11"]
    assert (up.type, up.output_shape, up.params) == (
        "convtranspose2d",
        (64, 40, 40),
        64 * 64 * 4 + 64,
    )


def test_default_act_is_a_variable() -> None:
    result = _run(
        "describe", str(DATA / "yolov8.yaml"), "--scale", "n", "--set", "default_act=relu"
    )
    assert result.exit_code == 0, result.stderr
    assert "model.0.act               relu" in result.stdout
    assert " silu " not in result.stdout


@pytest.mark.torch
def test_yolov6_activations_are_ultralytics() -> None:
    """Each activation module of the real YOLOv6n is a layer of the same name and type."""
    pytest.importorskip("torch")
    tasks = pytest.importorskip("ultralytics.nn.tasks")
    cfg = tasks.yaml_model_load(DATA / "yolov6.yaml")
    cfg["scale"] = "n"
    model = tasks.DetectionModel(cfg, verbose=False)
    theirs = {
        name: type(module).__name__.lower()
        # every Conv holds the one Conv.default_act: named_modules would name it once
        for name, module in model.named_modules(remove_duplicate=False)
        if name.endswith(".act")
    }
    rows = describe_file(str(DATA / "yolov6.yaml"), scale="n").layers
    assert {r.name: r.type for r in rows if r.name.endswith(".act")} == theirs


# ---------------------------------------------------------------- receptive fields


def _block_rows(layer: str, shape: str = "8, 16, 16") -> dict[str, Any]:
    from tests.test_ultralytics import _report

    text = f"include: [ultralytics]\ninput: [{shape}]\nlayers:\n  - {layer}\n"
    return {r.name: r for r in _report(text).layers}


def test_adown_and_aconv_fields() -> None:
    # the 2×2 average pool of stride 1: RF 2; then a 3×3 of stride 2: 2 + (3 − 1) = 4, stride 2;
    # ADown's other half: the 3×3 max pool of stride 2, 2 + 2 = 4, and a 1×1: 4
    rows = _block_rows("{name: d, type: ADown, c2: 16}")
    assert rows["d.avgpool2d_0"].rf.size == (2, 2)
    assert rows["d.cv1.act"].rf.size == (4, 4)
    assert rows["d.cv2.act"].rf.size == (4, 4)
    assert (rows["d.concat_0"].output_shape, rows["d.concat_0"].rf.stride) == ((16, 8, 8), (2, 2))
    rows = _block_rows("{name: a, type: AConv, c2: 16}")
    assert (rows["a.cv1.act"].rf.size, rows["a.cv1.act"].output_shape) == ((4, 4), (16, 8, 8))


def test_ghost_fields() -> None:
    # GhostConv 3×3 of stride 2: cv1's RF 3 at stride 2; cv2, a 5×5 on it: 3 + 4 · 2 = 11
    rows = _block_rows("{name: g, type: GhostConv, c2: 16, k: 3, s: 2}")
    assert rows["g.cv1.act"].rf.size == (3, 3)
    assert rows["g.cv2.act"].rf.size == (11, 11)
    # GhostBottleneck (stride 1): two GhostConvs of 1×1 and their 5×5s: 1 + 4 + 4 = 9
    rows = _block_rows("{name: b, type: GhostBottleneck, c2: 8}")
    assert rows["b.add_0"].rf.size == (9, 9)
    assert rows["b.add_0"].inputs == ("b.conv.2.concat_0", "input")


# ---------------------------------------------------------------- convert


@pytest.mark.parametrize(
    ("config", "scale"),
    [
        ("yolov8-ghost.yaml", "n"),
        ("yolov9e.yaml", None),
        ("yolov9s.yaml", None),
        ("yolov6.yaml", "n"),
        ("yolov8-cls-resnet50.yaml", "n"),
    ],
)
def test_convert_prints_the_same_model(tmp_path: Path, config: str, scale: str | None) -> None:
    assert_converts_to_the_same_model(tmp_path, config, scale)


def test_torchvision_is_covered() -> None:
    """yolo11-cls-resnet18.yaml's TorchVision row (tests/test_ultralytics_torchvision.py)."""
    result = _run("describe", str(DATA / "yolo11-cls-resnet18.yaml"))
    assert (result.exit_code, result.stderr.count("error")) == (0, 0), result.stderr


def test_cbfuse_picks_and_resizes_the_pieces() -> None:
    rows = {r.name: r for r in describe_file(str(DATA / "yolov9e.yaml")).layers}
    # row 18, CBFuse [[1, 1, 1, 1]] of rows 11 … 14 (CBLinear [[64, 128]], [[64, 128, 256]], …:
    # piece 1 is channels 64 … 191 of each) onto row 17, 128×160×160 (640 / 4); rows 11 … 14
    # read rows 3, 5, 7, 9 at 160, 80, 40, 20
    assert rows["model.17.act"].output_shape == (128, 160, 160)
    sizes = [rows[f"model.18.fuse.piece{k}"].output_shape for k in range(4)]
    assert sizes == [(128, 160, 160), (128, 80, 80), (128, 40, 40), (128, 20, 20)]
    assert {rows[f"model.18.fuse.resized.{k}"].output_shape for k in range(4)} == {(128, 160, 160)}
    assert rows["model.18.fuse.add_0"].inputs == (
        "model.17.act",
        *(f"model.18.fuse.resized.{k}" for k in range(4)),
    )
    # nearest resizing by 8 (row 13's 20 → 160): each output unit reads one input unit, whose
    # field it takes, at a stride 8 times finer
    source, resized = rows["model.18.fuse.piece3"], rows["model.18.fuse.resized.3"]
    assert resized.rf.size == source.rf.size
    # 640 / 20, 640 / 160
    assert (source.rf.stride, resized.rf.stride) == ((Fraction(32),) * 2, (Fraction(4),) * 2)
