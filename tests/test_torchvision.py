"""The examples against torchvision's own models (``pytest -m torch``; CI installs
``torchvision==0.28.0`` beside ``torch==2.13.0``): every leaf module of the real model (one with
parameters or a forward of its own) is a layer of the same name in rfcalc's report, with the
same output shape (of its first call) and the same parameter count, and rfcalc has no
parametrised layer torchvision lacks. rfcalc's extra rows are the functional steps of
``forward`` (``+=``, ``torch.flatten``, a module called twice)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rfcalc.api import describe
from tests.helpers import EXAMPLES

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

_registered: list[Any] = []


def _torchvision() -> Any:
    """torchvision 0.28 on the CPU build of torch: its import registers kernels for
    ``torchvision::nms``, which needs the operator's schema defined first."""
    if not _registered:
        library = torch.library.Library("torchvision", "DEF")
        library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        library.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _registered.append(library)  # kept alive: the definitions last as long as it does
    return pytest.importorskip("torchvision")


def _leaves(model: Any, shape: tuple[int, ...]) -> dict[str, tuple[tuple[int, ...], int]]:
    """Leaf module name → (output shape of its first call, without the batch; params)."""
    seen: dict[str, tuple[int, ...]] = {}
    hooks = []
    for name, module in model.named_modules():
        if name and not list(module.children()):

            def hook(_m: Any, _i: Any, out: Any, name: str = name) -> None:
                seen.setdefault(name, tuple(out.shape[1:]))

            hooks.append(module.register_forward_hook(hook))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    for h in hooks:
        h.remove()
    params = {
        name: sum(p.numel() for p in module.parameters(recurse=False))
        for name, module in model.named_modules()
    }
    return {name: (out, params[name]) for name, out in seen.items()}


TORCHVISION = [
    "resnet18",
    "resnet50",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "densenet121",
    "efficientnet_b0",
    "shufflenet_v2_x1_0",
    "convnext_tiny",
]


@pytest.mark.parametrize("name", TORCHVISION)
def test_example_is_torchvisions_model_layer_for_layer(name: str) -> None:
    tv = _torchvision()
    model = getattr(tv.models, name)()
    report = describe(str(EXAMPLES / f"{name}.yaml"))
    ours = {r.name: r for r in report.layers}
    theirs = _leaves(model, report.input_shape)
    missing = sorted(set(theirs) - set(ours))
    assert missing == [], f"torchvision layers missing from {name}.yaml: {missing[:10]}"
    for layer, (shape, params) in theirs.items():
        row = ours[layer]
        assert (layer, row.output_shape, row.params) == (layer, shape, params)
    # a learned tensor of a module's own (ConvNeXt's layer_scale) is an rfcalc `parameter`
    # named as torchvision names the tensor
    tensors = {name: p.numel() for name, p in model.named_parameters()}
    extra = sorted(
        r.name
        for r in report.layers
        if r.params and r.name not in theirs and tensors.get(r.name) != r.params
    )
    assert extra == []
    assert report.totals.params == sum(p.numel() for p in model.parameters())


def test_example_files_exist() -> None:
    for name in TORCHVISION:
        assert Path(EXAMPLES / f"{name}.yaml").is_file()
