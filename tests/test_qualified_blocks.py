"""Blocks of the built-in libraries by their qualified names (``torchvision.Bottleneck``,
``ultralytics.Bottleneck``): two libraries may define the same name, a model writes which it
means, and a library's own blocks find each other first (docs/format.md, includes)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rfcalc.cli import app
from rfcalc.loader import LIBRARY_DIR, load_text
from tests.helpers import report_of

runner = CliRunner()

BOTH = """\
include: [{first}, {second}]
input: [64, 8, 8]
layers:
  - {{name: a, type: torchvision.Bottleneck, planes: 16}}
  - {{name: b, type: ultralytics.Bottleneck, c2: 64}}
  - {{name: c, type: C2f, c2: 32, n: 1}}
  - {{name: d, type: BasicBlock, planes: 32}}
  - {{name: e, type: C3, c2: 64, n: 2}}
"""


def _params(text: str) -> dict[str, int]:
    """Each top-level layer's parameters: the sum of its leaves'."""
    found: dict[str, int] = {}
    for row in report_of(text).layers:
        top = row.name.split(".")[0]
        found[top] = found.get(top, 0) + row.params
    return found


@pytest.mark.parametrize("order", [("torchvision", "ultralytics"), ("ultralytics", "torchvision")])
def test_a_model_uses_both_bottlenecks(order: tuple[str, str]) -> None:
    params = _params(BOTH.format(first=order[0], second=order[1]))
    assert params == {
        # torchvision's Bottleneck(64, 16): conv1 1×1 64→16 (1,024), bn1 (32), conv2 3×3
        # 16→16 (2,304), bn2 (32), conv3 1×1 16→64 (1,024), bn3 (128): 4,544
        "a": 64 * 16 + 32 + 16 * 16 * 9 + 32 + 16 * 64 + 128,
        # Ultralytics' Bottleneck(64, 64), e 0.5, k (3, 3): cv1 Conv 64→32 3×3 (18,432 +
        # bn 64), cv2 Conv 32→64 3×3 (18,432 + bn 128): 37,056
        "b": 18_432 + 64 + 18_432 + 128,
        # C2f(64, 32, n 1): c 16; cv1 Conv 64→32 1×1 (2,048 + 64); m.0 is Ultralytics'
        # Bottleneck(16, 16, e 1.0), found first inside Ultralytics' own block: two Conv
        # 16→16 3×3 (2,304 + 32 each); cv2 Conv 48→32 1×1 (1,536 + 64): 8,384
        "c": 2_048 + 64 + 2 * (2_304 + 32) + 1_536 + 64,
        # torchvision's BasicBlock(32, 32): two 3×3 32→32 (9,216 each) and bn (64 each)
        "d": 2 * (9_216 + 64),
        # C3(32, 64, n 2): c_ 32; cv1 and cv2 Conv 32→32 1×1 (1,024 + 64 each); m (a nested
        # list in the block) two of Ultralytics' Bottleneck(32, 32, k (1, 3), e 1.0): 1×1
        # (1,024 + 64) and 3×3 (9,216 + 64); cv3 Conv 64→64 1×1 (4,096 + 128): 27,136
        "e": 2 * (1_024 + 64) + 2 * (1_024 + 64 + 9_216 + 64) + 4_096 + 128,
    }


@pytest.mark.parametrize(
    ("include", "message", "hint"),
    [
        (
            "ultralytics, torchvision",
            "block 'Bottleneck' is ambiguous: the built-in libraries define "
            "torchvision.Bottleneck and ultralytics.Bottleneck",
            "write torchvision.Bottleneck or ultralytics.Bottleneck",
        ),
        (  # 'torchvision.Bottleneck' exists, but only in a model that includes torchvision
            "ultralytics",
            "unknown layer type 'torchvision.Bottleneck'",
            "the model does not include the library 'torchvision': add it to 'include:'",
        ),
    ],
)
def test_a_name_the_model_cannot_mean_is_one_positioned_error(
    tmp_path: Path, include: str, message: str, hint: str
) -> None:
    written = "Bottleneck" if "torchvision" in include else "torchvision.Bottleneck"
    model = tmp_path / "model.yaml"
    model.write_text(
        f"include: [{include}]\ninput: [64, 8, 8]\nlayers:\n"
        f"  - {{name: a, type: {written}, planes: 16}}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["describe", str(model)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"{model}:4:21: error: {message}\nhint: {hint}\n"


def test_an_unambiguous_name_needs_no_library() -> None:
    """resnet50 includes torchvision alone: 'Bottleneck' is torchvision's, as before."""
    text = "include: [torchvision]\ninput: [64, 8, 8]\nlayers: [{type: Bottleneck, planes: 16}]\n"
    assert sum(r.params for r in report_of(text).layers) == 4_544  # as 'a' above


# a model's own block of a name two libraries share: tests/test_scopes.py
# (test_a_builtin_block_defined_again_names_where_the_library_defines_it)


def test_a_user_file_and_a_library_still_clash(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text("blocks:\n  BasicBlock:\n    layers: [relu]\n")
    model = tmp_path / "model.yaml"
    model.write_text("include: [mine.yaml, torchvision]\ninput: [3]\nlayers: [relu]\n")
    result = runner.invoke(app, ["describe", str(model)])
    assert result.exit_code == 2
    assert "error: block 'BasicBlock' is defined twice" in result.stderr


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("torchvision.Botleneck", "torchvision.Bottleneck"), ("Botleneck", "Bottleneck")],
)
def test_a_misspelt_qualified_name_is_matched(tmp_path: Path, typo: str, meant: str) -> None:
    model = tmp_path / "model.yaml"
    model.write_text(
        f"include: [torchvision, ultralytics]\ninput: [3, 8, 8]\nlayers:\n  - {{type: {typo}}}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["describe", str(model)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"{model}:4:12: error: unknown layer type '{typo}'\nhint: did you mean '{meant}'?\n"
    )


def test_a_library_not_included_is_not_known() -> None:
    spec = load_text("include: [torchvision]\ninput: [3]\nlayers: [relu]\n", "m.yaml")
    assert "torchvision.Bottleneck" in spec.blocks
    assert "ultralytics.Bottleneck" not in spec.blocks
    assert spec.blocks.ambiguous("Bottleneck") == ()


def test_both_libraries_are_read_only_where_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Including both still parses only the files whose blocks are used: resnet.yaml for
    torchvision.Bottleneck, and nothing of ultralytics' but its list of files."""
    from rfcalc import loader, yamltree

    parsed: list[str] = []
    real = yamltree.parse

    def parse(text: str, path: str, layer: object = None) -> object:
        parsed.append(os.path.relpath(path, LIBRARY_DIR) if "library" in path else path)
        return real(text, path, layer)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "parse", parse)
    text = (
        "include: [torchvision, ultralytics]\ninput: [64, 8, 8]\n"
        "layers: [{type: torchvision.Bottleneck, planes: 16}]\n"
    )
    report_of(text)
    assert parsed == [
        "model.yaml",
        "torchvision.yaml",
        "ultralytics.yaml",
        os.path.join("torchvision", "resnet.yaml"),
    ]


def test_the_blocks_know_each_library_and_key() -> None:
    spec = load_text(
        "include: [torchvision, ultralytics]\ninput: [3]\nblocks: {unit: {layers: [relu]}}\n"
        "layers: [relu]\n",
        "m.yaml",
    )
    blocks = spec.blocks
    assert blocks.ambiguous("Bottleneck") == ("torchvision.Bottleneck", "ultralytics.Bottleneck")
    assert "Bottleneck" not in blocks
    assert blocks.library_of("ultralytics.C2f") == "ultralytics"
    assert blocks.library_of("C2f") == "ultralytics"
    assert blocks.library_of("unit") is None
    assert blocks["torchvision.BasicBlock"] is blocks["BasicBlock"]
    assert blocks["BasicBlock"].qualified == "torchvision.BasicBlock"
    assert blocks.clash("Bottleneck", None) == "torchvision.Bottleneck"
    assert blocks.clash("unit", "torchvision") == "unit"
    assert blocks.clash("C2f", "torchvision") is None


def test_the_schema_lists_the_qualified_names(tmp_path: Path) -> None:
    import json

    model = tmp_path / "model.yaml"
    model.write_text("include: [torchvision, ultralytics]\ninput: [3]\nlayers: [relu]\n")
    result = runner.invoke(app, ["schema", str(model)])
    assert result.exit_code == 0, result.stderr
    defs = json.loads(result.stdout)["$defs"]
    names = defs["type_strict"]["else"]["enum"]
    assert {"torchvision.Bottleneck", "ultralytics.Bottleneck", "C2f", "ultralytics.C2f"} <= set(
        names
    )
    assert "Bottleneck" not in names  # ambiguous: an editor flags it
    # C2f and ultralytics.C2f are one block: one definition, two names dispatch to it
    dispatch = defs["dispatch"]["then"]["allOf"]
    refs = {
        d["if"]["properties"]["type"]["const"]: d["then"]["$ref"]
        for d in dispatch
        if "const" in d["if"]["properties"]["type"]
    }
    assert refs["C2f"] == refs["ultralytics.C2f"]
    assert refs["torchvision.Bottleneck"] != refs["ultralytics.Bottleneck"]


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        (
            "torchvision.Bottleneck",
            "torchvision.Bottleneck is a block of the built-in library torchvision (include: "
            "[torchvision]), its arguments: planes, stride, groups, base_width, dilation",
        ),
        (
            "Bottleneck",
            "torchvision.Bottleneck is a block of the built-in library torchvision (include: "
            "[torchvision]), its arguments: planes, stride, groups, base_width, dilation; "
            "ultralytics.Bottleneck is a block of the built-in library ultralytics (include: "
            "[ultralytics]), its arguments: c2, shortcut, g, k1, k2, e, rep",
        ),
        ("torchvision.BasicBlok", "did you mean 'torchvision.BasicBlock'?"),
    ],
)
def test_layers_says_where_a_block_is(name: str, hint: str) -> None:
    """`rfcalc layers` lists layer types; a block's name (resnet.yaml's Bottleneck(planes,
    stride 1, groups 1, base_width 64, dilation 1); block.yaml's Bottleneck(c2, shortcut, g,
    k1, k2, e, rep)) is answered with where it is."""
    result = runner.invoke(app, ["layers", name])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"rfcalc: error: unknown layer type '{name}'\nhint: {hint}\n"
