"""Ultralytics' TorchVision module (``yolo11-cls-resnet18.yaml``): a torchvision model's
children, unwrapped and truncated as Ultralytics does, built from rfcalc's bundled example
of the model (docs/ultralytics.md). The torch tests build the same rows with
``ultralytics.nn.tasks.ClassificationModel`` (weights None: nothing is downloaded) and
compare every layer."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rfcalc.api import describe_file
from rfcalc.cli import app
from rfcalc.ultralytics_torchvision import COVERED
from tests.test_ultralytics import DATA, MODELS

pytestmark = pytest.mark.skipif(MODELS is None, reason="needs the ultralytics package's configs")
runner = CliRunner()
CONFIG = "yolo11-cls-resnet18.yaml"


def _run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def _config(tmp_path: Path, row: str, head: str = "[-1, 1, Classify, [nc]]") -> Path:
    path = tmp_path / "tv.yaml"
    path.write_text(f"nc: 10\nbackbone:\n  - {row}\nhead:\n  - {head}\n", encoding="utf-8")
    return path


def test_yolo11_cls_resnet18_is_described() -> None:
    result = _run("describe", str(DATA / CONFIG), "--depth", "2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[4].split()[:3] == ["└─", "model", "1-1"]
    report = describe_file(str(DATA / CONFIG))
    # resnet18 has 11,689,512 parameters (torchvision's docs); truncate 2 drops avgpool (none)
    # and fc (512 · 1000 + 1000 = 513,000): 11,176,512. Classify(512, 1000): conv 1×1 512 →
    # 1280 (655,360) and its batch norm (2,560), linear 1280 → 1000 (1,280,000 + 1,000)
    assert report.totals.params == 11_689_512 - 513_000 + 655_360 + 2_560 + 1_281_000
    rows = {r.name: r for r in report.layers}
    # the Sequential's children renamed 0 … 7: conv1, bn1, relu, maxpool, layer1 … layer4
    assert [n for n in rows if n.startswith("model.0.m.") and n.count(".") == 3] == [
        f"model.0.m.{k}" for k in range(4)
    ]
    assert rows["model.0.m.4.0.conv1"].params == 64 * 64 * 9  # layer1.0.conv1
    assert rows["model.0.m.7.1.relu_0"].output_shape == (512, 7, 7)  # layer4: 224 / 32
    assert rows["model.1.conv.conv"].output_shape == (1280, 7, 7)


def test_convert_writes_the_block(tmp_path: Path) -> None:
    result = _run("convert", str(DATA / CONFIG))
    assert result.exit_code == 0, result.stderr
    assert "include: [ultralytics, torchvision]" in result.stdout
    assert "{name: 0, type: TorchVision_resnet18}" in result.stdout
    assert "{name: 1, type: ultralytics.Classify, c2: $nc}" in result.stdout
    path = tmp_path / "converted.yaml"
    path.write_text(result.stdout)
    assert describe_file(str(path)).totals == describe_file(str(DATA / CONFIG)).totals


def test_truncate_counts_the_flattened_children(tmp_path: Path) -> None:
    """mobilenet_v2's children are features (19 modules, flattened) and classifier: truncate 2
    keeps features.0 … features.17, whose last is InvertedResidual(160 → 320)."""
    path = _config(tmp_path, "[-1, 1, TorchVision, [320, mobilenet_v2, DEFAULT, True, 2]]")
    rows = {r.name: r for r in describe_file(str(path)).layers}
    assert not any(n.startswith("model.0.m.18") for n in rows)
    last = [r for n, r in rows.items() if n.startswith("model.0.m.17.")][-1]
    assert last.output_shape == (320, 7, 7)
    # an unnamed repeat cut by the truncation keeps its first instances: truncate 4 ends
    # inside the three InvertedResidual(…, 160) (features.14 … 16) at features.15
    path = _config(tmp_path, "[-1, 1, TorchVision, [160, mobilenet_v2, DEFAULT, True, 4]]")
    names = {r.name.split(".")[3] for r in describe_file(str(path)).layers if ".m." in r.name}
    assert names == {str(k) for k in range(16)}


COVERED_HINT = "covered: " + ", ".join(COVERED) + " (docs/ultralytics.md)"
ROW_HINT = "covered: unwrap True, split False, and the models " + COVERED_HINT[9:]


# (the row, the text the error points at in it, the message, the hint)
@pytest.mark.parametrize(
    ("row", "at", "message", "hint"),
    [
        (
            "[-1, 1, TorchVision, [512, vgg16]]",
            "vgg16",
            "row 0: TorchVision model 'vgg16' is not covered by rfcalc, which builds the "
            "torchvision models it bundles",
            COVERED_HINT,
        ),
        (
            "[-1, 1, TorchVision, [512, resnet81]]",
            "resnet81",
            "row 0: TorchVision model 'resnet81' is not covered by rfcalc, which builds the "
            "torchvision models it bundles",
            "did you mean 'resnet18'?",
        ),
        (
            "[-1, 1, TorchVision, [512]]",
            "[512]",
            "row 0: TorchVision's second argument names a torchvision model, got nothing",
            "e.g. [512, resnet18, DEFAULT, True, 2]",
        ),
        (
            "[-1, 1, TorchVision, [512, resnet18, DEFAULT, False]]",
            "False",
            "row 0: TorchVision with unwrap False (the whole model, its head replaced) is not "
            "covered by rfcalc",
            ROW_HINT,
        ),
        (
            "[-1, 1, TorchVision, [512, resnet18, DEFAULT, True, 2, True]]",
            "True]",
            "row 0: TorchVision with split True (a list of every child's output) is not "
            "covered by rfcalc",
            ROW_HINT,
        ),
        (  # YAML 1.1's boolean (Ultralytics reads True), rfcalc's YAML 1.2 string
            "[-1, 1, TorchVision, [512, resnet18, DEFAULT, yes]]",
            "yes",
            "row 0: TorchVision's unwrap must be true or false, got 'yes' (a string)",
            None,
        ),
        (
            "[-1, 1, TorchVision, [512, resnet18, DEFAULT, True, 2, 1]]",
            "1]]",
            "row 0: TorchVision's split must be true or false, got 1",
            None,
        ),
        (
            "[-1, 1, TorchVision, [256, resnet18]]",
            "256",
            "row 0: TorchVision's argument 1, its output channels, is 256, but resnet18's "
            "children kept (truncate 2) give 512",
            "write 512",
        ),
        (
            "[-1, 1, TorchVision, [512, resnet18, DEFAULT, True, 0]]",
            "0]",
            "row 0: TorchVision's nn.Sequential of resnet18's children leaves out 'flatten', "
            "which resnet18's forward runs between them: not covered by rfcalc",
            "truncate 1 keeps the children before it",
        ),
        (
            "[-1, 1, TorchVision, [512, resnet18, DEFAULT, True, 10]]",
            "10]",
            "row 0: TorchVision's truncate 10 leaves none of resnet18's 10 children",
            None,
        ),
        (
            "[-1, 1, TorchVision, [512, resnet18, DEFAULT, True, -1]]",
            "-1]",
            "row 0: TorchVision's truncate must be an integer ≥ 0, got -1",
            None,
        ),
        (
            "[-1, 1, TorchVision, [0, resnet18]]",
            "0,",
            "row 0: TorchVision's argument 1 is its output channels, a positive integer, got 0",
            None,
        ),
        (
            "[-1, 1, TorchVision, [512, resnet18, DEFAULT, True, 2, False, 1]]",
            "1]]",
            "row 0: TorchVision takes at most 6 arguments (c2, model, weights, unwrap, truncate, "
            "split), got 7",
            None,
        ),
    ],
)
def test_rows_not_covered_are_positioned_errors(
    tmp_path: Path, row: str, at: str, message: str, hint: str | None
) -> None:
    path = _config(tmp_path, row)
    result = _run("describe", str(path))
    assert (result.exit_code, result.stdout) == (2, ""), result.stderr
    column = len("  - ") + row.rindex(at) + 1  # the row is line 3: nc, backbone, the row
    expected = f"{path}:3:{column}: error: {message}\n" + (f"hint: {hint}\n" if hint else "")
    assert result.stderr == expected


# ---------------------------------------------------------------- against ultralytics itself


def _torch_model(cfg: dict[str, Any]) -> Any:
    """ClassificationModel of a config, each TorchVision row's weights None (no download)."""
    from tests.test_torchvision import _torchvision

    _torchvision()  # torchvision's operator schemas, before ultralytics imports it
    tasks = pytest.importorskip("ultralytics.nn.tasks")
    cfg = copy.deepcopy(cfg)
    for row in cfg["backbone"] + cfg["head"]:
        if row[2] == "TorchVision":
            row[3][2] = None
    return tasks.ClassificationModel(cfg, verbose=False).eval()


def _compare(path: Path) -> None:
    """Names, output shapes and parameters of every layer with parameters, and the totals:
    the modules called whose descendants are not (Swin's attention computes with its qkv's
    weight without calling it: one layer, as in rfcalc), and a tensor of a module's own
    outside them (ConvNeXt's layer_scale), which rfcalc lists as a `parameter` layer."""
    from tests.test_attention import _called_leaves

    tasks = pytest.importorskip("ultralytics.nn.tasks")
    model = _torch_model(tasks.yaml_model_load(path))
    report = describe_file(str(path))
    leaves = _called_leaves(model, report.input_shape)
    theirs: dict[str, tuple[tuple[int, ...] | None, int]] = {
        n: v for n, v in leaves.items() if v[1]
    }
    for name, module in model.named_modules():
        if name not in leaves and not any(name.startswith(f"{leaf}.") for leaf in leaves):
            for key, param in module.named_parameters(recurse=False):
                theirs[f"{name}.{key}"] = (None, param.numel())
    ours = {
        r.name: (r.output_shape if r.type != "parameter" else None, r.params)
        for r in report.layers
        if r.params
    }
    assert ours == theirs
    assert report.totals.params == sum(p.numel() for p in model.parameters())


@pytest.mark.torch
def test_yolo11_cls_resnet18_layer_for_layer() -> None:
    _compare(DATA / CONFIG)


# each covered model at Ultralytics' default truncate, and a few other cuts: where the
# flattened first child ends (efficientnet_b0's features.8, shufflenet's conv1) or the
# truncation cuts a repeat (mobilenet_v2 at 4)
TORCH_ROWS = [(model, 2) for model in COVERED] + [
    ("efficientnet_b0", 1),
    ("convnext_tiny", 1),
    ("shufflenet_v2_x1_0", 3),
    ("mobilenet_v2", 4),
    ("resnet50", 1),
]


@pytest.mark.torch
@pytest.mark.parametrize(("model", "truncate"), TORCH_ROWS)
def test_one_row_configs_layer_for_layer(tmp_path: Path, model: str, truncate: int) -> None:
    """A config of one TorchVision row and Classify, its c2 the channels torch computes."""
    torch = pytest.importorskip("torch")
    from tests.test_torchvision import _torchvision

    _torchvision()  # torchvision's operator schemas, before ultralytics imports it
    from ultralytics.nn.modules.block import TorchVision

    with torch.no_grad():
        unwrapped = TorchVision(model, None, True, truncate)  # type: ignore[arg-type]  # no weights
        c2 = unwrapped(torch.zeros(1, 3, 224, 224)).shape[1]
    row = f"[-1, 1, TorchVision, [{c2}, {model}, DEFAULT, True, {truncate}]]"
    _compare(_config(tmp_path, row))


def test_the_model_takes_three_channels(tmp_path: Path) -> None:
    """torchvision builds resnet18's conv1 for 3 channels: a grey input (the config's
    channels: 1), or a second copy reading the first one's 512, would fail in torch."""
    path = tmp_path / "grey.yaml"
    path.write_text(
        "channels: 1\nbackbone:\n  - [-1, 1, TorchVision, [512, resnet18]]\n"
        "head:\n  - [-1, 1, Classify, [10]]\n"
    )
    result = _run("describe", str(path))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"{path}:3:6: error: row 0: TorchVision's resnet18 takes 3 channels, as torchvision "
        "builds it, but its input has 1\n"
    )
    path = _config(tmp_path, "[-1, 2, TorchVision, [512, resnet18]]")
    result = _run("describe", str(path))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"{path}:3:10: error: row 0: TorchVision repeated 2 times: the second resnet18 would "
        "read the first one's 512 channels, and it takes 3\n"
    )
