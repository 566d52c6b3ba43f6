"""rfcalc/writer.py, the importers' one writer: its text read back by PyYAML (an independent
parser) gives the data it was given, and rfcalc reads it with the names it was given."""

from __future__ import annotations

import pytest
import yaml

from rfcalc.api import describe
from rfcalc.writer import Entry, WrittenLayer, write_document, write_model


def test_nested_scopes_and_branches() -> None:
    text = write_model(
        "tiny",
        (3, 8, 8),
        [
            WrittenLayer("stem", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}),
            WrittenLayer(
                "body.conv", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}
            ),
            WrittenLayer("body.add", "add", {}, ("stem", "body.conv")),
            WrittenLayer("head", "relu", {}),
        ],
        header="two lines\nof header",
    )
    assert text == (
        "# two lines\n"
        "# of header\n"
        "name: tiny\n"
        "input: [3, 8, 8]\n"
        "layers:\n"
        "  - {name: stem, type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}\n"
        "  - name: body\n"
        "    layers:\n"
        "      - {name: conv, type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}\n"
        "      - {name: add, type: add, from: [stem, conv]}\n"
        "  - {name: head, type: relu}\n"
    )
    report = describe(text)
    assert [r.name for r in report.layers] == ["stem", "body.conv", "body.add", "head"]
    assert report.layers[2].inputs == ("stem", "body.conv")


def test_a_scope_written_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="scope 'a' is written twice"):
        write_model(
            None,
            (3,),
            [
                WrittenLayer("a.x", "relu", {}),
                WrittenLayer("b", "relu", {}),
                WrittenLayer("a.y", "relu", {}),
            ],
        )


SCALARS: list[object] = [
    "0",  # a name PyTorch gives an nn.Sequential's first layer: a string, not an int
    "true",
    "no",
    "it's",
    "a: b, {c}",
    "#x",
    "ünïcode",
    "tab\there",
    1e-05,  # repr '1e-05', which YAML 1.1 reads as a string
    2.5e20,
    1.0,
    -3,
    True,
    None,
    [1, [2, 3]],
]


@pytest.mark.parametrize("value", SCALARS, ids=repr)
def test_values_read_back_as_written(value: object) -> None:
    text = write_document((1,), [{"name": "x", "type": "relu", "value": value}])
    assert yaml.safe_load(text)["layers"][0]["value"] == value


def test_a_document_with_blocks_reads_back() -> None:
    blocks: dict[str, Entry] = {
        "Unit": {
            "args": {"c": None},
            "layers": [
                {"name": "0", "type": "conv2d", "out_channels": "$c", "kernel_size": 1},
                {"type": "relu"},
            ],
        }
    }
    layers: list[Entry] = [
        {"name": "stage", "layers": [{"type": "Unit", "c": 4, "repeat": 2}]},
        {"type": "flatten"},
    ]
    text = write_document((3, 8, 8), layers, blocks=blocks)
    assert text == (
        "input: [3, 8, 8]\n"
        "blocks:\n"
        "  Unit:\n"
        "    args: {c: null}\n"
        "    layers:\n"
        "      - {name: '0', type: conv2d, out_channels: '$c', kernel_size: 1}\n"
        "      - relu\n"
        "layers:\n"
        "  - name: stage\n"
        "    layers:\n"
        "      - {type: Unit, c: 4, repeat: 2}\n"
        "  - flatten\n"
    )
    assert yaml.safe_load(text) == {
        "input": [3, 8, 8],
        "blocks": {
            "Unit": {
                "args": {"c": None},
                "layers": [
                    {"name": "0", "type": "conv2d", "out_channels": "$c", "kernel_size": 1},
                    "relu",
                ],
            }
        },
        "layers": [{"name": "stage", "layers": [{"type": "Unit", "c": 4, "repeat": 2}]}, "flatten"],
    }
    # stage.0 and stage.1: 3·4 + 4 = 16 and 4·4 + 4 = 20 params
    report = describe(text)
    assert [(r.name, r.params) for r in report.layers if r.params] == [
        ("stage.0.0", 16),
        ("stage.1.0", 20),
    ]
