"""YOLO26's task heads, YOLOE and YOLO-World, read from the installed ultralytics configs.

As tests/test_ultralytics.py: the configs are the installed package's (8.4.190, AGPL-3.0, never
copied here); expected numbers are the summaries their `scales` comments state, or, where a
comment disagrees with the model Ultralytics builds (or states nothing), the model that
`ultralytics.nn.tasks` builds from the same file, whose numbers are written below with where
they come from; the torch tests compare with that model layer by layer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rfcalc.api import describe_file
from rfcalc.cli import app
from tests.test_ultralytics import (
    DATA,
    MODELS,
    _stated,
    assert_converts_to_the_same_model,
    assert_layers_as_built,
    shapes_that_ran,
)

pytestmark = pytest.mark.skipif(MODELS is None, reason="needs the ultralytics package's configs")

# the configs whose `scales` comments state the model Ultralytics builds, at every scale
CONFIGS = [
    "yolo26-seg.yaml",
    "yolo26-pose.yaml",
    "yolo26-obb.yaml",
    "yoloe-26.yaml",
    "yoloe-26-seg.yaml",
    "yolov8-worldv2.yaml",
    "yolov8-world.yaml",
]
STATED = [(config, *row) for config in CONFIGS for row in _stated(config)]

# (config, scale) → (parameters, gradients) of the model ultralytics 8.4.190 builds:
# sum(p.numel() for p in model.parameters()) and those with requires_grad, for
# tasks.DetectionModel(cfg with cfg["scale"] = scale) (printed by /tmp-free one-liners, as in
# test_built_numbers_are_ultralytics' own computation in the torch tests)
BUILT: dict[tuple[str, str], tuple[int, int]] = {
    # yolo26-sem.yaml's comments repeat yolo26.yaml's detection summaries (2,572,280 … at n):
    # its SemanticSegment head is smaller than the detection head it replaces
    ("yolo26-sem.yaml", "n"): (1632902, 1632902),
    ("yolo26-sem.yaml", "s"): (6503142, 6503142),
    ("yolo26-sem.yaml", "m"): (14317670, 14317670),
    ("yolo26-sem.yaml", "l"): (17867110, 17867110),
    ("yolo26-sem.yaml", "x"): (40157702, 40157702),
    # yolo26-depth.yaml states no summaries
    ("yolo26-depth.yaml", "n"): (5174945, 5174945),
    ("yolo26-depth.yaml", "s"): (12043009, 12043009),
    ("yolo26-depth.yaml", "m"): (22099585, 22099585),
    ("yolo26-depth.yaml", "l"): (26503041, 26503041),
    ("yolo26-depth.yaml", "x"): (55841569, 55841569),
    # the YOLOE configs of v8 and 11 repeat the summaries of other models (COPIED below): their
    # heads are larger by reprta, SAVPE and the contrastive heads (16 frozen: DFL's)
    ("yoloe-v8.yaml", "n"): (5538406, 5538390),
    ("yoloe-v8.yaml", "s"): (14763350, 14763334),
    ("yoloe-v8.yaml", "m"): (31327398, 31327382),
    ("yoloe-v8.yaml", "l"): (51165430, 51165414),
    ("yoloe-v8.yaml", "x"): (78752134, 78752118),
    ("yoloe-v8-seg.yaml", "n"): (5791174, 5791158),
    ("yoloe-v8-seg.yaml", "s"): (15417846, 15417830),
    ("yoloe-v8-seg.yaml", "m"): (32710726, 32710710),
    ("yoloe-v8-seg.yaml", "l"): (53471638, 53471622),
    ("yoloe-v8-seg.yaml", "x"): (82350374, 82350358),
    ("yoloe-11.yaml", "n"): (5005286, 5005270),
    ("yoloe-11.yaml", "s"): (13055542, 13055526),
    ("yoloe-11.yaml", "m"): (27588598, 27588582),
    ("yoloe-11.yaml", "l"): (32846070, 32846054),
    ("yoloe-11.yaml", "x"): (71168022, 71168006),
    ("yoloe-11-seg.yaml", "n"): (5258054, 5258038),
    ("yoloe-11-seg.yaml", "s"): (13710038, 13710022),
    ("yoloe-11-seg.yaml", "m"): (29894806, 29894790),
    ("yoloe-11-seg.yaml", "l"): (35152278, 35152262),
    ("yoloe-11-seg.yaml", "x"): (76344502, 76344486),
}
# config → the config whose summaries its comments repeat
COPIED = {
    "yolo26-sem.yaml": "yolo26.yaml",
    "yoloe-v8.yaml": "yolov8-worldv2.yaml",
    "yoloe-v8-seg.yaml": "yolov8-world.yaml",
    "yoloe-11.yaml": "yolo11.yaml",
    "yoloe-11-seg.yaml": "yolo11-seg.yaml",
}


def test_the_stated_summaries_are_every_scale() -> None:
    assert [(c, s) for c, s, *_ in STATED] == [(c, s) for c in CONFIGS for s in "nsmlx"]


@pytest.mark.parametrize(("config", "source"), list(COPIED.items()))
def test_some_comments_are_copies(config: str, source: str) -> None:
    # why BUILT, not the comments, decides these configs: their comments are another model's
    assert [row[1:] for row in _stated(config)] == [row[1:] for row in _stated(source)]


@pytest.mark.parametrize(("config", "scale", "parameters", "gradients"), STATED)
def test_params_equal_the_stated_summary(
    config: str, scale: str, parameters: int, gradients: int
) -> None:
    totals = describe_file(str(DATA / config), scale=scale).totals
    assert totals.params == parameters
    assert totals.trainable_params == gradients


@pytest.mark.parametrize(("config", "scale"), list(BUILT))
def test_params_equal_the_built_model(config: str, scale: str) -> None:
    totals = describe_file(str(DATA / config), scale=scale).totals
    assert (totals.params, totals.trainable_params) == BUILT[config, scale]


@pytest.mark.parametrize(
    ("config", "output"),
    [
        # 4 box coordinates + 80 classes + 32 mask coefficients, for 80² + 40² + 20² anchors
        ("yolo26-seg.yaml", (4 + 80 + 32, 8400)),
        # + 17 keypoints of (x, y, visibility)
        ("yolo26-pose.yaml", (4 + 80 + 17 * 3, 8400)),
        # + the angle (its raw logit: OBB26 has no sigmoid)
        ("yolo26-obb.yaml", (4 + 80 + 1, 8400)),
        # 19 classes (Cityscapes) per position of P3, 640 / 8 = 80
        ("yolo26-sem.yaml", (19, 80, 80)),
        # one log-depth per position of P2, 640 / 4 = 160
        ("yolo26-depth.yaml", (1, 160, 160)),
    ],
)
def test_task_head_outputs(config: str, output: tuple[int, ...]) -> None:
    assert describe_file(str(DATA / config), scale="n").output_shape == output


def test_segment26_prototypes_fuse_the_three_levels() -> None:
    rows = {r.name: r for r in describe_file(str(DATA / "yolo26-seg.yaml"), scale="n").layers}
    # P4 (128 channels at n: 512 · 0.25) and P5 (256) to P3's 64, upsampled ×2 and ×4 to 80²
    assert rows["model.23.proto.feat_refine.0.act"].output_shape == (64, 40, 40)
    assert rows["model.23.proto.feat_refine.1.act"].output_shape == (64, 20, 20)
    assert rows["model.23.proto.feat"].output_shape == (64, 80, 80)
    assert rows["model.23.proto.feat"].inputs == (
        "model.16.cv2.act",
        "model.23.proto.upsample_0",
        "model.23.proto.upsample_1",
    )
    # npr 256 · 0.25 = 64 prototype channels; 32 prototypes at twice P3's size
    assert rows["model.23.proto.feat_fuse.act"].output_shape == (64, 80, 80)
    assert rows["model.23.proto.cv3.act"].output_shape == (32, 160, 160)
    # the training-only semantic logits: 80 classes on P3
    assert rows["model.23.proto.semseg.2"].output_shape == (80, 80, 80)


def test_pose26_keypoint_branches() -> None:
    rows = {r.name: r for r in describe_file(str(DATA / "yolo26-pose.yaml"), scale="n").layers}
    # c4 = max(64 // 4, 17 · (3 + 2)) = 85; kpts 17 · 3 = 51, sigmas 17 · 2 = 34
    assert rows["model.23.cv4.0.1.act"].output_shape == (85, 80, 80)
    assert rows["model.23.cv4_kpts.2"].output_shape == (51, 20, 20)
    assert rows["model.23.one2one_cv4_sigma.0"].output_shape == (34, 80, 80)
    # RealNVP's 12 nets, each 2·64 + 64 + 64·64 + 64 + 64·2 + 2 = 4,482 parameters
    flow = sum(r.params for name, r in rows.items() if name.startswith("model.23.flow_model."))
    assert flow == 12 * 4482


def test_yoloe_scores_positions_against_fixed_class_embeddings() -> None:
    rows = {r.name: r for r in describe_file(str(DATA / "yoloe-26.yaml"), scale="n").layers}
    # the 80 text prompt embeddings of 512: a constant, no parameters
    tpe = rows["model.23.tpe"]
    assert (tpe.output_shape, tpe.params) == ((80, 512), 0)
    # reprta: w12 512 → 2048 (+ bias), w3 1024 → 512 (+ bias)
    assert rows["model.23.reprta.m.w12"].params == 512 * 2048 + 2048
    assert rows["model.23.reprta.m.w3"].params == 1024 * 512 + 512
    for k, side in enumerate((80, 40, 20)):
        level = rows[f"model.23.cv3.{k}.2"]  # the class branch's last conv: 512 channels
        score = rows[f"model.23.cv4.{k}.embeddingscores_0"]
        assert score.output_shape == (80, side, side)
        # 80 classes · 512 channels per position
        assert score.macs == 80 * 512 * side * side
        # per position: the level's field, not a global one
        assert score.rf == level.rf
        assert not score.rf.is_global


def test_world_gates_positions_by_their_best_class() -> None:
    rows = {r.name: r for r in describe_file(str(DATA / "yolov8-worldv2.yaml"), scale="s").layers}
    # row 12: C2fAttn [512, 256, 8] at s (width 0.5): c2 256, hidden c = 128 (ec 256 becomes
    # it), nh = int(max(round(min(8, 1024 // 2 // 32)) · 0.5, 1)) = 4 heads of 32
    assert rows["txt_feats"].output_shape == (80, 512)  # the model's text features
    assert rows["model.12.attn.gl"].inputs == ("txt_feats",)
    assert rows["model.12.attn.gl"].output_shape == (80, 128)  # 512 → ec 128 per class
    scores = rows["model.12.attn.scores"]
    assert scores.output_shape == (4, 40, 40)  # per head, the best of the 80 classes
    assert scores.macs == 80 * 128 * 40 * 40
    assert rows["model.12.attn.bias"].params == 4
    # the gate is per position: the attention block's field is its 3×3 proj_conv's and the
    # Bottlenecks' before it, not global
    assert not rows["model.12.cv2.act"].rf.is_global


def test_image_pooling_attention_updates_the_text_globally() -> None:
    rows = {r.name: r for r in describe_file(str(DATA / "yolov8-world.yaml"), scale="n").layers}
    # row 16 reads the text features and rows 15, 12, 9 (64, 128, 256 channels at n): each
    # projected to ec 256 (1×1 with bias), max-pooled to 3×3: 27 patches of 256
    assert rows["model.16.projections.2"].params == 256 * 256 + 256
    assert rows["model.16.patches.concat_0"].output_shape == (256, 27)
    attention = rows["model.16.crossattention_0"]
    # 80 classes over 27 patches, 256 channels: scores and sums, 2 · 80 · 27 · 256
    assert (attention.output_shape, attention.macs) == ((80, 256), 2 * 80 * 27 * 256)
    assert attention.rf.is_global
    # the updated text features (80, 512) guide rows 19 and 22: their gates carry the image's
    # global context; row 15's, guided by the text alone, does not
    assert rows["model.19.attn.gl"].inputs == ("model.16.add_0",)
    assert rows["model.19.cv2.act"].rf.global_context
    assert not rows["model.15.cv2.act"].rf.global_context


@pytest.mark.parametrize("config", [*CONFIGS, "yolo26-sem.yaml", "yolo26-depth.yaml"])
def test_convert_prints_the_same_model(tmp_path: Path, config: str) -> None:
    assert_converts_to_the_same_model(tmp_path, config, "n")


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("[[4, 6], 1, Depth, [256]]", "row 11: Depth reads 3 levels (P3, P4, P5), got 2"),
        ("[[4, 6], 1, Segment26, [nc, 32, 256]]", "row 11: Segment26 reads 3 levels"),
    ],
)
def test_fusing_heads_need_three_levels(tmp_path: Path, row: str, message: str) -> None:
    text = (DATA / "yolo26-depth.yaml").read_text()
    head = text.index("\nhead:\n")
    path = tmp_path / "two.yaml"
    path.write_text(text[:head] + f"\nhead:\n  - {row}\n")
    result = _run("describe", str(path), "--scale", "n")
    assert result.exit_code == 2
    assert result.stdout == ""
    line = text[:head].count("\n") + 3  # the row, after the blank line and 'head:'
    # column 6: the row's 'from', [4, 6] ("  - [" is columns 1 … 5)
    assert result.stderr.startswith(f"{path}:{line}:6: error: {message}"), result.stderr


# ---------------------------------------------------------------- class embeddings


def _layers(layers: str) -> Any:
    from rfcalc.build import build
    from rfcalc.engine import analyze
    from rfcalc.loader import load_text

    text = (
        "input: [8, 6, 5]\nlayers:\n"
        "  - {name: x, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}\n"
        "  - {name: t, type: constant, shape: [4, 8]}\n" + layers
    )
    return {row.name: row for row in analyze(build(load_text(text, "m.yaml"))).layers}


@pytest.mark.parametrize(
    ("args", "shape"),
    [
        ("", (4, 6, 5)),  # 4 embeddings: a score each per position
        ("groups: 2, ", (8, 6, 5)),  # per group of 4 channels: 2 · 4
        ("groups: 2, reduce: max, ", (2, 6, 5)),  # the best of the 4 per group
    ],
)
def test_embedding_scores(args: str, shape: tuple[int, ...]) -> None:
    rows = _layers(f"  - {{name: s, type: embeddingscores, {args}from: [x, t]}}\n")
    # the constant: a (4, 8) tensor with no parameters and no MACs
    assert (rows["t"].output_shape, rows["t"].params, rows["t"].macs) == ((4, 8), 0, 0)
    s = rows["s"]
    # 4 embeddings · 8 channels per position, 6 · 5 positions: 960 MACs, whatever the groups
    assert (s.output_shape, s.params, s.macs) == (shape, 0, 960)
    # position by position: the 3×3 convolution's field, unchanged
    assert (s.rf.size, s.rf.stride, s.rf.padding) == ((3, 3), (1, 1), (1, 1))


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (
            "  - {name: u, type: constant, shape: [4, 7]}\n"
            "  - {name: s, type: embeddingscores, from: [x, u]}\n",
            "the embeddings must be (N, 8), one 8-vector per class (the map's channels), got "
            "(4, 7)",
        ),
        (
            "  - {name: s, type: embeddingscores, groups: 3, from: [x, t]}\n",
            "the map's 8 channels are not divisible by groups 3",
        ),
    ],
)
def test_embedding_scores_mistakes(layers: str, message: str) -> None:
    from rfcalc.errors import RfcalcError

    with pytest.raises(RfcalcError, match=re.escape(message)):
        _layers(layers)


def test_cross_attention() -> None:
    rows = _layers(
        "  - {name: k, type: flatten, start_dim: 2, from: x}\n"  # (8, 30): 30 positions
        "  - {name: kt, type: transpose, dim0: 1, dim1: 2}\n"  # (30, 8): 30 keys of 8
        "  - {name: a, type: crossattention, num_heads: 2, from: [t, kt, kt]}\n"
    )
    a = rows["a"]
    # 4 queries over 30 keys of 8: scores 4 · 30 · 8, sums 4 · 30 · 8
    assert (a.output_shape, a.params, a.macs) == ((4, 8), 0, 2 * 4 * 30 * 8)
    assert a.rf.is_global
    from rfcalc.errors import RfcalcError

    with pytest.raises(RfcalcError, match="the 8 channels are not divisible by num_heads 3"):
        _layers(
            "  - {name: k, type: flatten, start_dim: 2, from: x}\n"
            "  - {name: kt, type: transpose, dim0: 1, dim1: 2}\n"
            "  - {name: a, type: crossattention, num_heads: 3, from: [t, kt, kt]}\n"
        )


def test_a_dotted_name_reaches_into_an_earlier_instance() -> None:
    from rfcalc.build import build
    from rfcalc.engine import analyze
    from rfcalc.loader import load_text

    text = """input: [3, 8, 8]
blocks:
  Pair:
    sequential: true
    layers:
      - {type: conv2d, out_channels: 4, kernel_size: 1}
      - {type: conv2d, out_channels: 5, kernel_size: 1}
  Head:
    layers:
      - {name: p, type: Pair}
      - {name: pick, type: relu, from: p.0}
layers:
  - {name: h, type: Head}
"""
    rows = {r.name: r for r in analyze(build(load_text(text, "m.yaml"))).layers}
    assert rows["h.pick"].inputs == ("h.p.0",)
    assert rows["h.pick"].output_shape == (4, 8, 8)  # the first conv's 4 channels


# ---------------------------------------------------------------- against ultralytics itself


def _built(config: str, scale: str) -> tuple[Any, dict[str, Any]]:
    """The model ultralytics builds, and per torch.nn layer with parameters its output shape
    (None for one no forward runs: Pose26's flow_model, which only the loss calls) and
    parameters.
    Shapes are recorded in an inference forward and a training one (BN on batch statistics),
    so that the training-only branches (Proto26's semseg, Pose26's sigma heads,
    SemanticSegment's aux_head) have theirs."""
    torch = pytest.importorskip("torch")
    tasks = pytest.importorskip("ultralytics.nn.tasks")
    cfg = tasks.yaml_model_load(DATA / config)
    cfg["scale"] = scale
    head = cfg["head"][-1][2]
    yoloe = head.startswith("YOLOE")
    task = tasks.YOLOESegModel if yoloe and "Segment" in head else tasks.DetectionModel
    if head == "YOLOEDetect":
        task = tasks.YOLOEModel
    if head == "WorldDetect":  # its forward passes its text features (random) to the rows
        task = tasks.WorldModel
    model = task(cfg, verbose=False)

    def torch_layer(module: Any) -> bool:  # a torch.nn layer, not Ultralytics' own module
        return type(module).__module__.startswith("torch.nn")

    leaves = {
        name: module
        for name, module in model.named_modules()
        if not list(module.children())
        and torch_layer(module)
        and any(True for _ in module.parameters(recurse=False))
    }
    shapes: dict[str, tuple[int, ...]] = {}

    def hook(name: str) -> Any:
        def record(_m: Any, _i: Any, out: Any) -> None:
            shapes.setdefault(name, tuple(out.shape[1:]))

        return record

    hooks = [module.register_forward_hook(hook(name)) for name, module in leaves.items()]
    x = torch.zeros(2, 3, 640, 640)  # 2 images: batch norm in training needs > 1 value
    # YOLOE: 80 text prompts (reprta runs on them) and one visual prompt, a mask of P3's size
    # (SAVPE runs on it); without prompts, neither runs
    prompts = {"tpe": torch.zeros(2, 80, 512), "vpe": torch.zeros(2, 1, 80, 80)} if yoloe else {}
    with torch.no_grad():
        model.eval()(x, **prompts)
        model.train()(x, **prompts)
    for handle in hooks:
        handle.remove()
    found: dict[str, Any] = {
        name: (shapes.get(name), sum(p.numel() for p in module.parameters()))
        for name, module in leaves.items()
    }
    # a parameter of Ultralytics' own module (A2C2f's gamma, a contrastive head's bias and
    # logit_scale, whether the module has children or not) is a layer of its name
    for name, module in model.named_modules():
        if list(module.children()) or not torch_layer(module):
            for key, param in module.named_parameters(recurse=False):
                found[f"{name}.{key}"] = (None, param.numel())
    return model, found


TORCH_CASES = [(c, s) for c in CONFIGS for s in "nsm"] + [
    (c, s) for c in sorted({c for c, _ in BUILT}) for s in "nsm"
]


@pytest.mark.torch
@pytest.mark.parametrize(("config", "scale"), TORCH_CASES)
def test_layer_for_layer_as_ultralytics_builds_it(config: str, scale: str) -> None:
    """Every module of the real model with parameters is a layer of the same name, with the
    same output shape (where a forward runs it) and parameters, and rfcalc has no
    parametrised layer it lacks."""
    model, leaves = _built(config, scale)
    report = describe_file(str(DATA / config), scale=scale)
    assert_layers_as_built(report, model, leaves, shapes_that_ran)


@pytest.mark.torch
@pytest.mark.parametrize(("config", "scale"), list(BUILT))
def test_built_numbers_are_ultralytics(config: str, scale: str) -> None:
    model, _ = _built(config, scale)
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert (params, trainable) == BUILT[config, scale]


# Ultralytics 8.4.190's get_flops (thop on an inference forward, × 2, at 640) of the model
# _built makes from each config, per scale n s m l x, to 4 decimals ("-": not measured), printed
# by the real package (the torch test below compares n, s, m exactly). The configs' comments
# state other numbers at every scale (docs/ultralytics.md lists them): older Ultralytics and
# thop, or the summaries of other configs (COPIED); the package's own count decides.
GET_FLOPS = {
    "yolo26-seg.yaml": "10.6304 37.6619 132.7809 151.3040 338.2033",
    "yolo26-pose.yaml": "10.7864 29.8195 86.1354 104.6585 226.8538",
    "yolo26-obb.yaml": "6.7348 25.0502 83.0273 101.5504 226.6926",
    "yolo26-sem.yaml": "4.5008 17.4688 59.5888 75.3725 168.6596",
    "yolo26-depth.yaml": "32.6926 47.3817 91.0000 109.5231 210.2283",
    "yoloe-26.yaml": "8.8460 26.3823 80.7961 99.3192 217.0936",
    "yoloe-26-seg.yaml": "13.2367 40.9649 137.9418 156.4649 345.2222",
    "yoloe-v8.yaml": "10.1582 30.4634 81.4297 168.3151 261.5820",
    "yoloe-v8-seg.yaml": "13.4442 41.9906 107.0932 213.6402 332.2338",
    "yoloe-11.yaml": "7.9765 23.4878 71.2236 90.4315 199.8245",
    "yoloe-11-seg.yaml": "11.2625 35.0150 116.5487 135.7566 -",
    "yolov8-world.yaml": "11.2202 33.7236 87.4201 177.5587 -",
    "yolov8-worldv2.yaml": "10.8360 32.9723 86.3411 176.1783 -",
}


@pytest.mark.parametrize(
    ("config", "scale"),
    [
        (c, s)
        for c, row in GET_FLOPS.items()
        for s, v in zip("nsmlx", row.split(), strict=True)
        if v != "-"
    ],
)
def test_count_ultralytics_prints_what_get_flops_prints(config: str, scale: str) -> None:
    report = describe_file(str(DATA / config), scale=scale, count="ultralytics")
    measured = float(GET_FLOPS[config].split()["nsmlx".index(scale)])
    assert f"{report.totals.macs / 1e9:.1f}" == f"{measured:.1f}"


@pytest.mark.torch
@pytest.mark.parametrize(("config", "scale"), TORCH_CASES)
def test_count_ultralytics_is_get_flops(config: str, scale: str) -> None:
    """`--count ultralytics` equals Ultralytics' own get_flops (thop on an inference forward,
    × 2): the branches the forward skips (`runs: false`) and the calls thop does not see
    (`module: false`) count 0."""
    from ultralytics.utils.torch_utils import get_flops

    model, _ = _built(config, scale)
    report = describe_file(str(DATA / config), scale=scale)
    gflops = get_flops(model, 640)  # type: ignore[no-untyped-call]
    assert gflops > 0  # 0.0 is get_flops' answer when thop fails
    assert dict(report.macs_by_convention)["ultralytics"] == round(gflops * 1e9)
