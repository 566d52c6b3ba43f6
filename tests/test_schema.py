"""rfcalc schema (docs/format.md, "The JSON Schema in your editor"): validated as an editor
validates, each typical mistake gives one error, the right one, at the right place."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from jsonschema.exceptions import best_match
from typer.testing import CliRunner

from rfcalc.cli import app
from rfcalc.layers import canonical, type_names
from rfcalc.schema import type_pattern
from tests.helpers import EXAMPLES, ROOT

runner = CliRunner()
LIBRARY = sorted((ROOT / "rfcalc" / "library").rglob("*.yaml"))
# `rfcalc schema` before the type selected the layer's arguments (commit d7bbe37): 477,125 bytes
SIZE_BEFORE = 477_125


def schema_of(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["schema", *args])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    schema: dict[str, object] = json.loads(result.stdout)
    return schema


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = schema_of()
    jsonschema.Draft202012Validator.check_schema(schema)  # 2 s: once
    return jsonschema.Draft202012Validator(schema)


def errors_in(validator: jsonschema.Draft202012Validator, text: str) -> list[tuple[str, str]]:
    """(JSON path, message) of every error, as `check-jsonschema --verbose` lists them."""
    doc = yaml.safe_load(text)
    errors = list(validator.iter_errors(doc))
    found = [(e.json_path, e.message) for e in errors]
    if errors:  # what an editor shows first is one of them (check-jsonschema: best match)
        best = best_match(errors)
        assert (best.json_path, best.message) in found
    return found


def model(*layers: str) -> str:
    return "input: [3, 32, 32]\nlayers:\n" + "".join(f"  - {layer}\n" for layer in layers)


TYPES = "['" + "', '".join(type_names()) + "']"  # the enum an unknown type is checked against

MISTAKES = [
    # (layer as written, JSON path of the one error, its message)
    (
        "{type: conv2d, out_channels: five, kernel_size: 3}",
        "$.layers[0].out_channels",
        "'five' is not of type 'integer'",
    ),
    (
        "{type: conv2d, out_channels: 8, kernal_size: 3}",  # the missing kernel_size waits
        "$.layers[0]",
        "Additional properties are not allowed ('kernal_size' was unexpected)",
    ),
    (
        "{type: Conv_2d, out_channels: 8, kernel_size: 3, strid: 2}",
        "$.layers[0]",
        "Additional properties are not allowed ('strid' was unexpected)",
    ),
    ("{type: conv2d, kernel_size: 3}", "$.layers[0]", "'out_channels' is a required property"),
    ("{type: conv2, out_channels: 8}", "$.layers[0].type", f"'conv2' is not one of {TYPES}"),
    ("rleu", "$.layers[0]", f"'rleu' is not one of {TYPES}"),
    ("{out_channels: 8}", "$.layers[0]", "'type' is a required property"),
    ("{type: 3}", "$.layers[0].type", "3 is not of type 'string'"),
    ("7", "$.layers[0]", "7 is not of type 'string', 'object'"),
    (
        "{type: conv2d, out_channels: 8, kernel_size: [3, three]}",
        "$.layers[0].kernel_size[1]",
        "'three' is not of type 'integer'",
    ),
    (
        "{type: conv2d, out_channels: 8, kernel_size: three}",
        "$.layers[0].kernel_size",
        "'three' is not of type 'integer', 'array'",
    ),
    (
        "{type: conv2d, out_channels: 8, kernel_size: 3, stride: 0}",
        "$.layers[0].stride",
        "0 is less than the minimum of 1",
    ),
    (
        "{type: conv2d, out_channels: 8, kernel_size: 3, padding: sam}",
        "$.layers[0].padding",
        "'sam' does not match '^(same|valid)$'",
    ),
    (
        "{type: conv2d, out_channels: 8, kernel_size: 3, padding: [[1, 2, 3]]}",
        "$.layers[0].padding[0]",
        "[1, 2, 3] is too long",
    ),
    (
        "{type: conv2d, out_channels: 8, kernel_size: 3, bias: 1}",
        "$.layers[0].bias",
        "1 is not of type 'boolean'",
    ),
    (
        "{type: upsample, scale_factor: 2, mode: bilinar}",
        "$.layers[0].mode",
        "'bilinar' is not one of ['nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear']",
    ),
    (
        "{type: upsample, scale_factor: 0}",
        "$.layers[0].scale_factor",
        "0 is less than or equal to the minimum of 0",
    ),
    ("{type: relu, repeat: -1}", "$.layers[0].repeat", "-1 is less than the minimum of 0"),
    ("{type: relu, if: 1}", "$.layers[0].if", "1 is not of type 'boolean'"),
    (
        "{type: relu, name: a.b}",
        "$.layers[0].name",
        r"'a.b' does not match '^(?:[^.]+|.*\\$\\{.*)$'",
    ),
    (
        "{type: relu, layers: [relu]}",
        "$.layers[0]",
        "Additional properties are not allowed ('type' was unexpected)",
    ),
    (  # inside a submodule written in place
        "{name: down, layers: [{type: conv2d, out_channels: five, kernel_size: 1}]}",
        "$.layers[0].layers[0].out_channels",
        "'five' is not of type 'integer'",
    ),
]


@pytest.mark.parametrize(("layer", "path", "message"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_one_error_the_right_one(
    validator: jsonschema.Draft202012Validator, layer: str, path: str, message: str
) -> None:
    assert errors_in(validator, model(layer)) == [(path, message)]


FILE_MISTAKES = [
    # (model file, its errors)
    (
        "input: [3, 32, 32]\nlayer: [relu]\n",  # 'layers' missing waits for the key to be fixed
        [("$", "Additional properties are not allowed ('layer' was unexpected)")],
    ),
    ("layers: [relu]\n", [("$", "'input' is a required property")]),
    ("input: [3, 32, x]\nlayers: [relu]\n", [("$.input[2]", "'x' is not of type 'integer'")]),
    ("input: [3, 32, 32]\nlayers: []\n", [("$.layers", "[] should be non-empty")]),
    (
        "input: [3, 32, 32]\nlayers: {type: relu}\n",
        [("$.layers", "{'type': 'relu'} is not of type 'array'")],
    ),
    (  # with blocks defined, a layer type is still checked, in the blocks too
        "input: [3, 32, 32]\nblocks:\n  unit: {layers: [{type: conv2d, out_channels: five, kernel_size: 3}]}\nlayers: [unit]\n",
        [("$.blocks.unit.layers[0].out_channels", "'five' is not of type 'integer'")],
    ),
    ("blocks:\n  unit: {layers: [relu]}\n", []),  # a block library (include: [file.yaml])
    ("blocks:\n  unit: {layers: [relu]}\nvars: {w: 1}\n", []),  # with defaults of variables
    (  # a library has blocks or includes and none of a model's keys: this is a model
        "blocks:\n  unit: {layers: [relu]}\nname: lib\n",
        [("$", "'input' is a required property"), ("$", "'layers' is a required property")],
    ),
]


@pytest.mark.parametrize(("text", "errors"), FILE_MISTAKES)
def test_errors_in_the_file(
    validator: jsonschema.Draft202012Validator, text: str, errors: list[tuple[str, str]]
) -> None:
    assert errors_in(validator, text) == errors


def test_a_count_that_is_no_count(validator: jsonschema.Draft202012Validator) -> None:
    found = errors_in(validator, "input: [3]\nchecks: {max_params: lots}\nlayers: [relu]\n")
    assert len(found) == 1
    assert found[0][0] == "$.checks.max_params"
    assert found[0][1].startswith("'lots' does not match '^")


VALID = [
    "relu",  # a bare string is a layer with default arguments
    "{type: conv2d, out_channels: 8, kernel_size: 3}",
    "{type: Conv2d, out_channels: 8, kernel_size: 3}",
    "{type: conv_2d, out_channels: 8, kernel_size: 3}",
    "{type: CONV2D, out_channels: 8, kernel_size: 3}",
    "{type: _con_v2d_, out_channels: 8, kernel_size: 3}",  # '_' anywhere is ignored
    "{type: conv2d, out_channels: $w, kernel_size: '${k * 2 + 1}'}",
    "{type: conv2d, out_channels: 8, kernel_size: [3, $k], padding: [[1, 2], 3]}",
    "{type: maxpool2d, kernel_size: 2, stride: null}",  # nullable: PyTorch's None
    "{type: conv2d, out_channels: 8, kernel_size: 3, padding: same, bias: $b, padding_mode: reflect}",
    "{type: upsample, scale_factor: [2, 2.5], mode: $mode}",
    "{type: adaptiveavgpool2d, output_size: [null, 7]}",
    "{type: cat, from: [input, relu_0]}",  # an alias
    "{type: relu, name: 0, from: layer1.0.conv1, repeat: $n, if: '${n > 0}', trainable: false}",
    "{type: $activation}",
    "$activation",
    "{name: down, from: input, layers: [{type: conv2d, out_channels: 8, kernel_size: 1}, batchnorm2d]}",
]


@pytest.mark.parametrize("layer", VALID)
def test_valid(validator: jsonschema.Draft202012Validator, layer: str) -> None:
    checks = "checks: {max_params: 30M, max_macs: 2e7, params: 20_000_000, rf_covers_input: true}\n"
    assert errors_in(validator, "vars: {w: 8, k: 1, b: true, n: 1}\n" + checks + model(layer)) == []


def test_block_instances_without_the_model(validator: jsonschema.Draft202012Validator) -> None:
    """Without MODEL the schema cannot know a file's blocks (a schema cannot read another part
    of the document): with `blocks` or `include`, any other type is a block instance."""
    text = "input: [3, 32, 32]\ninclude: [torchvision]\nlayers:\n  - {type: BasicBlock, planes: 64, anything: 1}\n"
    assert errors_in(validator, text) == []
    assert errors_in(validator, text.replace("include: [torchvision]\n", "")) == [
        ("$.layers[0].type", f"'BasicBlock' is not one of {TYPES}")
    ]


BLOCKS = """\
input: [3, 32, 32]
include: [torchvision]
blocks:
  unit:
    args: {c: null, k: 3}
    layers:
      - {type: conv2d, out_channels: $c, kernel_size: $k, padding: same}
      - relu
layers:
  - {type: unit, c: 8}
  - {type: BasicBlock, planes: 8}
"""

BLOCK_MISTAKES = [
    (
        "{type: unit, c: 8, kk: 3}",
        ("$.layers[2]", "Additional properties are not allowed ('kk' was unexpected)"),
    ),
    ("{type: unit, k: 3}", ("$.layers[2]", "'c' is a required property")),
    (
        "{type: BasicBlock, plane: 64}",
        ("$.layers[2]", "Additional properties are not allowed ('plane' was unexpected)"),
    ),
    ("{type: Unit, c: 8}", ("$.layers[2].type", "'Unit' is not one of")),  # + types and blocks
]


@pytest.fixture(scope="module")
def with_blocks(tmp_path_factory: pytest.TempPathFactory) -> jsonschema.Draft202012Validator:
    path = tmp_path_factory.mktemp("blocks") / "model.yaml"
    path.write_text(BLOCKS, encoding="utf-8")
    schema = schema_of(str(path))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_model_validates_against_its_own_schema(
    with_blocks: jsonschema.Draft202012Validator,
) -> None:
    assert errors_in(with_blocks, BLOCKS) == []


@pytest.mark.parametrize(("layer", "error"), BLOCK_MISTAKES, ids=[m[0] for m in BLOCK_MISTAKES])
def test_block_instances_with_the_model(
    with_blocks: jsonschema.Draft202012Validator, layer: str, error: tuple[str, str]
) -> None:
    ((where, message),) = errors_in(with_blocks, BLOCKS + f"  - {layer}\n")
    assert where == error[0]
    assert message.startswith(error[1])
    if "not one of" in message:  # the types, then torchvision's blocks and the model's
        assert message.endswith(", 'unit']")
        assert "'conv2d', " in message
        assert "'BasicBlock', " in message


def test_schema_of_a_model_that_does_not_load(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text("input: [3]\nlayer: [relu]\n", encoding="utf-8")
    result = runner.invoke(app, ["schema", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert (
        result.stderr
        == f"{path}:2:1: error: unknown top-level key 'layer'\nhint: did you mean 'layers'?\n"
    )


@pytest.mark.parametrize(
    "path", [*sorted(EXAMPLES.glob("*.yaml")), *LIBRARY], ids=lambda p: str(p.relative_to(ROOT))
)
def test_examples_and_libraries_validate(
    validator: jsonschema.Draft202012Validator, path: Path
) -> None:
    assert errors_in(validator, path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_examples_validate_against_their_own_schema(path: Path) -> None:
    validator = jsonschema.Draft202012Validator(schema_of(str(path)))
    assert errors_in(validator, path.read_text(encoding="utf-8")) == []


def test_type_pattern_is_rfcalcs_rule() -> None:
    """Each type's pattern accepts exactly the spellings whose canonical form is the type:
    random case and underscores (accepted), and near misses (refused), brute force."""
    rng = random.Random(11)
    names = type_names()
    patterns = {n: re.compile(type_pattern([n])) for n in names}
    for name in names:
        for _ in range(20):
            spelled = "".join(
                rng.choice((c.lower(), c.upper())) + "_" * rng.choice((0, 0, 1, 2)) for c in name
            )
            near = [spelled[1:], spelled + "x", spelled.replace("_", "-"), " " + spelled]
            for text in (spelled, *near):
                matches = {n for n, p in patterns.items() if p.search(text)}
                assert matches == ({canonical(text)} & set(names)), text


def test_schema_is_small() -> None:
    result = runner.invoke(app, ["schema"])
    # measured: 477,125 bytes before; the bound leaves room for new layer types
    assert len(result.stdout.encode()) < SIZE_BEFORE // 3


def test_check_jsonschema_shows_the_one_error(tmp_path: Path) -> None:
    """What an editor-like validator prints for `out_channels: five`: one line, the mistake."""
    pytest.importorskip("check_jsonschema")
    schema = tmp_path / "rfcalc.schema.json"
    schema.write_text(runner.invoke(app, ["schema"]).stdout, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(model("{type: conv2d, out_channels: five, kernel_size: 3}"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(schema), str(bad)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout == (
        "Schema validation errors were encountered.\n"
        f"  {bad}::$.layers[0].out_channels: 'five' is not of type 'integer'\n"
    )
    assert result.stderr == ""
