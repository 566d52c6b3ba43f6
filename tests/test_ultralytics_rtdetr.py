"""RT-DETR's Ultralytics configs (rtdetr-l, rtdetr-x, rtdetr-resnet50, rtdetr-resnet101,
yolov8-rtdetr) read as they are, from the installed ultralytics package (8.4.190, AGPL-3.0: read
where installed, never copied here; without it these tests skip).

Expected numbers: the summaries yolov8-rtdetr.yaml states in its `scales` comments (the rtdetr-*
configs state none), and, in the torch tests, the models ultralytics.nn.tasks builds from the
same files and Ultralytics' own get_flops.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rfcalc.api import describe_file
from rfcalc.cli import app
from tests.test_ultralytics import (
    DATA,
    MODELS,
    assert_converts_to_the_same_model,
    assert_layers_as_built,
    shapes_that_ran,
)

pytestmark = pytest.mark.skipif(MODELS is None, reason="needs the ultralytics package's configs")

_SUMMARY = re.compile(
    r"^\s+(\w+): \[[^\]]*\] #.*?([\d,]+) parameters, ([\d,]+) gradients, ([\d.]+) GFLOPs", re.M
)


def _stated(config: str) -> list[tuple[str, int, int, float]]:
    text = (DATA / config).read_text()
    return [
        (s, int(p.replace(",", "")), int(g.replace(",", "")), float(f))
        for s, p, g, f in _SUMMARY.findall(text)
    ]


STATED = _stated("yolov8-rtdetr.yaml")


def test_the_stated_scales() -> None:
    assert [s for s, *_ in STATED] == list("nsmlx")


@pytest.mark.parametrize(("scale", "parameters", "gradients", "gflops"), STATED)
def test_params_equal_the_stated_summary(
    scale: str, parameters: int, gradients: int, gflops: float
) -> None:
    totals = describe_file(str(DATA / "yolov8-rtdetr.yaml"), scale=scale).totals
    assert totals.params == parameters
    assert totals.trainable_params == gradients  # RT-DETR freezes nothing


@pytest.mark.parametrize(("scale", "parameters", "gradients", "gflops"), STATED)
def test_the_stated_gflops_leave_out_the_self_attention(
    scale: str, parameters: int, gradients: int, gflops: float
) -> None:
    """The stated GFLOPs are below Ultralytics' own get_flops today (the torch test below: 18.6
    for n, stated 17.1): they equal rfcalc's --count ultralytics, which is get_flops, less the
    decoder's six nn.MultiheadAttention (self-attention), to the printed precision, at every
    scale: the comments were printed by a thop that counted nn.MultiheadAttention 0."""
    report = describe_file(str(DATA / "yolov8-rtdetr.yaml"), scale=scale, count="ultralytics")
    attention = [r for r in report.layers if r.type == "multiheadattention"]
    assert len(attention) == 6
    assert round((report.totals.macs - sum(r.macs for r in attention)) / 1e9, 1) == gflops
    assert round(report.totals.macs / 1e9, 1) > gflops


def test_the_decoder_output() -> None:
    report = describe_file(str(DATA / "rtdetr-l.yaml"))
    # 300 queries, each 4 box coordinates and 80 class scores
    assert report.output_shape == (300, 84)
    rows = {r.name: r for r in report.layers}
    # the features: 80² + 40² + 20² = 8400 tokens of hd 256
    assert rows["model.28.feats"].output_shape == (8400, 256)
    # the deformable attention reads every level: a global field
    assert rows["model.28.decoder.layers.0.cross_attn"].rf.is_global
    # AIFI attends over all of P5 (20² tokens) and gives the map back
    assert rows["model.11.ma"].rf.is_global
    assert rows["model.11.tokenmap_0"].output_shape == (256, 20, 20)


def test_msdeformattn_counts() -> None:
    from tests.test_ultralytics import _report

    text = (
        "input: [10, 16]\nlayers:\n  - {name: q, type: linear, out_features: 16}\n"
        "  - {name: a, type: msdeformattn, n_levels: 2, n_heads: 2, n_points: 3, "
        "from: [q, input]}\n"
    )
    row = _report(text).layers[1]
    # heads · levels · points = 12: sampling_offsets 16 → 24, attention_weights 16 → 12,
    # value_proj and output_proj 16 → 16: params 16·24 + 24 + 16·12 + 12 + 2·(16·16 + 16) = 1156;
    # MACs on 10 queries and 10 values: 10·16·(24 + 12 + 16 + 16) = 10,880
    assert (row.output_shape, row.params, row.macs) == ((10, 16), 1156, 10880)


def _layers(text: str) -> dict[str, Any]:
    from tests.test_ultralytics import _report

    return {row.name: row for row in _report(text).layers}


_TOKENS = (
    "input: [8, 3, 5]\nlayers:\n  - {type: flatten, start_dim: 2}\n"
    "  - {name: t, type: permute, dims: [0, 2, 1]}\n"
)


def test_sincos_embedding_and_tokenmap() -> None:
    rows = _layers(_TOKENS + "  - {name: pos, type: sincosembedding2d}\n  - tokenmap\n")
    # 3·5 = 15 tokens of 8: two outer products (15, 1) @ (1, 8/4): 2 · 15 · 2 = 60 MACs
    assert (rows["pos"].output_shape, rows["pos"].params, rows["pos"].macs) == ((15, 8), 0, 60)
    assert rows["pos"].rf.size == (1, 1)  # the token's own position
    # the tokens back to the map (8, 3, 5), each position its own
    assert (rows["tokenmap_0"].output_shape, rows["tokenmap_0"].rf.size) == ((8, 3, 5), (1, 1))


def test_mlp_counts_and_shared_calls() -> None:
    rows = _layers(
        _TOKENS + "  - {name: a, type: mlp, hidden_dim: 6, output_dim: 4, num_layers: 3}\n"
        "  - {name: b, type: mlp, hidden_dim: 6, output_dim: 4, num_layers: 3, shared: true, "
        "from: t}\n"
    )
    # 8 → 6 → 6 → 4: params 8·6 + 6 + 6·6 + 6 + 6·4 + 4 = 124; MACs on 15 tokens:
    # 15 · (48 + 36 + 24) = 1620; a shared call counts the work and no parameters
    assert (rows["a"].output_shape, rows["a"].params, rows["a"].macs) == ((15, 4), 124, 1620)
    assert (rows["b"].params, rows["b"].macs) == (0, 1620)


def test_topkselect_keeps_k_tokens() -> None:
    rows = _layers(
        _TOKENS + "  - {name: s, type: linear, out_features: 3}\n"
        "  - {name: k, type: topkselect, k: 4, from: [s, t]}\n"
        "  - {name: all, type: topkselect, k: 40, from: [s, t]}\n"
    )
    assert rows["k"].output_shape == (4, 8)
    assert rows["all"].output_shape == (15, 8)  # min(k, 15 tokens)
    assert rows["k"].rf.is_global


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ("  - {type: linear, out_features: 6}\n  - sincosembedding2d\n", "6 features are not"),
        ("  - {type: permute, dims: [0, 2, 1]}\n  - tokenmap\n", "needs tokens"),  # (8, 15)
        (
            "  - {name: s, type: permute, dims: [0, 2, 1]}\n"  # (8, 15): 8 tokens
            "  - {type: topkselect, k: 2, from: [s, t]}\n",
            "the scores have 8 tokens but the features 15",
        ),
        ("  - {type: msdeformattn, n_heads: 3, from: [t, t]}\n", "d_model 8 is not divisible"),
    ],
)
def test_detr_layer_mistakes(layers: str, message: str) -> None:
    from rfcalc.errors import RfcalcError

    with pytest.raises(RfcalcError, match=re.escape(message)):
        _layers(_TOKENS + layers)


@pytest.mark.parametrize("config", ["rtdetr-l.yaml", "rtdetr-resnet50.yaml", "yolov8-rtdetr.yaml"])
def test_convert_prints_the_same_model(tmp_path: Path, config: str) -> None:
    assert_converts_to_the_same_model(tmp_path, config, None)


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize(
    ("row", "where", "message"),
    [
        (
            "[[1, 2], 1, RTDETRDecoder, [nc, 256, 300, 4, 8, 7]]",
            "8:53",  # the 7, column 33 + 20
            "row 4: RTDETRDecoder's ndl (decoder layers) must be 1 … 6 in rfcalc, got 7",
        ),
        (
            "[[1, 2], 1, RTDETRDecoder, [nc, 256, 300, 4, 8, 6, 1024, 0.0]]",
            "8:62",  # the eighth argument, column 33 + 29
            "row 4: RTDETRDecoder takes at most 7 arguments",
        ),
        (
            "[[0, 1, 2, 3, 3], 1, RTDETRDecoder, [nc]]",
            "8:6",  # the from list, after "  - ["
            "row 4: RTDETRDecoder reads at most 4 levels in rfcalc, got 5",
        ),
    ],
)
def test_bad_decoder_rows(tmp_path: Path, row: str, where: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "nc: 80\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\n  - [-1, 1, Conv, [128, 3, 2]]\n"
        f"head:\n  - [-1, 1, Conv, [128, 3, 2]]\n  - [-1, 1, Conv, [128, 3, 2]]\n  - {row}\n"
    )
    result = _run("describe", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"{path}:{where}: error: {message}"), result.stderr


@pytest.mark.parametrize(
    ("backbone", "where", "message"),
    [
        (
            "  - [-1, 1, ResNetLayer, [3, 64, 1, True, 1]]\n"
            "  - [-1, 1, ResNetLayer, [32, 64, 1, False, 3]]\n",
            "4:27",
            "row 1: ResNetLayer's first argument is its input channels, 32, but it reads 64",
        ),
        (
            "  - [-1, 1, HGStem, [32]]\n",
            "3:21",  # the args list [32], after "  - [-1, 1, HGStem, " (20 characters)
            "row 0: HGStem's argument 2 is its output channels, a positive integer, got nothing",
        ),
    ],
)
def test_a_row_s_channels_are_checked(
    tmp_path: Path, backbone: str, where: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"nc: 80\nbackbone:\n{backbone}head:\n  - [-1, 1, Conv, [64]]\n")
    result = _run("describe", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:{where}: error: {message}"), result.stderr


# ---------------------------------------------------------------- against ultralytics itself

TORCH_CASES = [
    ("rtdetr-l.yaml", "l"),
    ("rtdetr-x.yaml", "x"),
    ("rtdetr-resnet50.yaml", "l"),
    ("rtdetr-resnet101.yaml", "l"),
    *(("yolov8-rtdetr.yaml", s) for s in "nsm"),
]


def _shape(module: Any, out: Any) -> tuple[int, ...]:
    import torch

    if isinstance(module, torch.nn.MultiheadAttention):  # (output, weights)
        out = out[0]
        if not module.batch_first:  # (L, N, E): the batch in the middle
            return (out.shape[0], *out.shape[2:])
    return tuple(out.shape[1:])


@pytest.mark.torch
@pytest.mark.parametrize(("config", "scale"), TORCH_CASES)
def test_layer_for_layer_as_ultralytics_builds_it(config: str, scale: str) -> None:
    """Each of rfcalc's layers with parameters owns the real model's parameters under its name
    (the layer `self_attn` owns self_attn.in_proj_weight, … ; `dec_score_head.0.weight` that
    one tensor), as many as it counts, and every real parameter has its layer; a layer named as
    a module that runs at inference has that module's output shape (its first call)."""
    torch = pytest.importorskip("torch")
    tasks = pytest.importorskip("ultralytics.nn.tasks")
    cfg = tasks.yaml_model_load(DATA / config)
    cfg["scale"] = scale
    model = tasks.RTDETRDetectionModel(cfg, verbose=False).eval()
    report = describe_file(str(DATA / config), scale=scale)
    ours = {row.name for row in report.layers if row.params}
    owned: dict[str, int] = {}
    for name, param in model.named_parameters():
        owner = max(
            (n for n in ours if name == n or name.startswith(n + ".")), key=len, default="(none)"
        )
        owned[owner] = owned.get(owner, 0) + param.numel()
    modules = dict(model.named_modules())
    shapes: dict[str, tuple[int, ...]] = {}

    def hook(name: str) -> Any:
        def record(module: Any, _i: Any, out: Any) -> None:
            shapes.setdefault(name, _shape(module, out))

        return record

    hooks = [modules[n].register_forward_hook(hook(n)) for n in ours if n in modules]
    with torch.no_grad():
        model(torch.zeros(1, 3, 640, 640))
    for handle in hooks:
        handle.remove()
    theirs = {name: (shapes.get(name), n) for name, n in owned.items()}
    assert_layers_as_built(report, model, theirs, shapes_that_ran)
    # the modules that run only in training: no shape
    assert set(ours) - set(shapes) == {
        f"model.{len(model.model) - 1}.denoising_class_embed",
        *(
            f"model.{len(model.model) - 1}.dec_score_head.{i}.{p}"
            for i in range(5)
            for p in ("weight", "bias")
        ),
    }


@pytest.mark.torch
@pytest.mark.parametrize(("config", "scale"), TORCH_CASES)
def test_count_ultralytics_is_get_flops(config: str, scale: str) -> None:
    """--count ultralytics equals Ultralytics' own get_flops (thop, × 2) exactly."""
    pytest.importorskip("thop")
    tasks = pytest.importorskip("ultralytics.nn.tasks")
    torch_utils = pytest.importorskip("ultralytics.utils.torch_utils")
    cfg = tasks.yaml_model_load(DATA / config)
    cfg["scale"] = scale
    model = tasks.RTDETRDetectionModel(cfg, verbose=False).eval()
    report = describe_file(str(DATA / config), scale=scale, count="ultralytics")
    assert report.totals.macs == pytest.approx(torch_utils.get_flops(model, 640) * 1e9, abs=1)


@pytest.mark.torch
@pytest.mark.parametrize(("config", "scale"), [("rtdetr-l.yaml", "l"), ("yolov8-rtdetr.yaml", "n")])
def test_count_torchvision_is_flop_counter_mode(config: str, scale: str) -> None:
    """The default convention equals torch.utils.flop_counter's count of the real model's
    inference (half its FLOPs): the deformable attention's sampling is counted by neither."""
    torch = pytest.importorskip("torch")
    tasks = pytest.importorskip("ultralytics.nn.tasks")
    from torch.utils.flop_counter import FlopCounterMode

    cfg = tasks.yaml_model_load(DATA / config)
    cfg["scale"] = scale
    model = tasks.RTDETRDetectionModel(cfg, verbose=False).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, 640, 640))
    report = describe_file(str(DATA / config), scale=scale)
    assert 2 * report.totals.macs == counter.get_total_flops()


def test_a_dotted_name_in_a_block_is_its_nested_lists_layer() -> None:
    # inside the instance b, 'deep.inner.0' is b.deep.inner.0 (not the model's own deep.inner.0)
    rows = _layers(
        "input: [4, 8, 8]\nblocks:\n  B:\n    layers:\n      - name: deep\n        layers:\n"
        "          - name: inner\n            layers:\n"
        "              - {type: conv2d, out_channels: 2, kernel_size: 1}\n"
        "              - {type: conv2d, out_channels: 3, kernel_size: 1}\n"
        "      - {name: out, type: relu, from: deep.inner.0}\n"
        "layers:\n  - name: deep\n    layers:\n      - name: inner\n        layers:\n"
        "          - {type: conv2d, out_channels: 5, kernel_size: 1}\n"
        "  - {name: b, type: B}\n"
    )
    assert rows["b.out"].inputs == ("b.deep.inner.0",)
    assert rows["b.out"].output_shape == (2, 8, 8)


@pytest.mark.torch
@pytest.mark.parametrize(("config", "scale"), [("rtdetr-l.yaml", "l"), ("yolov8-rtdetr.yaml", "n")])
@pytest.mark.parametrize("tool", ["fvcore", "torchinfo"])
def test_count_fvcore_and_torchinfo_are_the_tools(config: str, scale: str, tool: str) -> None:
    """fvcore and torchinfo on the real model's inference count what rfcalc's conventions do
    (fvcore: the deformable attention's grid_sample, 4 per interpolated value)."""
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():  # fvcore.nn's import scripts a loss: torch.jit deprecation
        warnings.simplefilter("ignore", DeprecationWarning)
        pytest.importorskip(f"{tool}.nn" if tool == "fvcore" else tool)
    tasks = pytest.importorskip("ultralytics.nn.tasks")
    from tests.test_counting import TOOLS

    cfg = tasks.yaml_model_load(DATA / config)
    cfg["scale"] = scale
    model = tasks.RTDETRDetectionModel(cfg, verbose=False).eval()
    with torch.no_grad():
        expected = TOOLS[tool](model, torch.zeros(1, 3, 640, 640))
    assert describe_file(str(DATA / config), scale=scale, count=tool).totals.macs == expected
