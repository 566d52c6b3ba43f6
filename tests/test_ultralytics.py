"""Ultralytics model configs read as they are (rfcalc.ultralytics, the library `ultralytics`).

The configs are those the installed ultralytics package ships (8.4.190, ultralytics/cfg/models/,
AGPL-3.0: read where they are installed, not copied into this MIT project; .ci/run installs the
package, and without it these tests skip). Expected numbers are the
summaries the configs state in their `scales` comments (Ultralytics' own printout of the
model: "summary: 129 layers, 3157200 parameters, 3157184 gradients"), and, in the torch tests,
the models that ultralytics.nn.tasks builds from the same files.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rfcalc.api import describe_file
from rfcalc.cli import app


def _configs() -> Path | None:
    """ultralytics/cfg/models/ of the installed package, found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "cfg" / "models"


MODELS = _configs()
pytestmark = pytest.mark.skipif(MODELS is None, reason="needs the ultralytics package's configs")


class _Configs:
    """``DATA / "yolov8.yaml"``: the installed config of that name, wherever it lies."""

    def __truediv__(self, name: str) -> Path:
        assert MODELS is not None
        (found,) = MODELS.rglob(name)
        return found


DATA = _Configs()
# the configs that state their summaries, every module of which rfcalc covers
CONFIGS = [
    "yolov8.yaml",
    "yolo11.yaml",
    "yolo12.yaml",
    "yolo26.yaml",
    "yolo26-p2.yaml",
    "yolo26-p6.yaml",
    "yolo26-cls.yaml",
    "yolo11-cls.yaml",
    "yolo12-cls.yaml",
    "yolo11-seg.yaml",
    "yolo11-pose.yaml",
    "yolo11-obb.yaml",
    "yolo12-seg.yaml",
    "yolo12-pose.yaml",
    "yolo12-obb.yaml",
    "yolov8-obb.yaml",
    "yolov8-p6.yaml",
]
# the summaries of these count 80 classes, not their nc of 1000: the real models have 920 · 1281
# parameters more (Classify's linear: 1280 weights and a bias per class), as ultralytics'
# ClassificationModel builds them (the torch tests compare with it at nc 1000)
AT_NC_80 = {"yolo11-cls.yaml", "yolo12-cls.yaml"}
# covered too, without a summary: checked against ultralytics itself (scale, config)
UNSTATED = [
    *((s, "yolov5.yaml") for s in "nsmlx"),
    ("n", "yolov5-p6.yaml"),
    ("n", "yolov8-p2.yaml"),
    *((s, f"yolov10{s}.yaml") for s in "nsmblx"),
    ("n", "yolov8-cls.yaml"),
    ("n", "yolov8-seg.yaml"),
    ("n", "yolov8-pose.yaml"),
    ("n", "yolov8-seg-p6.yaml"),  # C2, as yolov8-p6
    ("n", "yolov8-pose-p6.yaml"),
    ("", "yolov3.yaml"),  # without scales: depth and width multiples of 1
    ("", "yolov3-spp.yaml"),
    ("", "yolov3-tiny.yaml"),
]
_SUMMARY = re.compile(r"^\s+(\w+): \[[^\]]*\] #.*?([\d,]+) parameters, ([\d,]+) gradients", re.M)


def _stated(config: str) -> list[tuple[str, int, int]]:
    """(scale, parameters, gradients) as the config's `scales` comments state them."""
    text = (DATA / config).read_text()
    return [(s, _int(p), _int(g)) for s, p, g in _SUMMARY.findall(text)]


def _int(text: str) -> int:
    return int(text.replace(",", ""))


STATED = [(config, *row) for config in CONFIGS for row in _stated(config)]


def test_every_config_states_its_scales() -> None:
    # each states n, s, m, l, x
    assert [(c, s) for c, s, *_ in STATED] == [(c, s) for c in CONFIGS for s in "nsmlx"]


@pytest.mark.parametrize(("config", "scale", "parameters", "gradients"), STATED)
def test_params_equal_the_stated_summary(
    config: str, scale: str, parameters: int, gradients: int
) -> None:
    overrides = {"nc": "80"} if config in AT_NC_80 else None
    totals = describe_file(str(DATA / config), overrides, scale=scale).totals
    assert totals.params == parameters
    # the gradients leave out DFL's fixed 1×1 convolution (16 weights, requires_grad False)
    assert totals.trainable_params == gradients


_GFLOPS = re.compile(r"^\s+(\w+): \[[^\]]*\] #.*? ([\d.]+) GFLOPs", re.M)
# Where a config's comment is not what Ultralytics 8.4.190 prints: get_flops's GFLOPs at
# rfcalc's input (640; 224 for classification), one decimal, per scale n s m l x ("-": the
# comment agrees). The comments date from older Ultralytics and thop; the torch test below
# checks rfcalc against get_flops itself (docs/ultralytics.md lists these).
ULTRALYTICS_PRINTS = {
    "yolo11.yaml": "6.7 21.8 68.6 87.9 196.3",
    "yolo12.yaml": "7.6 23.7 71.3 96.3 210.1",
    "yolo26.yaml": "6.2 23.1 75.6 94.2 210.1",
    "yolo26-p2.yaml": "9.6 28.0 91.6 115.6 257.4",
    "yolo26-p6.yaml": "- - - - 216.7",
    "yolo26-cls.yaml": "0.4 1.5 4.9 6.1 13.6",
    "yolo11-cls.yaml": "0.4 1.5 4.9 6.1 13.6",
    "yolo12-cls.yaml": "0.5 1.7 5.5 7.1 15.6",
    "yolo11-seg.yaml": "10.0 33.4 114.0 133.2 297.9",
    "yolo11-pose.yaml": "7.8 23.6 72.4 91.6 204.7",
    "yolo11-obb.yaml": "- 22.8 72.3 91.5 204.6",
    "yolo12-seg.yaml": "10.9 35.2 116.7 141.6 311.7",
    "yolo12-pose.yaml": "8.7 25.4 75.1 100.0 218.5",
    "yolo12-obb.yaml": "7.9 24.6 75.0 100.0 218.5",
    "yolov8-p6.yaml": "- - - 167.8 -",  # get_flops 167.8493 (the comment: 167.9)
}


def _stated_gflops() -> list[tuple[str, str, str]]:
    cases = []
    for config in CONFIGS:
        printed = ULTRALYTICS_PRINTS.get(config, "- - - - -").split()
        for scale, stated in _GFLOPS.findall((DATA / config).read_text()):
            code = printed["nsmlx".index(scale)]
            cases.append((config, scale, stated if code == "-" else code))
    return cases


@pytest.mark.parametrize(("config", "scale", "gflops"), _stated_gflops() if MODELS else [])
def test_count_ultralytics_equals_the_stated_gflops(config: str, scale: str, gflops: str) -> None:
    overrides = {"nc": "80"} if config in AT_NC_80 else None
    report = describe_file(str(DATA / config), overrides, scale=scale)
    assert f"{dict(report.macs_by_convention)['ultralytics'] / 1e9:.1f}" == gflops


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
    classify = cfg["head"][-1][2] == "Classify"
    task = tasks.ClassificationModel if classify else tasks.DetectionModel
    model = task(cfg, verbose=False).eval()
    size = 224 if classify else 640
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
        model(torch.zeros(1, 3, size, size))
    for handle in hooks:
        handle.remove()
    found: dict[str, Any] = {
        name: (shapes[name], sum(p.numel() for p in module.parameters()))
        for name, module in leaves.items()
    }
    for name, module in model.named_modules():
        if list(module.children()):
            for key, param in module.named_parameters(recurse=False):
                found[f"{name}.{key}"] = (None, param.numel())
    return model, found


Shape = tuple[int, ...] | None


def every_shape(row: Any, _theirs: Shape) -> Shape:
    """The shape rule of a model all of whose modules run: each layer's output shape (a
    parameter of a module with children has none)."""
    return None if row.type == "parameter" else row.output_shape


def shapes_that_ran(row: Any, theirs: Shape) -> Shape:
    """The shape rule where some modules run in no forward: a layer's output shape where the
    real module recorded one."""
    return None if theirs is None else row.output_shape


def assert_layers_as_built(
    report: Any, model: Any, theirs: dict[str, Any], shape: Callable[[Any, Shape], Shape]
) -> None:
    """rfcalc's layers with parameters are ``theirs`` (the real model's, name → (output shape,
    parameters)), each shape as the rule ``shape`` keeps it, and its totals are the model's."""
    ours = {
        row.name: (shape(row, theirs.get(row.name, (None,))[0]), row.params)
        for row in report.layers
        if row.params
    }
    assert ours == theirs
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert report.totals.trainable_params == trainable


# yolov8-p6 at n only: its C2 and P6 head are the other configs' modules (CI's time)
TORCH_CASES = [(c, s) for c in CONFIGS for s in ("n" if c == "yolov8-p6.yaml" else "nsm")] + [
    (c, s) for s, c in UNSTATED
]


@pytest.mark.torch
@pytest.mark.parametrize(("config", "scale"), TORCH_CASES)
def test_layer_for_layer_as_ultralytics_builds_it(config: str, scale: str) -> None:
    """Every module of the real model with parameters is a layer of the same name, with the
    same output shape and parameters, and rfcalc has no parametrised layer it lacks; a
    parameter held by a module with children (A2C2f's gamma) is a layer of its name. (Scales
    n, s, m of the stated configs: l and x differ from m only in the multiples, and their
    totals are checked above.)"""
    model, leaves = _ultralytics_leaves(config, scale)
    report = describe_file(str(DATA / config), scale=scale)
    assert_layers_as_built(report, model, leaves, every_shape)


@pytest.mark.torch
@pytest.mark.parametrize(("config", "scale"), TORCH_CASES)
def test_count_ultralytics_is_what_ultralytics_prints(config: str, scale: str) -> None:
    """`--count ultralytics` equals Ultralytics' own get_flops (what model.info() prints as
    GFLOPs: thop's count × 2, extrapolated from stride-sized proxies), at rfcalc's input
    (640, or 224 for a classification config; model.info() itself profiles at 640)."""
    from ultralytics.utils.torch_utils import get_flops

    model, _ = _ultralytics_leaves(config, scale)
    report = describe_file(str(DATA / config), scale=scale)
    gflops = get_flops(model, list(report.input_shape[1:]))  # type: ignore[no-untyped-call]
    assert gflops > 0  # 0.0 is get_flops' answer when thop fails
    assert dict(report.macs_by_convention)["ultralytics"] == round(gflops * 1e9)


@pytest.mark.torch
@pytest.mark.parametrize(
    ("config", "scale"),
    [(c, s) for c, s in TORCH_CASES if s in ("n", "") or c.startswith("yolov10")],
)
def test_count_ptflops_is_what_ptflops_counts(config: str, scale: str) -> None:
    """`--count ptflops` equals ptflops on the real model (docs/counting.md): SiLU through
    F.silu, SPPF's pooling and the upsampling counted twice, DFL's and Classify's x.softmax
    and the attention's `@` not at all."""
    torch = pytest.importorskip("torch")
    from tests.test_counting import _ptflops

    model, _ = _ultralytics_leaves(config, scale)
    report = describe_file(str(DATA / config), scale=scale)
    x = torch.zeros(1, *report.input_shape)
    assert dict(report.macs_by_convention)["ptflops"] == _ptflops(model, x)


# ---------------------------------------------------------------- mapattention


def _attention_model(shape: tuple[int, int, int], args: str) -> str:
    c, h, w = shape
    return f"input: [{c}, {h}, {w}]\nlayers:\n  - {{name: attn, type: mapattention, {args}}}\n"


def _report(text: str) -> Any:
    from rfcalc.build import build
    from rfcalc.engine import analyze
    from rfcalc.loader import load_text

    return analyze(build(load_text(text, "model.yaml")), keep_fields=True)


def _row_spans(report: Any, name: str) -> list[tuple[int, int] | None]:
    """Every row's field (hull) along H of the named layer's output."""
    i = [r.name for r in report.layers].index(name)
    h = report.layers[i].output_shape[1]
    return [report.fields[i][0].span(y) for y in range(h)]


def test_map_attention_counts() -> None:
    # 2 heads of q 8, k 8, v 16 channels: 2·32 = 64 channels in, 2·16 = 32 out; 4×6 = 24
    # positions; MACs: per head 24² scores of 8 and 24² sums of 16: 2·576·(8 + 16) = 27,648
    row = _report(_attention_model((64, 4, 6), "num_heads: 2, key_dim: 8")).layers[0]
    assert (row.output_shape, row.params, row.macs) == ((32, 4, 6), 0, 27648)
    assert row.rf.is_global
    # the values: each head's last 16 channels, position by position
    v = _report(_attention_model((64, 4, 6), "num_heads: 2, key_dim: 8, output: v")).layers[0]
    assert (v.output_shape, v.macs, v.rf.size) == ((32, 4, 6), 0, (1, 1))


def test_area_attention_reads_its_stripe() -> None:
    # 8×5 = 40 positions in 4 areas of 10 = 2 rows each; 1 head of q, k, v 4 (12 channels);
    # MACs 4 areas · 10² · (4 + 4) = 3,200
    report = _report(_attention_model((12, 8, 5), "num_heads: 1, area: 4"))
    assert (report.layers[0].output_shape, report.layers[0].macs) == ((4, 8, 5), 3200)
    assert _row_spans(report, "attn") == [
        (0, 1),
        (0, 1),
        (2, 3),
        (2, 3),
        (4, 5),
        (4, 5),
        (6, 7),
        (6, 7),
    ]
    # 3×4 = 12 positions in 2 areas of 6: row 1 (positions 4 … 7) meets both: rows 0 … 2
    report = _report(_attention_model((12, 3, 4), "num_heads: 1, area: 2"))
    assert _row_spans(report, "attn") == [(0, 1), (0, 2), (1, 2)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("num_heads: 5", "the input's 12 channels are not divisible by num_heads 5"),
        ("num_heads: 3", "each head's 4 channels do not split into equal q, k and v"),
        ("num_heads: 1, key_dim: 6", "leave no value channels after q and k of key_dim 6"),
        ("num_heads: 1, area: 7", "the map's 8×5 = 40 positions do not split into 7 areas"),
    ],
)
def test_map_attention_mistakes(args: str, message: str) -> None:
    from rfcalc.errors import RfcalcError

    with pytest.raises(RfcalcError, match=re.escape(message)):
        _report(_attention_model((12, 8, 5), args))


@pytest.mark.torch
@pytest.mark.parametrize(("h", "w", "area"), [(8, 5, 4), (3, 4, 2), (6, 6, 1)])
def test_area_fields_are_what_ultralytics_aattn_reads(h: int, w: int, area: int) -> None:
    """Ultralytics' AAttn with its positional conv zeroed is qkv (1×1), the attention, proj
    (1×1): an output row reads exactly the input rows whose random change changes it, and
    these are rfcalc's field. (Changes, not gradients: on torch 2.13's CPU build the input
    gradient of AAttn is non-zero on rows whose change leaves the output exactly the same.)"""
    torch = pytest.importorskip("torch")
    block = pytest.importorskip("ultralytics.nn.modules.block")
    torch.manual_seed(0)
    attn = block.AAttn(64, num_heads=2, area=area).double().eval()
    torch.nn.init.zeros_(attn.pe.conv.weight)
    x = torch.rand(1, 64, h, w, dtype=torch.float64)
    found = []
    with torch.no_grad():
        base = attn(x)
        changed = []
        for r in range(h):
            moved = x.clone()
            moved[:, :, r] += torch.randn(64, w, dtype=torch.float64)
            changed.append((attn(moved) - base)[0].abs().sum(dim=(0, 2)) > 0)
    for y in range(h):
        rows = [r for r in range(h) if changed[r][y]]
        found.append((rows[0], rows[-1]))
    text = (
        f"input: [64, {h}, {w}]\nlayers:\n  - {{type: conv2d, out_channels: 192, kernel_size: 1}}\n"
        f"  - {{name: attn, type: mapattention, num_heads: 2, area: {area}}}\n"
    )
    assert _row_spans(_report(text), "attn") == found


# ---------------------------------------------------------------- convert


@pytest.mark.parametrize("config", [*CONFIGS, "yolov5.yaml", "yolov10n.yaml"])
def test_convert_prints_the_same_model(tmp_path: Path, config: str) -> None:
    converted = assert_converts_to_the_same_model(tmp_path, config, "n")
    assert converted.startswith(
        f"# Converted by rfcalc from the Ultralytics model config {config}: each row\n"
    )


def assert_converts_to_the_same_model(tmp_path: Path, config: str, scale: str | None) -> str:
    """``rfcalc convert CONFIG`` prints a model file that describes as the config does: the
    same totals, and row for row the same names, types, shapes, params, MACs and fields. The
    printed file's text is returned."""
    result = _run("convert", str(DATA / config), *(("--scale", scale) if scale else ()))
    assert result.exit_code == 0, result.stderr
    path = tmp_path / "converted.yaml"
    path.write_text(result.stdout)
    direct = describe_file(str(DATA / config), scale=scale)
    converted = describe_file(str(path))
    assert converted.totals == direct.totals
    assert [_key(r) for r in converted.layers] == [_key(r) for r in direct.layers]
    return str(result.stdout)


def _key(row: Any) -> tuple[Any, ...]:
    return (row.name, row.type, row.output_shape, row.params, row.macs, row.rf)


def test_convert_reads_configs_only(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("input: [3, 8, 8]\nlayers: [relu]\n")
    result = _run("convert", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"{path}:1:1: error: not an Ultralytics model config (no 'backbone' and 'head')\n"
        "hint: convert reads ONNX files, Ultralytics model configs such as yolov8n.yaml and --torch"
        " models; an rfcalc model file needs no converting\n"
    )


# ---------------------------------------------------------------- the footer


def test_the_footer_shows_the_field_at_each_head_input() -> None:
    report = describe_file(str(DATA / "yolov8.yaml"), scale="n")
    rows = {row.name: row for row in report.layers}
    # Detect reads rows 15, 18, 21 (80², 40², 20² of 640: strides 8, 16, 32, levels P3 … P5)
    sizes = [rows[f"model.{i}.cv2.act"].rf.size for i in (15, 18, 21)]
    assert all(h == w for h, w in sizes)
    expected = ", ".join(
        f"P{p}/{s} RF {h}" for p, s, (h, _) in zip((3, 4, 5), (8, 16, 32), sizes, strict=True)
    )
    result = _run("describe", str(DATA / "yolov8.yaml"), "--scale", "n")
    assert f"\nHeads     {expected}\n" in result.stdout
    # a model without a block of several inputs has no such line
    assert "Heads" not in _run("describe", "--example", "resnet18").stdout


def test_the_footer_marks_global_context_at_the_heads() -> None:
    # YOLO11's C2PSA attends over all of P5, which every head reads through the neck
    result = _run("describe", str(DATA / "yolo11.yaml"), "--scale", "n")
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("Heads")]
    assert line.count(" +g") == 3


def test_an_activation_with_arguments_is_not_covered(tmp_path: Path) -> None:
    path = tmp_path / "yolov6.yaml"
    path.write_text(
        "nc: 80\nactivation: nn.LeakyReLU(0.1)\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\n"
        "head:\n  - [-1, 1, Conv, [64]]\n"
    )
    result = _run("describe", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"{path}:2:13: error: 'activation' 'nn.LeakyReLU(0.1)' (a string) is not covered"
    )


# ---------------------------------------------------------------- blocks of several inputs

_BLOCKS = """input: [4, 8, 8]
blocks:
  Pair:
    args: {n: 2}
    layers:
      - {name: a, type: conv2d, out_channels: 2, kernel_size: 1, from: input.0}
      - {name: b, type: conv2d, out_channels: 3, kernel_size: 1, from: input.1, if: "${n > 1}"}
      - {type: concat, from: [a, input.*]}
  Chain:
    layers:
      - {name: m, type: conv2d, out_channels: 2, kernel_size: 3, padding: 1, repeat: 3}
      - {type: concat, from: [input, m.*]}
layers:
  - {name: x, type: conv2d, out_channels: 5, kernel_size: 1}
  - {name: y, type: conv2d, out_channels: 6, kernel_size: 1}
LAYERS
"""


def _graph_rows(layers: str) -> dict[str, Any]:
    text = _BLOCKS.replace("LAYERS", layers)
    return {r.name: r for r in _report(text).layers}


def test_a_block_reads_its_inputs_by_number() -> None:
    rows = _graph_rows("  - {name: p, type: Pair, from: [x, y]}")
    assert rows["p.a"].inputs == ("x",)
    assert rows["p.b"].inputs == ("y",)
    assert rows["p.concat_0"].inputs == ("p.a", "x", "y")
    assert rows["p.concat_0"].output_shape == (13, 8, 8)  # 2 + 5 + 6 channels
    # one input: b is off, and reads nothing
    rows = _graph_rows("  - {name: p, type: Pair, n: 1}")
    assert "p.b" not in rows
    assert rows["p.a"].inputs == ("y",)


def test_a_repeats_instances_in_from() -> None:
    rows = _graph_rows("  - {name: c, type: Chain}")
    assert rows["c.concat_0"].inputs == ("y", "c.m.0", "c.m.1", "c.m.2")
    assert rows["c.concat_0"].output_shape == (12, 8, 8)  # 6 + 3 · 2


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ("  - {type: Pair, from: [x]}", "'input.1': the block has 1 input(s), input.0 … input.0"),
        ("  - {type: Chain, from: [x, y]}", "block 'Chain' takes one input, got 2"),
        ("  - {type: concat, from: [x, y.*]}", "'y.*': 'y' has no instances y.0, y.1, …"),
    ],
)
def test_block_inputs_mistakes(layers: str, message: str) -> None:
    from rfcalc.errors import RfcalcError

    with pytest.raises(RfcalcError, match=re.escape(message)):
        _graph_rows(layers)


@pytest.mark.parametrize(
    ("config", "outputs"),
    [
        ("yolo11-seg.yaml", 4 + 80 + 32),  # boxes, classes, 32 mask coefficients
        ("yolo11-pose.yaml", 4 + 80 + 17 * 3),  # nc 80 in the config; kpt_shape [17, 3]
        ("yolo11-obb.yaml", 4 + 80 + 1),  # and the angle
        ("yolo11-cls.yaml", None),
    ],
)
def test_task_heads_outputs(config: str, outputs: int | None) -> None:
    report = describe_file(str(DATA / config), scale="n")
    if outputs is None:  # 1000 classes, at Ultralytics' classification size 224
        assert (report.input_shape, report.output_shape) == ((3, 224, 224), (1000,))
    else:
        assert report.output_shape == (outputs, 8400)
    if config == "yolo11-seg.yaml":  # 32 prototypes at twice P3's size, 160²
        assert {r.name: r.output_shape for r in report.layers}["model.23.proto.cv3.act"] == (
            32,
            160,
            160,
        )
