"""rfcalc's JSON writer is the standard library's ``json.dumps(doc, indent=2,
ensure_ascii=False)`` byte for byte (the oracle), only faster; and it escapes what a terminal
would act on."""

from __future__ import annotations

import json
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from rfcalc.engine import RF, LayerRow
from rfcalc.errors import SourcePos
from rfcalc.render.json_out import dumps, layer_dict, layer_text
from rfcalc.rf import ratio
from tests.helpers import SCALE

SAFE_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | SAFE_TEXT
)
DOCS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(SAFE_TEXT, inner, max_size=5),
    max_leaves=40,
)


@settings(max_examples=300 * SCALE)
@given(DOCS)
def test_writer_equals_the_standard_library(doc: object) -> None:
    expected = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if any(
        0x7F <= ord(c) <= 0x9F or 0x202A <= ord(c) <= 0x2069 or 0xD800 <= ord(c) <= 0xDFFF
        for c in expected
    ):
        return  # escaped on purpose: see the test below
    assert dumps(doc) == expected


def test_tuples_are_lists_and_controls_are_escaped() -> None:
    doc = {"shape": (3, 224, 224), "name": "a\x1b[2J\x9b\u202e", "empty": [], "none": {}}
    text = dumps(doc)
    assert json.loads(text) == {
        "shape": [3, 224, 224],
        "name": "a\x1b[2J\x9b\u202e",
        "empty": [],
        "none": {},
    }
    assert "\x1b" not in text
    assert "\x9b" not in text
    assert "\u202e" not in text


# A layer row as the engine makes it, with any values: names that need escaping, no inputs
# (a parameter) or many, any rank, strides whole, fractional or global (None).
NAMES = st.text(max_size=8)
STRIDES = st.none() | st.integers(0, 64) | st.fractions(min_value=0, max_value=64)
BIG = st.integers(0, 10**30)


@st.composite
def layer_rows(draw: st.DrawFn) -> LayerRow:
    rank = draw(st.integers(0, 3))
    per_axis = st.lists(st.integers(-(10**6), 10**9), min_size=rank, max_size=rank)
    strides = [draw(STRIDES) for _ in range(rank)]
    field = RF(
        size=tuple(draw(per_axis)),
        stride=tuple(ratio(s.numerator, s.denominator) if s else s for s in strides),
        padding=tuple(draw(per_axis)),
        uniform=draw(st.booleans()),
        is_global=draw(st.booleans()),
        covers_input=draw(st.booleans()),
        global_context=draw(st.booleans()),
    )
    return LayerRow(
        index=draw(st.integers(0, 10**5)),
        name=draw(NAMES),
        type=draw(NAMES),
        inputs=tuple(draw(st.lists(NAMES, max_size=4))),
        output_shape=tuple(draw(st.lists(st.integers(1, 2**31), max_size=5))),
        params=draw(BIG),
        trainable_params=draw(BIG),
        buffers=draw(BIG),
        macs=draw(BIG),
        output_bytes=draw(BIG),
        rf=field,
        groups=(),
        pos=SourcePos("model.yaml", 1, 1),
        args={},
    )


def _json_number(value: object) -> object:
    """docs/json.md: a whole stride is an int, a fraction a float, a global axis's null."""
    if isinstance(value, Fraction) and value.denominator != 1:
        return float(value)
    return None if value is None else int(value)  # type: ignore[call-overload]


@settings(max_examples=300 * SCALE)
@given(layer_rows(), st.sampled_from(["", "    ", "      "]))
def test_a_layers_text_is_the_standard_librarys_of_its_keys(row: LayerRow, indent: str) -> None:
    """layer_text, the writer's one statement of a layer's keys, against docs/json.md's table
    of them written by json.dumps: the same text, each line after the first at ``indent``."""
    field = row.rf
    expected = {
        "index": row.index,
        "name": row.name,
        "type": row.type,
        "inputs": list(row.inputs),
        "output_shape": list(row.output_shape),
        "params": row.params,
        "trainable_params": row.trainable_params,
        "buffers": row.buffers,
        "macs": row.macs,
        "output_bytes": row.output_bytes,
        "rf": {
            "size": list(field.size),
            "stride": [_json_number(s) for s in field.stride],
            "padding": list(field.padding),
            "uniform": field.uniform,
            "global": field.is_global,
            "covers_input": field.covers_input,
            "global_context": field.global_context,
        },
    }
    text = json.dumps(expected, indent=2, ensure_ascii=False).replace("\n", "\n" + indent)
    assert layer_text(row, indent, {}) == text
    assert layer_dict(row) == expected
