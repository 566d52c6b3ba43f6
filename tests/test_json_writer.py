"""rfcalc's JSON writer is the standard library's ``json.dumps(doc, indent=2,
ensure_ascii=False)`` byte for byte (the oracle), only faster; and it escapes what a terminal
would act on."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from rfcalc.render.json_out import dumps
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
